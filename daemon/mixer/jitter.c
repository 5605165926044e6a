// SPDX-License-Identifier: GPL-2.0
/* The jitter buffer: see jitter.h for what it promises. */
#include <string.h>

#include "mixer/jitter.h"

static struct jitter_slot *slot_of(struct jitter *j, uint32_t seq)
{
	return &j->slot[seq & (JITTER_SLOTS - 1)];
}

static void flush(struct jitter *j)
{
	for (int i = 0; i < JITTER_SLOTS; i++) {
		if (j->slot[i].full)
			j->st.dropped++;
		j->slot[i].full = false;
	}
	j->held = 0;
	j->playing = false;
	j->jump_pending = false;
}

void jitter_init(struct jitter *j)
{
	memset(j, 0, sizeof(*j));
}

/* Start a stream at SEQ (a first packet, a new SSRC, a believed jump). */
static void restart(struct jitter *j, uint32_t ssrc, uint16_t seq)
{
	flush(j);
	j->started = true;
	j->ssrc = ssrc;
	/* Extended numbers start one cycle up so that "behind" never wraps below zero. */
	j->next = 0x10000u | seq;
	j->highest = j->next - 1;
	j->have_transit = false;
}

/* Move the playout point to NEXT, counting what is skipped. */
static void skip_to(struct jitter *j, uint32_t next)
{
	for (; (int32_t)(next - j->next) > 0; j->next++) {
		struct jitter_slot *s = slot_of(j, j->next);

		if (s->full && s->seq == j->next) {
			s->full = false;
			j->held--;
			j->st.dropped++;
		} else {
			j->st.lost++;
		}
	}
}

static void update_jitter(struct jitter *j, uint32_t ts, uint32_t arrival)
{
	uint32_t transit = arrival - ts;

	if (j->have_transit) {
		int32_t d = (int32_t)(transit - j->last_transit);
		uint32_t ad = d < 0 ? (uint32_t)-(int64_t)d : (uint32_t)d;

		/* J += (|D| - J) / 16, kept as 16 J; a hostile |D| is capped so J stays meaningful. */
		if (ad > MIXER_RATE * 10)
			ad = MIXER_RATE * 10;
		j->jitter16 += ad - ((j->jitter16 + 8) >> 4);
	}
	j->last_transit = transit;
	j->have_transit = true;
}

bool jitter_put(struct jitter *j, const struct rtp_packet *p, bool audio, uint32_t arrival)
{
	struct jitter_slot *s;
	uint32_t seq;
	int32_t ahead;

	if (audio && p->len != MIXER_FRAME) {
		j->st.bad_size++;
		return false;
	}
	if (!j->started || p->ssrc != j->ssrc) {
		if (j->started)
			j->st.ssrc_changes++;
		restart(j, p->ssrc, p->seq);
	}
	/* Extend the 16-bit number to the one nearest the highest seen. */
	seq = j->highest + (uint32_t)(int16_t)(p->seq - (uint16_t)j->highest);
	ahead = (int32_t)(seq - j->next);
	if (ahead < 0 && ahead >= -JITTER_MAX_JUMP) {
		j->st.late++;
		return true;
	}
	if (ahead > JITTER_MAX_JUMP || ahead < 0) {
		/* Believe a far jump only when the packet after it follows (RFC 3550 A.1). */
		if (!j->jump_pending || p->seq != (uint16_t)j->jump_seq) {
			j->jump_pending = true;
			j->jump_seq = (uint16_t)(p->seq + 1);
			j->st.jumps++;
			return false;
		}
		restart(j, p->ssrc, p->seq);
		seq = j->next;
		ahead = 0;
	}
	if (ahead >= JITTER_SLOTS)	/* ahead of what fits: play from JITTER_TARGET frames before it */
		skip_to(j, seq - JITTER_TARGET + 1);
	s = slot_of(j, seq);
	if (s->full) {
		if (s->seq == seq) {
			j->st.duplicates++;
			return true;
		}
		j->held--;	/* cannot happen: held frames stay within the window; kept safe */
		j->st.dropped++;
	}
	s->full = true;
	s->seq = seq;
	s->audio = audio;
	if (audio)
		memcpy(s->payload, p->payload, MIXER_FRAME);
	j->held++;
	if ((int32_t)(seq - j->highest) > 0)
		j->highest = seq;
	j->st.received++;
	if (audio)
		update_jitter(j, p->ts, arrival);
	return true;
}

enum jitter_play jitter_pop(struct jitter *j, uint8_t *out)
{
	struct jitter_slot *s;

	if (!j->playing) {
		if (!j->held || j->highest - j->next + 1 < JITTER_TARGET)
			return JITTER_NONE;
		j->playing = true;
	}
	if (!j->held) {
		/* Dry: the sender paused (silence suppression) or stalled; wait for the target again. */
		j->playing = false;
		j->st.underruns++;
		return JITTER_NONE;
	}
	if (j->highest - j->next + 1 > JITTER_HIGH)
		skip_to(j, j->highest - JITTER_TARGET + 1);
	s = slot_of(j, j->next);
	j->next++;
	if (!s->full || s->seq != j->next - 1) {
		j->st.lost++;
		return JITTER_LOST;
	}
	s->full = false;
	j->held--;
	if (!s->audio)
		return JITTER_NONE;
	memcpy(out, s->payload, MIXER_FRAME);
	return JITTER_FRAME;
}

unsigned int jitter_ms(const struct jitter *j)
{
	return (j->jitter16 >> 4) * 1000 / MIXER_RATE;
}
