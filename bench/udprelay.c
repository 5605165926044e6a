// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace baseline for bench/rtp: what a relay costs when every packet
 * crosses into a process. One direction per stream: datagrams arriving at
 * LISTEN (+2 per stream) are sent to PEER from a socket bound to SOURCE (+2
 * per stream), in batches (recvmmsg/sendmmsg), as ksipd's userspace fallback
 * and rtpengine's userspace mode do, with one epoll set over all streams.
 *
 *   udprelay LISTEN SOURCE PEER [STREAMS]
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "ksip/endpoint.h"

#define BATCH 64
#define MAX_STREAMS 4096

/* Forward what is queued on IN to PEER through OUT, a batch at a time. */
static void relay(int in, int out, struct sockaddr_storage *peer)
{
	static char buf[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(in, msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	for (int i = 0; i < n; i++) {
		iov[i].iov_len = msgs[i].msg_len;
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = peer, .msg_namelen = ksip_sockaddr_len(peer),
						   .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	sendmmsg(out, msgs, (unsigned int)n, 0);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage listen_at, source, peer;
	int streams = argc == 5 ? atoi(argv[4]) : 1, ep = epoll_create1(0), rcvbuf = 64 << 20;
	struct epoll_event ev[64];

	if ((argc != 4 && argc != 5) || streams < 1 || streams > MAX_STREAMS ||
	    ksip_parse_endpoint(argv[1], false, &listen_at) ||
	    ksip_parse_endpoint(argv[2], false, &source) || ksip_parse_endpoint(argv[3], false, &peer)) {
		fprintf(stderr, "usage: udprelay LISTEN SOURCE PEER [STREAMS]\n");
		return 2;
	}
	for (int i = 0; i < streams; i++) {
		struct sockaddr_storage l = listen_at, s = source;
		int in = socket(l.ss_family, SOCK_DGRAM, 0), out = socket(s.ss_family, SOCK_DGRAM, 0);
		struct epoll_event e = { .events = EPOLLIN };

		ksip_endpoint_set_port(&l, (uint16_t)(ksip_endpoint_port(&listen_at) + 2 * i));
		ksip_endpoint_set_port(&s, (uint16_t)(ksip_endpoint_port(&source) + 2 * i));
		/* Past rmem_max when root (the VM), else as large as allowed. */
		if (setsockopt(in, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
			setsockopt(in, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		/* The event carries both sockets' numbers: no lookup per wake-up. */
		e.data.u64 = ((uint64_t)in << 32) | (uint32_t)out;
		if (bind(in, (struct sockaddr *)&l, ksip_sockaddr_len(&l)) ||
		    bind(out, (struct sockaddr *)&s, ksip_sockaddr_len(&s)) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, in, &e)) {
			perror("udprelay: bind");
			return 1;
		}
	}
	for (;;) {
		int n = epoll_wait(ep, ev, 64, -1);

		for (int i = 0; i < n; i++)
			relay((int)(ev[i].data.u64 >> 32), (int)(uint32_t)ev[i].data.u64, &peer);
	}
}
