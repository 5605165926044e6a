// SPDX-License-Identifier: GPL-2.0
/* UDP: datagrams received and answered in batches. */
#include <string.h>
#include <sys/socket.h>

#include "transport/worker_priv.h"

#define UDP_ROUNDS 8		/* batches per wake-up before looking at other sockets */

/* Under w->lock: receive in batches, answer each batch with one sendmmsg(). */
void udp_readable(void *arg, uint32_t events)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	const struct transport_ops *ops = w->t->ops;
	struct udp_batch *b = w->udp;
	int fd = l->ev.fd;

	(void)events;
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n, nout = 0;

		for (int i = 0; i < UDP_BATCH; i++) {
			b->iov[i] = (struct iovec){ b->buf[i], UDP_BUF };
			b->in[i].msg_hdr = (struct msghdr){
				.msg_name = &b->from[i],
				.msg_namelen = sizeof(b->from[i]),
				.msg_iov = &b->iov[i],
				.msg_iovlen = 1,
			};
		}
		n = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct sip_source src;
			size_t len = b->in[i].msg_len;
			struct sip_out *o = &b->reply[nout];

			if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				STAT_INC(&w->stats, garbage);
				continue;
			}
			/* A bare CRLF keepalive over UDP needs no answer (RFC 5626 uses STUN there). */
			if (len <= 4 && strspn(b->buf[i], "\r\n") >= len) {
				STAT_INC(&w->stats, keepalives);
				continue;
			}
			memcpy(&src.addr, &b->from[i], sizeof(src.addr));
			if (l->wildcard)
				src.local.ss_family = 0;
			else
				src.local = l->at->addr;
			src.addrlen = b->in[i].msg_hdr.msg_namelen;
			src.transport = KSIP_UDP;
			o->len = 0;
			if (!ops->on_message(w->arg, w, b->buf[i], len, &src, o))
				continue;
			b->oiov[nout] = (struct iovec){ o->buf, o->len };
			b->out[nout].msg_hdr = (struct msghdr){
				.msg_name = &o->dst,
				.msg_namelen = o->dstlen,
				.msg_iov = &b->oiov[nout],
				.msg_iovlen = 1,
			};
			nout++;
		}
		/* Answers leave by the socket their requests came in on (RFC 3581 §4). */
		for (int sent = 0; sent < nout;) {
			int r = sendmmsg(fd, b->out + sent, (unsigned int)(nout - sent), MSG_DONTWAIT);

			if (r <= 0) {
				/* UDP: a full socket buffer drops the answer; the client retransmits. */
				break;
			}
			sent += r;
		}
		if (n < UDP_BATCH)
			return;
	}
}
