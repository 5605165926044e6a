// SPDX-License-Identifier: GPL-2.0
/*
 * SIP framing check (RFC 3261 §7, §18.3), the same code in ksip.ko and in
 * userspace. It decides only whether a datagram is framed like SIP: start
 * line, header lines, the empty line, a Content-Length that fits, and the
 * five headers every message has. Bare LF line ends are accepted because
 * ksipd's parser accepts them too.
 */
#include "ksip_sipframe.h"

const char *const ksip_frame_verdict_names[KSIP_FRAME__COUNT] = {
	[KSIP_FRAME_OK] = "ok",
	[KSIP_FRAME_KEEPALIVE] = "keepalive",
	[KSIP_FRAME_BAD_SIZE] = "bad_size",
	[KSIP_FRAME_BAD_START] = "bad_start_line",
	[KSIP_FRAME_BAD_HEADER] = "bad_header",
	[KSIP_FRAME_NO_END] = "no_end_of_headers",
	[KSIP_FRAME_BAD_LENGTH] = "bad_content_length",
	[KSIP_FRAME_MISSING_HEADER] = "missing_header",
};

enum {
	SEEN_VIA = 1,
	SEEN_FROM = 2,
	SEEN_TO = 4,
	SEEN_CALL_ID = 8,
	SEEN_CSEQ = 16,
	SEEN_ALL = 31,
};

static int is_token(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`':
	case '\'': case '~':
		return 1;
	}
	return 0;
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive compare of the name [p, p+n) with a lowercase literal. */
static int name_is(const unsigned char *p, unsigned int n, const char *lit)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!lit[i] || lower(p[i]) != (unsigned char)lit[i])
			return 0;
	return lit[n] == 0;
}

/* Offset of the next '\n' at or after FROM, or LEN. */
static unsigned int next_lf(const unsigned char *p, unsigned int len, unsigned int from)
{
	while (from < len && p[from] != '\n')
		from++;
	return from;
}

/* The content of the line [from, lf) without a trailing CR. */
static unsigned int line_end(const unsigned char *p, unsigned int from, unsigned int lf)
{
	return (lf > from && p[lf - 1] == '\r') ? lf - 1 : lf;
}

static int is_version(const unsigned char *p, unsigned int n)
{
	return n == 7 && name_is(p, 7, "sip/2.0");
}

static int check_start_line(const unsigned char *p, unsigned int end)
{
	unsigned int i, sp1, sp2;

	/* No control bytes anywhere on the line, the reason phrase included. */
	for (i = 0; i < end; i++)
		if ((p[i] < ' ' && p[i] != '\t') || p[i] == 0x7f)
			return 0;
	i = 0;
	while (i < end && p[i] != ' ')
		i++;
	sp1 = i;
	if (sp1 == 0 || sp1 >= end)
		return 0;
	i = sp1 + 1;
	while (i < end && p[i] != ' ')
		i++;
	sp2 = i;

	if (is_version(p, sp1)) {
		/* Status-Line: SIP/2.0 SP 3DIGIT SP Reason-Phrase */
		if (sp2 - sp1 - 1 != 3 || p[sp1 + 1] < '1' || p[sp1 + 1] > '6')
			return 0;
		for (i = sp1 + 1; i < sp2; i++)
			if (p[i] < '0' || p[i] > '9')
				return 0;
		return 1;
	}
	/* Request-Line: Method SP Request-URI SP SIP/2.0 */
	for (i = 0; i < sp1; i++)
		if (!is_token(p[i]))
			return 0;
	if (sp2 >= end || sp2 == sp1 + 1)
		return 0;
	for (i = sp1 + 1; i < sp2; i++)
		if (p[i] <= ' ' || p[i] == 0x7f)
			return 0;
	return is_version(p + sp2 + 1, end - sp2 - 1);
}

/* Content-Length value: digits with optional surrounding whitespace. */
static long parse_length(const unsigned char *p, unsigned int n)
{
	unsigned int i = 0;
	long v = 0;
	int digits = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		v = v * 10 + (p[i] - '0');
		if (++digits > 6)
			return -1;
	}
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return (digits && i == n) ? v : -1;
}

static unsigned int header_bit(const unsigned char *name, unsigned int n)
{
	if (n == 1) {
		switch (lower(name[0])) {
		case 'v': return SEEN_VIA;
		case 'f': return SEEN_FROM;
		case 't': return SEEN_TO;
		case 'i': return SEEN_CALL_ID;
		}
		return 0;
	}
	if (name_is(name, n, "via"))
		return SEEN_VIA;
	if (name_is(name, n, "from"))
		return SEEN_FROM;
	if (name_is(name, n, "to"))
		return SEEN_TO;
	if (name_is(name, n, "call-id"))
		return SEEN_CALL_ID;
	if (name_is(name, n, "cseq"))
		return SEEN_CSEQ;
	return 0;
}

/*
 * A STUN message (RFC 5389 §6): the two top bits zero, the magic cookie,
 * and a length that is the rest of the datagram in whole 4-byte words.
 * Phones send STUN Binding requests to the SIP port as their UDP keep-alive
 * (RFC 5626 §4.4.2); ksipd answers them, so the guard lets them by.
 */
static int is_stun(const unsigned char *p, unsigned int len)
{
	unsigned int body;

	if (len < 20 || (p[0] & 0xc0))
		return 0;
	body = (unsigned int)p[2] << 8 | p[3];
	return body % 4 == 0 && body + 20 == len && p[4] == 0x21 && p[5] == 0x12 &&
	       p[6] == 0xa4 && p[7] == 0x42;
}

enum ksip_frame_verdict ksip_frame_check(const unsigned char *p, unsigned int len)
{
	unsigned int pos, lf, end, seen = 0, have_header = 0;
	long content_length = -1;

	if ((len == 2 && p[0] == '\r' && p[1] == '\n') ||
	    (len == 4 && p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n') ||
	    is_stun(p, len))
		return KSIP_FRAME_KEEPALIVE;
	if (len < KSIP_FRAME_MIN || len > KSIP_FRAME_MAX)
		return KSIP_FRAME_BAD_SIZE;

	lf = next_lf(p, len, 0);
	if (lf >= len || !check_start_line(p, line_end(p, 0, lf)))
		return KSIP_FRAME_BAD_START;

	for (pos = lf + 1;;) {
		unsigned int name_end, i;
		long v;

		if (pos >= len)
			return KSIP_FRAME_NO_END;
		if (p[pos] == '\n') {
			pos += 1;
			break;
		}
		if (p[pos] == '\r' && pos + 1 < len && p[pos + 1] == '\n') {
			pos += 2;
			break;
		}
		lf = next_lf(p, len, pos);
		if (lf >= len)
			return KSIP_FRAME_NO_END;
		end = line_end(p, pos, lf);
		/* A continuation line (folding) belongs to the previous header. */
		if (p[pos] == ' ' || p[pos] == '\t') {
			if (!have_header)
				return KSIP_FRAME_BAD_HEADER;
		} else {
			name_end = pos;
			while (name_end < end && is_token(p[name_end]))
				name_end++;
			i = name_end;
			while (i < end && (p[i] == ' ' || p[i] == '\t'))
				i++;
			if (name_end == pos || i >= end || p[i] != ':')
				return KSIP_FRAME_BAD_HEADER;
			seen |= header_bit(p + pos, name_end - pos);
			if ((name_end - pos == 1 && lower(p[pos]) == 'l') ||
			    name_is(p + pos, name_end - pos, "content-length")) {
				v = parse_length(p + i + 1, end - i - 1);
				if (v < 0 || (content_length >= 0 && v != content_length))
					return KSIP_FRAME_BAD_LENGTH;
				content_length = v;
			}
			have_header = 1;
			pos = i;
		}
		for (i = pos; i < end; i++)
			if ((p[i] < ' ' && p[i] != '\t') || p[i] == 0x7f)
				return KSIP_FRAME_BAD_HEADER;
		pos = lf + 1;
	}
	/* RFC 3261 §18.3: a Content-Length larger than the datagram is an error. */
	if (content_length > (long)(len - pos))
		return KSIP_FRAME_BAD_LENGTH;
	if (seen != SEEN_ALL)
		return KSIP_FRAME_MISSING_HEADER;
	return KSIP_FRAME_OK;
}
