// SPDX-License-Identifier: GPL-2.0
/* What the proxy sends: forwarded requests and responses, its ACK and CANCEL. */
#include <arpa/inet.h>
#include <string.h>

#include "sip/build.h"
#include "tap.h"

static const char invite[] =
	"INVITE sip:bob@ksip.test SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKaaa\r\n"
	"Route: <sip:198.51.100.1;lr>, <sip:203.0.113.9;lr>\r\n"
	"Max-Forwards: 12\r\n"
	"From: <sip:alice@ksip.test>;tag=1\r\n"
	"To: <sip:bob@ksip.test>\r\n"
	"Call-ID: c1\r\n"
	"CSeq: 7 INVITE\r\n"
	"Proxy-Authorization: Digest username=\"alice\", realm=\"ksip.test\", nonce=\"n\", uri=\"x\", response=\"r\"\r\n"
	"Proxy-Authorization: Digest username=\"alice\", realm=\"other.test\", nonce=\"n\", uri=\"x\", response=\"r\"\r\n"
	"Content-Type: application/sdp\r\n"
	"l: 4\r\n"
	"\r\n"
	"v=0\n";

static const char resp[] =
	"SIP/2.0 486 Busy Here\r\n"
	"Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKks1, SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKaaa\r\n"
	"From: <sip:alice@ksip.test>;tag=1\r\n"
	"To: <sip:bob@ksip.test>;tag=2\r\n"
	"Call-ID: c1\r\n"
	"CSeq: 7 INVITE\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static bool has(const struct sip_out *o, const char *s)
{
	return memmem(o->buf, o->len, s, strlen(s)) != NULL;
}

int main(void)
{
	static struct sip_msg m, r, out;
	static struct sip_out o;
	struct fwd_request f = { 0 };
	struct sip_span body = { "v=1\r\nnew\r\n", 10 };
	struct sip_via via;

	ok(sip_parse(&m, invite, sizeof(invite) - 1) == SIP_PARSE_OK, "the test INVITE parses");
	f.ruri = (struct sip_span){ "sip:bob@192.0.2.7:5062", 22 };
	f.via = "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKks1;rport\r\n";
	f.record_route = "Record-Route: <sip:198.51.100.1:5060;lr>\r\n";
	f.routes_to_drop = 1;
	f.realm = "ksip.test";
	f.body = &body;
	build_forward_request(&o, &m, &f);
	ok(!o.overflow && sip_parse(&out, o.buf, o.len) == SIP_PARSE_OK, "the forwarded INVITE parses");
	ok(o.len > 39 && !memcmp(o.buf, "INVITE sip:bob@192.0.2.7:5062 SIP/2.0\r\n", 39),
	   "new Request-URI");
	ok(top_via(&out, &via) && span_eq(via.branch, "z9hG4bKks1") && out.count[SIP_HDR_VIA] == 2,
	   "our Via on top, the caller's kept");
	ok(has(&o, "Record-Route: <sip:198.51.100.1:5060;lr>\r\n"), "Record-Route added");
	ok(has(&o, "Route: <sip:203.0.113.9;lr>\r\n") && !has(&o, "198.51.100.1;lr>,"),
	   "the Route entry naming us is gone, the next one stays");
	ok(has(&o, "Max-Forwards: 11\r\n"), "Max-Forwards decremented");
	ok(!has(&o, "realm=\"ksip.test\"") && has(&o, "realm=\"other.test\""),
	   "our realm's credentials removed, another realm's kept");
	ok(out.body.len == 10 && !memcmp(out.body.p, body.p, 10) && out.content_length == 10,
	   "new body with a matching Content-Length");

	f.routes_to_drop = 2;
	f.body = NULL;
	f.record_route = NULL;
	f.ruri.len = 0;
	build_forward_request(&o, &m, &f);
	ok(sip_parse(&out, o.buf, o.len) == SIP_PARSE_OK && !out.count[SIP_HDR_ROUTE] &&
	   out.body.len == 4 && has(&o, "INVITE sip:bob@ksip.test SIP/2.0"),
	   "both Routes dropped, body and Request-URI kept");

	{
		static const char nat[] =
			"MESSAGE sip:bob@ksip.test SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKn;rport, SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKo\r\n"
			"From: <sip:alice@ksip.test>;tag=1\r\nTo: <sip:bob@ksip.test>\r\nCall-ID: c2\r\n"
			"CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
		struct sip_source src = { .transport = KSIP_UDP };
		struct sockaddr_in *a = (struct sockaddr_in *)&src.addr;

		a->sin_family = AF_INET;
		a->sin_port = htons(40000);
		inet_pton(AF_INET, "203.0.113.5", &a->sin_addr);
		src.addrlen = sizeof(*a);
		f = (struct fwd_request){ .via = "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKks2\r\n",
					  .src = &src };
		static struct sip_msg nm;

		ok(sip_parse(&nm, nat, sizeof(nat) - 1) == SIP_PARSE_OK, "a request from behind NAT parses");
		build_forward_request(&o, &nm, &f);
		ok(sip_parse(&out, o.buf, o.len) == SIP_PARSE_OK && out.count[SIP_HDR_VIA] == 3 &&
		   has(&o, "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKn;received=203.0.113.5;rport=40000\r\n") &&
		   has(&o, "Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKo\r\n"),
		   "its Via is forwarded with received= and rport= (RFC 3581), the next one untouched");
	}

	ok(sip_parse(&r, resp, sizeof(resp) - 1) == SIP_PARSE_OK, "the test response parses");
	build_forward_response(&o, &r, NULL);
	ok(sip_parse(&out, o.buf, o.len) == SIP_PARSE_OK && top_via(&out, &via) &&
	   span_eq(via.branch, "z9hG4bKaaa") && out.status == 486,
	   "forwarded response: our Via removed from a comma list, status kept");

	build_ack(&o, &m, &r);
	ok(sip_parse(&out, o.buf, o.len) == SIP_PARSE_OK && out.method == SIP_ACK &&
	   has(&o, "To: <sip:bob@ksip.test>;tag=2") && has(&o, "CSeq: 7 ACK") &&
	   top_via(&out, &via) && span_eq(via.branch, "z9hG4bKaaa") && out.count[SIP_HDR_VIA] == 1 &&
	   out.count[SIP_HDR_ROUTE] == 1,
	   "ACK of a non-2xx: same branch, one Via, the answer's To tag, the Route set");
	build_cancel(&o, &m);
	ok(sip_parse(&out, o.buf, o.len) == SIP_PARSE_OK && out.method == SIP_CANCEL &&
	   has(&o, "CSeq: 7 CANCEL") && !has(&o, ";tag=2"), "CANCEL: same CSeq number, To as sent");
	ok(cseq_number(&m, NULL) == 7 && naddr_tag(&m, SIP_HDR_FROM).len == 1 &&
	   !naddr_tag(&m, SIP_HDR_TO).len, "CSeq and tag helpers");
	{
		/* The BYE of a hang-up: exactly what ksipd sent before the builder existed. */
		static const char bye[] =
			"BYE sip:bob@192.0.2.7:5062 SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKks2;rport\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:alice@ksip.test>;tag=1\r\n"
			"To: <sip:bob@ksip.test>;tag=2\r\n"
			"Call-ID: c1\r\n"
			"CSeq: 8 BYE\r\n"
			"Reason: SIP;cause=200;text=\"media timeout\"\r\n"
			"Server: ksip\r\n"
			"Content-Length: 0\r\n\r\n";
		struct sip_request q = {
			.method = SIP_BYE,
			.ruri = "sip:bob@192.0.2.7:5062",
			.via = "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKks2;rport\r\n",
			.from = "<sip:alice@ksip.test>;tag=1",
			.to = "<sip:bob@ksip.test>;tag=2",
			.callid = "c1",
			.cseq = 8,
			.reason = "media timeout",
		};

		sip_build_request(&o, &q);
		ok(!o.overflow && o.len == sizeof(bye) - 1 && !memcmp(o.buf, bye, o.len),
		   "sip_build_request: the hang-up BYE, byte for byte");
		ok(sip_parse(&out, o.buf, o.len) == SIP_PARSE_OK && out.method == SIP_BYE,
		   "and it parses as a BYE");

		q.reason = "a \"quoted\" \\ reason\r\nX-Injected: 1";
		sip_build_request(&o, &q);
		ok(!o.overflow && has(&o, "text=\"a \\\"quoted\\\" \\\\ reasonX-Injected: 1\"\r\n") &&
		   sip_parse(&out, o.buf, o.len) == SIP_PARSE_OK && !has(&o, "\r\nX-Injected"),
		   "hostile Reason text: quotes escaped, CR LF dropped, no header injected");
		q.reason = NULL;
		sip_build_request(&o, &q);
		ok(!o.overflow && !has(&o, "Reason:"), "no Reason when none is given");
		q.to = "<sip:bob@ksip.test>;tag=2\r\nX-Injected: 1";
		sip_build_request(&o, &q);
		ok(o.overflow, "a stored header value with CR LF is refused");
		q.to = "<sip:bob@ksip.test>;tag=2";
		q.ruri = "sip:bob@h SIP/2.0";
		sip_build_request(&o, &q);
		ok(o.overflow, "a Request-URI with a space is refused");
		q.ruri = "";
		sip_build_request(&o, &q);
		ok(o.overflow, "so is an empty one");
	}
	{
		/* Issue 12: the ACK of a stateless answer is known by the To tag we minted. */
		static const char ack_fmt[] =
			"ACK sip:bob@ksip.test SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKaaa\r\n"
			"From: <sip:alice@ksip.test>;tag=1\r\n"
			"%.*s\r\n"
			"Call-ID: %s\r\n"
			"CSeq: 7 ACK\r\n"
			"Content-Length: 0\r\n\r\n";
		static struct sip_msg a;
		static char ack[1024];
		struct sip_source src = { .addrlen = sizeof(struct sockaddr_in) };
		const char *to, *eol;
		int n, tolen;

		src.addr.ss_family = AF_INET;
		sip_reply_simple(&o, &m, &src, 407, NULL);
		to = memmem(o.buf, o.len, "To: ", 4);
		eol = to ? memmem(to, o.len - (size_t)(to - o.buf), "\r\n", 2) : NULL;
		tolen = to && eol ? (int)(eol - to) : 0;
		to = to ? to : "";
		n = snprintf(ack, sizeof(ack), ack_fmt, tolen, to, "c1");
		ok(tolen && sip_parse(&a, ack, (size_t)n) == SIP_PARSE_OK && sip_reply_tag_is_ours(&a),
		   "the ACK of our 407 carries a To tag we minted");
		n = snprintf(ack, sizeof(ack), ack_fmt, tolen, to, "c2");
		ok(sip_parse(&a, ack, (size_t)n) == SIP_PARSE_OK && !sip_reply_tag_is_ours(&a),
		   "the same tag with another Call-ID is not ours");
		n = snprintf(ack, sizeof(ack), ack_fmt, 27, "To: <sip:bob@ksip.test>;tag=2", "c1");
		ok(sip_parse(&a, ack, (size_t)n) == SIP_PARSE_OK && !sip_reply_tag_is_ours(&a),
		   "a tag the callee chose is not ours");
	}

	return tap_done();
}
