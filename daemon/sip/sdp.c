// SPDX-License-Identifier: GPL-2.0
#include "sip/sdp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ksip/endpoint.h"

/* The next line of REST (CRLF or bare LF), without its terminator. */
static bool next_line(struct sip_span *rest, struct sip_span *line)
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
static bool word(struct sip_span *s, struct sip_span *w)
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

/* "IN IP4 192.0.2.1" (a /ttl suffix is ignored); port set by the caller. */
static bool parse_conn(struct sip_span v, struct sockaddr_storage *ss)
{
	struct sip_span nettype, addrtype, addr;
	char buf[INET6_ADDRSTRLEN];
	const char *slash;

	if (!word(&v, &nettype) || !word(&v, &addrtype) || !word(&v, &addr) || !span_eq(nettype, "IN"))
		return false;
	slash = memchr(addr.p, '/', addr.len);
	if (slash)
		addr.len = (uint32_t)(slash - addr.p);
	if (addr.len >= sizeof(buf))
		return false;
	memcpy(buf, addr.p, addr.len);
	buf[addr.len] = 0;
	memset(ss, 0, sizeof(*ss));
	if (span_eq(addrtype, "IP4")) {
		ss->ss_family = AF_INET;
		return inet_pton(AF_INET, buf, &((struct sockaddr_in *)ss)->sin_addr) == 1;
	}
	if (span_eq(addrtype, "IP6")) {
		ss->ss_family = AF_INET6;
		return inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1;
	}
	return false;
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

	if (!word(&v, &m->type) || !word(&v, &port) || !word(&v, &m->proto) || !word(&v, &fmt))
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
	while (next_line(&rest, &line)) {
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
		case 'c':
			if (!parse_conn(v, m ? &m->addr : &session_addr)) {
				*why = "Malformed c= line";
				return -1;
			}
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
				struct sip_span rv = { v.p + 5, v.len - 5 }, port;

				if (!m || !word(&rv, &port) || !span_to_u32(port, 65535, &n)) {
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

long sdp_rewrite(struct sip_span body, const struct sdp_session *s, const struct sdp_relay *r,
		 char *out, size_t cap)
{
	struct writer w = { out, cap, 0, false };
	struct sip_span rest = body, line;
	int mi = -1;

	while (next_line(&rest, &line)) {
		const struct sdp_media *m = mi >= 0 ? &s->media[mi] : NULL;
		struct sip_span v = { line.p + 2, line.len >= 2 ? line.len - 2 : 0 };
		char buf[32];
		int n;

		if (line.len >= 2 && line.p[0] == 'm' && mi + 1 < s->nmedia) {
			struct sip_span type = { v.p, 0 }, port = { v.p, 0 };

			m = &s->media[++mi];
			word(&v, &type);
			word(&v, &port);
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
		} else if (m && m->port && line.len > 7 && !memcmp(line.p, "a=rtcp:", 7)) {
			struct sip_span rv = { line.p + 7, line.len - 7 }, port, nettype = { 0 };

			word(&rv, &port);
			n = snprintf(buf, sizeof(buf), "a=rtcp:%u",
				     m->rtcp_mux ? r->rtp_port[mi] : r->rtp_port[mi] + 1u);
			put(&w, buf, (size_t)n);
			if (word(&rv, &nettype)) {
				put(&w, " ", 1);
				put_conn(&w, &r->addr);
			}
		} else {
			put(&w, line.p, line.len);
		}
		put(&w, "\r\n", 2);
	}
	return w.overflow ? -1 : (long)w.len;
}
