// SPDX-License-Identifier: GPL-2.0
#include "sip/build.h"

#include <string.h>
#include <strings.h>

#include "sip/hdr.h"

bool top_via(const struct sip_msg *m, struct sip_via *via)
{
	const struct sip_hdr *h = sip_hdr_first(m, SIP_HDR_VIA);
	struct sip_span rest, elem;

	if (!h)
		return false;
	rest = h->value;
	return sip_list_next(&rest, &elem) && sip_via_parse(elem, via);
}

struct sip_span contact_uri(const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_hdr_first(m, SIP_HDR_CONTACT);
	struct sip_span rest, elem;
	struct sip_naddr na;

	if (h) {
		rest = h->value;
		if (sip_list_next(&rest, &elem) && sip_naddr_parse(elem, &na))
			return na.uri;
	}
	return (struct sip_span){ "", 0 };
}

struct sip_span naddr_tag(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_hdr_first(m, id);
	struct sip_naddr na;
	struct sip_span tag = { "", 0 };

	if (h && sip_naddr_parse(h->value, &na) && sip_param_find(na.params, "tag", &tag))
		return tag;
	return (struct sip_span){ "", 0 };
}

uint32_t cseq_number(const struct sip_msg *m, struct sip_span *method)
{
	const struct sip_hdr *h = sip_hdr_first(m, SIP_HDR_CSEQ);
	struct sip_cseq cs;

	if (!h || !sip_cseq_parse(h->value, &cs))
		return 0;
	if (method)
		*method = cs.method;
	return cs.seq;
}

static void header(struct sip_out *o, const struct sip_hdr *h)
{
	out_span(o, h->name);
	out_str(o, ": ");
	out_span(o, h->value);
	out_str(o, "\r\n");
}

/* Write what is left of a list header after its first DROP elements; returns how many it dropped. */
static unsigned int list_header_tail(struct sip_out *o, const struct sip_hdr *h, unsigned int drop)
{
	struct sip_span rest = h->value, elem;
	unsigned int dropped = 0;

	while (dropped < drop && sip_list_next(&rest, &elem))
		dropped++;
	rest = span_trim(rest);
	while (rest.len && rest.p[0] == ',') {
		rest.p++;
		rest.len--;
		rest = span_trim(rest);
	}
	if (rest.len) {
		out_span(o, h->name);
		out_str(o, ": ");
		out_span(o, rest);
		out_str(o, "\r\n");
	}
	return dropped;
}

static bool for_realm(struct sip_span v, const char *realm)
{
	return realm && memmem(v.p, v.len, realm, strlen(realm));
}

static void finish_body(struct sip_out *o, struct sip_span body)
{
	out_printf(o, "Content-Length: %u\r\n\r\n", body.len);
	out_span(o, body);
}

static bool span_icontains(struct sip_span s, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = 0; n && i + n <= s.len; i++)
		if (!strncasecmp(s.p + i, lit, n))
			return true;
	return false;
}

bool sip_is_auto_answer(const struct sip_hdr *h)
{
	if (span_ieq(h->name, "Answer-Mode") || span_ieq(h->name, "Priv-Answer-Mode"))
		return true;
	if (span_ieq(h->name, "Call-Info"))
		return span_icontains(h->value, "answer-after");
	if (span_ieq(h->name, "Alert-Info"))
		return span_icontains(h->value, "autoanswer") ||
		       span_icontains(h->value, "auto answer") ||
		       span_icontains(h->value, "auto-answer") || span_icontains(h->value, "intercom");
	return false;
}

void build_forward_request(struct sip_out *o, const struct sip_msg *m, const struct fwd_request *f)
{
	unsigned int drop = f->routes_to_drop;
	bool mf_seen = false, first_via = true;

	o->len = 0;
	o->overflow = false;
	out_span(o, m->method_name);
	out_str(o, " ");
	out_span(o, f->ruri.len ? f->ruri : m->ruri);
	out_str(o, " SIP/2.0\r\n");
	out_str(o, f->via);
	if (f->record_route)
		out_str(o, f->record_route);
	if (f->extra)
		out_str(o, f->extra);
	for (int i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];

		switch (h->id) {
		case SIP_HDR_CONTENT_LENGTH:
			break;
		case SIP_HDR_MAX_FORWARDS: {
			uint32_t mf = 70;

			if (!mf_seen)
				span_to_u32(h->value, 255, &mf);
			mf_seen = true;
			out_printf(o, "Max-Forwards: %u\r\n", mf ? mf - 1 : 0);
			break;
		}
		case SIP_HDR_ROUTE:
			if (drop)
				drop -= list_header_tail(o, h, drop);
			else
				header(o, h);
			break;
		case SIP_HDR_VIA: {
			struct sip_span rest = h->value, elem;
			struct sip_via via;
			bool to_source;

			/* The sender's Via records where it really is (RFC 3581 §4). */
			if (first_via && f->src && sip_list_next(&rest, &elem) && sip_via_parse(elem, &via)) {
				sip_write_received_via(o, elem, f->src, &via, &to_source);
				list_header_tail(o, h, 1);
			} else {
				header(o, h);
			}
			first_via = false;
			break;
		}
		case SIP_HDR_PROXY_AUTHORIZATION:
			/* §22.3: credentials for our realm were consumed here. */
			if (!for_realm(h->value, f->realm))
				header(o, h);
			break;
		default:
			if (!f->drop_auto_answer || !sip_is_auto_answer(h))
				header(o, h);
			break;
		}
	}
	if (!mf_seen)
		out_str(o, "Max-Forwards: 70\r\n");
	finish_body(o, f->body ? *f->body : m->body);
}

void build_forward_response(struct sip_out *o, const struct sip_msg *m, const struct sip_span *body)
{
	const char *eol = memchr(m->buf, '\n', m->len);
	bool first_via = true;

	o->len = 0;
	o->overflow = false;
	out_add(o, m->buf, eol ? (size_t)(eol - m->buf) + 1 : 0);
	for (int i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];

		if (h->id == SIP_HDR_CONTENT_LENGTH)
			continue;
		if (h->id == SIP_HDR_VIA && first_via) {
			first_via = false;
			list_header_tail(o, h, 1);
			continue;
		}
		header(o, h);
	}
	finish_body(o, body ? *body : m->body);
}

/* ACK and CANCEL share all but To and the CSeq method. */
static void build_hop_request(struct sip_out *o, const struct sip_msg *req, const char *method,
			      const struct sip_msg *to_from)
{
	const struct sip_hdr *vh = sip_hdr_first(req, SIP_HDR_VIA), *to;
	struct sip_span rest = vh ? vh->value : (struct sip_span){ "", 0 }, elem = { "", 0 };

	sip_list_next(&rest, &elem);
	o->len = 0;
	o->overflow = false;
	out_printf(o, "%s ", method);
	out_span(o, req->ruri);
	out_str(o, " SIP/2.0\r\nVia: ");
	out_span(o, elem);
	out_str(o, "\r\n");
	for (int i = 0; i < req->nhdrs; i++) {
		const struct sip_hdr *h = &req->hdrs[i];

		if (h->id == SIP_HDR_ROUTE || h->id == SIP_HDR_FROM || h->id == SIP_HDR_CALL_ID)
			header(o, h);
	}
	to = sip_hdr_first(to_from, SIP_HDR_TO);
	if (to) {	/* always there in what ksipd forwards; the check keeps this total */
		out_str(o, "To: ");
		out_span(o, to->value);
		out_str(o, "\r\n");
	}
	out_printf(o, "CSeq: %u %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		   cseq_number(req, NULL), method);
}

void build_ack(struct sip_out *o, const struct sip_msg *req, const struct sip_msg *resp)
{
	build_hop_request(o, req, "ACK", resp);
}

void build_cancel(struct sip_out *o, const struct sip_msg *req)
{
	build_hop_request(o, req, "CANCEL", req);
}

/* One line's worth of text from a dialog we stored: anything that would end the line is refused. */
static bool one_line(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

/* A quoted-string's content (RFC 3261 §25.1): quote and backslash escaped, control bytes dropped. */
static void out_quoted(struct sip_out *o, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '"' || c == '\\')
			out_add(o, "\\", 1);
		out_add(o, s, 1);
	}
}

void sip_build_request(struct sip_out *o, const struct sip_request *r)
{
	o->len = 0;
	o->overflow = false;
	if (!one_line(r->ruri) || !*r->ruri || strpbrk(r->ruri, " \t") || !one_line(r->from) ||
	    !one_line(r->to) || !one_line(r->callid) || !r->via) {
		o->overflow = true;
		return;
	}
	out_printf(o, "%s %s SIP/2.0\r\n%sMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\n"
		   "Call-ID: %s\r\nCSeq: %u %s\r\n", sip_method_name(r->method), r->ruri, r->via,
		   r->from, r->to, r->callid, r->cseq, sip_method_name(r->method));
	if (r->reason) {
		out_str(o, "Reason: SIP;cause=200;text=\"");
		out_quoted(o, r->reason);
		out_str(o, "\"\r\n");
	}
	out_str(o, "Server: ksip\r\nContent-Length: 0\r\n\r\n");
}
