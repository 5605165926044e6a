/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SDP (RFC 4566) as the media relay needs it: where each stream's media
 * goes (c= and m=, RTCP per RFC 3605 and RFC 5761, direction), and a
 * rewrite that leaves nothing of the other side's addresses: o= becomes
 * ksipd's own origin, every c=, m= port and a=rtcp points at the relay, and
 * ICE (which would have the phones reach each other around the relay) is
 * removed unless the operator passes it. Other lines, SRTP's a=crypto and
 * the RTP/SAVP profiles among them, pass through untouched: the relay
 * forwards packets without reading them.
 */
#ifndef KSIP_SDP_H
#define KSIP_SDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip/msg.h"

#define SDP_MAX_MEDIA 8

enum sdp_dir { SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

struct sdp_media {
	struct sip_span type;		/* audio, video, ... */
	struct sip_span proto;		/* RTP/AVP, RTP/SAVP, ... */
	uint16_t port;			/* 0: the stream is rejected or disabled */
	struct sockaddr_storage addr;	/* effective c= address with the m= port */
	bool has_addr;
	uint16_t rtcp_port;		/* a=rtcp, else port + 1 (RFC 3605) */
	bool rtcp_mux;			/* a=rtcp-mux (RFC 5761) */
	enum sdp_dir dir;		/* media-level, else session-level, else sendrecv */
};

struct sdp_session {
	bool has_origin;		/* an o= line (well formed; at most one) */
	int nmedia;
	struct sdp_media media[SDP_MAX_MEDIA];
};

/* Parse BODY; -1 with *why (for a 400/488 reason) when it is not usable SDP. */
int sdp_parse(struct sip_span body, struct sdp_session *s, const char **why);

/*
 * Where the relay wants each stream: its address, one RTP port per m= line,
 * and the origin (o=) ksipd presents to this leg: its session id and
 * version (RFC 3264 §8: the version grows by one whenever the SDP sent to a
 * leg changes, and only then).
 */
struct sdp_relay {
	struct sockaddr_storage addr;	/* port ignored */
	uint16_t rtp_port[SDP_MAX_MEDIA];
	uint64_t sess_id, sess_version;
	bool keep_ice;			/* config ice = pass */
};

/*
 * Write BODY with o= replaced by the relay's origin (inserted after v= when
 * BODY has none), every c= pointing at the relay, every non-zero m= port
 * replaced (port 0 stays 0), a=rtcp following the new RTP port (the same
 * port under rtcp-mux, else the next one) and address, and ICE attributes
 * dropped unless R->keep_ice. Returns the length written, or -1 when it
 * does not fit in CAP. S must come from sdp_parse() of the same BODY.
 */
long sdp_rewrite(struct sip_span body, const struct sdp_session *s, const struct sdp_relay *r,
		 char *out, size_t cap);

/*
 * A hash of a rewritten SDP without its o= line: what the caller compares
 * to decide whether the SDP a leg gets has changed (and the version grows).
 */
uint64_t sdp_hash_without_origin(const char *p, size_t n);

/* Is LINE an ICE attribute (RFC 8839: a=candidate, a=ice-*, ...)? */
bool sdp_is_ice_line(struct sip_span line);

/* Line and word splitting for SDP readers: the next line of *REST (CRLF or bare LF) without its
 * terminator, the next space-separated word; false at the end. */
bool sdp_next_line(struct sip_span *rest, struct sip_span *line);
bool sdp_next_word(struct sip_span *s, struct sip_span *w);

#endif
