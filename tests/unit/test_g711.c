// SPDX-License-Identifier: GPL-2.0
/*
 * G.711: the values of the Recommendation's tables at their ends and first
 * steps, every code decoding and re-encoding to itself, the quantisation
 * error within half a step, and a sine's SNR near the law's ~38 dB.
 */
#include <math.h>
#include <stdlib.h>

#include "tap.h"
#include "mixer/g711.h"

/* |decode(encode(s)) - s| for every 16-bit s: the largest error relative to the step allowed. */
static int worst_excess(int alaw)
{
	int worst = 0;

	for (int s = -32768; s <= 32767; s++) {
		int16_t back = alaw ? g711_alaw_decode(g711_alaw_encode((int16_t)s)) :
				      g711_ulaw_decode(g711_ulaw_encode((int16_t)s));
		int mag = abs(s), err = abs(back - s);
		/* Half a step: µ-law steps are 8 << segment (16-bit scale), A-law 16 << (segment - 1). */
		int half = alaw ? (mag < 512 ? 8 : mag / 32 + 8) : (mag / 32 + 8);
		int limit = alaw ? 32256 : 32124;	/* beyond the top value: clipping */

		if (mag > limit)
			continue;
		if (err - half > worst)
			worst = err - half;
	}
	return worst;
}

static double sine_snr(int alaw)
{
	double sig = 0, noise = 0;

	for (int i = 0; i < 8000; i++) {
		double x = 8000 * sin(2 * M_PI * 1000 * i / 8000.0 + 0.3);
		int16_t s = (int16_t)lrint(x);
		int16_t y = alaw ? g711_alaw_decode(g711_alaw_encode(s)) :
				   g711_ulaw_decode(g711_ulaw_encode(s));

		sig += x * x;
		noise += (y - x) * (y - x);
	}
	return 10 * log10(sig / noise);
}

int main(void)
{
	int bad, nonmono;
	int16_t prev;

	/* µ-law (G.711 table 2a, 14-bit values times 4). */
	ok(g711_ulaw_decode(0xff) == 0 && g711_ulaw_decode(0x7f) == 0, "µ-law 0xff and 0x7f are the two zeros");
	ok(g711_ulaw_decode(0x80) == 8031 * 4 && g711_ulaw_decode(0x00) == -8031 * 4,
	   "µ-law 0x80/0x00 are +/-8031, the table's ends");
	ok(g711_ulaw_decode(0xfe) == 2 * 4 && g711_ulaw_decode(0xf0) == 30 * 4,
	   "µ-law segment 1 steps by 2 (0xfe = 2, 0xf0 = 30)");
	ok(g711_ulaw_decode(0xef) == 33 * 4 && g711_ulaw_decode(0xee) == 37 * 4,
	   "µ-law segment 2 starts at 33, steps by 4");
	ok(g711_ulaw_encode(0) == 0xff && g711_ulaw_encode(-1) == 0x7f, "µ-law encodes 0 as 0xff, -1 as 0x7f");
	ok(g711_ulaw_encode(32767) == 0x80 && g711_ulaw_encode(-32768) == 0x00, "µ-law clips to 0x80/0x00");
	/* A-law (table 1a, 13-bit values times 8). */
	ok(g711_alaw_decode(0xd5) == 1 * 8 && g711_alaw_decode(0x55) == -1 * 8, "A-law 0xd5/0x55 are +/-1");
	ok(g711_alaw_decode(0xd4) == 3 * 8 && g711_alaw_decode(0xc5) == 33 * 8,
	   "A-law segment 1 steps by 2 (0xd4 = 3), segment 2 starts at 33 (0xc5)");
	ok(g711_alaw_decode(0xaa) == 4032 * 8 && g711_alaw_decode(0x2a) == -4032 * 8,
	   "A-law 0xaa/0x2a are +/-4032, the table's ends");
	ok(g711_alaw_encode(0) == 0xd5 && g711_alaw_encode(-1) == 0x55, "A-law encodes 0 as 0xd5, -1 as 0x55");
	ok(g711_alaw_encode(32767) == 0xaa && g711_alaw_encode(-32768) == 0x2a, "A-law clips to 0xaa/0x2a");
	ok(G711_ULAW_SILENCE == g711_ulaw_encode(0) && G711_ALAW_SILENCE == g711_alaw_encode(0),
	   "the silence codes are the encodings of 0");

	bad = 0;
	for (int c = 0; c < 256; c++)
		if (c != 0x7f && g711_ulaw_encode(g711_ulaw_decode((uint8_t)c)) != c)
			bad++;
	ok(bad == 0, "every µ-law code but negative zero decodes and re-encodes to itself (%d differ)", bad);
	bad = 0;
	for (int c = 0; c < 256; c++)
		if (g711_alaw_encode(g711_alaw_decode((uint8_t)c)) != c)
			bad++;
	ok(bad == 0, "every A-law code decodes and re-encodes to itself (%d differ)", bad);

	for (int alaw = 0; alaw < 2; alaw++) {
		nonmono = 0;
		prev = INT16_MIN;
		for (int s = -32768; s <= 32767; s++) {
			int16_t y = alaw ? g711_alaw_decode(g711_alaw_encode((int16_t)s)) :
					   g711_ulaw_decode(g711_ulaw_encode((int16_t)s));

			if (y < prev)
				nonmono++;
			prev = y;
		}
		ok(nonmono == 0, "%s: the quantiser is monotonic over all 65536 samples", alaw ? "A-law" : "µ-law");
		ok(worst_excess(alaw) <= 0, "%s: every sample comes back within half a step (excess %d)",
		   alaw ? "A-law" : "µ-law", worst_excess(alaw));
		ok(sine_snr(alaw) > 35, "%s: a 1 kHz sine at -12 dBov has SNR %.1f dB > 35", alaw ? "A-law" : "µ-law",
		   sine_snr(alaw));
	}

	{
		int16_t in[4] = { 0, 1000, -1000, 32767 }, out[4];
		uint8_t codes[4];

		g711_encode(1, in, codes, 4);
		g711_decode(1, codes, out, 4);
		ok(codes[0] == 0xd5 && codes[3] == 0xaa && out[1] > 950 && out[2] < -950,
		   "frame encode/decode agree with the per-sample functions");
	}
	return tap_done();
}
