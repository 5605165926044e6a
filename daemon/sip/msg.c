// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 3261 message parser: start line, header lines (with folding and
 * compact names), Content-Length and body. Every loop is bounded by the
 * buffer length and SIP_MAX_HEADERS.
 */
#include "sip/msg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HDR(n, c, i) { n, sizeof(n) - 1, c, i }

static const struct {
	const char *name;
	uint8_t len;
	char compact;
	enum sip_hdr_id id;
} hdr_names[] = {
	HDR("Via", 'v', SIP_HDR_VIA),
	HDR("From", 'f', SIP_HDR_FROM),
	HDR("To", 't', SIP_HDR_TO),
	HDR("Call-ID", 'i', SIP_HDR_CALL_ID),
	HDR("CSeq", 0, SIP_HDR_CSEQ),
	HDR("Contact", 'm', SIP_HDR_CONTACT),
	HDR("Content-Length", 'l', SIP_HDR_CONTENT_LENGTH),
	HDR("Content-Type", 'c', SIP_HDR_CONTENT_TYPE),
	HDR("Max-Forwards", 0, SIP_HDR_MAX_FORWARDS),
	HDR("Expires", 0, SIP_HDR_EXPIRES),
	HDR("Authorization", 0, SIP_HDR_AUTHORIZATION),
	HDR("Proxy-Authorization", 0, SIP_HDR_PROXY_AUTHORIZATION),
	HDR("Require", 0, SIP_HDR_REQUIRE),
	HDR("Proxy-Require", 0, SIP_HDR_PROXY_REQUIRE),
	HDR("Supported", 'k', SIP_HDR_SUPPORTED),
	HDR("Route", 0, SIP_HDR_ROUTE),
	HDR("Record-Route", 0, SIP_HDR_RECORD_ROUTE),
	HDR("Subject", 's', SIP_HDR_SUBJECT),
	HDR("Event", 'o', SIP_HDR_EVENT),
	HDR("Allow", 0, SIP_HDR_ALLOW),
	HDR("User-Agent", 0, SIP_HDR_USER_AGENT),
	HDR("Content-Encoding", 'e', SIP_HDR_CONTENT_ENCODING),
};

static const char *const method_names[SIP_METHOD__COUNT] = {
	[SIP_METHOD_UNKNOWN] = "UNKNOWN",
	[SIP_INVITE] = "INVITE",	[SIP_ACK] = "ACK",
	[SIP_BYE] = "BYE",		[SIP_CANCEL] = "CANCEL",
	[SIP_REGISTER] = "REGISTER",	[SIP_OPTIONS] = "OPTIONS",
	[SIP_MESSAGE] = "MESSAGE",	[SIP_INFO] = "INFO",
	[SIP_PRACK] = "PRACK",		[SIP_UPDATE] = "UPDATE",
	[SIP_SUBSCRIBE] = "SUBSCRIBE",	[SIP_NOTIFY] = "NOTIFY",
	[SIP_PUBLISH] = "PUBLISH",	[SIP_REFER] = "REFER",
};

bool span_eq(struct sip_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.p, lit, n) == 0;
}

bool span_ieq(struct sip_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

bool span_ieq_span(struct sip_span a, struct sip_span b)
{
	return a.len == b.len && strncasecmp(a.p, b.p, a.len) == 0;
}

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *span_dup(struct sip_span s)
{
	char *p = malloc(s.len + 1);

	if (p) {
		memcpy(p, s.p, s.len);
		p[s.len] = 0;
	}
	return p;
}

void span_copy(char *dst, size_t cap, struct sip_span s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	memcpy(dst, s.p, n);
	dst[n] = 0;
}

struct sip_span span_trim(struct sip_span s)
{
	while (s.len && is_lws(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_lws(s.p[s.len - 1]))
		s.len--;
	return s;
}

bool span_to_u32(struct sip_span s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	s = span_trim(s);
	if (!s.len || s.len > 10)
		return false;
	for (uint32_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

enum sip_method sip_method_from(const char *p, size_t len)
{
	/* Methods are case-sensitive (RFC 3261 §7.1). */
	for (int i = 1; i < SIP_METHOD__COUNT; i++)
		if (strlen(method_names[i]) == len && !memcmp(p, method_names[i], len))
			return (enum sip_method)i;
	return SIP_METHOD_UNKNOWN;
}

const char *sip_method_name(enum sip_method m)
{
	return m < SIP_METHOD__COUNT ? method_names[m] : "UNKNOWN";
}

const struct sip_hdr *sip_hdr_first(const struct sip_msg *m, enum sip_hdr_id id)
{
	return m->first[id] < 0 ? NULL : &m->hdrs[m->first[id]];
}

/* RFC 3261 token characters, as a table: this runs for every byte of every header name. */
static const bool token_char[256] = {
	['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true,
	['-'] = true, ['.'] = true, ['!'] = true, ['%'] = true, ['*'] = true,
	['_'] = true, ['+'] = true, ['`'] = true, ['\''] = true, ['~'] = true,
};

static bool is_token(unsigned char c)
{
	return token_char[c];
}

static enum sip_hdr_id hdr_lookup(const char *p, uint32_t len)
{
	if (len == 1) {
		char c = (char)(p[0] | 0x20);

		for (size_t i = 0; i < sizeof(hdr_names) / sizeof(hdr_names[0]); i++)
			if (hdr_names[i].compact == c)
				return hdr_names[i].id;
		return SIP_HDR_OTHER;
	}
	for (size_t i = 0; i < sizeof(hdr_names) / sizeof(hdr_names[0]); i++)
		if (hdr_names[i].len == len && !strncasecmp(hdr_names[i].name, p, len))
			return hdr_names[i].id;
	return SIP_HDR_OTHER;
}

/* Find the end of the line starting at p: returns the offset of '\n' or -1. */
static long line_end(const char *buf, size_t len, size_t from)
{
	const char *nl = memchr(buf + from, '\n', len - from);

	return nl ? nl - buf : -1;
}

/* Length of line content [from, nl) without a trailing CR. */
static size_t content_len(const char *buf, size_t from, size_t nl)
{
	return (nl > from && buf[nl - 1] == '\r') ? nl - 1 - from : nl - from;
}

static bool parse_version(struct sip_span v)
{
	return span_ieq(v, "SIP/2.0");
}

static bool looks_like_version(struct sip_span v)
{
	return v.len >= 4 && !strncasecmp(v.p, "SIP/", 4);
}

static enum sip_parse_result parse_start_line(struct sip_msg *m, const char *l, size_t n)
{
	const char *sp1 = memchr(l, ' ', n);
	const char *sp2;

	if (!sp1 || sp1 == l)
		return SIP_E_GARBAGE;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l));

	if (n >= 4 && !strncasecmp(l, "SIP/", 4)) {
		/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
		uint32_t code;

		m->is_request = false;
		m->version = (struct sip_span){ l, (uint32_t)(sp1 - l) };
		if (!sp2)
			sp2 = l + n;	/* empty reason phrase without SP */
		if (!span_to_u32((struct sip_span){ sp1 + 1, (uint32_t)(sp2 - sp1 - 1) },
				 699, &code) || code < 100 || sp2 - sp1 - 1 != 3)
			return SIP_E_GARBAGE;
		m->status = (int)code;
		if (sp2 < l + n)
			m->reason = (struct sip_span){ sp2 + 1, (uint32_t)(l + n - sp2 - 1) };
		return parse_version(m->version) ? SIP_PARSE_OK : SIP_E_VERSION;
	}

	/* Request-Line = Method SP Request-URI SP SIP-Version */
	if (!sp2 || sp2 == sp1 + 1)
		return SIP_E_GARBAGE;
	for (const char *c = l; c < sp1; c++)
		if (!is_token((unsigned char)*c))
			return SIP_E_GARBAGE;
	m->is_request = true;
	m->method_name = (struct sip_span){ l, (uint32_t)(sp1 - l) };
	m->method = sip_method_from(l, (size_t)(sp1 - l));
	m->ruri = (struct sip_span){ sp1 + 1, (uint32_t)(sp2 - sp1 - 1) };
	m->version = (struct sip_span){ sp2 + 1, (uint32_t)(l + n - sp2 - 1) };
	for (uint32_t i = 0; i < m->ruri.len; i++)
		if ((unsigned char)m->ruri.p[i] <= ' ')
			return SIP_E_GARBAGE;
	if (!looks_like_version(m->version))
		return SIP_E_GARBAGE;
	return parse_version(m->version) ? SIP_PARSE_OK : SIP_E_VERSION;
}

static enum sip_parse_result fail(struct sip_msg *m, enum sip_parse_result r, const char *why)
{
	m->error = why;
	return r;
}

static enum sip_parse_result note_content_length(struct sip_msg *m, struct sip_span v)
{
	uint32_t cl;

	if (!span_to_u32(v, SIP_MAX_MESSAGE, &cl))
		return fail(m, SIP_E_CONTENT_LENGTH, "Bad Content-Length");
	if (m->content_length >= 0 && m->content_length != cl)
		return fail(m, SIP_E_CONTENT_LENGTH, "Conflicting Content-Length");
	m->content_length = cl;
	return SIP_PARSE_OK;
}

/*
 * One header line, possibly folded over several physical lines. *pos points
 * at its first byte; on return it points past its last line break.
 */
static enum sip_parse_result parse_header(struct sip_msg *m, const char *buf, size_t len,
					  size_t *pos)
{
	size_t start = *pos, name_end, colon, nl;
	long e;
	struct sip_hdr *h;

	name_end = start;
	while (name_end < len && is_token((unsigned char)buf[name_end]))
		name_end++;
	if (name_end == start)
		return fail(m, SIP_E_HEADER, "Malformed header line");
	colon = name_end;
	while (colon < len && (buf[colon] == ' ' || buf[colon] == '\t'))
		colon++;
	if (colon >= len || buf[colon] != ':')
		return fail(m, SIP_E_HEADER, "Malformed header line");

	/* The value runs to a line break not followed by SP/HT (folding). */
	e = line_end(buf, len, colon);
	while (e >= 0 && (size_t)e + 1 < len && (buf[e + 1] == ' ' || buf[e + 1] == '\t'))
		e = line_end(buf, len, (size_t)e + 1);
	if (e < 0)
		return fail(m, SIP_E_TRUNCATED, "Header section not terminated");
	nl = (size_t)e;

	for (size_t i = colon + 1; i < nl; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < ' ' && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return fail(m, SIP_E_HEADER, "Control character in header");
	}
	if (m->nhdrs >= SIP_MAX_HEADERS)
		return fail(m, SIP_E_TOO_MANY_HEADERS, "Too many headers");

	h = &m->hdrs[m->nhdrs];
	h->name = (struct sip_span){ buf + start, (uint32_t)(name_end - start) };
	h->value = span_trim((struct sip_span){ buf + colon + 1,
						(uint32_t)(content_len(buf, colon + 1, nl)) });
	h->id = (uint8_t)hdr_lookup(h->name.p, h->name.len);
	if (m->first[h->id] < 0)
		m->first[h->id] = (int16_t)m->nhdrs;
	if (m->count[h->id] < UINT8_MAX)
		m->count[h->id]++;
	m->nhdrs++;
	*pos = nl + 1;
	if (h->id == SIP_HDR_CONTENT_LENGTH)
		return note_content_length(m, h->value);
	return SIP_PARSE_OK;
}

enum sip_parse_result sip_parse(struct sip_msg *m, const char *buf, size_t len)
{
	enum sip_parse_result r, start_r;
	size_t pos;
	long nl;

	m->buf = buf;
	m->len = (uint32_t)len;
	m->is_request = false;
	m->method = SIP_METHOD_UNKNOWN;
	m->method_name = m->ruri = m->reason = m->version = (struct sip_span){ buf, 0 };
	m->status = 0;
	m->nhdrs = 0;
	memset(m->first, 0xff, sizeof(m->first));
	memset(m->count, 0, sizeof(m->count));
	m->content_length = -1;
	m->body = (struct sip_span){ buf + len, 0 };
	m->error = "Not a SIP message";

	if (len == 0 || len > SIP_MAX_MESSAGE)
		return SIP_E_GARBAGE;
	nl = line_end(buf, len, 0);
	if (nl < 0)
		return SIP_E_GARBAGE;
	for (long i = 0; i < nl; i++)
		if (buf[i] == 0)
			return SIP_E_GARBAGE;
	start_r = parse_start_line(m, buf, content_len(buf, 0, (size_t)nl));
	if (start_r == SIP_E_GARBAGE)
		return start_r;

	pos = (size_t)nl + 1;
	for (;;) {
		if (pos >= len)
			return fail(m, SIP_E_TRUNCATED, "Header section not terminated");
		if (buf[pos] == '\n' || (buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n')) {
			pos += buf[pos] == '\n' ? 1 : 2;
			break;
		}
		r = parse_header(m, buf, len, &pos);
		if (r != SIP_PARSE_OK)
			return r;
	}

	m->body = (struct sip_span){ buf + pos, (uint32_t)(len - pos) };
	if (m->content_length >= 0) {
		if (m->content_length > m->body.len)
			return fail(m, SIP_E_BODY_SHORT, "Content-Length exceeds body");
		/* RFC 3261 §18.3: bytes after the body are discarded. */
		m->body.len = (uint32_t)m->content_length;
		m->len = (uint32_t)(pos + m->body.len);
	}
	if (start_r == SIP_E_VERSION)
		return fail(m, SIP_E_VERSION, "Version Not Supported");
	m->error = NULL;
	return SIP_PARSE_OK;
}

/* Locate Content-Length in a header section; -1 absent, -2 invalid. */
static long frame_content_length(const char *buf, size_t hdr_len)
{
	size_t pos;
	long nl, found = -1;

	nl = line_end(buf, hdr_len, 0);
	if (nl < 0)
		return -2;
	pos = (size_t)nl + 1;
	while (pos < hdr_len) {
		size_t n = 0, v;
		uint32_t cl;

		nl = line_end(buf, hdr_len, pos);
		if (nl < 0)
			break;
		while (pos + n < (size_t)nl && is_token((unsigned char)buf[pos + n]))
			n++;
		v = pos + n;
		while (v < (size_t)nl && (buf[v] == ' ' || buf[v] == '\t'))
			v++;
		if (v < (size_t)nl && buf[v] == ':' &&
		    hdr_lookup(buf + pos, (uint32_t)n) == SIP_HDR_CONTENT_LENGTH) {
			struct sip_span s = { buf + v + 1, (uint32_t)((size_t)nl - v - 1) };

			if (!span_to_u32(s, SIP_MAX_MESSAGE, &cl))
				return -2;
			if (found >= 0 && found != cl)
				return -2;
			found = cl;
		}
		pos = (size_t)nl + 1;
	}
	return found;
}

long sip_stream_frame(const char *buf, size_t len)
{
	const char *end = NULL;
	size_t hdr_len;
	long cl;

	/* Look for the empty line: CRLFCRLF (or bare LFLF from lenient peers). */
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n') {
			end = buf + i + 2;
			break;
		}
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			end = buf + i + 3;
			break;
		}
	}
	if (!end)
		return len >= SIP_MAX_MESSAGE ? -1 : 0;
	hdr_len = (size_t)(end - buf);
	cl = frame_content_length(buf, hdr_len);
	/* RFC 3261 §18.3: Content-Length is mandatory on stream transports. */
	if (cl < 0)
		return -1;
	if (hdr_len + (size_t)cl > SIP_MAX_MESSAGE)
		return -1;
	if (hdr_len + (size_t)cl > len)
		return 0;
	return (long)(hdr_len + (size_t)cl);
}
