// SPDX-License-Identifier: GPL-2.0
#include "sip/hdr.h"

#include <string.h>
#include <strings.h>

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct sip_span sub(const char *a, const char *b)
{
	return (struct sip_span){ a, (uint32_t)(b - a) };
}

/*
 * Scan from p to end for an unquoted, unbracketed STOP character. Quoted
 * strings honour backslash escapes.
 * Returns end when not found.
 */
static const char *scan_to(const char *p, const char *end, char stop, bool brackets)
{
	bool quoted = false;
	int angle = 0;

	for (; p < end; p++) {
		char c = *p;

		if (quoted) {
			if (c == '\\' && p + 1 < end)
				p++;
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (brackets && c == '<')
			angle++;
		else if (brackets && c == '>' && angle > 0)
			angle--;
		else if (!angle && c == stop)
			return p;
	}
	return end;
}

bool sip_list_next(struct sip_span *rest, struct sip_span *elem)
{
	const char *p = rest->p, *end = rest->p + rest->len, *c;

	for (;;) {
		while (p < end && (is_ws(*p) || *p == ','))
			p++;
		if (p >= end) {
			*rest = sub(end, end);
			return false;
		}
		c = scan_to(p, end, ',', true);
		*elem = span_trim(sub(p, c));
		*rest = sub(c, end);
		if (elem->len)
			return true;
		p = c;
	}
}

void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *m, enum sip_hdr_id id)
{
	it->m = m;
	it->id = id;
	it->idx = m->first[id];
	it->rest = it->idx >= 0 ? m->hdrs[it->idx].value : (struct sip_span){ NULL, 0 };
}

bool sip_hdr_iter_next(struct sip_hdr_iter *it, struct sip_span *elem)
{
	while (it->idx >= 0 && it->idx < it->m->nhdrs) {
		if (sip_list_next(&it->rest, elem))
			return true;
		for (it->idx++; it->idx < it->m->nhdrs; it->idx++)
			if (it->m->hdrs[it->idx].id == it->id)
				break;
		if (it->idx < it->m->nhdrs)
			it->rest = it->m->hdrs[it->idx].value;
	}
	return false;
}

bool sip_param_find(struct sip_span params, const char *name, struct sip_span *val)
{
	const char *p = params.p, *end = params.p + params.len;
	size_t nlen = strlen(name);

	while (p < end) {
		const char *seg_end, *eq, *ns, *ne;

		while (p < end && (is_ws(*p) || *p == ';'))
			p++;
		if (p >= end)
			break;
		seg_end = scan_to(p, end, ';', false);
		eq = memchr(p, '=', (size_t)(seg_end - p));
		ns = p;
		ne = eq ? eq : seg_end;
		while (ne > ns && is_ws(ne[-1]))
			ne--;
		if ((size_t)(ne - ns) == nlen && !strncasecmp(ns, name, nlen)) {
			*val = eq ? span_trim(sub(eq + 1, seg_end)) : sub(seg_end, seg_end);
			return true;
		}
		p = seg_end;
	}
	return false;
}

/* host[:port] where host may be an IPv6 reference in brackets. */
static bool parse_hostport(struct sip_span s, struct sip_span *host, uint32_t *port)
{
	const char *p = s.p, *end = s.p + s.len, *h_end;

	*port = 0;
	if (!s.len)
		return false;
	if (*p == '[') {
		h_end = memchr(p, ']', s.len);
		if (!h_end)
			return false;
		h_end++;
	} else {
		h_end = memchr(p, ':', s.len);
		if (!h_end)
			h_end = end;
	}
	*host = sub(p, h_end);
	if (!host->len || (host->len == 2 && *p == '['))
		return false;
	for (uint32_t i = 0; i < host->len; i++) {
		unsigned char c = (unsigned char)host->p[i];

		if (c <= ' ' || c == ';' || c == '?' || c == '@' || c == ',' || c == '<' ||
		    c == '>' || c == '"')
			return false;
	}
	if (h_end == end)
		return true;
	if (*h_end != ':')
		return false;
	return span_to_u32(sub(h_end + 1, end), 65535, port) && *port > 0;
}

bool sip_via_parse(struct sip_span v, struct sip_via *via)
{
	const char *p, *end = v.p + v.len, *s1, *s2, *hp, *params;
	struct sip_span proto, val;

	memset(via, 0, sizeof(*via));
	v = span_trim(v);
	end = v.p + v.len;
	/* sent-protocol = "SIP" / "2.0" / transport, LWS allowed around '/' */
	s1 = memchr(v.p, '/', v.len);
	if (!s1)
		return false;
	proto = span_trim(sub(v.p, s1));
	if (!span_ieq(proto, "SIP"))
		return false;
	s2 = memchr(s1 + 1, '/', (size_t)(end - s1 - 1));
	if (!s2 || !span_eq(span_trim(sub(s1 + 1, s2)), "2.0"))
		return false;
	p = s2 + 1;
	while (p < end && is_ws(*p))
		p++;
	hp = p;
	while (hp < end && !is_ws(*hp) && *hp != ';')
		hp++;
	via->transport = sub(p, hp);
	if (!via->transport.len)
		return false;
	while (hp < end && is_ws(*hp))
		hp++;
	params = scan_to(hp, end, ';', false);
	if (!parse_hostport(span_trim(sub(hp, params)), &via->host, &via->port))
		return false;
	via->params = sub(params, end);
	if (sip_param_find(via->params, "branch", &val))
		via->branch = val;
	via->has_rport = sip_param_find(via->params, "rport", &val);
	via->has_received = sip_param_find(via->params, "received", &val);
	return true;
}

bool sip_uri_parse(struct sip_span s, struct sip_uri *uri)
{
	const char *p, *end, *colon, *at, *hp_end, *q;

	memset(uri, 0, sizeof(*uri));
	s = span_trim(s);
	end = s.p + s.len;
	colon = memchr(s.p, ':', s.len);
	if (!colon || colon == s.p)
		return false;
	if (span_ieq(sub(s.p, colon), "sip"))
		uri->scheme = SIP_SCHEME_SIP;
	else if (span_ieq(sub(s.p, colon), "sips"))
		uri->scheme = SIP_SCHEME_SIPS;
	else if (span_ieq(sub(s.p, colon), "tel"))
		uri->scheme = SIP_SCHEME_TEL;
	else
		uri->scheme = SIP_SCHEME_OTHER;
	p = colon + 1;
	if (uri->scheme == SIP_SCHEME_TEL || uri->scheme == SIP_SCHEME_OTHER) {
		q = scan_to(p, end, ';', false);
		uri->user = sub(p, q);
		uri->params = sub(q, end);
		return uri->user.len > 0;
	}
	/* The userinfo ends at the last '@' before any ';' or '?' of the host part. */
	at = NULL;
	for (q = p; q < end && *q != '?'; q++)
		if (*q == '@')
			at = q;
	if (at) {
		const char *pw = memchr(p, ':', (size_t)(at - p));

		uri->user = sub(p, pw ? pw : at);
		if (pw)
			uri->password = sub(pw + 1, at);
		p = at + 1;
		if (!uri->user.len)
			return false;
	}
	hp_end = p;
	if (hp_end < end && *hp_end == '[') {
		hp_end = memchr(hp_end, ']', (size_t)(end - hp_end));
		if (!hp_end)
			return false;
	}
	while (hp_end < end && *hp_end != ';' && *hp_end != '?')
		hp_end++;
	if (!parse_hostport(sub(p, hp_end), &uri->host, &uri->port))
		return false;
	q = memchr(hp_end, '?', (size_t)(end - hp_end));
	uri->params = sub(hp_end, q ? q : end);
	if (q)
		uri->headers = sub(q + 1, end);
	return true;
}

bool sip_naddr_parse(struct sip_span s, struct sip_naddr *na)
{
	const char *p, *end, *lt, *gt;

	memset(na, 0, sizeof(*na));
	s = span_trim(s);
	if (!s.len)
		return false;
	p = s.p;
	end = s.p + s.len;
	if (*p == '*') {
		const char *r = p + 1;

		while (r < end && is_ws(*r))
			r++;
		na->star = true;
		na->params = sub(r, end);
		return r == end || *r == ';';
	}
	lt = scan_to(p, end, '<', false);
	if (lt < end) {
		/* name-addr: [display-name] <addr-spec> */
		na->display = span_trim(sub(p, lt));
		gt = memchr(lt, '>', (size_t)(end - lt));
		if (!gt)
			return false;
		na->uri = span_trim(sub(lt + 1, gt));
		na->params = sub(gt + 1, end);
		if (na->display.len && na->display.p[0] == '"' &&
		    (na->display.len < 2 || na->display.p[na->display.len - 1] != '"'))
			return false;
	} else {
		/* addr-spec: parameters after the URI belong to the header. */
		const char *semi = scan_to(p, end, ';', false);

		na->uri = span_trim(sub(p, semi));
		na->params = sub(semi, end);
	}
	if (!na->uri.len || !memchr(na->uri.p, ':', na->uri.len))
		return false;
	for (uint32_t i = 0; i < na->uri.len; i++)
		if (is_ws(na->uri.p[i]))
			return false;
	return true;
}

bool sip_cseq_parse(struct sip_span s, struct sip_cseq *cs)
{
	const char *p, *end, *num_end;

	s = span_trim(s);
	p = s.p;
	end = s.p + s.len;
	num_end = p;
	while (num_end < end && *num_end >= '0' && *num_end <= '9')
		num_end++;
	/* RFC 3261 §8.1.1.5: the sequence number must be below 2**31. */
	if (!span_to_u32(sub(p, num_end), 0x7fffffffu, &cs->seq))
		return false;
	if (num_end == end || !is_ws(*num_end))
		return false;
	cs->method = span_trim(sub(num_end, end));
	return cs->method.len > 0;
}

bool sip_qvalue_parse(struct sip_span s, uint16_t *q)
{
	uint32_t whole, frac = 0, scale = 1000;
	const char *dot;

	s = span_trim(s);
	dot = memchr(s.p, '.', s.len);
	if (!span_to_u32(sub(s.p, dot ? dot : s.p + s.len), 1, &whole))
		return false;
	if (dot) {
		const char *p = dot + 1, *end = s.p + s.len;

		if (end - p > 3)
			return false;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return false;
			scale /= 10;
			frac += (uint32_t)(*p - '0') * scale;
		}
	}
	if (whole == 1 && frac)
		return false;
	*q = (uint16_t)(whole * 1000 + frac);
	return true;
}
