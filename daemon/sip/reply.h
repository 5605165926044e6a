/* SPDX-License-Identifier: GPL-2.0 */
/* Building responses to a parsed request (RFC 3261 §8.2.6, RFC 3581). */
#ifndef KSIP_SIP_REPLY_H
#define KSIP_SIP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "sip/msg.h"

struct sip_via;

/*
 * What ksipd builds at most: what it accepts (16 KiB datagrams, the
 * transport's UDP_BUF) plus its own Via, Record-Route and Max-Forwards, so
 * a request it accepted can be forwarded (over TCP: see below).
 */
#define SIP_OUT_MAX (16384 + 1024)
/*
 * §18.1.1: a request larger than this (the path MTU unknown) goes over a
 * congestion-controlled transport; without one, the answer is 513.
 */
#define SIP_UDP_REQUEST_MAX 1300

struct sip_source {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	enum ksip_transport transport;
	/*
	 * Our address and port it arrived on: what its answers leave from and
	 * what a binding it registers is reached from again: the listener's
	 * address, a wildcard socket's IP_PKTINFO, a TCP connection's own end.
	 * Family 0 when not known: the route decides then.
	 */
	struct sockaddr_storage local;
};

struct sip_out {
	size_t len;
	bool overflow;
	struct sockaddr_storage dst;	/* where a UDP response goes */
	socklen_t dstlen;
	char buf[SIP_OUT_MAX];
};

void out_add(struct sip_out *o, const char *p, size_t n);
void out_str(struct sip_out *o, const char *s);
void out_span(struct sip_out *o, struct sip_span s);
void out_printf(struct sip_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *sip_reason(int code);

/*
 * Status line, the Vias (top one with received/rport), From, To (with a
 * tag added when absent), Call-ID and CSeq. REASON NULL uses the default
 * phrase. Also sets o->dst.
 */
void sip_reply_start(struct sip_out *o, const struct sip_msg *m, const struct sip_source *src,
		     int code, const char *reason);
/*
 * "Via: VALUE\r\n" for the top Via element VALUE (parsed as VIA) of a request
 * from SRC, with received= and rport= set as RFC 3581 §4 asks. *TO_SOURCE
 * says whether responses go to the source port (rport was requested).
 */
void sip_write_received_via(struct sip_out *o, struct sip_span value, const struct sip_source *src,
			    const struct sip_via *via, bool *to_source);
/* Where responses to M go (§18.2.2 and RFC 3581), as sip_reply_start() sets o->dst. */
void sip_response_destination(const struct sip_msg *m, const struct sip_source *src,
			      struct sockaddr_storage *dst, socklen_t *dstlen);
/*
 * Does M's To tag say it answers one of our local responses to that
 * Call-ID and From (the tag sip_reply_start() adds)? How the proxy knows,
 * without any state, the ACK of a response it sent statelessly.
 */
bool sip_reply_tag_is_ours(const struct sip_msg *m);
/* Server header, Content-Length: 0, end of headers. */
void sip_reply_finish(struct sip_out *o);

/* Server header, Content-Type CTYPE and Content-Length, end of headers, then BODY. */
void sip_reply_finish_body(struct sip_out *o, const char *ctype, const char *body, size_t len);
/* The To tag sip_reply_start() gives M's answers (16 hex digits): a UAS's dialog tag. */
void sip_reply_tag(const struct sip_msg *m, char out[17]);

/* Start + finish for a response with no extra headers. */
void sip_reply_simple(struct sip_out *o, const struct sip_msg *m, const struct sip_source *src,
		      int code, const char *reason);

#endif
