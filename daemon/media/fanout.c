// SPDX-License-Identifier: GPL-2.0
/*
 * The rules an output list must keep, the same for ksip.ko (which checks
 * them again: KSIP_CMD_FLOW_SET) and for the userspace relay, so a tap or
 * a paging group behaves alike with the module loaded or not.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "ksip/endpoint.h"
#include "media/fanout.h"
#include "media/media.h"

static struct sockaddr_storage with_port(const struct sockaddr_storage *a, unsigned int port)
{
	struct sockaddr_storage r = *a;

	ksip_endpoint_set_port(&r, (uint16_t)port);
	return r;
}

/* Is A where our relay sockets of S, or the outputs' own sockets, receive? */
static bool is_ours(const struct media_stream *s, const struct media_output *o, unsigned int n,
		    const struct sockaddr_storage *a)
{
	for (int leg = 0; leg < 2; leg++)
		for (int k = 0; k < 2; k++) {
			struct sockaddr_storage r = with_port(&s->relay_ip[leg], s->relay_port[leg] + k);

			if (ksip_endpoint_equal(&r, a))
				return true;
		}
	for (unsigned int i = 0; i < n; i++)
		for (int k = 0; k < 2; k++) {
			struct sockaddr_storage f = with_port(&o[i].from,
							      ksip_endpoint_port(&o[i].from) + k);

			if (ksip_endpoint_equal(&f, a))
				return true;
		}
	return false;
}

/* Where the relay sends LEG's packets of kind K (RTP 0, RTCP 1): the other phone, if known. */
static bool peer_of(const struct media_stream *s, int leg, int k, struct sockaddr_storage *a)
{
	if (!s->remote_known[!leg])
		return false;
	*a = k ? with_port(&s->remote[!leg], s->remote_rtcp[!leg]) : s->remote[!leg];
	return true;
}

static int check_one(const struct media_stream *s, int leg, const struct media_output *o,
		     unsigned int n, unsigned int i)
{
	int fam = s->relay_ip[leg].ss_family;
	struct sockaddr_storage to[2] = { o[i].to, with_port(&o[i].to, o[i].to_rtcp) };

	if (o[i].from.ss_family != fam || o[i].to.ss_family != fam)
		return -EAFNOSUPPORT;
	if (!ksip_endpoint_port(&o[i].from) || ksip_endpoint_port(&o[i].from) == 65535 ||
	    !ksip_endpoint_port(&o[i].to) || !o[i].to_rtcp)
		return -EINVAL;
	for (unsigned int j = 0; j < i; j++)
		if (ksip_endpoint_equal(&o[j].from, &o[i].from))
			return -EEXIST;	/* one socket per FROM */
	for (int k = 0; k < 2; k++) {
		struct sockaddr_storage peer;

		if (is_ours(s, o, n, &to[k]))
			return -ELOOP;
		if (peer_of(s, leg, k, &peer) && ksip_endpoint_equal(&peer, &to[k]))
			return -EEXIST;
		for (unsigned int j = 0; j < i; j++) {
			struct sockaddr_storage other = k ? with_port(&o[j].to, o[j].to_rtcp) : o[j].to;

			if (ksip_endpoint_equal(&other, &to[k]))
				return -EEXIST;
		}
	}
	return 0;
}

int media_outputs_check(const struct media_stream *s, int leg, const struct media_output *o,
			unsigned int n, unsigned int *bad)
{
	*bad = 0;
	if (leg != 0 && leg != 1)
		return -EINVAL;
	if (n > MEDIA_OUTPUTS_MAX) {
		*bad = MEDIA_OUTPUTS_MAX;
		return -E2BIG;
	}
	for (unsigned int i = 0; i < n; i++) {
		int r = check_one(s, leg, o, n, i);

		if (r) {
			*bad = i;
			return r;
		}
	}
	return 0;
}
