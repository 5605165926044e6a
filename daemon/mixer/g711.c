// SPDX-License-Identifier: GPL-2.0
/*
 * G.711 from its definition. Both laws cut the magnitude into 8 segments
 * of 16 steps, each segment twice as wide as the one before:
 *
 *   µ-law: 14-bit input, magnitude biased by 33 so that segment s covers
 *          [32 << s, 64 << s); code = NOT(sign | s << 4 | step); a
 *          positive sign is bit 7 set after the inversion.
 *   A-law: 13-bit input; segments 0 and 1 both have step 2, then the
 *          step doubles; code = (sign | s << 4 | step) XOR 0x55, with
 *          bit 7 set for positive values.
 *
 * Negative inputs use the ones' complement (~x) as magnitude, as the
 * Recommendation's tables do, so -1 and 0 share the smallest step and
 * every code decodes and re-encodes to itself (except µ-law's negative
 * zero, 0x7f, which comes back as 0xff).
 */
#include "mixer/g711.h"

int16_t g711_ulaw_to_linear[256];
int16_t g711_alaw_to_linear[256];
uint8_t g711_linear_to_ulaw[1 << 14];
uint8_t g711_linear_to_alaw[1 << 13];

/* floor(log2(i)) for i >= 1; 0 for 0: the segment of a magnitude once shifted. */
static uint8_t top_bit[256];

static uint8_t ulaw_from_14bit(int v)
{
	unsigned int sign = v < 0 ? 0x80 : 0, mag = v < 0 ? ~v : v, seg;

	if (mag > 8158)		/* 8158 + 33 = 8191, the top of segment 7 */
		mag = 8158;
	mag += 33;
	seg = top_bit[mag >> 5];
	return (uint8_t)~(sign | seg << 4 | ((mag >> (seg + 1)) & 0x0f));
}

static int16_t ulaw_to_16bit(uint8_t code)
{
	unsigned int c = (uint8_t)~code, seg = (c >> 4) & 7;
	/* The middle of the step, in the 16-bit scale (the 14-bit bias 33 times 4 is 0x84). */
	int mag = ((int)(((c & 0x0f) << 3) + 0x84) << seg) - 0x84;

	return (int16_t)(c & 0x80 ? -mag : mag);
}

static uint8_t alaw_from_13bit(int v)
{
	unsigned int mask = v < 0 ? 0x55 : 0xd5, mag = v < 0 ? ~v : v, seg, step;

	seg = top_bit[mag >> 4];	/* mag < 4096 always: 13-bit input */
	step = (mag >> (seg ? seg : 1)) & 0x0f;
	return (uint8_t)((seg << 4 | step) ^ mask);
}

static int16_t alaw_to_16bit(uint8_t code)
{
	unsigned int c = code ^ 0x55, seg = (c >> 4) & 7;
	int mag = (int)(c & 0x0f) << 4;	/* the step, in the 16-bit scale (13-bit value << 3) */

	if (seg == 0)
		mag += 8;
	else
		mag = (mag + 0x108) << (seg - 1);
	return (int16_t)(c & 0x80 ? mag : -mag);
}

__attribute__((constructor))
static void g711_tables(void)
{
	for (int i = 2; i < 256; i++)
		top_bit[i] = (uint8_t)(top_bit[i / 2] + 1);
	for (int c = 0; c < 256; c++) {
		g711_ulaw_to_linear[c] = ulaw_to_16bit((uint8_t)c);
		g711_alaw_to_linear[c] = alaw_to_16bit((uint8_t)c);
	}
	/* Index i holds the top bits of a 16-bit sample read as unsigned: i >= half is negative. */
	for (int i = 0; i < 1 << 14; i++)
		g711_linear_to_ulaw[i] = ulaw_from_14bit(i < 1 << 13 ? i : i - (1 << 14));
	for (int i = 0; i < 1 << 13; i++)
		g711_linear_to_alaw[i] = alaw_from_13bit(i < 1 << 12 ? i : i - (1 << 13));
}

void g711_decode(int alaw, const uint8_t *in, int16_t *out, size_t n)
{
	const int16_t *t = alaw ? g711_alaw_to_linear : g711_ulaw_to_linear;

	for (size_t i = 0; i < n; i++)
		out[i] = t[in[i]];
}

void g711_encode(int alaw, const int16_t *in, uint8_t *out, size_t n)
{
	if (alaw) {
		for (size_t i = 0; i < n; i++)
			out[i] = g711_alaw_encode(in[i]);
	} else {
		for (size_t i = 0; i < n; i++)
			out[i] = g711_ulaw_encode(in[i]);
	}
}
