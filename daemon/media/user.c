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

#include "proxy/call.h"
#include "base/evloop.h"
#include "base/timer.h"
#include "ksip/endpoint.h"

#define RELAY_BATCH 16
#define RELAY_MTU 2048

struct relay_sock {
	struct ev_handler ref;
	struct media_relay *r;
	uint8_t leg, rtcp;
};

struct media_relay {
	const struct media_stream *s;
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

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
	return ((const struct sockaddr_in *)a)->sin_port == ((const struct sockaddr_in *)b)->sin_port &&
	       ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
	       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

/* The worker dispatches the relay sockets' events here (under its lock). */
static void relay_event(void *arg, uint32_t events)
{
	(void)events;
	relay_readable(arg, now_ms());
}

struct media_relay *relay_open(const struct media_stream *s, int epfd)
{
	struct media_relay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->s = s;
	for (int leg = 0; leg < 2; leg++) {
		for (int k = 0; k < 2; k++) {
			struct relay_sock *rs = &r->sock[leg][k];
			struct sockaddr_storage a = s->relay_ip[leg];
			int fd;

			rs->ref.fd = -1;
			ksip_endpoint_set_port(&a, (uint16_t)(s->relay_port[leg] + k));
			fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				goto fail;
			rs->ref.fd = fd;
			rs->r = r;
			rs->leg = (uint8_t)leg;
			rs->rtcp = (uint8_t)k;
			if (bind(fd, (struct sockaddr *)&a, sa_len(&a)) ||
			    ev_add(epfd, &rs->ref, fd, relay_event, rs, EPOLLIN))
				goto fail;
		}
	}
	return r;
fail:
	relay_close(r, epfd);
	relay_free(r);
	return NULL;
}

void relay_close(struct media_relay *r, int epfd)
{
	if (!r)
		return;
	for (int leg = 0; leg < 2; leg++)
		for (int k = 0; k < 2; k++)
			if (r->sock[leg][k].ref.fd >= 0) {
				epoll_ctl(epfd, EPOLL_CTL_DEL, r->sock[leg][k].ref.fd, NULL);
				close(r->sock[leg][k].ref.fd);
				r->sock[leg][k].ref.fd = -1;
			}
	r->dead = true;
	r->s = NULL;
}

void relay_free(struct media_relay *r)
{
	free(r);
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

void relay_readable(void *ref, uint64_t now)
{
	struct relay_sock *rs = ref;
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
	n = recvmmsg(rs->ref.fd, in, RELAY_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (!r->is_latched[leg][k]) {
			r->latched[leg][k] = from[i];
			r->is_latched[leg][k] = true;
		} else if (!same_addr(&r->latched[leg][k], &from[i])) {
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
	if (nout)
		sendmmsg(r->sock[!leg][k].ref.fd, out, (unsigned int)nout, MSG_DONTWAIT);
}

void relay_counters(const struct media_relay *r, uint64_t pkts[2], uint64_t *last_ms)
{
	pkts[0] = r->packets[0];
	pkts[1] = r->packets[1];
	*last_ms = r->last_ms;
}
