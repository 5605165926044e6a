/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A member's jitter buffer: 20 ms frames ordered by RTP sequence number,
 * played one per mixer tick.
 *
 * Fixed target, not adaptive: playout starts once JITTER_TARGET frames
 * (40 ms) are held, which absorbs the jitter of ordinary networks (a LAN
 * or a decent WAN path: well under 30 ms) plus the mixer's own tick
 * jitter, and keeps mouth-to-ear delay low. An adaptive target buys little
 * for conference audio at this size and is harder to bound against a
 * sender that shapes its own jitter. Drift is handled instead: when the
 * sender's clock runs fast and the buffer grows past JITTER_HIGH frames,
 * the oldest frames are dropped back to the target; when it runs dry, the
 * buffer waits for the target again (a new talkspurt after silence
 * suppression starts the same way).
 *
 * Memory is JITTER_SLOTS frames whatever the sender does. Hostile or broken
 * input is counted, never trusted: payloads of the wrong size, duplicates,
 * packets behind the playout point, sequence jumps (a jump far ahead or back is
 * believed only when the next packet follows it, as RFC 3550 A.1 does),
 * an SSRC change (a new stream: the buffer restarts). Timestamps only feed
 * the RFC 3550 interarrival jitter estimate; they wrap freely.
 */
#ifndef KSIP_MIXER_JITTER_H
#define KSIP_MIXER_JITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mixer/rtp.h"

#define JITTER_SLOTS 16		/* 320 ms of frames, a power of two */
#define JITTER_TARGET 2		/* frames held before playout starts: 40 ms */
#define JITTER_HIGH 6		/* more than this held (120 ms): drop back to the target */
#define JITTER_MAX_JUMP 100	/* frames (2 s) ahead still taken as the same stream */

struct jitter_slot {
	uint32_t seq;		/* extended sequence number of the frame held */
	bool full;
	bool audio;		/* false: a sequence number taken by a DTMF event, played as silence */
	uint8_t payload[MIXER_FRAME];
};

struct jitter_stats {
	uint64_t received;	/* frames taken in */
	uint64_t lost;		/* sequence numbers that had not arrived when their turn came */
	uint64_t late;		/* arrived behind the playout point */
	uint64_t duplicates;
	uint64_t dropped;	/* held frames thrown away to catch up (drift, jumps) */
	uint64_t bad_size;	/* payload not one 20 ms frame */
	uint64_t jumps;		/* sequence jumps ignored or resynchronised to */
	uint64_t ssrc_changes;
	uint64_t underruns;	/* ticks with nothing to play while playing */
};

struct jitter {
	bool started, playing;
	uint32_t ssrc;
	uint32_t next;		/* extended sequence number to play next */
	uint32_t highest;	/* highest extended sequence number held or played */
	unsigned int held;
	uint32_t jump_seq;	/* a far jump is believed if this sequence number comes next */
	bool jump_pending;
	/* RFC 3550 6.4.1 interarrival jitter, in timestamp units times 16. */
	uint32_t last_transit;
	bool have_transit;
	uint32_t jitter16;
	struct jitter_stats st;
	struct jitter_slot slot[JITTER_SLOTS];
};

void jitter_init(struct jitter *j);
/*
 * A packet of the member's audio stream: P's payload should be one frame
 * (MIXER_FRAME bytes) unless AUDIO is false (a telephone-event packet that
 * takes a sequence number). ARRIVAL is the receive time in 8 kHz units.
 * false when the packet is not taken as part of the stream (wrong size, a
 * jump not believed yet); late packets and duplicates are part of it.
 */
bool jitter_put(struct jitter *j, const struct rtp_packet *p, bool audio, uint32_t arrival);
enum jitter_play {
	JITTER_NONE,	/* nothing to play: not started, dry, or a telephone-event's turn */
	JITTER_FRAME,	/* OUT holds this tick's frame */
	JITTER_LOST,	/* this tick's frame is missing while later ones are here: a loss */
};

/* This tick's frame into OUT (MIXER_FRAME bytes). */
enum jitter_play jitter_pop(struct jitter *j, uint8_t *out);
/* The interarrival jitter estimate in milliseconds. */
unsigned int jitter_ms(const struct jitter *j);

#endif
