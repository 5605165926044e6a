// SPDX-License-Identifier: GPL-2.0
/*
 * One member's sockets: its RTP port (read every tick, written once per
 * tick) and the RTCP port above it (read and discarded: the mixer
 * terminates the streams and has nothing to learn from their reports).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ksip/endpoint.h"
#include "mixer/room_priv.h"

static int bound_socket(const struct sockaddr_storage *ss)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* Kernel receive times: the jitter estimate must not see the tick's 20 ms granularity. */
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, ksip_sockaddr_len(ss)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int member_open(struct mixer_member *m)
{
	struct sockaddr_storage rtcp = m->p.local;
	uint16_t port = ksip_endpoint_port(&m->p.local);

	m->fd = bound_socket(&m->p.local);
	if (m->fd < 0)
		return -1;
	ksip_endpoint_set_port(&rtcp, (uint16_t)(port + 1));
	m->rtcp_fd = bound_socket(&rtcp);
	if (m->rtcp_fd < 0) {
		int e = errno;

		close(m->fd);
		m->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

void member_unlatch(struct mixer_member *m)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	if (m->connected)
		connect(m->fd, &unspec, sizeof(unspec));	/* dissolves the association */
	m->connected = false;
	m->latched = false;
}

void member_close(struct mixer_member *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->rtcp_fd >= 0)
		close(m->rtcp_fd);
	m->fd = m->rtcp_fd = -1;
}

/* The kernel's receive time of MSG in 8 kHz units (any epoch: only differences count). */
static uint32_t arrival_of(struct msghdr *msg)
{
	struct timespec ts;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			goto have;
		}
	}
	clock_gettime(CLOCK_REALTIME, &ts);
have:
	return (uint32_t)((uint64_t)ts.tv_sec * MIXER_RATE + (uint64_t)ts.tv_nsec / (1000000000 / MIXER_RATE));
}

static void take_packet(struct mixer_member *m, const uint8_t *buf, size_t n,
			const struct sockaddr_storage *from, uint32_t arrival)
{
	struct rtp_packet p;
	bool audio;

	if (!rtp_parse(buf, n, &p)) {
		m->ignored++;
		return;
	}
	if (p.pt == m->p.pt && p.len == MIXER_FRAME)
		audio = true;
	else if (m->p.dtmf_pt >= 0 && p.pt == m->p.dtmf_pt)
		audio = false;
	else {
		m->ignored++;
		return;
	}
	if (!m->latched) {
		/*
		 * Symmetric RTP: the member is where its first RTP packet came from, NAT or
		 * not. The socket is connected to it, so the kernel drops every other
		 * source's datagrams before they take room in its buffer: a flood from
		 * elsewhere cannot crowd out the member's own packets.
		 */
		m->p.remote = *from;
		m->latched = true;
		m->connected = connect(m->fd, (const struct sockaddr *)from, ksip_sockaddr_len(from)) == 0;
	} else if (!ksip_endpoint_equal(from, &m->p.remote)) {
		m->ignored++;
		return;
	}
	/* Events share the audio stream's sequence numbers: the buffer must not see a gap. */
	if (!jitter_put(&m->jb, &p, audio, arrival) ||
	    (!audio && !dtmf_put(&m->dtmf, p.ts, p.payload, p.len))) {
		m->ignored++;
		return;
	}
	m->rx_packets++;
}

static void drain(int fd, struct mixer_room *r, struct mixer_member *m, bool rtp)
{
	struct mmsghdr mm[MIXER_RX_BATCH];
	struct iovec iov[MIXER_RX_BATCH];
	struct sockaddr_storage from[MIXER_RX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl[MIXER_RX_BATCH];
	int budget = MIXER_RX_BUDGET, got;

	do {
		for (int i = 0; i < MIXER_RX_BATCH; i++) {
			iov[i] = (struct iovec){ r->rx_buf[i], MIXER_RX_MTU };
			mm[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
				.msg_control = ctl[i].buf, .msg_controllen = sizeof(ctl[i].buf),
			};
		}
		got = recvmmsg(fd, mm, MIXER_RX_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; rtp && i < got; i++) {
			/* A datagram larger than the buffer is not a 20 ms G.711 packet. */
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
				m->ignored++;
				continue;
			}
			take_packet(m, r->rx_buf[i], mm[i].msg_len, &from[i], arrival_of(&mm[i].msg_hdr));
		}
		budget -= MIXER_RX_BATCH;
	} while (got == MIXER_RX_BATCH && budget > 0);
}

void member_receive(struct mixer_room *r, struct mixer_member *m)
{
	drain(m->fd, r, m, true);
	/* RTCP comes every few seconds: emptying its socket once a second saves a syscall a tick. */
	if (r->ticks % MIXER_RTCP_EVERY == 0)
		drain(m->rtcp_fd, r, m, false);
}

void member_send(struct mixer_member *m, const uint8_t *payload)
{
	uint8_t buf[RTP_HEADER_LEN + MIXER_FRAME];

	/* Our stream runs on whether or not it can be sent: timestamps follow the clock. */
	m->seq++;
	m->ts += MIXER_FRAME;
	if (m->p.remote.ss_family != AF_INET && m->p.remote.ss_family != AF_INET6)
		return;		/* no address yet: wait for the member's first packet */
	rtp_write_header(buf, m->p.pt, !m->sent_any, m->seq, m->ts, m->ssrc);
	memcpy(buf + RTP_HEADER_LEN, payload, MIXER_FRAME);
	if ((m->connected ? send(m->fd, buf, sizeof(buf), MSG_DONTWAIT) :
	     sendto(m->fd, buf, sizeof(buf), MSG_DONTWAIT, (const struct sockaddr *)&m->p.remote,
		    ksip_sockaddr_len(&m->p.remote))) == (ssize_t)sizeof(buf)) {
		m->tx_packets++;
		m->sent_any = true;
	}
}
