/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The focus's side of offer/answer (RFC 3264) for one member: which audio
 * stream of the member's offer it takes, in which G.711 law (the first of
 * PCMU and PCMA in the offer's order), with which telephone-event payload
 * type (RFC 4733), and the answer that says so. Every other m= line is
 * refused with port 0, as §6 asks (the answer has as many m= lines).
 * Pure functions over sip/sdp.c's parse.
 */
#ifndef KSIP_CONF_OFFER_H
#define KSIP_CONF_OFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mixer/mixer.h"
#include "sip/msg.h"
#include "sip/sdp.h"

/* An m= line as offered: what a refusal repeats. */
struct offer_line {
	struct sip_span type, proto, first_fmt;
};

struct offer {
	int nmedia;
	struct offer_line line[SDP_MAX_MEDIA];
	int audio;			/* the m= line taken, -1: none usable */
	enum mixer_codec codec;
	uint8_t pt;			/* its payload type in the offer (0, 8 or dynamic) */
	int dtmf_pt;			/* telephone-event/8000, -1: not offered */
	struct sockaddr_storage remote;	/* where the member wants RTP */
	enum sdp_dir dir;		/* as offered */
};

/*
 * Read BODY (application/sdp), taking the codec WANT (a re-INVITE keeps the
 * member's) or, WANT -1, the first G.711 law offered. 0, or -1 with *WHY (a
 * 488's reason): unparsable, no RTP/AVP audio stream, no such codec in it.
 */
int offer_read(struct sip_span body, int want, struct offer *o, const char **why);

/*
 * The answer to O from ADDR, RTP PORT, with origin SESS_ID/VERSION. Its
 * length, or -1 when it does not fit CAP.
 */
long offer_answer(const struct offer *o, const struct sockaddr_storage *addr, uint16_t port,
		  uint64_t sess_id, uint64_t version, char *out, size_t cap);

#endif
