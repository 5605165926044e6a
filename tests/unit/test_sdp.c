// SPDX-License-Identifier: GPL-2.0
/* SDP parsing and the relay rewrite (foundation of the call path). */
#include <arpa/inet.h>
#include <string.h>

#include "ksip/endpoint.h"
#include "sip/sdp.h"
#include "tap.h"

static struct sdp_session s;
static const char *why;
static char out[8192];
static bool keep_ice;

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
	struct sdp_relay r = { .rtp_port = { p0, p1 }, .sess_id = 42, .sess_version = 7,
			       .keep_ice = keep_ice };
	long n;

	ksip_parse_endpoint(relay, true, &r.addr);
	n = sdp_rewrite((struct sip_span){ sdp, (uint32_t)strlen(sdp) }, &s, &r, out, sizeof(out) - 1);
	out[n < 0 ? 0 : n] = 0;
	return n;
}

#define AUDIO "v=0\r\no=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\ns=-\r\n" \
	      "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\n" \
	      "a=rtpmap:101 telephone-event/8000\r\n"

/* An offer with everything the rewrite must touch or keep: IPv6, ICE, SRTP, audio and video. */
#define RICH "v=0\r\no=bob 7 9 IN IP6 2001:db8::b0b\r\ns=call\r\nc=IN IP6 2001:db8::b0b\r\n" \
	     "t=0 0\r\na=ice-ufrag:Fz8k\r\na=ice-pwd:asd88fgpdd777uzjYhagZg\r\na=ice-options:trickle\r\n" \
	     "a=ice-lite\r\n" \
	     "m=audio 40000 RTP/SAVP 0 8\r\nc=IN IP6 2001:db8::b0b\r\na=rtcp:40001 IN IP6 2001:db8::b0b\r\n" \
	     "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n" \
	     "a=candidate:1 1 UDP 2130706431 2001:db8::b0b 40000 typ host\r\n" \
	     "a=candidate:2 1 UDP 1694498815 192.0.2.99 41000 typ srflx raddr 2001:db8::b0b rport 40000\r\n" \
	     "a=remote-candidates:1 2001:db8::a11 5000\r\na=end-of-candidates\r\na=ice-mismatch\r\n" \
	     "m=video 40002 RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=rtcp-mux\r\n" \
	     "a=rtcp:40002\r\na=source-filter: incl IN IP6 * 2001:db8::b0b\r\n"

static void more_tests(void)
{
	/* The caller's SDP is IPv6; the callee's leg is IPv4: every address becomes the relay's. */
	ok(parse(RICH) == 0 && s.nmedia == 2 && s.has_origin && s.media[1].rtcp_mux,
	   "an IPv6 offer with ICE, SRTP, audio and video parses");
	ok(rewrite(RICH, "192.0.2.1", 30000, 30002) > 0 && !strstr(out, "2001:db8") &&
	   !strstr(out, "192.0.2.99") && !strstr(out, "IP6") && !strstr(out, "bob") &&
	   strstr(out, "o=- 42 7 IN IP4 192.0.2.1\r\n") &&
	   strstr(out, "m=audio 30000 RTP/SAVP 0 8\r\nc=IN IP4 192.0.2.1\r\na=rtcp:30001 IN IP4 192.0.2.1\r\n") &&
	   strstr(out, "m=video 30002 RTP/SAVPF 96\r\n") && strstr(out, "a=rtcp:30002\r\n"),
	   "IPv6 offer to an IPv4 leg: o=, both c=, a=rtcp and both m= point at the IPv4 relay");
	ok(!strstr(out, "candidate") && !strstr(out, "ice-") && !strstr(out, "source-filter"),
	   "ICE attributes and source filters are removed by default");
	ok(strstr(out, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
		   "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n") &&
	   strstr(out, "a=rtpmap:96 H264/90000\r\n") && strstr(out, "s=call\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"),
	   "SRTP keys, profiles and other lines pass unchanged");
	ok(parse(out) == 0 && s.nmedia == 2 && s.media[0].port == 30000 && s.media[1].port == 30002 &&
	   s.media[0].rtcp_port == 30001, "the rewrite parses back to the relay's streams");
	parse(RICH);
	keep_ice = true;
	ok(rewrite(RICH, "192.0.2.1", 30000, 30002) > 0 && strstr(out, "a=ice-ufrag:Fz8k\r\n") &&
	   strstr(out, "a=candidate:1 1 UDP 2130706431 2001:db8::b0b 40000 typ host\r\n") &&
	   strstr(out, "a=end-of-candidates\r\n") && !strstr(out, "source-filter"),
	   "ice = pass keeps the ICE attributes as they were");
	keep_ice = false;

	/* The hash that decides the o= version. */
	{
		const char *a = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\n";
		const char *b = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\n";
		const char *c = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\na=sendonly\r\n";

		ok(sdp_hash_without_origin(a, strlen(a)) == sdp_hash_without_origin(b, strlen(b)) &&
		   sdp_hash_without_origin(a, strlen(a)) != sdp_hash_without_origin(c, strlen(c)),
		   "the SDP hash ignores o= and sees a direction change");
	}

	/* o= */
	ok(parse("v=0\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n") == 0 &&
	   !s.has_origin &&
	   rewrite("v=0\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "[2001:db8::1]",
		   30000, 0) > 0 && !strncmp(out, "v=0\r\no=- 42 7 IN IP6 2001:db8::1\r\ns=-\r\n", 37),
	   "an SDP without o= gets ksipd's, second as RFC 4566 wants");
	ok(parse("v=0\r\no=garbage\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n") < 0 &&
	   strstr(why, "o="), "o= with one word rejected");
	ok(parse("v=0\r\no=- x1 1 IN IP4 10.0.0.1\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n") < 0,
	   "o= with a session id that is not a number rejected");
	ok(parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1 extra\r\nm=audio 0 RTP/AVP 0\r\n") < 0 &&
	   parse("v=0\r\no=- 1 1 IN IPX 10.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n") < 0 &&
	   parse("v=0\r\no=- 123456789012345678901 1 IN IP4 1.2.3.4\r\n") < 0,
	   "o= with a seventh word, an unknown address type or a 21-digit id rejected");
	ok(parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\no=- 1 1 IN IP4 1.2.3.4\r\n") < 0 && strstr(why, "o="),
	   "two o= lines rejected");

	/* c= and a=rtcp */
	ok(parse("v=0\r\nc=IN IP4 pbx.example.com\r\nm=audio 4000 RTP/AVP 0\r\n") < 0 &&
	   strstr(why, "not an IP address"), "c= with a host name rejected, saying so");
	ok(parse("v=0\r\nc=IN IP5 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n") < 0 &&
	   strstr(why, "Unknown address type"), "c= with an unknown address type rejected, saying so");
	ok(parse("v=0\r\nc=IN IP4 ::1\r\nm=audio 4000 RTP/AVP 0\r\n") < 0 &&
	   parse("v=0\r\nc=IN IP6 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n") < 0,
	   "c= whose address is not of its type rejected");
	ok(parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:0\r\n") < 0 &&
	   parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:65536\r\n") < 0 &&
	   parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:x\r\n") < 0 &&
	   parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4 h.example\r\n") < 0,
	   "a=rtcp with port 0, above 65535, not a number, or a host name rejected");
	ok(parse("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4001  \r\n") == 0 &&
	   s.media[0].rtcp_port == 4001, "a=rtcp with trailing blanks accepted");
	ok(parse("v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 4000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n"
		 "a=rtcp:5001 IN IP4 10.0.0.9\r\n") == 0 &&
	   rewrite("v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 4000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n"
		   "a=rtcp:5001 IN IP4 10.0.0.9\r\n", "192.0.2.1", 30000, 0) > 0 &&
	   !strstr(out, "10.0.0.9") && !strstr(out, "a=rtcp") && strstr(out, "m=video 0 RTP/AVP 96\r\n"),
	   "a=rtcp of a disabled stream is dropped, not passed with the phone's address");

	/* Bounds */
	{
		static char big[70000];
		size_t n = 0;

		n += (size_t)sprintf(big, "v=0\r\nc=IN IP4 1.2.3.4\r\n");
		for (int i = 0; i < 1000; i++)
			n += (size_t)sprintf(big + n, "m=audio %d RTP/AVP 0\r\n", 2000 + 2 * i);
		ok(sdp_parse((struct sip_span){ big, (uint32_t)n }, &s, &why) < 0 && strstr(why, "Too many"),
		   "1000 m= lines: refused at the cap of %d streams", SDP_MAX_MEDIA);
		n = (size_t)sprintf(big, "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=x:");
		memset(big + n, 'y', 60000);
		n += 60000;
		ok(sdp_parse((struct sip_span){ big, (uint32_t)n }, &s, &why) == 0 &&
		   sdp_rewrite((struct sip_span){ big, (uint32_t)n }, &s,
			       &(struct sdp_relay){ .rtp_port = { 1 } }, out, sizeof(out)) == -1,
		   "a 60 kB attribute line parses, and a rewrite that does not fit fails cleanly");
	}
}

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
	ok(strstr(out, "v=0\r\no=- 42 7 IN IP4 203.0.113.1\r\ns=-\r\n") && !strstr(out, "alice") &&
	   !strstr(out, "198.51.100.7"),
	   "o= is ksipd's origin (session id, version, relay address): nothing of the caller is left");
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
	more_tests();
	return tap_done();
}
