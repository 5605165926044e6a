// SPDX-License-Identifier: GPL-2.0
#include "conf/offer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RTPMAP_MAX 32	/* rtpmap lines remembered per m= line; more are ignored */

struct rtpmap {
	uint32_t pt;
	struct sip_span name;	/* "PCMU/8000", "telephone-event/8000" */
};

static bool name_is(struct sip_span name, const char *codec)
{
	size_t n = strlen(codec);

	/* "PCMU/8000" or "PCMU/8000/1"; names are case-insensitive (RFC 4855 §3). */
	return name.len >= n && !strncasecmp(name.p, codec, n) &&
	       (name.len == n || name.p[n] == '/');
}

/* What payload type PT of one m= line is, from its rtpmaps or the static table. */
static int codec_of(uint32_t pt, const struct rtpmap *map, int nmap)
{
	for (int i = 0; i < nmap; i++) {
		if (map[i].pt != pt)
			continue;
		if (name_is(map[i].name, "PCMU/8000"))
			return MIXER_PCMU;
		if (name_is(map[i].name, "PCMA/8000"))
			return MIXER_PCMA;
		return -1;
	}
	return pt == 0 ? MIXER_PCMU : pt == 8 ? MIXER_PCMA : -1;
}

/* Choose in the m= line FMTS (with its rtpmaps): G.711 first in offer order, DTMF if any. */
static bool choose(struct offer *o, struct sip_span fmts, const struct rtpmap *map, int nmap,
		   int want)
{
	struct sip_span w;
	bool found = false;

	o->dtmf_pt = -1;
	while (sdp_next_word(&fmts, &w)) {
		uint32_t pt;
		int c;

		if (!span_to_u32(w, 127, &pt))
			continue;
		for (int i = 0; i < nmap; i++)
			if (map[i].pt == pt && name_is(map[i].name, "telephone-event/8000") &&
			    o->dtmf_pt < 0)
				o->dtmf_pt = (int)pt;
		c = codec_of(pt, map, nmap);
		if (!found && c >= 0 && (want < 0 || c == want)) {
			o->codec = (enum mixer_codec)c;
			o->pt = (uint8_t)pt;
			found = true;
		}
	}
	return found;
}

/* Walk BODY's m= lines; for the first RTP/AVP audio one with G.711 (of codec WANT, -1: any). */
static int scan(struct sip_span body, struct offer *o, int want)
{
	struct sip_span rest = body, line = { 0 }, fmts = { 0 };
	struct rtpmap map[RTPMAP_MAX];
	int nmap = 0, cur = -1;
	bool candidate = false;

	o->nmedia = 0;
	o->audio = -1;
	for (;;) {
		bool more = sdp_next_line(&rest, &line);

		/* The end of an m= section (the next m= or the end): judge it. */
		if ((!more || (line.len > 2 && !memcmp(line.p, "m=", 2))) && candidate &&
		    o->audio < 0 && choose(o, fmts, map, nmap, want))
			o->audio = cur;
		if (!more)
			break;
		if (line.len > 2 && !memcmp(line.p, "m=", 2)) {
			struct sip_span r = { line.p + 2, line.len - 2 }, port;
			struct offer_line *l;

			candidate = false;
			nmap = 0;
			if (o->nmedia >= SDP_MAX_MEDIA)
				return -1;
			cur = o->nmedia++;
			l = &o->line[cur];
			memset(l, 0, sizeof(*l));
			if (!sdp_next_word(&r, &l->type) || !sdp_next_word(&r, &port) ||
			    !sdp_next_word(&r, &l->proto))
				return -1;
			fmts = r;
			sdp_next_word(&r, &l->first_fmt);
			candidate = span_eq(l->type, "audio") && span_eq(l->proto, "RTP/AVP") &&
				    !(port.len == 1 && port.p[0] == '0');
		} else if (cur >= 0 && line.len > 9 && !memcmp(line.p, "a=rtpmap:", 9) &&
			   nmap < RTPMAP_MAX) {
			struct sip_span r = { line.p + 9, line.len - 9 }, pt;

			if (sdp_next_word(&r, &pt) && span_to_u32(pt, 127, &map[nmap].pt) &&
			    sdp_next_word(&r, &map[nmap].name))
				nmap++;
		}
	}
	return 0;
}

int offer_read(struct sip_span body, int want, struct offer *o, const char **why)
{
	struct sdp_session s;

	memset(o, 0, sizeof(*o));
	if (sdp_parse(body, &s, why))
		return -1;
	if (scan(body, o, want) || o->nmedia != s.nmedia) {
		*why = "Malformed SDP";
		return -1;
	}
	if (o->audio < 0) {
		*why = want < 0 ? "No G.711 Audio Offered" : "Codec Change Not Supported";
		return -1;
	}
	if (!s.media[o->audio].has_addr) {
		*why = "No Media Address";
		return -1;
	}
	o->remote = s.media[o->audio].addr;
	o->dir = s.media[o->audio].dir;
	return 0;
}

static const char *answer_dir(enum sdp_dir offered)
{
	/* RFC 3264 §6.1: the mirror of the offer's direction. */
	switch (offered) {
	case SDP_SENDONLY:
		return "recvonly";
	case SDP_RECVONLY:
		return "sendonly";
	case SDP_INACTIVE:
		return "inactive";
	default:
		return "sendrecv";
	}
}

long offer_answer(const struct offer *o, const struct sockaddr_storage *addr, uint16_t port,
		  uint64_t sess_id, uint64_t version, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	const char *fam = addr->ss_family == AF_INET6 ? "IP6" : "IP4";
	const char *law = o->codec == MIXER_PCMA ? "PCMA" : "PCMU";
	size_t n = 0;
	int w;

	if (addr->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof(ip));
#define PUT(...)                                                            \
	do {                                                                \
		w = snprintf(out + n, cap - n, __VA_ARGS__);                \
		if (w < 0 || (size_t)w >= cap - n)                          \
			return -1;                                          \
		n += (size_t)w;                                             \
	} while (0)
	PUT("v=0\r\no=ksip %llu %llu IN %s %s\r\ns=ksip conference\r\nc=IN %s %s\r\nt=0 0\r\n",
	    (unsigned long long)sess_id, (unsigned long long)version, fam, ip, fam, ip);
	for (int i = 0; i < o->nmedia; i++) {
		const struct offer_line *l = &o->line[i];

		if (i != o->audio) {
			/* Refused (RFC 3264 §6): port 0, the offer's proto and a format of its own. */
			PUT("m=%.*s 0 %.*s %.*s\r\n", (int)l->type.len, l->type.p, (int)l->proto.len,
			    l->proto.p, (int)(l->first_fmt.len ? l->first_fmt.len : 1),
			    l->first_fmt.len ? l->first_fmt.p : "0");
			continue;
		}
		PUT("m=audio %u RTP/AVP %u", port, o->pt);
		if (o->dtmf_pt >= 0)
			PUT(" %d", o->dtmf_pt);
		PUT("\r\na=rtpmap:%u %s/8000\r\n", o->pt, law);
		if (o->dtmf_pt >= 0)
			PUT("a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", o->dtmf_pt,
			    o->dtmf_pt);
		PUT("a=ptime:20\r\na=%s\r\n", answer_dir(o->dir));
	}
#undef PUT
	return (long)n;
}
