// SPDX-License-Identifier: GPL-2.0
/* UDP: datagrams received and answered in batches. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/worker_priv.h"

#define UDP_ROUNDS 8		/* batches per wake-up before looking at other sockets */

/*
 * Our address a datagram on a wildcard socket L was sent to, from its
 * IP_PKTINFO / IPV6_PKTINFO (the listener asks for them), with L's port.
 * Family 0 when there is none.
 */
static void local_of(const struct listener *l, struct msghdr *mh, struct sockaddr_storage *local)
{
	memset(local, 0, sizeof(*local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in *s4 = (struct sockaddr_in *)local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			s4->sin_family = AF_INET;
			s4->sin_addr = pi.ipi_addr;
			s4->sin_port = ((const struct sockaddr_in *)&l->at->addr)->sin_port;
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			s6->sin6_family = AF_INET6;
			s6->sin6_addr = pi.ipi6_addr;
			s6->sin6_port = ((const struct sockaddr_in6 *)&l->at->addr)->sin6_port;
			return;
		}
	}
}

size_t udp_source_cmsg(const struct listener *l, const struct sockaddr_storage *from, char *buf,
		       size_t len)
{
	struct msghdr mh = { .msg_control = buf, .msg_controllen = len };
	struct cmsghdr *c;

	if (!l->wildcard || !from || from->ss_family != l->at->addr.ss_family)
		return 0;
	memset(buf, 0, len);
	c = CMSG_FIRSTHDR(&mh);
	if (from->ss_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = ((const struct sockaddr_in *)from)->sin_addr };

		if (len < CMSG_SPACE(sizeof(pi)))
			return 0;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	struct in6_pktinfo pi6 = { .ipi6_addr = ((const struct sockaddr_in6 *)from)->sin6_addr };

	if (len < CMSG_SPACE(sizeof(pi6)))
		return 0;
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi6));
	memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
	return CMSG_SPACE(sizeof(pi6));
}

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
				.msg_control = l->wildcard ? b->cmsg[i] : NULL,
				.msg_controllen = l->wildcard ? UDP_CMSG : 0,
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
				local_of(l, &b->in[i].msg_hdr, &src.local);
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
				.msg_control = b->ocmsg[nout],
				/* On a wildcard socket, from the address it was sent to. */
				.msg_controllen = udp_source_cmsg(l, &src.local, b->ocmsg[nout], UDP_CMSG),
			};
			if (!b->out[nout].msg_hdr.msg_controllen)
				b->out[nout].msg_hdr.msg_control = NULL;
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
