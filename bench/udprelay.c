// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace baseline for bench/rtp: what a relay costs when every packet
 * crosses into a process. One direction: datagrams arriving at LISTEN are
 * sent to PEER from a socket bound to SOURCE, in batches (recvmmsg/sendmmsg),
 * as ksipd's userspace fallback and rtpengine's userspace mode do.
 *
 *   udprelay LISTEN SOURCE PEER
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ksip/endpoint.h"

#define BATCH 64

int main(int argc, char **argv)
{
	static char buf[BATCH][2048];
	struct sockaddr_storage listen_at, source, peer;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int in, out, rcvbuf = 64 << 20;

	if (argc != 4 || ksip_parse_endpoint(argv[1], false, &listen_at) ||
	    ksip_parse_endpoint(argv[2], false, &source) || ksip_parse_endpoint(argv[3], false, &peer)) {
		fprintf(stderr, "usage: udprelay LISTEN SOURCE PEER\n");
		return 2;
	}
	in = socket(listen_at.ss_family, SOCK_DGRAM, 0);
	out = socket(source.ss_family, SOCK_DGRAM, 0);
	/* Past rmem_max when root (the VM), else as large as allowed. */
	if (setsockopt(in, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(in, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(in, (struct sockaddr *)&listen_at, ksip_sockaddr_len(&listen_at)) ||
	    bind(out, (struct sockaddr *)&source, ksip_sockaddr_len(&source))) {
		perror("bind");
		return 1;
	}
	for (;;) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
			msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		n = recvmmsg(in, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			iov[i].iov_len = msgs[i].msg_len;
			msgs[i].msg_hdr = (struct msghdr){ .msg_name = &peer, .msg_namelen = ksip_sockaddr_len(&peer),
							   .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		sendmmsg(out, msgs, (unsigned int)n, 0);
	}
}
