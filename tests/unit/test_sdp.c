// SPDX-License-Identifier: GPL-2.0
/* SDP parsing and the relay rewrite (foundation of the call path). */
#include <arpa/inet.h>
#include <string.h>

#include "ksip/endpoint.h"
#include "sip/sdp.h"
#include "tap.h"

static struct sdp_session s;
static const char *why;
static char out[4096];

static int parse(const char *sdp)
{
	return sdp_parse((struct sip_span){ sdp, (uint32_t)strlen(sdp) }, &s, &why);
}

static const char *addr_of(const struct sdp_media *m)
{
	static char buf[64];

	ksip_format_endpoint(&m->addr, buf, sizeof(buf));
	return buf;
}

static long rewrite(const char *sdp, const char *relay, uint16_t p0, uint16_t p1)
{
	struct sdp_relay r = { .rtp_port = { p0, p1 } };
	long n;

	ksip_parse_endpoint(relay, true, &r.addr);
	n = sdp_rewrite((struct sip_span){ sdp, (uint32_t)strlen(sdp) }, &s, &r, out, sizeof(out) - 1);
	out[n < 0 ? 0 : n] = 0;
	return n;
}

#define AUDIO "v=0\r\no=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\ns=-\r\n" \
	      "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\n" \
	      "a=rtpmap:101 telephone-event/8000\r\n"

int main(void)
{
	ok(parse(AUDIO) == 0 && s.nmedia == 1, "one audio stream");
	ok(!strcmp(addr_of(&s.media[0]), "198.51.100.7:49170") && s.media[0].rtcp_port == 49171 &&
	   s.media[0].dir == SDP_SENDRECV && span_eq(s.media[0].type, "audio") &&
	   span_eq(s.media[0].proto, "RTP/AVP"), "session-level c= applies; RTCP defaults to port+1");
	ok(rewrite(AUDIO, "203.0.113.1", 30000, 0) > 0 &&
	   strstr(out, "c=IN IP4 203.0.113.1\r\n") && strstr(out, "m=audio 30000 RTP/AVP 0 8 101\r\n") &&
	   !strstr(out, "198.51.100.7\r\nt=") && strstr(out, "a=rtpmap:101 telephone-event/8000\r\n"),
	   "rewrite points c= and m= at the relay and keeps the rest");
	ok(strstr(out, "o=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\n") != NULL,
	   "o= is left alone");
	ok(parse(out) == 0 && !strcmp(addr_of(&s.media[0]), "203.0.113.1:30000"),
	   "the rewritten SDP parses back to the relay's address");

	ok(parse("v=0\no=- 1 1 IN IP6 2001:db8::7\ns=-\nt=0 0\n"
		 "m=audio 5004 RTP/AVP 0\nc=IN IP6 2001:db8::7\na=rtcp:5010 IN IP6 2001:db8::7\n"
		 "a=sendonly\n") == 0 &&
	   !strcmp(addr_of(&s.media[0]), "[2001:db8::7]:5004") && s.media[0].rtcp_port == 5010 &&
	   s.media[0].dir == SDP_SENDONLY, "IPv6, media-level c=, explicit a=rtcp, sendonly, bare LF");
	ok(rewrite("v=0\no=- 1 1 IN IP6 2001:db8::7\ns=-\nt=0 0\n"
		   "m=audio 5004 RTP/AVP 0\nc=IN IP6 2001:db8::7\na=rtcp:5010 IN IP6 2001:db8::7\n"
		   "a=sendonly\n", "[2001:db8::1]", 40000, 0) > 0 &&
	   strstr(out, "a=rtcp:40001 IN IP6 2001:db8::1\r\n") && strstr(out, "c=IN IP6 2001:db8::1\r\n"),
	   "a=rtcp follows the new port and address");
	ok(rewrite("v=0\no=- 1 1 IN IP6 2001:db8::7\ns=-\nt=0 0\n"
		   "m=audio 5004 RTP/AVP 0\nc=IN IP6 2001:db8::7\n", "192.0.2.1", 40000, 0) > 0 &&
	   strstr(out, "c=IN IP4 192.0.2.1\r\n"), "an IPv6 leg can be rewritten to an IPv4 relay address");

	ok(parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=recvonly\r\n"
		 "m=audio 4000 RTP/AVP 0\r\na=rtcp-mux\r\nm=video 0 RTP/AVP 96\r\na=inactive\r\n") == 0 &&
	   s.nmedia == 2 && s.media[0].rtcp_mux && s.media[0].dir == SDP_RECVONLY &&
	   s.media[1].port == 0 && s.media[1].dir == SDP_INACTIVE,
	   "two streams: session direction inherited, rtcp-mux, a rejected video stream");
	ok(rewrite("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=recvonly\r\n"
		   "m=audio 4000 RTP/AVP 0\r\na=rtcp-mux\r\nm=video 0 RTP/AVP 96\r\na=inactive\r\n",
		   "192.0.2.1", 30010, 30012) > 0 &&
	   strstr(out, "m=audio 30010 RTP/AVP 0\r\n") && strstr(out, "m=video 0 RTP/AVP 96\r\n"),
	   "port 0 stays 0: a rejected stream gets no relay port");

	ok(parse("o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n") < 0 && strstr(why, "v=0"), "v= must come first");
	ok(parse("v=0\r\nm=audio 99999 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\n") < 0, "m= port above 65535 rejected");
	ok(parse("v=0\r\nm=audio 4000 RTP/AVP\r\nc=IN IP4 1.2.3.4\r\n") < 0, "m= without formats rejected");
	ok(parse("v=0\r\nc=IN IP4 1.2.3.999\r\nm=audio 4000 RTP/AVP 0\r\n") < 0 && strstr(why, "c="),
	   "bad c= address rejected");
	ok(parse("v=0\r\nm=audio 4000 RTP/AVP 0\r\n") < 0 && strstr(why, "c="),
	   "a stream with no address anywhere rejected");
	ok(parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\n"
		 "m=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\n") < 0 &&
	   strstr(why, "Too many"), "more than 8 streams rejected");
	ok(parse("v=0\r\nc=IN IP4 1.2.3.4\r\nbogus line\r\n") < 0, "a line that is not x=value rejected");
	ok(parse("") < 0, "empty body rejected");
	parse(AUDIO);
	ok(rewrite(AUDIO, "203.0.113.1", 30000, 0) > 0 &&
	   sdp_rewrite((struct sip_span){ AUDIO, sizeof(AUDIO) - 1 }, &s,
		       &(struct sdp_relay){ .rtp_port = { 1 } }, out, 20) == -1,
	   "rewrite into a buffer too small fails cleanly");
	return tap_done();
}
