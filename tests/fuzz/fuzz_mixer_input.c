// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for what a conference member's port takes: the input is
 * a series of datagrams (a length byte, then that many bytes), each parsed
 * as RTP and, like daemon/mixer/member.c does, fed to the jitter buffer
 * (payload type 0) and to the DTMF reader (payload type 101), with one
 * playout after each. Invariants, or abort(): a parsed payload lies inside
 * its datagram; the buffer holds at most JITTER_SLOTS frames and its count
 * matches its slots; at most DTMF_QUEUE digits wait, each a DTMF character;
 * a played frame decodes and re-encodes to itself (µ-law negative zero
 * aside). ASan and UBSan watch the rest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mixer/dtmf.h"
#include "mixer/g711.h"
#include "mixer/jitter.h"
#include "mixer/rtp.h"

static void check_jitter(const struct jitter *j)
{
	unsigned int full = 0;

	for (int i = 0; i < JITTER_SLOTS; i++)
		full += j->slot[i].full;
	if (full != j->held || j->held > JITTER_SLOTS)
		abort();
}

static void check_frame(const uint8_t *frame)
{
	for (int i = 0; i < MIXER_FRAME; i++) {
		uint8_t c = frame[i];

		if (c != 0x7f && g711_ulaw_encode(g711_ulaw_decode(c)) != c)
			abort();
		if (g711_alaw_encode(g711_alaw_decode(c)) != c)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jitter j;
	static struct dtmf d;
	uint8_t frame[MIXER_FRAME];
	char digits[DTMF_QUEUE + 1];
	uint32_t arrival = 0;

	jitter_init(&j);
	dtmf_init(&d);
	while (size) {
		size_t n = data[0];
		struct rtp_packet p;

		data++;
		size--;
		/* A length byte of 0 stands for a whole frame's datagram, the common case. */
		if (n == 0)
			n = RTP_HEADER_LEN + MIXER_FRAME;
		if (n > size)
			n = size;
		if (rtp_parse(data, n, &p)) {
			if (p.payload < data || p.payload + p.len > data + n)
				abort();
			if (p.pt == 101) {
				jitter_put(&j, &p, false, arrival);
				dtmf_put(&d, p.ts, p.payload, p.len);
			} else if (p.pt == 0) {
				jitter_put(&j, &p, true, arrival);
			}
		}
		arrival += 160 + (n & 0x3f);
		check_jitter(&j);
		if (jitter_pop(&j, frame) == JITTER_FRAME)
			check_frame(frame);
		check_jitter(&j);
		if (d.queued > DTMF_QUEUE)
			abort();
		data += n;
		size -= n;
	}
	size_t got = dtmf_take(&d, digits, sizeof(digits));

	for (size_t i = 0; i < got; i++)
		if (!memchr("0123456789*#ABCD", digits[i], 16))
			abort();
	return 0;
}
