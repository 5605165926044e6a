// SPDX-License-Identifier: GPL-2.0
/*
 * Parser tests: valid and invalid messages in the spirit of RFC 4475
 * (torture tests), written for ksip.
 */
#include <string.h>

#include "sip/hdr.h"
#include "sip/msg.h"
#include "tap.h"

static struct sip_msg m;

static enum sip_parse_result parse(const char *s)
{
	return sip_parse(&m, s, strlen(s));
}

static void test_basic_request(void)
{
	const char *s =
		"REGISTER sip:ksip.test SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-1;rport\r\n"
		"Max-Forwards: 70\r\n"
		"From: \"Alice\" <sip:alice@ksip.test>;tag=a1\r\n"
		"To: <sip:alice@ksip.test>\r\n"
		"Call-ID: abc@192.0.2.1\r\n"
		"CSeq: 7 REGISTER\r\n"
		"Contact: <sip:alice@192.0.2.1:5062>;expires=60\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_via via;
	struct sip_naddr na;
	struct sip_cseq cs;
	struct sip_uri uri;
	struct sip_span tag;

	ok(parse(s) == SIP_PARSE_OK, "plain REGISTER parses");
	ok(m.is_request && m.method == SIP_REGISTER, "method is REGISTER");
	ok(span_eq(m.ruri, "sip:ksip.test"), "request-URI span");
	ok(m.nhdrs == 8, "eight headers (%u)", m.nhdrs);
	ok(m.content_length == 0 && m.body.len == 0, "empty body");
	ok(sip_via_parse(sip_hdr_first(&m, SIP_HDR_VIA)->value, &via), "Via parses");
	ok(span_eq(via.transport, "UDP") && span_eq(via.host, "192.0.2.1") && via.port == 5062,
	   "Via transport/host/port");
	ok(span_eq(via.branch, "z9hG4bK-1") && via.has_rport && !via.has_received,
	   "Via branch and rport flag");
	ok(sip_naddr_parse(sip_hdr_first(&m, SIP_HDR_FROM)->value, &na), "From parses");
	ok(span_eq(na.display, "\"Alice\"") && span_eq(na.uri, "sip:alice@ksip.test"),
	   "From display name and URI");
	ok(sip_param_find(na.params, "tag", &tag) && span_eq(tag, "a1"), "From tag");
	ok(sip_cseq_parse(sip_hdr_first(&m, SIP_HDR_CSEQ)->value, &cs) && cs.seq == 7 &&
	   span_eq(cs.method, "REGISTER"), "CSeq number and method");
	ok(sip_uri_parse(na.uri, &uri) && span_eq(uri.user, "alice") &&
	   span_eq(uri.host, "ksip.test") && uri.port == 0, "URI user and host");
}

static void test_compact_and_folding(void)
{
	const char *s =
		"OPTIONS sip:ksip.test SIP/2.0\r\n"
		"v: SIP/2.0/TCP [2001:db8::1]:5070\r\n"
		"   ;branch=z9hG4bKfold\r\n"
		"f: <sip:bob@ksip.test>;tag=x\r\n"
		"t: sip:bob@ksip.test\r\n"
		"i: fold-1\r\n"
		"CSeq:\t1\tOPTIONS\r\n"
		"Subject: line one\r\n"
		"\tline two\r\n"
		"l: 4\r\n\r\n"
		"bodyEXTRA";
	struct sip_via via;
	const struct sip_hdr *h;

	ok(parse(s) == SIP_PARSE_OK, "compact forms and folded lines parse");
	ok(sip_hdr_first(&m, SIP_HDR_VIA) && sip_hdr_first(&m, SIP_HDR_FROM) &&
	   sip_hdr_first(&m, SIP_HDR_TO) && sip_hdr_first(&m, SIP_HDR_CALL_ID) &&
	   sip_hdr_first(&m, SIP_HDR_CONTENT_LENGTH), "compact v f t i l recognised");
	ok(sip_via_parse(sip_hdr_first(&m, SIP_HDR_VIA)->value, &via) &&
	   span_eq(via.host, "[2001:db8::1]") && via.port == 5070 &&
	   span_eq(via.branch, "z9hG4bKfold"), "folded IPv6 Via with branch on the next line");
	h = sip_hdr_first(&m, SIP_HDR_SUBJECT);
	ok(h && h->value.len == strlen("line one\r\n\tline two"), "folded Subject kept whole");
	ok(m.body.len == 4 && !memcmp(m.body.p, "body", 4),
	   "bytes beyond Content-Length discarded (RFC 3261 18.3)");
}

static void test_multi_value(void)
{
	const char *s =
		"REGISTER sip:ksip.test SIP/2.0\r\n"
		"Via: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example:5080;branch=z9hG4bK2\r\n"
		"Via: SIP/2.0/UDP c.example;branch=z9hG4bK3\r\n"
		"From: <sip:a@ksip.test>;tag=1\r\n"
		"To: <sip:a@ksip.test>\r\n"
		"Call-ID: mv\r\n"
		"CSeq: 1 REGISTER\r\n"
		"Contact: \"A, the first\" <sip:a@h1;transport=tcp>;q=0.7, <sip:a@h2>;expires=30\r\n"
		"m: sip:a@h3;expires=10\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_hdr_iter it;
	struct sip_span e, v;
	struct sip_naddr na[3];
	uint16_t q;
	int n = 0;

	ok(parse(s) == SIP_PARSE_OK, "multi-value message parses");
	sip_hdr_iter_init(&it, &m, SIP_HDR_VIA);
	while (sip_hdr_iter_next(&it, &e))
		n++;
	ok(n == 3, "three Via values over two header lines (%d)", n);
	n = 0;
	sip_hdr_iter_init(&it, &m, SIP_HDR_CONTACT);
	while (n < 3 && sip_hdr_iter_next(&it, &e))
		if (!sip_naddr_parse(e, &na[n++]))
			break;
	ok(n == 3, "three contacts, comma inside quotes does not split");
	ok(span_eq(na[0].uri, "sip:a@h1;transport=tcp"), "URI parameters stay inside <>");
	ok(sip_param_find(na[0].params, "q", &v) && sip_qvalue_parse(v, &q) && q == 700,
	   "q=0.7 -> 700");
	ok(span_eq(na[2].uri, "sip:a@h3") && sip_param_find(na[2].params, "expires", &v) &&
	   span_eq(v, "10"), "addr-spec parameters belong to the header");
}

static void test_response(void)
{
	const char *s = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKr\r\n"
			"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: r\r\n"
			"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

	ok(parse(s) == SIP_PARSE_OK && !m.is_request && m.status == 180 &&
	   span_eq(m.reason, "Ringing"), "status line parses");
	ok(parse("SIP/2.0 1800 Huh\r\n\r\n") == SIP_E_GARBAGE, "four-digit status is garbage");
	ok(parse("SIP/2.0 099 Low\r\n\r\n") == SIP_E_GARBAGE, "status below 100 is garbage");
}

static void test_bad(void)
{
	static char huge[SIP_MAX_MESSAGE + 10];
	char many[SIP_MAX_HEADERS * 8 + 128];
	size_t o;

	ok(parse("") == SIP_E_GARBAGE, "empty input is garbage");
	ok(parse("\x16\x03\x01\x02\x00 binary\r\n\r\n") == SIP_E_GARBAGE, "TLS hello is garbage");
	ok(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == SIP_E_GARBAGE, "HTTP is garbage");
	ok(parse("INVITE sip:a@b SIP/2.0\r\nVia: x\r\n") == SIP_E_TRUNCATED,
	   "missing empty line is truncated");
	ok(parse("OPTIONS sip:a@b SIP/7.0\r\nVia: SIP/2.0/UDP h\r\n\r\n") == SIP_E_VERSION,
	   "SIP/7.0 is a version error (505)");
	ok(parse("OPTIONS sip:a@b SIP/2.0\r\nNo colon here\r\n\r\n") == SIP_E_HEADER,
	   "header without colon rejected");
	ok(parse("OPTIONS sip:a@b SIP/2.0\r\nX-A: a\001b\r\n\r\n") == SIP_E_HEADER,
	   "control byte in header rejected");
	ok(parse("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -5\r\n\r\n") == SIP_E_CONTENT_LENGTH,
	   "negative Content-Length rejected");
	ok(parse("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n") ==
	   SIP_E_CONTENT_LENGTH, "overflowing Content-Length rejected");
	ok(parse("OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\nContent-Length: 4\r\n\r\nabcd") ==
	   SIP_E_CONTENT_LENGTH, "conflicting duplicate Content-Length rejected");
	ok(parse("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 50\r\n\r\nshort") == SIP_E_BODY_SHORT,
	   "Content-Length larger than datagram rejected");
	ok(parse("OPTIONS  sip:a@b SIP/2.0\r\n\r\n") == SIP_E_GARBAGE,
	   "double space in request line is garbage");
	ok(parse("OPT@ONS sip:a@b SIP/2.0\r\n\r\n") == SIP_E_GARBAGE, "non-token method is garbage");
	ok(parse("OPTIONS sip:a@b SIP/2.0\r\nVia\0: x\r\n\r\n") != SIP_PARSE_OK,
	   "NUL inside a header name rejected");
	o = (size_t)snprintf(many, sizeof(many), "OPTIONS sip:a@b SIP/2.0\r\n");
	for (int i = 0; i <= SIP_MAX_HEADERS; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "X: %d\r\n", i % 10);
	snprintf(many + o, sizeof(many) - o, "\r\n");
	ok(parse(many) == SIP_E_TOO_MANY_HEADERS, "more than %d headers rejected", SIP_MAX_HEADERS);
	memset(huge, 'a', sizeof(huge));
	ok(sip_parse(&m, huge, sizeof(huge)) == SIP_E_GARBAGE, "oversized input rejected");
	ok(parse("FOO sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n") == SIP_PARSE_OK &&
	   m.method == SIP_METHOD_UNKNOWN && span_eq(m.method_name, "FOO"),
	   "unknown method parses as extension method");
	ok(parse("register sip:a@b SIP/2.0\r\n\r\n") == SIP_PARSE_OK &&
	   m.method == SIP_METHOD_UNKNOWN, "methods are case-sensitive");
}

static void test_header_values(void)
{
	struct sip_via via;
	struct sip_uri uri;
	struct sip_naddr na;
	struct sip_cseq cs;
	struct sip_span v;
	uint16_t q;

#define S(x) ((struct sip_span){ x, sizeof(x) - 1 })
	ok(!sip_via_parse(S("SIP/2.0/UDP"), &via), "Via without host rejected");
	ok(!sip_via_parse(S("SIP/3.0/UDP h"), &via), "Via with wrong version rejected");
	ok(sip_via_parse(S("SIP / 2.0 / UDP h.example ;branch=z9hG4bKx ;received=1.2.3.4"), &via) &&
	   span_eq(via.host, "h.example") && via.has_received, "Via with LWS around slashes");
	ok(!sip_via_parse(S("SIP/2.0/UDP h:99999"), &via), "Via port out of range rejected");
	ok(sip_uri_parse(S("sip:%61lice:secret@[::1]:5061;transport=tcp?subject=hi"), &uri) &&
	   span_eq(uri.user, "%61lice") && span_eq(uri.password, "secret") &&
	   span_eq(uri.host, "[::1]") && uri.port == 5061 &&
	   span_eq(uri.params, ";transport=tcp") && span_eq(uri.headers, "subject=hi"),
	   "escaped user, password, IPv6 host, params and headers");
	ok(sip_uri_parse(S("sips:bob@biloxi.example.com"), &uri) && uri.scheme == SIP_SCHEME_SIPS,
	   "sips scheme");
	ok(sip_uri_parse(S("tel:+1-201-555-0123"), &uri) && uri.scheme == SIP_SCHEME_TEL,
	   "tel URI");
	ok(!sip_uri_parse(S("sip:@host"), &uri), "empty user rejected");
	ok(!sip_uri_parse(S("sip:user@"), &uri), "empty host rejected");
	ok(!sip_uri_parse(S("sip:[::1"), &uri), "unterminated IPv6 reference rejected");
	ok(sip_naddr_parse(S("*"), &na) && na.star, "Contact: * recognised");
	ok(sip_naddr_parse(S("\"Quote \\\" <not uri>\" <sip:x@y>;tag=t"), &na) &&
	   span_eq(na.uri, "sip:x@y"), "escaped quote and <> inside display name");
	ok(!sip_naddr_parse(S("<sip:x@y"), &na), "unterminated <> rejected");
	ok(!sip_naddr_parse(S("just words"), &na), "name-addr without URI rejected");
	ok(!sip_cseq_parse(S("2147483648 INVITE"), &cs), "CSeq >= 2**31 rejected");
	ok(!sip_cseq_parse(S("12"), &cs), "CSeq without method rejected");
	ok(!sip_cseq_parse(S("x1 INVITE"), &cs), "CSeq non-numeric rejected");
	ok(sip_param_find(S(";lr;maddr=1.2.3.4"), "LR", &v) && v.len == 0,
	   "flag parameter found case-insensitively");
	ok(!sip_qvalue_parse(S("1.5"), &q) && !sip_qvalue_parse(S("0.1234"), &q) &&
	   sip_qvalue_parse(S("1.000"), &q) && q == 1000, "q-value bounds");
#undef S
}

static void test_stream_frame(void)
{
	const char *full = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 3\r\n\r\nabcNEXT";
	const char *nocl = "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n";

	ok(sip_stream_frame(full, strlen(full)) == (long)strlen(full) - 4,
	   "stream frame ends after Content-Length bytes");
	ok(sip_stream_frame(full, 20) == 0, "partial header needs more");
	ok(sip_stream_frame(full, strlen(full) - 6) == 0, "partial body needs more");
	ok(sip_stream_frame(nocl, strlen(nocl)) == -1, "stream without Content-Length is broken");
}

int main(void)
{
	test_basic_request();
	test_compact_and_folding();
	test_multi_value();
	test_response();
	test_bad();
	test_header_values();
	test_stream_frame();
	return tap_done();
}
