// SPDX-License-Identifier: GPL-2.0
#include "media/user.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/stats.h"
#include "base/timer.h"
#include "ksip/endpoint.h"
#include "media/media.h"

#define RELAY_BATCH 16
#define RELAY_MTU 2048

struct relay_sock {
	struct ev_handler h;	/* in the worker's epoll set; h.fd is the socket, -1 when closed */
	struct media_relay *r;
	uint8_t leg, rtcp;
};

/* A fan-out output: where copies of a leg's packets go (media_set_outputs). */
struct relay_output {
	int fd[2];			/* RTP, RTCP: bound to FROM (+1), connected to TO */
	struct sockaddr_storage from, to;
	uint16_t to_rtcp;
	uint64_t sent, errors;
};

struct media_relay {
	const struct media_stream *s;
	struct ksip_stats *st;
	struct relay_output out[2][MEDIA_OUTPUTS_MAX];	/* [leg][i] */
	unsigned int nout[2];
	bool dead;			/* closed; freed after the current epoll batch */
	struct relay_sock sock[2][2];		/* [leg][rtcp] */
	struct sockaddr_storage latched[2][2];	/* first source seen on each socket */
	bool is_latched[2][2];
	uint64_t packets[2];
	uint64_t last_ms;
};

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void relay_sock_readable(void *arg, uint32_t events);

struct media_relay *relay_open(const struct media_stream *s, int epfd, struct ksip_stats *st)
{
	struct media_relay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->s = s;
	r->st = st;
	for (int leg = 0; leg < 2; leg++) {
		for (int k = 0; k < 2; k++) {
			struct relay_sock *rs = &r->sock[leg][k];
			struct sockaddr_storage a = s->relay_ip[leg];
			int fd;

			rs->h.fd = -1;
			ksip_endpoint_set_port(&a, (uint16_t)(s->relay_port[leg] + k));
			fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				goto fail;
			rs->h.fd = fd;	/* closed by relay_close() even if ev_add fails */
			rs->r = r;
			rs->leg = (uint8_t)leg;
			rs->rtcp = (uint8_t)k;
			if (bind(fd, (struct sockaddr *)&a, sa_len(&a)) ||
			    ev_add(epfd, &rs->h, fd, relay_sock_readable, rs, EPOLLIN))
				goto fail;
		}
	}
	return r;
fail:
	relay_close(r, epfd);
	relay_free(r);
	return NULL;
}

static void output_close(struct relay_output *o)
{
	for (int k = 0; k < 2; k++)
		if (o->fd[k] >= 0)
			close(o->fd[k]);
	o->fd[0] = o->fd[1] = -1;
}

void relay_close(struct media_relay *r, int epfd)
{
	if (!r)
		return;
	for (int leg = 0; leg < 2; leg++) {
		for (unsigned int i = 0; i < r->nout[leg]; i++)
			output_close(&r->out[leg][i]);
		r->nout[leg] = 0;
	}
	for (int leg = 0; leg < 2; leg++)
		for (int k = 0; k < 2; k++)
			if (r->sock[leg][k].h.fd >= 0) {
				ev_del(epfd, &r->sock[leg][k].h);
				close(r->sock[leg][k].h.fd);
				r->sock[leg][k].h.fd = -1;
			}
	r->dead = true;
	r->s = NULL;
}

void relay_free(struct media_relay *r)
{
	free(r);
}

void relay_unlatch(struct media_relay *r, int leg)
{
	r->is_latched[leg][0] = false;
	r->is_latched[leg][1] = false;
}

/* Where packets arriving from LEG go: the other leg's latched source, else its SDP address. */
static bool destination(const struct media_relay *r, int leg, int k, struct sockaddr_storage *dst)
{
	int to = !leg;
	const struct media_stream *s = r->s;

	if (r->is_latched[to][k]) {
		*dst = r->latched[to][k];
		return true;
	}
	if (!s->remote_known[to])
		return false;
	*dst = s->remote[to];
	if (k)
		ksip_endpoint_set_port(dst, s->remote_rtcp[to]);
	return true;
}

/*
 * Copies of the NOUT datagrams just forwarded from LEG (kind K) to each of
 * LEG's outputs, after the phone's own: a slow or gone collector costs the
 * call nothing but a failed send.
 */
static void fan_out(struct media_relay *r, int leg, int k, struct mmsghdr *out, int nout)
{
	uint64_t sent = 0, errors = 0;

	if (!r->nout[leg])
		return;
	for (int i = 0; i < nout; i++) {
		out[i].msg_hdr.msg_name = NULL;	/* the outputs' sockets are connected */
		out[i].msg_hdr.msg_namelen = 0;
	}
	for (unsigned int i = 0; i < r->nout[leg]; i++) {
		struct relay_output *o = &r->out[leg][i];
		int n = sendmmsg(o->fd[k], out, (unsigned int)nout, MSG_DONTWAIT);

		n = n < 0 ? 0 : n;
		o->sent += (uint64_t)n;
		o->errors += (uint64_t)(nout - n);
		sent += (uint64_t)n;
		errors += (uint64_t)(nout - n);
	}
	STAT_ADD(r->st, relay_fanout_sent, sent);
	if (errors)
		STAT_ADD(r->st, relay_fanout_errors, errors);
}

/* Forward what arrived on RS; NOW stamps the relay's last packet. */
static void relay_readable(struct relay_sock *rs, uint64_t now)
{
	struct media_relay *r = rs->r;
	int leg = rs->leg, k = rs->rtcp;
	static __thread char buf[RELAY_BATCH][RELAY_MTU];
	struct mmsghdr in[RELAY_BATCH], out[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH], oiov[RELAY_BATCH];
	struct sockaddr_storage from[RELAY_BATCH], dst;
	int n, nout = 0;

	if (r->dead)
		return;		/* closed earlier in this epoll batch */
	for (int i = 0; i < RELAY_BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], RELAY_MTU };
		in[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
						 .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(rs->h.fd, in, RELAY_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (!r->is_latched[leg][k]) {
			r->latched[leg][k] = from[i];
			r->is_latched[leg][k] = true;
		} else if (!ksip_endpoint_equal(&r->latched[leg][k], &from[i])) {
			continue;	/* not the source we latched onto */
		}
		r->packets[leg]++;
		r->last_ms = now;
		if (!destination(r, leg, k, &dst))
			continue;
		oiov[nout] = (struct iovec){ buf[i], in[i].msg_len };
		out[nout].msg_hdr = (struct msghdr){ .msg_iov = &oiov[nout], .msg_iovlen = 1 };
		out[nout].msg_hdr.msg_name = &from[i];	/* reuse: from[i] is no longer needed */
		from[i] = dst;
		out[nout].msg_hdr.msg_namelen = sa_len(&dst);
		nout++;
	}
	if (nout) {
		sendmmsg(r->sock[!leg][k].h.fd, out, (unsigned int)nout, MSG_DONTWAIT);
		fan_out(r, leg, k, out, nout);
	}
}

/*
 * The socket is readable (ev_dispatch, with the worker's lock held by the
 * loop: no lock here). EPOLLERR and EPOLLHUP need no handling of their
 * own: recvmmsg() reports and clears a pending error.
 */
static void relay_sock_readable(void *arg, uint32_t events)
{
	(void)events;
	relay_readable(arg, now_ms());
}

void relay_counters(const struct media_relay *r, uint64_t pkts[2], uint64_t *last_ms)
{
	pkts[0] = r->packets[0];
	pkts[1] = r->packets[1];
	*last_ms = r->last_ms;
}

static socklen_t port_addr(const struct sockaddr_storage *a, unsigned int port,
			   struct sockaddr_storage *out)
{
	*out = *a;
	ksip_endpoint_set_port(out, (uint16_t)port);
	return sa_len(out);
}

/* OUT's sockets for O, or -1 with errno (nothing left open). */
static int output_open(struct relay_output *out, const struct media_output *o)
{
	out->fd[0] = out->fd[1] = -1;
	for (int k = 0; k < 2; k++) {
		struct sockaddr_storage a;
		int rcvbuf = 1;		/* the kernel's minimum: nobody reads these sockets */
		int fd = socket(o->from.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		socklen_t len;

		if (fd < 0)
			goto fail;
		out->fd[k] = fd;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		len = port_addr(&o->from, ksip_endpoint_port(&o->from) + (unsigned int)k, &a);
		if (bind(fd, (struct sockaddr *)&a, len))
			goto fail;
		len = port_addr(&o->to, k ? o->to_rtcp : ksip_endpoint_port(&o->to), &a);
		if (connect(fd, (struct sockaddr *)&a, len))
			goto fail;
	}
	out->from = o->from;
	out->to = o->to;
	out->to_rtcp = o->to_rtcp;
	out->sent = out->errors = 0;
	return 0;
fail:
	{
		int e = errno;

		output_close(out);
		errno = e;
	}
	return -1;
}

/* Point an open output's sockets at O's TO (connect() again re-aims a UDP socket). */
static int output_reaim(struct relay_output *out, const struct media_output *o)
{
	for (int k = 0; k < 2; k++) {
		struct sockaddr_storage a;
		socklen_t len = port_addr(&o->to, k ? o->to_rtcp : ksip_endpoint_port(&o->to), &a);

		if (connect(out->fd[k], (struct sockaddr *)&a, len))
			return -1;
	}
	out->to = o->to;
	out->to_rtcp = o->to_rtcp;
	return 0;
}

int relay_set_outputs(struct media_relay *r, int leg, const struct media_output *o, unsigned int n)
{
	struct relay_output next[MEDIA_OUTPUTS_MAX];
	bool kept[MEDIA_OUTPUTS_MAX] = { false };
	unsigned int i;

	if (n > MEDIA_OUTPUTS_MAX) {
		errno = E2BIG;
		return -1;
	}
	/* Open what is new first: a failure leaves the old outputs as they were. */
	for (i = 0; i < n; i++) {
		int old = -1;

		for (unsigned int j = 0; j < r->nout[leg] && old < 0; j++)
			if (ksip_endpoint_equal(&r->out[leg][j].from, &o[i].from))
				old = (int)j;
		if (old >= 0) {
			next[i] = r->out[leg][old];
			kept[old] = true;
			continue;
		}
		if (output_open(&next[i], &o[i]))
			goto fail;
	}
	for (i = 0; i < n; i++)
		if (!ksip_endpoint_equal(&next[i].to, &o[i].to) || next[i].to_rtcp != o[i].to_rtcp)
			output_reaim(&next[i], &o[i]);	/* on failure sends fail and count */
	for (unsigned int j = 0; j < r->nout[leg]; j++)
		if (!kept[j])
			output_close(&r->out[leg][j]);
	memcpy(r->out[leg], next, n * sizeof(next[0]));
	r->nout[leg] = n;
	return 0;
fail:
	{
		int e = errno;

		while (i--) {
			bool reused = false;

			for (unsigned int j = 0; j < r->nout[leg]; j++)
				reused |= r->out[leg][j].fd[0] == next[i].fd[0];
			if (!reused)
				output_close(&next[i]);
		}
		errno = e;
	}
	return -1;
}

void relay_output_counters(const struct media_relay *r, int leg, unsigned int i, uint64_t *sent,
			   uint64_t *errors)
{
	*sent = *errors = 0;
	if (r && (leg == 0 || leg == 1) && i < r->nout[leg]) {
		*sent = r->out[leg][i].sent;
		*errors = r->out[leg][i].errors;
	}
}
