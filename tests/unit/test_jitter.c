// SPDX-License-Identifier: GPL-2.0
/*
 * The jitter buffer alone, packet by packet: order, reorder, loss,
 * duplicates, lateness, sequence and timestamp wrap, SSRC change, jumps,
 * drift, and a random hostile stream that must keep its bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "mixer/jitter.h"

static uint8_t frame[MIXER_FRAME];

/* A frame whose bytes all say which sequence number it is. */
static bool put(struct jitter *j, uint32_t ssrc, uint16_t seq, uint32_t ts, uint32_t arrival)
{
	struct rtp_packet p = { .pt = 0, .seq = seq, .ts = ts, .ssrc = ssrc, .payload = frame,
				.len = MIXER_FRAME };

	memset(frame, (uint8_t)seq, sizeof(frame));
	return jitter_put(j, &p, true, arrival);
}

/* Pop one frame: its sequence byte, or -1 when nothing plays. */
static int pop(struct jitter *j)
{
	uint8_t out[MIXER_FRAME];

	switch (jitter_pop(j, out)) {
	case JITTER_NONE:
		return -1;
	case JITTER_LOST:
		return -3;
	case JITTER_FRAME:
		break;
	}
	for (int i = 1; i < MIXER_FRAME; i++)
		if (out[i] != out[0])
			return -2;
	return out[0];
}

/* Pop N frames into a string of sequence bytes ("." for nothing, "x" for a loss). */
static const char *pops(struct jitter *j, int n)
{
	static char s[64];

	for (int i = 0; i < n; i++) {
		int v = pop(j);

		s[i] = v == -3 ? 'x' : v < 0 ? '.' : (char)('a' + (v & 0x0f));
	}
	s[n] = 0;
	return s;
}

static bool consistent(const struct jitter *j)
{
	unsigned int full = 0;

	for (int i = 0; i < JITTER_SLOTS; i++)
		full += j->slot[i].full;
	return full == j->held && j->held <= JITTER_SLOTS;
}

int main(void)
{
	struct jitter j;
	struct rtp_packet p;
	const char *s;
	bool good;

	jitter_init(&j);
	put(&j, 1, 0, 0, 0);
	ok(pop(&j) == -1, "one frame held: playout waits for the %d ms target", JITTER_TARGET * 20);
	for (uint16_t q = 1; q < 6; q++)
		put(&j, 1, q, q * 160u, q * 160u);
	s = pops(&j, 7);
	ok(!strcmp(s, "abcdef."), "in order: frames played in order, then nothing (%s)", s);
	ok(j.st.lost == 0 && j.st.underruns == 1 && j.st.received == 6, "no loss; one underrun at the end");

	jitter_init(&j);
	put(&j, 1, 1, 0, 0);
	put(&j, 1, 3, 0, 0);
	put(&j, 1, 2, 0, 0);
	put(&j, 1, 4, 0, 0);
	s = pops(&j, 4);
	ok(!strcmp(s, "bcde") && j.st.lost == 0, "reordered 1 3 2 4 plays 1 2 3 4 (%s)", s);

	jitter_init(&j);
	put(&j, 1, 1, 0, 0);
	put(&j, 1, 2, 0, 0);
	put(&j, 1, 4, 0, 0);
	put(&j, 1, 5, 0, 0);
	s = pops(&j, 4);
	ok(!strcmp(s, "bcxe") && j.st.lost == 1, "a gap (3 missing) is reported lost in its turn and counted (%s)", s);
	put(&j, 1, 3, 0, 0);
	ok(j.st.late == 1 && !strcmp(pops(&j, 2), "f."), "3 arriving after its turn is late and not played");

	jitter_init(&j);
	put(&j, 1, 1, 0, 0);
	put(&j, 1, 1, 0, 0);
	put(&j, 1, 2, 0, 0);
	put(&j, 1, 2, 0, 0);
	ok(j.st.duplicates == 2 && !strcmp(pops(&j, 3), "bc."), "duplicates counted and played once");

	/* Sequence numbers and timestamps wrap together: 65530 .. 5, ts from 2^32 - 800. */
	jitter_init(&j);
	good = true;
	for (int i = 0; i < 12; i++) {
		put(&j, 7, (uint16_t)(65530 + i), 0xfffffce0u + (uint32_t)i * 160, (uint32_t)i * 160);
		if (i >= 1 && pop(&j) != ((65530 + i - 1) & 0xff))
			good = false;
	}
	ok(good && j.st.lost == 0 && j.st.late == 0, "sequence numbers wrap through 0 without loss or lateness");
	ok(jitter_ms(&j) == 0, "timestamps wrapping with even arrivals: jitter 0 ms");

	/* Arrivals 0 or 10 ms off their slot: RFC 3550 jitter converges to mean |D| (about 10 ms). */
	jitter_init(&j);
	for (int i = 0; i < 200; i++) {
		put(&j, 7, (uint16_t)i, (uint32_t)i * 160, (uint32_t)i * 160 + (i & 1) * 80);
		pop(&j);
	}
	ok(jitter_ms(&j) >= 8 && jitter_ms(&j) <= 11, "alternating 10 ms jitter estimated at %u ms", jitter_ms(&j));

	/* A new SSRC is a new stream: restart from its sequence number. */
	jitter_init(&j);
	put(&j, 1, 100, 0, 0);
	put(&j, 1, 101, 0, 0);
	pop(&j);
	put(&j, 2, 9000, 0, 0);
	put(&j, 2, 9001, 0, 0);
	s = pops(&j, 3);
	ok(j.st.ssrc_changes == 1 && !strcmp(s, "ij."), "SSRC change: the old stream flushed, the new one played (%s)", s);

	/* A huge jump, alone, is ignored; confirmed by the next number, believed. */
	jitter_init(&j);
	for (uint16_t q = 10; q < 14; q++)
		put(&j, 1, q, 0, 0);
	good = !put(&j, 1, 40000, 0, 0);
	s = pops(&j, 2);
	ok(good && j.st.jumps == 1 && !strcmp(s, "kl"), "a lone jump of 30000 is ignored (%s)", s);
	put(&j, 1, 14, 0, 0);
	put(&j, 1, 40001, 0, 0);
	put(&j, 1, 40002, 0, 0);
	s = pops(&j, 2);
	ok(!strcmp(s, "bc"), "a jump confirmed by its next number (an old packet between) is a restart (%s)", s);
	good = !put(&j, 1, 39000, 0, 0);
	ok(good && j.st.jumps == 2, "a far jump backwards is treated the same");

	/* A jump within reach (50 frames): the frames in between are lost, playout moves on. */
	jitter_init(&j);
	put(&j, 1, 0, 0, 0);
	put(&j, 1, 1, 0, 0);
	pops(&j, 1);
	put(&j, 1, 50, 0, 0);
	put(&j, 1, 51, 0, 0);
	s = pops(&j, 3);
	ok(!strcmp(s, "xcd") && j.st.dropped == 1,
	   "a jump of 50 frames: playout moves to %d frames before it, the held frame is dropped (%s)",
	   JITTER_TARGET - 1, s);
	ok(j.st.lost == 48 && consistent(&j), "the frames skipped over are counted lost (%llu)",
	   (unsigned long long)j.st.lost);

	/* A fast sender (a burst of 12): back to the target, the oldest dropped. */
	jitter_init(&j);
	for (uint16_t q = 0; q < 12; q++)
		put(&j, 1, q, 0, 0);
	s = pops(&j, 3);
	ok(j.st.dropped == 12 - JITTER_TARGET && !strcmp(s, "kl."),
	   "a burst of 12 is cut back to the %d newest (%s, %llu dropped)", JITTER_TARGET, s,
	   (unsigned long long)j.st.dropped);

	/* A telephone-event packet takes a sequence number: no audio, no loss. */
	jitter_init(&j);
	put(&j, 1, 0, 0, 0);
	p = (struct rtp_packet){ .pt = 101, .seq = 1, .ssrc = 1, .payload = frame, .len = 4 };
	jitter_put(&j, &p, false, 0);
	put(&j, 1, 2, 0, 0);
	s = pops(&j, 3);
	ok(!strcmp(s, "a.c") && j.st.lost == 0, "an event's sequence number plays silence, not a loss (%s)", s);

	/* Wrong sizes never enter. */
	jitter_init(&j);
	p = (struct rtp_packet){ .pt = 0, .seq = 1, .ssrc = 1, .payload = frame, .len = 80 };
	good = !jitter_put(&j, &p, true, 0);
	p.len = 0;
	good = good && !jitter_put(&j, &p, true, 0);
	ok(good && j.st.bad_size == 2 && j.held == 0, "payloads of 80 and 0 bytes are refused and counted");

	/* Hostile: random numbers, two SSRCs, odd sizes; the buffer keeps its bounds. */
	jitter_init(&j);
	srand(17);
	good = true;
	for (int i = 0; i < 200000; i++) {
		p = (struct rtp_packet){ .pt = 0, .seq = (uint16_t)rand(), .ts = (uint32_t)rand(),
					 .ssrc = (uint32_t)(rand() & 1), .payload = frame,
					 .len = rand() % 8 ? MIXER_FRAME : (size_t)(rand() % 400) };
		if (rand() % 3 == 0)
			p.seq = (uint16_t)(j.highest + rand() % 40 - 20);
		jitter_put(&j, &p, rand() % 16 != 0, (uint32_t)rand());
		if (i % 3 == 0)
			pop(&j);
		if (!consistent(&j))
			good = false;
	}
	ok(good, "200000 hostile packets: never more than %d frames held, counts consistent", JITTER_SLOTS);
	diag("hostile: received %llu late %llu dup %llu lost %llu dropped %llu jumps %llu ssrc %llu bad %llu",
	     (unsigned long long)j.st.received, (unsigned long long)j.st.late,
	     (unsigned long long)j.st.duplicates, (unsigned long long)j.st.lost,
	     (unsigned long long)j.st.dropped, (unsigned long long)j.st.jumps,
	     (unsigned long long)j.st.ssrc_changes, (unsigned long long)j.st.bad_size);
	ok(jitter_ms(&j) <= 10 * 1000, "a hostile jitter estimate stays capped (%u ms)", jitter_ms(&j));
	return tap_done();
}
