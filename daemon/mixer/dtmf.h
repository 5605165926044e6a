/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RFC 4733 telephone-events to DTMF digits, each event reported once.
 *
 * One event is one RTP timestamp (§2.5.1.2: all its packets carry the
 * timestamp of its start); its end packet is sent three times (§2.5.1.4).
 * A digit is reported at the first end packet of a timestamp, or, if every
 * end packet was lost, when a packet of a new event arrives. Events that
 * are not DTMF (16 and up: tones, line events) and short payloads are
 * ignored and counted. Digits wait in a bounded queue until read.
 */
#ifndef KSIP_MIXER_DTMF_H
#define KSIP_MIXER_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DTMF_QUEUE 32	/* digits held until mixer_member_digits() reads them */

struct dtmf {
	bool in_event;		/* a timestamp seen and not yet reported */
	bool have_last;
	uint32_t ts;		/* the current or last event's timestamp */
	char digit;		/* the current event's digit */
	char queue[DTMF_QUEUE];
	unsigned int queued;
	uint64_t digits, ignored, overflow;
};

void dtmf_init(struct dtmf *d);
/* One telephone-event payload of the RTP packet with timestamp TS; false if ignored. */
bool dtmf_put(struct dtmf *d, uint32_t ts, const uint8_t *payload, size_t len);
/* Move up to CAP queued digits into BUF; how many. */
size_t dtmf_take(struct dtmf *d, char *buf, size_t cap);

#endif
