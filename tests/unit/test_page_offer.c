// SPDX-License-Identifier: GPL-2.0
/*
 * A paged member's own offer (proxy/page.c, page_offer()): the caller's SDP
 * as the relay rewrote it for the members, with the paged stream moved to
 * the member's port pair (a=rtcp following it, rtcp-mux kept on the same
 * port), every other stream declined (port 0), everything else untouched.
 * Hostile: an m= line without a port, a result that does not fit.
 */
#include <stdio.h>
#include <string.h>

#include "proxy/call.h"
#include "proxy/page.h"
#include "tap.h"

static struct call c;
static struct page_call pc;

static long offer(const char *sdp, uint16_t port, char *out, size_t cap)
{
	return page_offer(&c, sdp, (long)strlen(sdp), port, out, cap);
}

int main(void)
{
	char out[2048];
	long n;
	const char *two =
		"v=0\r\no=ksip 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
		"m=audio 32000 RTP/AVP 0 8\r\na=rtcp:32001\r\na=sendrecv\r\n"
		"m=video 32004 RTP/AVP 96\r\na=rtcp:32005\r\n";
	const char *mux =
		"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 32000 RTP/AVP 0\r\na=rtcp:32000\r\na=rtcp-mux\r\n";

	c.page = &pc;
	pc.stream = 0;
	c.nstreams = 2;
	c.s[0].open = c.s[1].open = true;
	c.s[0].relay_port[LEG_CALLEE] = 32000;
	c.s[1].relay_port[LEG_CALLEE] = 32004;

	n = offer(two, 32010, out, sizeof(out));
	out[n > 0 ? n : 0] = 0;
	ok(n > 0 && strstr(out, "m=audio 32010 RTP/AVP 0 8\r\na=rtcp:32011\r\n"),
	   "the paged stream at the member's port, a=rtcp following it");
	ok(strstr(out, "m=video 0 RTP/AVP 96\r\n") != NULL, "the other stream declined (port 0)");
	ok(strstr(out, "a=rtcp:32005") && strstr(out, "c=IN IP4 10.0.0.1\r\n") &&
	   strstr(out, "o=ksip 1 1 IN IP4 10.0.0.1\r\n") && strstr(out, "a=sendrecv\r\n"),
	   "everything else as the relay wrote it");
	ok(n == (long)strlen(two) - 4, "length: two ports of 5 digits became 5 and 1 (%ld)", n);

	n = offer(mux, 32010, out, sizeof(out));
	out[n > 0 ? n : 0] = 0;
	ok(n > 0 && strstr(out, "m=audio 32010 RTP/AVP 0\r\na=rtcp:32010\r\n"),
	   "under rtcp-mux a=rtcp stays on the RTP port");

	pc.stream = 1;
	n = offer(two, 32010, out, sizeof(out));
	out[n > 0 ? n : 0] = 0;
	ok(n > 0 && strstr(out, "m=audio 0 ") && strstr(out, "m=video 32010 ") &&
	   strstr(out, "a=rtcp:32001") && strstr(out, "a=rtcp:32011"),
	   "the paged stream need not be the first m= line");
	pc.stream = 0;

	ok(offer("v=0\r\nm=audio\r\n", 32010, out, sizeof(out)) == -1,
	   "an m= line without a port: refused");
	ok(offer("v=0\r\nm=audio 32000\r\n", 32010, out, sizeof(out)) == -1,
	   "an m= line without a protocol: refused");
	ok(offer(two, 32010, out, 40) == -1, "a result larger than the buffer: refused, not cut");
	ok(offer(two, 32010, out, (size_t)strlen(two) - 4) == (long)strlen(two) - 4,
	   "exactly fitting: taken");
	return tap_done();
}
