// SPDX-License-Identifier: GPL-2.0
/* The SIP framing check shared with ksip.ko, in userspace. */
#include <string.h>

#include "ksip_sipframe.h"
#include "sip/msg.h"
#include "tap.h"

static enum ksip_frame_verdict check(const char *s)
{
	return ksip_frame_check((const unsigned char *)s, (unsigned int)strlen(s));
}

#define HDRS "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n" \
	     "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n"

int main(void)
{
	static char big[KSIP_FRAME_MAX + 2];
	char buf[1024];

	ok(check("OPTIONS sip:ksip.test SIP/2.0\r\n" HDRS "Content-Length: 0\r\n\r\n") == KSIP_FRAME_OK,
	   "a plain request passes");
	ok(check("SIP/2.0 200 OK\r\n" HDRS "\r\n") == KSIP_FRAME_OK, "a response passes");
	ok(check("OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/UDP h\r\nf: <sip:a@b>\r\nt: <sip:c@d>\r\n"
		 "i: x\r\nCSeq: 1 OPTIONS\r\nl: 4\r\n\r\nbody") == KSIP_FRAME_OK,
	   "compact headers pass");
	ok(check("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:a@b>\nTo: <sip:c@d>\n"
		 "Call-ID: x\nCSeq: 1 OPTIONS\n\n") == KSIP_FRAME_OK, "bare LF line ends pass, as in ksipd");
	ok(check("OPTIONS sip:x SIP/2.0\r\n" HDRS "Subject: one\r\n\ttwo\r\n\r\n") == KSIP_FRAME_OK,
	   "a folded header passes");
	ok(check("\r\n\r\n") == KSIP_FRAME_KEEPALIVE && check("\r\n") == KSIP_FRAME_KEEPALIVE,
	   "CRLF keepalives pass as keepalives");
	{
		/* A STUN Binding request with a FINGERPRINT attribute: 20 + 8 bytes. */
		unsigned char stun[28] = { 0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42,
					   1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
					   0x80, 0x28, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef };

		ok(ksip_frame_check(stun, 28) == KSIP_FRAME_KEEPALIVE,
		   "a STUN Binding request passes as a keepalive (RFC 5626 §4.4.2)");
		ok(ksip_frame_check(stun, 20) != KSIP_FRAME_KEEPALIVE,
		   "STUN whose length field disagrees with the datagram: not a keepalive");
		stun[3] = 0x06;
		ok(ksip_frame_check(stun, 26) != KSIP_FRAME_KEEPALIVE,
		   "STUN length not a multiple of 4: not a keepalive");
		stun[3] = 0x08;
		stun[4] = 0x22;
		ok(ksip_frame_check(stun, 28) != KSIP_FRAME_KEEPALIVE, "no magic cookie: not a keepalive");
		stun[4] = 0x21;
		stun[0] = 0x40;
		ok(ksip_frame_check(stun, 28) != KSIP_FRAME_KEEPALIVE,
		   "top bits set (RTP, not STUN): not a keepalive");
	}
	ok(check("hello") == KSIP_FRAME_BAD_SIZE, "tiny datagram: bad size");
	memset(big, 'A', sizeof(big) - 1);
	ok(check(big) == KSIP_FRAME_BAD_SIZE, "oversized datagram: bad size");
	ok(check("GET / HTTP/1.1\r\nHost: example\r\n\r\n") == KSIP_FRAME_BAD_START, "HTTP: bad start line");
	ok(check("OPTIONS sip:x SIP/3.0\r\n" HDRS "\r\n") == KSIP_FRAME_BAD_START, "SIP/3.0: bad start line");
	ok(check("SIP/2.0 20 OK\r\n" HDRS "\r\n") == KSIP_FRAME_BAD_START, "two-digit status: bad start");
	ok(check("OPT{ONS sip:x SIP/2.0\r\n" HDRS "\r\n") == KSIP_FRAME_BAD_START, "non-token method");
	ok(check("SIP/2.0 200 OK\004\r\n" HDRS "\r\n") == KSIP_FRAME_BAD_START,
	   "control byte in the reason phrase (found by the differential fuzzer)");
	ok(check("OPTIONS sip:x SIP/2.0\r\n" HDRS "Broken line\r\n\r\n") == KSIP_FRAME_BAD_HEADER,
	   "header without colon");
	ok(check("OPTIONS sip:x SIP/2.0\r\n" HDRS "X-A: a\001b\r\n\r\n") == KSIP_FRAME_BAD_HEADER,
	   "control byte in a header");
	memcpy(buf, "OPTIONS sip:x SIP/2.0\r\n" HDRS "X-A: a_b\r\n\r\n",
	       sizeof("OPTIONS sip:x SIP/2.0\r\n" HDRS "X-A: a_b\r\n\r\n"));
	*strchr(buf, '_') = 0;
	ok(ksip_frame_check((unsigned char *)buf, (unsigned int)(strchr(buf + strlen(buf) + 1, 0) - buf)) ==
	   KSIP_FRAME_BAD_HEADER, "NUL in a header");
	ok(check("OPTIONS sip:x SIP/2.0\r\n\tfolded-first: x\r\n" HDRS "\r\n") == KSIP_FRAME_BAD_HEADER,
	   "continuation line before any header");
	ok(check("OPTIONS sip:x SIP/2.0\r\n" HDRS) == KSIP_FRAME_NO_END, "no empty line");
	ok(check("OPTIONS sip:x SIP/2.0\r\n" HDRS "Content-Length: 10\r\n\r\nshort") == KSIP_FRAME_BAD_LENGTH,
	   "Content-Length beyond the body (RFC 3261 18.3)");
	ok(check("OPTIONS sip:x SIP/2.0\r\n" HDRS "Content-Length: -1\r\n\r\n") == KSIP_FRAME_BAD_LENGTH,
	   "negative Content-Length");
	ok(check("OPTIONS sip:x SIP/2.0\r\n" HDRS "l: 99999999\r\n\r\n") == KSIP_FRAME_BAD_LENGTH,
	   "overflowing Content-Length");
	ok(check("OPTIONS sip:x SIP/2.0\r\n" HDRS "l: 1\r\nContent-Length: 2\r\n\r\nab") == KSIP_FRAME_BAD_LENGTH,
	   "conflicting Content-Length");
	ok(check("OPTIONS sip:x SIP/2.0\r\nFrom: <sip:a@b>\r\nTo: <sip:c@d>\r\nCall-ID: x\r\n"
		 "CSeq: 1 OPTIONS\r\n\r\n") == KSIP_FRAME_MISSING_HEADER, "no Via: missing header");
	ok(check("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:c@d>\r\n"
		 "CSeq: 1 OPTIONS\r\n\r\n") == KSIP_FRAME_MISSING_HEADER, "no Call-ID: missing header");
	ok(!strcmp(ksip_frame_verdict_names[KSIP_FRAME_BAD_LENGTH], "bad_content_length"),
	   "verdicts have counter names");
	return tap_done();
}
