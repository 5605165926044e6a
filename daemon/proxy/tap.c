// SPDX-License-Identifier: GPL-2.0
#include "proxy/tap.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "ksip/endpoint.h"
#include "media/media.h"
#include "media/port_pool.h"
#include "proxy/call.h"
#include "proxy/proxy.h"
#include "transport/netpath.h"

static struct port_pool *pool(struct proxy *p)
{
	return p->env.media->ports;
}

/* Stream I's outputs for LEG: one per tap that has ports on it, in tap order. */
unsigned int tap_outputs_of(const struct call *c, int i, int leg, struct media_output *o)
{
	unsigned int n = 0;

	for (int t = 0; t < c->ntaps; t++) {
		const struct call_tap *tp = &c->taps[t];

		if (!tp->port[i][leg])
			continue;
		memset(&o[n], 0, sizeof(o[n]));
		o[n].from = tp->from_ip;
		ksip_endpoint_set_port(&o[n].from, tp->port[i][leg]);
		o[n].to = tp->to;
		o[n].to_rtcp = (uint16_t)(ksip_endpoint_port(&tp->to) + 1);
		n++;
	}
	return n;
}

/* Hand stream I's outputs (both legs: the taps', a page's) to the relay; -1 with errno. */
static int apply(struct proxy *p, struct call *c, int i)
{
	return call_set_outputs(p, c, i);
}

static void release(struct proxy *p, struct call_tap *t, int i)
{
	for (int leg = 0; leg < 2; leg++)
		if (t->port[i][leg]) {
			port_pool_put(pool(p), t->port[i][leg]);
			t->port[i][leg] = 0;
		}
}

/* T leaves stream I: the stream's outputs without it first (its sockets close), then its ports go. */
static void drop(struct proxy *p, struct call *c, struct call_tap *t, int i)
{
	struct call_tap was = *t;

	t->port[i][0] = t->port[i][1] = 0;
	if (c->s[i].open)
		apply(p, c, i);
	release(p, &was, i);
}

/* Ports for tap T on stream I, then the stream's outputs; -1 with errno (T holds none there). */
static int tap_stream(struct proxy *p, struct call *c, struct call_tap *t, int i)
{
	int e;

	for (int leg = 0; leg < 2; leg++)
		if (!t->port[i][leg] && port_pool_get(pool(p), &t->port[i][leg])) {
			release(p, t, i);
			errno = ENOSPC;
			return -1;
		}
	if (!apply(p, c, i))
		return 0;
	e = errno;
	drop(p, c, t, i);	/* the other taps' outputs stay as they were */
	errno = e;
	return -1;
}

static const char *why(int e)
{
	switch (e) {
	case ENOSPC:
		return "no free relay port pair for the tap's copies";
	case EAFNOSUPPORT:
		return "the collector's address family is not the call's media's";
	case EEXIST:
		return "the collector is where one of the call's phones gets its media";
	case ELOOP:
		return "the collector is one of the call's relay ports";
	case EADDRINUSE:
		return "a relay port for the tap's copies is held by another program";
	default:
		return strerror(e);
	}
}

/* Is TO's address one of this host's (it can be bound)? */
static bool is_local(const struct sockaddr_storage *to)
{
	struct sockaddr_storage a = *to;
	int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool local;

	if (fd < 0)
		return false;
	ksip_endpoint_set_port(&a, 0);
	local = !bind(fd, (const struct sockaddr *)&a, ksip_sockaddr_len(&a));
	close(fd);
	return local;
}

static bool unicast(const struct sockaddr_storage *to)
{
	if (to->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)to)->sin6_addr;

		return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_MULTICAST(a) &&
		       !IN6_IS_ADDR_V4MAPPED(a);
	}
	if (to->ss_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)to)->sin_addr.s_addr);

		return a && a != INADDR_BROADCAST && !IN_MULTICAST(a);
	}
	return false;
}

/* Can copies go to TO? false with why in ERR. */
bool tap_dest_ok(const struct proxy *p, const struct sockaddr_storage *to, char *err,
			 size_t errlen)
{
	const struct ksip_config *cfg = p->env.cfg;
	unsigned int port = ksip_endpoint_port(to);

	if (!unicast(to)) {
		snprintf(err, errlen, "the collector must be a unicast address");
		return false;
	}
	if (!port || port == 65535) {
		snprintf(err, errlen, "the collector's port must be 1-65534 (RTCP goes to the port above)");
		return false;
	}
	if (!is_local(to))
		return true;
	/* Copies sent to our own relay ports would be relayed, or copied, again. */
	if (port + 1 >= cfg->rtp_port_min && port <= cfg->rtp_port_max) {
		snprintf(err, errlen, "the collector is one of ksipd's relay ports (%u-%u): the copies "
			 "would loop", cfg->rtp_port_min, cfg->rtp_port_max);
		return false;
	}
	for (int i = 0; i < cfg->nlisten; i++) {
		unsigned int sip = ksip_endpoint_port(&cfg->listen[i].addr);

		if (sip == port || sip == port + 1) {
			snprintf(err, errlen, "the collector is ksipd's own SIP port %u", sip);
			return false;
		}
	}
	return true;
}

int tap_add(struct proxy *p, struct call *c, const struct sockaddr_storage *to, char *err,
	    size_t errlen)
{
	const struct sockaddr_storage *conf;
	struct call_tap *t;
	char host[INET6_ADDRSTRLEN + 8];

	ksip_format_endpoint(to, host, sizeof(host));
	if (c->state == CALL_ENDED) {
		snprintf(err, errlen, "call %" PRIu64 " has ended", c->id);
		return -1;
	}
	if (!tap_dest_ok(p, to, err, errlen))
		return -1;
	for (int i = 0; i < c->ntaps; i++)
		if (ksip_endpoint_equal(&c->taps[i].to, to)) {
			snprintf(err, errlen, "call %" PRIu64 " is tapped to %s already", c->id, host);
			return -1;
		}
	if (c->ntaps >= CALL_TAPS_MAX) {
		snprintf(err, errlen, "call %" PRIu64 " has %d taps already, the most it may have",
			 c->id, CALL_TAPS_MAX);
		return -1;
	}
	if (!c->taps && !(c->taps = calloc(CALL_TAPS_MAX, sizeof(*c->taps)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t = &c->taps[c->ntaps];
	memset(t, 0, sizeof(*t));
	t->to = *to;
	conf = &p->env.cfg->media_addr[to->ss_family == AF_INET6];
	if (conf->ss_family)
		t->from_ip = *conf;
	else if (netpath_local_toward(to, &t->from_ip)) {
		snprintf(err, errlen, "no route to the collector %s", host);
		return -1;
	}
	c->ntaps++;
	for (int i = 0; i < c->nstreams; i++) {
		if (!c->s[i].open || !tap_stream(p, c, t, i))
			continue;
		snprintf(err, errlen, "%s", why(errno));
		c->ntaps--;
		for (int j = 0; j < i; j++)
			drop(p, c, t, j);
		return -1;
	}
	log_info("call %" PRIu64 ": tapped to %s", c->id, host);
	return 0;
}

int tap_del(struct proxy *p, struct call *c, const struct sockaddr_storage *to)
{
	int removed = 0;

	for (int t = 0; t < c->ntaps;) {
		struct call_tap gone;

		if (to && !ksip_endpoint_equal(&c->taps[t].to, to)) {
			t++;
			continue;
		}
		gone = c->taps[t];
		memmove(&c->taps[t], &c->taps[t + 1], (size_t)(c->ntaps - t - 1) * sizeof(gone));
		c->ntaps--;
		/* Outputs first (their sockets close), then the ports go back. */
		for (int i = 0; i < c->nstreams; i++) {
			if (c->s[i].open)
				apply(p, c, i);
			release(p, &gone, i);
		}
		removed++;
	}
	if (removed)
		log_info("call %" PRIu64 ": %d tap%s removed", c->id, removed, removed > 1 ? "s" : "");
	return removed;
}

void tap_stream_opened(struct proxy *p, struct call *c, int i)
{
	bool missing = false;

	if (!c->s[i].open)
		return;
	for (int t = 0; t < c->ntaps; t++)
		missing |= !c->taps[t].port[i][0];
	if (!missing)
		return;
	for (int t = 0; t < c->ntaps; t++)
		if (!c->taps[t].port[i][0] && tap_stream(p, c, &c->taps[t], i))
			log_warn("call %" PRIu64 ": stream %d not tapped: %s", c->id, i, why(errno));
}

void tap_stream_closed(struct proxy *p, struct call *c, int i)
{
	for (int t = 0; t < c->ntaps; t++)
		release(p, &c->taps[t], i);
}

void tap_end(struct proxy *p, struct call *c)
{
	for (int t = 0; t < c->ntaps; t++)
		for (int i = 0; i < SDP_MAX_MEDIA; i++)
			release(p, &c->taps[t], i);
	free(c->taps);
	c->taps = NULL;
	c->ntaps = 0;
}

void tap_info(const struct call *c, struct call_info *ci)
{
	ci->ntaps = c->ntaps;
	for (int t = 0; t < c->ntaps; t++) {
		const struct call_tap *tp = &c->taps[t];

		ci->tap[t].to = tp->to;
		memcpy(ci->tap[t].port, tp->port, sizeof(tp->port));
		ci->tap[t].copies = ci->tap[t].errors = 0;
		for (int i = 0; i < c->nstreams; i++)
			for (int leg = 0; leg < 2; leg++) {
				unsigned int idx = 0;
				uint64_t sent, errors;

				if (!tp->port[i][leg])
					continue;
				/* Its index among stream I's outputs: the taps before it with ports there. */
				for (int u = 0; u < t; u++)
					idx += !!c->taps[u].port[i][leg];
				media_output_counters(&c->s[i], leg, idx, &sent, &errors);
				ci->tap[t].copies += sent;
				ci->tap[t].errors += errors;
			}
	}
}
