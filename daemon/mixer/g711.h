/* SPDX-License-Identifier: GPL-2.0 */
/*
 * G.711 companding (ITU-T G.711, 11/1988): µ-law (PCMU) and A-law (PCMA)
 * between 8-bit codes and 16-bit linear samples. Table-driven: decoding is
 * one 256-entry table per law, encoding one table over the significant
 * bits (14 for µ-law, 13 for A-law). The tables are filled once, before
 * main(), from the segment rules of the Recommendation.
 */
#ifndef KSIP_MIXER_G711_H
#define KSIP_MIXER_G711_H

#include <stddef.h>
#include <stdint.h>

extern int16_t g711_ulaw_to_linear[256];
extern int16_t g711_alaw_to_linear[256];
extern uint8_t g711_linear_to_ulaw[1 << 14];	/* indexed by the sample's top 14 bits */
extern uint8_t g711_linear_to_alaw[1 << 13];	/* indexed by the sample's top 13 bits */

/* The code of digital silence (a linear 0) in each law. */
#define G711_ULAW_SILENCE 0xff
#define G711_ALAW_SILENCE 0xd5

static inline int16_t g711_ulaw_decode(uint8_t c) { return g711_ulaw_to_linear[c]; }
static inline int16_t g711_alaw_decode(uint8_t c) { return g711_alaw_to_linear[c]; }

static inline uint8_t g711_ulaw_encode(int16_t s)
{
	return g711_linear_to_ulaw[(uint16_t)s >> 2];
}

static inline uint8_t g711_alaw_encode(int16_t s)
{
	return g711_linear_to_alaw[(uint16_t)s >> 3];
}

/* Whole frames: N codes to N samples and back. ALAW: true for A-law, false for µ-law. */
void g711_decode(int alaw, const uint8_t *in, int16_t *out, size_t n);
void g711_encode(int alaw, const int16_t *in, uint8_t *out, size_t n);

#endif
