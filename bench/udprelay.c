// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace baseline for bench/rtp: what a relay costs when every packet
 * crosses into a process. One direction per stream: datagrams arriving at
 * LISTEN (+2 per stream) are sent to PEER from a socket bound to SOURCE (+2
 * per stream), in batches (recvmmsg/sendmmsg), as ksipd's userspace fallback
 * and rtpengine's userspace mode do, with one epoll set over all streams.
 *
 * With OUTPUTS > 1 (fan-out, bench/rtp --fanout), each datagram is sent to
 * OUTPUTS destinations: PEER's port at PEER's address, PEER's address + 1, ...
 * (IPv4: the last octet counts up), all from the stream's one SOURCE socket
 * and in the same sendmmsg call as the rest of the batch: the cheapest way a
 * process can copy a packet N times, so the baseline is not made slow.
 *
 *   udprelay LISTEN SOURCE PEER [STREAMS [OUTPUTS]]
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
#define MAX_OUTPUTS 16		/* BATCH * MAX_OUTPUTS stays within sendmmsg's 1024 */

static struct sockaddr_storage peers[MAX_OUTPUTS];
static int outputs = 1;

/* Forward what is queued on IN to every peer through OUT, a batch at a time. */
static void relay(int in, int out)
{
	static char buf[BATCH][2048];
	static struct mmsghdr sends[BATCH * MAX_OUTPUTS];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int n, m = 0;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(in, msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	for (int i = 0; i < n; i++) {
		iov[i].iov_len = msgs[i].msg_len;
		for (int k = 0; k < outputs; k++)
			sends[m++].msg_hdr = (struct msghdr){
				.msg_name = &peers[k], .msg_namelen = ksip_sockaddr_len(&peers[k]),
				.msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	sendmmsg(out, sends, (unsigned int)m, 0);
}

/* Output K's address: PEER's with K added to its last octet (IPv4 only). */
static int output_peer(const struct sockaddr_storage *peer, int k, struct sockaddr_storage *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;

	*out = *peer;
	if (k == 0)
		return 0;
	if (peer->ss_family != AF_INET || (ntohl(sin->sin_addr.s_addr) & 0xff) + (unsigned int)k > 254)
		return -1;
	sin->sin_addr.s_addr = htonl(ntohl(sin->sin_addr.s_addr) + (uint32_t)k);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage listen_at, source, peer;
	int streams = argc >= 5 ? atoi(argv[4]) : 1, ep = epoll_create1(0), rcvbuf = 64 << 20;
	struct epoll_event ev[64];

	outputs = argc == 6 ? atoi(argv[5]) : 1;
	if (argc < 4 || argc > 6 || streams < 1 || streams > MAX_STREAMS || outputs < 1 ||
	    outputs > MAX_OUTPUTS || ksip_parse_endpoint(argv[1], false, &listen_at) ||
	    ksip_parse_endpoint(argv[2], false, &source) || ksip_parse_endpoint(argv[3], false, &peer)) {
		fprintf(stderr, "usage: udprelay LISTEN SOURCE PEER [STREAMS [OUTPUTS (1-%d)]]\n",
			MAX_OUTPUTS);
		return 2;
	}
	for (int k = 0; k < outputs; k++)
		if (output_peer(&peer, k, &peers[k])) {
			fprintf(stderr, "udprelay: OUTPUTS > 1 needs an IPv4 PEER with room above it\n");
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
			relay((int)(ev[i].data.u64 >> 32), (int)(uint32_t)ev[i].data.u64);
	}
}
