// SPDX-License-Identifier: GPL-2.0
/*
 * Which headers ask a phone to answer by itself (sip_is_auto_answer(),
 * dropped from callers' INVITEs unless auto_answer_headers = pass), and
 * that build_forward_request() leaves exactly those out when asked.
 */
#include <stdio.h>
#include <string.h>

#include "sip/build.h"
#include "sip/msg.h"
#include "tap.h"

static const char invite[] =
	"INVITE sip:bob@ksip.test SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
	"From: <sip:alice@ksip.test>;tag=a\r\n"
	"To: <sip:bob@ksip.test>\r\n"
	"Call-ID: c1\r\n"
	"CSeq: 1 INVITE\r\n"
	"Call-Info: <sip:x>;answer-after=0\r\n"
	"call-info: <sip:x>; Answer-After=5\r\n"
	"Call-Info: <http://x/icon.png>;purpose=icon\r\n"
	"Alert-Info: <http://www.notused.com>;info=alert-autoanswer\r\n"
	"Alert-Info: info=Auto Answer\r\n"
	"Alert-Info: <cid:intercom>\r\n"
	"Alert-Info: <http://x/ring.wav>\r\n"
	"Answer-Mode: Auto\r\n"
	"Priv-Answer-Mode: Auto;require\r\n"
	"Subject: answer-after lunch\r\n"
	"Content-Length: 0\r\n\r\n";

int main(void)
{
	static struct sip_msg m;
	static struct sip_out o;
	struct fwd_request f = { 0 };
	int flagged = 0;
	char *s;

	if (!ok(sip_parse(&m, invite, sizeof(invite) - 1) == SIP_PARSE_OK, "the INVITE parses"))
		return tap_done();
	for (int i = 0; i < m.nhdrs; i++)
		flagged += sip_is_auto_answer(&m.hdrs[i]);
	ok(flagged == 7, "7 auto-answer headers found, in any case (%d)", flagged);
	f.via = "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKks\r\n";
	f.drop_auto_answer = true;
	build_forward_request(&o, &m, &f);
	o.buf[o.len < sizeof(o.buf) ? o.len : sizeof(o.buf) - 1] = 0;
	s = o.buf;
	ok(!o.overflow && !strcasestr(s, "answer-after=") && !strstr(s, "autoanswer") &&
	   !strstr(s, "Auto Answer") && !strstr(s, "intercom") && !strstr(s, "Answer-Mode"),
	   "forwarded with drop_auto_answer: none of them");
	ok(strstr(s, "purpose=icon") && strstr(s, "ring.wav") && strstr(s, "Subject: answer-after lunch"),
	   "an icon Call-Info, a ring-tone Alert-Info and other headers stay");
	f.drop_auto_answer = false;
	f.extra = "Call-Info: <sip:ksip.test>;answer-after=0\r\n";
	build_forward_request(&o, &m, &f);
	o.buf[o.len < sizeof(o.buf) ? o.len : sizeof(o.buf) - 1] = 0;
	ok(strstr(o.buf, "Answer-Mode: Auto") && strstr(o.buf, "Call-Info: <sip:ksip.test>;answer-after=0\r\n"),
	   "without it everything passes, and extra lines are added");
	return tap_done();
}
