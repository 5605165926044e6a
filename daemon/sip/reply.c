// SPDX-License-Identifier: GPL-2.0
#include "sip/reply.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/log.h"
#include "ksip/endpoint.h"
#include "sip/hdr.h"

void out_add(struct sip_out *o, const char *p, size_t n)
{
	if (o->overflow || o->len + n > sizeof(o->buf)) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void out_str(struct sip_out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

void out_span(struct sip_out *o, struct sip_span s)
{
	out_add(o, s.p, s.len);
}

void out_printf(struct sip_out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = sizeof(o->buf) - o->len;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		o->overflow = true;
	else
		o->len += (size_t)n;
}

const char *sip_reason(int code)
{
	switch (code) {
	case 100: return "Trying";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 423: return "Interval Too Brief";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	default: return code < 300 ? "OK" : code < 400 ? "Redirect" : "Error";
	}
}

static void source_ip(const struct sip_source *src, char *ip, size_t len, unsigned int *port)
{
	if (src->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&src->addr;

		inet_ntop(AF_INET6, &a6->sin6_addr, ip, (socklen_t)len);
		*port = ntohs(a6->sin6_port);
	} else {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)&src->addr;

		inet_ntop(AF_INET, &a4->sin_addr, ip, (socklen_t)len);
		*port = ntohs(a4->sin_port);
	}
}

/* Is the Via sent-by host literally the packet's source address? */
static bool host_is_ip(struct sip_span host, const char *ip)
{
	if (host.len > 2 && host.p[0] == '[')
		host = (struct sip_span){ host.p + 1, host.len - 2 };
	return span_ieq(host, ip);
}

/*
 * The top Via gets received= when sent-by is not the source address, and
 * rport= the source port when the client asked for it (RFC 3581 §4, which
 * also requires received= in that case).
 */
void sip_write_received_via(struct sip_out *o, struct sip_span value, const struct sip_source *src,
			    const struct sip_via *via, bool *to_source)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned int port;
	struct sip_span rest = via->params, head;
	bool add_received;

	source_ip(src, ip, sizeof(ip), &port);
	add_received = via->has_rport || !host_is_ip(via->host, ip);
	*to_source = via->has_rport;
	head = (struct sip_span){ value.p, (uint32_t)(via->params.p - value.p) };
	out_str(o, "Via: ");
	out_span(o, head);
	/* Copy parameters, dropping an old received/rport that we rewrite. */
	while (rest.len) {
		const char *p = rest.p + 1, *end = rest.p + rest.len, *next;
		struct sip_span name;

		next = memchr(p, ';', (size_t)(end - p));
		if (!next)
			next = end;
		name = span_trim((struct sip_span){ p, (uint32_t)(next - p) });
		{
			const char *eq = memchr(name.p, '=', name.len);

			if (eq)
				name.len = (uint32_t)(eq - name.p);
			name = span_trim(name);
		}
		if (!(add_received && span_ieq(name, "received")) &&
		    !(via->has_rport && span_ieq(name, "rport")))
			out_add(o, rest.p, (size_t)(next - rest.p));
		rest = (struct sip_span){ next, (uint32_t)(end - next) };
	}
	if (add_received)
		out_printf(o, ";received=%s", ip);
	if (via->has_rport)
		out_printf(o, ";rport=%u", port);
	out_str(o, "\r\n");
}

/* RFC 3261 §18.2.2 with RFC 3581: where a UDP response is sent. */
static void set_destination(struct sip_out *o, const struct sip_source *src,
			    const struct sip_via *via, bool to_source)
{
	uint16_t port = via->port ? (uint16_t)via->port : 5060;

	memcpy(&o->dst, &src->addr, sizeof(src->addr));
	o->dstlen = src->addrlen;
	if (to_source || src->transport != KSIP_UDP)
		return;
	ksip_endpoint_set_port(&o->dst, port);
}

void sip_response_destination(const struct sip_msg *m, const struct sip_source *src,
			      struct sockaddr_storage *dst, socklen_t *dstlen)
{
	struct sip_out tmp;
	const struct sip_hdr *h = sip_hdr_first(m, SIP_HDR_VIA);
	struct sip_span rest, elem;
	struct sip_via via;

	tmp.dstlen = 0;
	if (h) {
		rest = h->value;
		if (sip_list_next(&rest, &elem) && sip_via_parse(elem, &via))
			set_destination(&tmp, src, &via, via.has_rport);
	}
	if (!tmp.dstlen) {
		memcpy(&tmp.dst, &src->addr, sizeof(src->addr));
		tmp.dstlen = src->addrlen;
	}
	*dst = tmp.dst;
	*dstlen = tmp.dstlen;
}

/*
 * The To tag ksipd gives a request's local answers: the same request, the
 * same tag, so retransmissions get identical answers. A MAC, not a plain
 * hash, so nobody else can tell our tag for a Call-ID and From in advance,
 * and an ACK carrying it is known to answer one of our responses.
 */
static uint64_t reply_tag(const struct sip_msg *m)
{
	const struct sip_hdr *from = sip_hdr_first(m, SIP_HDR_FROM);
	const struct sip_hdr *cid = sip_hdr_first(m, SIP_HDR_CALL_ID);
	uint64_t h = hash_mac(0, cid ? cid->value.p : "", cid ? cid->value.len : 0);

	return from ? hash_mac(h, from->value.p, from->value.len) : h;
}

bool sip_reply_tag_is_ours(const struct sip_msg *m)
{
	const struct sip_hdr *to = sip_hdr_first(m, SIP_HDR_TO);
	struct sip_naddr na;
	struct sip_span tag;
	char want[17];

	if (!to || !sip_naddr_parse(to->value, &na) || !sip_param_find(na.params, "tag", &tag))
		return false;
	snprintf(want, sizeof(want), "%016" PRIx64, reply_tag(m));
	return tag.len == 16 && !memcmp(tag.p, want, 16);
}

static void write_to(struct sip_out *o, const struct sip_msg *m, const struct sip_hdr *to)
{
	struct sip_naddr na;
	struct sip_span tag;

	out_str(o, "To: ");
	out_span(o, to->value);
	if (sip_naddr_parse(to->value, &na) && !sip_param_find(na.params, "tag", &tag))
		out_printf(o, ";tag=%016" PRIx64, reply_tag(m));
	out_str(o, "\r\n");
}

/* A header's value for a log line, at most 96 bytes of it (base/log.c neuters control bytes). */
static struct sip_span log_value(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_hdr_first(m, id);
	struct sip_span v = h ? h->value : (struct sip_span){ "", 0 };

	if (v.len > 96)
		v.len = 96;
	return v;
}

/*
 * A response of 300 and up that we make refuses a request: one line at
 * debug level saying what, from where and why, within a budget (a flood of
 * refused requests writes a few lines a second and a count).
 */
static void log_refusal(const struct sip_msg *m, const struct sip_source *src, int code,
			const char *reason)
{
	static struct log_limit budget = LOG_LIMIT_INIT;
	struct sip_span method = m->method_name;
	char ip[INET6_ADDRSTRLEN];
	unsigned int port;
	bool v6 = src->addr.ss_family == AF_INET6;

	if (log_current_level < LOG_LVL_DEBUG || code < 300)
		return;
	source_ip(src, ip, sizeof(ip), &port);
	if (method.len > 32)
		method.len = 32;
	log_limited(&budget, LOG_LVL_DEBUG, "refused " SPAN_FMT " from %s%s%s:%u: %d %s (From "
		    SPAN_FMT ", To " SPAN_FMT ")", SPAN_ARG(method), v6 ? "[" : "", ip, v6 ? "]" : "",
		    port, code, reason ? reason : sip_reason(code),
		    SPAN_ARG(log_value(m, SIP_HDR_FROM)), SPAN_ARG(log_value(m, SIP_HDR_TO)));
}

void sip_reply_start(struct sip_out *o, const struct sip_msg *m, const struct sip_source *src,
		     int code, const char *reason)
{
	bool first_via = true, to_source = false;

	log_refusal(m, src, code, reason);
	o->len = 0;
	o->overflow = false;
	o->dstlen = 0;
	out_printf(o, "SIP/2.0 %d %s\r\n", code, reason ? reason : sip_reason(code));
	for (int i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];

		switch (h->id) {
		case SIP_HDR_VIA:
			if (first_via) {
				struct sip_via via;
				struct sip_span rest = h->value, elem;

				first_via = false;
				/* The top Via is the first element of the first Via header. */
				if (!sip_list_next(&rest, &elem) || !sip_via_parse(elem, &via)) {
					out_str(o, "Via: ");
					out_span(o, h->value);
					out_str(o, "\r\n");
					break;
				}
				sip_write_received_via(o, elem, src, &via, &to_source);
				set_destination(o, src, &via, to_source);
				if (span_trim(rest).len) {
					struct sip_span more = span_trim(rest);

					/* skip the separating comma */
					out_str(o, "Via: ");
					out_span(o, span_trim((struct sip_span){ more.p + 1,
										 more.len - 1 }));
					out_str(o, "\r\n");
				}
				break;
			}
			/* fall through */
		case SIP_HDR_FROM:
		case SIP_HDR_CALL_ID:
		case SIP_HDR_CSEQ:
			/* Written with their long names: compact forms are for the sender. */
			out_str(o, h->id == SIP_HDR_VIA ? "Via" : h->id == SIP_HDR_FROM ? "From" :
				   h->id == SIP_HDR_CALL_ID ? "Call-ID" : "CSeq");
			out_str(o, ": ");
			out_span(o, h->value);
			out_str(o, "\r\n");
			break;
		case SIP_HDR_TO:
			write_to(o, m, h);
			break;
		default:
			break;
		}
	}
	if (!o->dstlen) {
		memcpy(&o->dst, &src->addr, sizeof(src->addr));
		o->dstlen = src->addrlen;
	}
}

void sip_reply_finish(struct sip_out *o)
{
	out_str(o, "Server: ksip\r\nContent-Length: 0\r\n\r\n");
}

void sip_reply_finish_body(struct sip_out *o, const char *ctype, const char *body, size_t len)
{
	out_printf(o, "Server: ksip\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype, len);
	out_add(o, body, len);
}

void sip_reply_tag(const struct sip_msg *m, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, reply_tag(m));
}

void sip_reply_simple(struct sip_out *o, const struct sip_msg *m, const struct sip_source *src,
		      int code, const char *reason)
{
	sip_reply_start(o, m, src, code, reason);
	sip_reply_finish(o);
}
