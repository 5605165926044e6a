// SPDX-License-Identifier: GPL-2.0
#include "sip/sdp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "ksip/endpoint.h"

/* The next line of REST (CRLF or bare LF), without its terminator. */
bool sdp_next_line(struct sip_span *rest, struct sip_span *line)
{
	const char *nl;

	if (!rest->len)
		return false;
	nl = memchr(rest->p, '\n', rest->len);
	line->p = rest->p;
	line->len = nl ? (uint32_t)(nl - rest->p) : rest->len;
	rest->p += line->len + (nl ? 1 : 0);
	rest->len -= line->len + (nl ? 1 : 0);
	if (line->len && line->p[line->len - 1] == '\r')
		line->len--;
	return true;
}

/* Split off the next space-separated word of *s. */
bool sdp_next_word(struct sip_span *s, struct sip_span *w)
{
	while (s->len && s->p[0] == ' ') {
		s->p++;
		s->len--;
	}
	if (!s->len)
		return false;
	w->p = s->p;
	while (s->len && s->p[0] != ' ') {
		s->p++;
		s->len--;
	}
	w->len = (uint32_t)(s->p - w->p);
	return true;
}

/* "IN IP4 192.0.2.1" (a /ttl suffix is ignored); port set by the caller. NULL or why not. */
static const char *parse_conn(struct sip_span v, struct sockaddr_storage *ss)
{
	struct sip_span nettype, addrtype, addr, extra;
	char buf[INET6_ADDRSTRLEN];
	const char *slash;
	int fam;

	if (!sdp_next_word(&v, &nettype) || !sdp_next_word(&v, &addrtype) ||
	    !sdp_next_word(&v, &addr) || sdp_next_word(&v, &extra) || !span_eq(nettype, "IN"))
		return "Malformed c= line";
	if (span_eq(addrtype, "IP4"))
		fam = AF_INET;
	else if (span_eq(addrtype, "IP6"))
		fam = AF_INET6;
	else
		return "Unknown address type in c= (IP4 or IP6 expected)";
	slash = memchr(addr.p, '/', addr.len);
	if (slash)
		addr.len = (uint32_t)(slash - addr.p);
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)fam;
	if (addr.len < sizeof(buf)) {
		memcpy(buf, addr.p, addr.len);
		buf[addr.len] = 0;
		if (inet_pton(fam, buf, fam == AF_INET6 ? (void *)&((struct sockaddr_in6 *)ss)->sin6_addr :
				 (void *)&((struct sockaddr_in *)ss)->sin_addr) == 1)
			return NULL;
	}
	/* A host name would have ksipd resolve names for phones: it takes addresses only. */
	return "c= address is not an IP address of its type";
}

/* 1 to 20 digits: an o= session id or version (RFC 4566 §5.2, numeric). */
static bool digits(struct sip_span w)
{
	if (!w.len || w.len > 20)
		return false;
	for (uint32_t i = 0; i < w.len; i++)
		if (w.p[i] < '0' || w.p[i] > '9')
			return false;
	return true;
}

/* "o=user 2890844526 2890842807 IN IP4 192.0.2.10": checked, then replaced by ours. */
static bool parse_origin(struct sip_span v)
{
	struct sip_span user, id, version, nettype, addrtype, addr, extra;

	return sdp_next_word(&v, &user) && sdp_next_word(&v, &id) &&
	       sdp_next_word(&v, &version) && sdp_next_word(&v, &nettype) &&
	       sdp_next_word(&v, &addrtype) && sdp_next_word(&v, &addr) &&
	       !sdp_next_word(&v, &extra) && digits(id) && digits(version) && span_eq(nettype, "IN") &&
	       (span_eq(addrtype, "IP4") || span_eq(addrtype, "IP6"));
}

/* The attribute name of an a= value: up to the first ':' (RFC 4566 §5.13). */
static struct sip_span attr_name(struct sip_span v)
{
	const char *colon = memchr(v.p, ':', v.len);

	return (struct sip_span){ v.p, colon ? (uint32_t)(colon - v.p) : v.len };
}

bool sdp_is_ice_line(struct sip_span line)
{
	struct sip_span name;

	if (line.len < 3 || line.p[0] != 'a' || line.p[1] != '=')
		return false;
	name = attr_name((struct sip_span){ line.p + 2, line.len - 2 });
	/* ice-ufrag, ice-pwd, ice-options, ice-lite, ice-mismatch, ice-pacing (RFC 8839) */
	return (name.len > 4 && !memcmp(name.p, "ice-", 4)) || span_eq(name, "candidate") ||
	       span_eq(name, "remote-candidates") || span_eq(name, "end-of-candidates");
}

static bool parse_dir(struct sip_span v, enum sdp_dir *dir)
{
	if (span_eq(v, "sendrecv"))
		*dir = SDP_SENDRECV;
	else if (span_eq(v, "sendonly"))
		*dir = SDP_SENDONLY;
	else if (span_eq(v, "recvonly"))
		*dir = SDP_RECVONLY;
	else if (span_eq(v, "inactive"))
		*dir = SDP_INACTIVE;
	else
		return false;
	return true;
}

/* "m=audio 49170[/2] RTP/AVP 0 8" */
static bool parse_m(struct sip_span v, struct sdp_media *m)
{
	struct sip_span port, fmt;
	const char *slash;
	uint32_t p;

	if (!sdp_next_word(&v, &m->type) || !sdp_next_word(&v, &port) ||
	    !sdp_next_word(&v, &m->proto) || !sdp_next_word(&v, &fmt))
		return false;
	slash = memchr(port.p, '/', port.len);
	if (slash)
		port.len = (uint32_t)(slash - port.p);
	if (!span_to_u32(port, 65535, &p))
		return false;
	m->port = (uint16_t)p;
	return true;
}

int sdp_parse(struct sip_span body, struct sdp_session *s, const char **why)
{
	struct sockaddr_storage session_addr;
	bool session_has_addr = false, first = true;
	enum sdp_dir session_dir = SDP_SENDRECV;
	struct sip_span rest = body, line;
	struct sdp_media *m = NULL;
	bool media_dir_set[SDP_MAX_MEDIA] = { false };

	memset(s, 0, sizeof(*s));
	*why = "Malformed SDP";
	while (sdp_next_line(&rest, &line)) {
		struct sip_span v;
		uint32_t n;

		if (!line.len)
			continue;	/* tolerate blank lines, e.g. a trailing one */
		if (line.len < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
			return -1;
		v = (struct sip_span){ line.p + 2, line.len - 2 };
		if (first && (line.p[0] != 'v' || !span_eq(v, "0"))) {
			*why = "SDP must start with v=0";
			return -1;
		}
		first = false;
		switch (line.p[0]) {
		case 'm':
			if (s->nmedia == SDP_MAX_MEDIA) {
				*why = "Too many media streams in SDP";
				return -1;
			}
			m = &s->media[s->nmedia++];
			if (!parse_m(v, m)) {
				*why = "Malformed m= line";
				return -1;
			}
			m->rtcp_port = m->port ? (uint16_t)(m->port + 1) : 0;
			break;
		case 'o':
			if (s->has_origin || !parse_origin(v)) {
				*why = s->has_origin ? "More than one o= line" : "Malformed o= line";
				return -1;
			}
			s->has_origin = true;
			break;
		case 'c':
			*why = parse_conn(v, m ? &m->addr : &session_addr);
			if (*why)
				return -1;
			if (m)
				m->has_addr = true;
			else
				session_has_addr = true;
			break;
		case 'a':
			if (span_eq(v, "rtcp-mux")) {
				if (m)
					m->rtcp_mux = true;
			} else if (v.len > 5 && !memcmp(v.p, "rtcp:", 5)) {
				struct sip_span rv = { v.p + 5, v.len - 5 }, port, probe, w;
				struct sockaddr_storage rtcp_addr;

				/* The port, then an optional address like c='s (RFC 3605 §2.1). */
				if (!m || !sdp_next_word(&rv, &port) || !span_to_u32(port, 65535, &n) || !n ||
				    ((probe = rv, sdp_next_word(&probe, &w)) && parse_conn(rv, &rtcp_addr))) {
					*why = "Malformed a=rtcp line";
					return -1;
				}
				m->rtcp_port = (uint16_t)n;
			} else {
				enum sdp_dir d;

				if (parse_dir(v, &d)) {
					if (m) {
						m->dir = d;
						media_dir_set[m - s->media] = true;
					} else {
						session_dir = d;
					}
				}
			}
			break;
		default:
			break;
		}
	}
	if (first) {
		*why = "Empty SDP";
		return -1;
	}
	for (int i = 0; i < s->nmedia; i++) {
		struct sdp_media *mm = &s->media[i];

		if (!media_dir_set[i])
			mm->dir = session_dir;
		if (!mm->has_addr && session_has_addr) {
			mm->addr = session_addr;
			mm->has_addr = true;
		}
		if (!mm->has_addr && mm->port) {
			*why = "Media stream without a c= address";
			return -1;
		}
		ksip_endpoint_set_port(&mm->addr, mm->port);
	}
	return 0;
}

struct writer {
	char *out;
	size_t cap, len;
	bool overflow;
};

static void put(struct writer *w, const char *p, size_t n)
{
	if (w->overflow || w->len + n > w->cap) {
		w->overflow = true;
		return;
	}
	memcpy(w->out + w->len, p, n);
	w->len += n;
}

static void put_conn(struct writer *w, const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN], line[80];
	int n;

	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
	n = snprintf(line, sizeof(line), "IN %s %s", ss->ss_family == AF_INET6 ? "IP6" : "IP4", ip);
	put(w, line, (size_t)n);
}

/* ksipd's origin for this leg: nothing of the phone's user name or address. */
static void put_origin(struct writer *w, const struct sdp_relay *r)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "o=- %llu %llu ", (unsigned long long)r->sess_id,
			 (unsigned long long)r->sess_version);

	put(w, buf, (size_t)n);
	put_conn(w, &r->addr);
	put(w, "\r\n", 2);
}

/* Lines the relay drops: ICE (unless passed) and source filters naming the other side. */
static bool dropped(struct sip_span line, const struct sdp_relay *r)
{
	if (line.len < 2 || line.p[0] != 'a' || line.p[1] != '=')
		return false;
	if (!r->keep_ice && sdp_is_ice_line(line))
		return true;
	/* RFC 4570: a filter on the other phone's addresses would drop the relay's packets. */
	return span_eq(attr_name((struct sip_span){ line.p + 2, line.len - 2 }), "source-filter");
}

long sdp_rewrite(struct sip_span body, const struct sdp_session *s, const struct sdp_relay *r,
		 char *out, size_t cap)
{
	struct writer w = { out, cap, 0, false };
	struct sip_span rest = body, line;
	bool wrote_origin = false;
	int mi = -1;

	while (sdp_next_line(&rest, &line)) {
		const struct sdp_media *m = mi >= 0 ? &s->media[mi] : NULL;
		struct sip_span v = { line.p + 2, line.len >= 2 ? line.len - 2 : 0 };
		char buf[32];
		int n;

		if (dropped(line, r))
			continue;
		if (line.len >= 2 && line.p[0] == 'o' && line.p[1] == '=') {
			put_origin(&w, r);
			continue;
		}
		if (line.len >= 2 && line.p[0] == 'm' && mi + 1 < s->nmedia) {
			struct sip_span type = { v.p, 0 }, port = { v.p, 0 };

			m = &s->media[++mi];
			sdp_next_word(&v, &type);
			sdp_next_word(&v, &port);
			put(&w, line.p, (size_t)(port.p - line.p));
			if (m->port) {
				const char *slash = memchr(port.p, '/', port.len);

				n = snprintf(buf, sizeof(buf), "%u", r->rtp_port[mi]);
				put(&w, buf, (size_t)n);
				if (slash)
					put(&w, slash, (size_t)(port.p + port.len - slash));
			} else {
				put(&w, port.p, port.len);	/* a rejected stream stays rejected */
			}
			put(&w, v.p, v.len);
		} else if (line.len >= 2 && line.p[0] == 'c' && line.p[1] == '=') {
			put(&w, "c=", 2);
			put_conn(&w, &r->addr);
		} else if (line.len > 7 && !memcmp(line.p, "a=rtcp:", 7)) {
			struct sip_span rv = { line.p + 7, line.len - 7 }, port, nettype = { 0 };

			if (!m || !m->port)
				continue;	/* a stream without relay ports: nothing to point at */
			sdp_next_word(&rv, &port);
			n = snprintf(buf, sizeof(buf), "a=rtcp:%u",
				     m->rtcp_mux ? r->rtp_port[mi] : r->rtp_port[mi] + 1u);
			put(&w, buf, (size_t)n);
			if (sdp_next_word(&rv, &nettype)) {
				put(&w, " ", 1);
				put_conn(&w, &r->addr);
			}
		} else {
			put(&w, line.p, line.len);
		}
		put(&w, "\r\n", 2);
		/* RFC 4566 wants o= second: write ours after v= when the phone sent none. */
		if (!s->has_origin && !wrote_origin && line.len >= 2 && line.p[0] == 'v') {
			put_origin(&w, r);
			wrote_origin = true;
		}
	}
	return w.overflow ? -1 : (long)w.len;
}

uint64_t sdp_hash_without_origin(const char *p, size_t n)
{
	struct sip_span rest = { p, (uint32_t)n }, line;
	uint64_t h = hash_bytes("sdp", 3);

	while (sdp_next_line(&rest, &line))
		if (line.len < 2 || line.p[0] != 'o' || line.p[1] != '=')
			h = hash_bytes_seed(hash_bytes_seed(h, line.p, line.len), "\n", 1);
	return h;
}
