/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SDP (RFC 4566) as the media relay needs it: where each stream's media
 * goes (c= and m=, RTCP per RFC 3605 and RFC 5761, direction), and a
 * rewrite that points every stream at the relay. Other lines pass through.
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
	int nmedia;
	struct sdp_media media[SDP_MAX_MEDIA];
};

/* Parse BODY; -1 with *why (for a 400/488 reason) when it is not usable SDP. */
int sdp_parse(struct sip_span body, struct sdp_session *s, const char **why);

/* Where the relay wants each stream: its address, and one RTP port per m= line. */
struct sdp_relay {
	struct sockaddr_storage addr;	/* port ignored */
	uint16_t rtp_port[SDP_MAX_MEDIA];
};

/*
 * Write BODY with every c= pointing at the relay, every non-zero m= port
 * replaced, and a=rtcp following the new RTP port (the same port under
 * rtcp-mux, else the next one). Returns the length written, or -1 when it
 * does not fit in CAP. S must come from sdp_parse() of the same BODY.
 */
long sdp_rewrite(struct sip_span body, const struct sdp_session *s, const struct sdp_relay *r,
		 char *out, size_t cap);

#endif
