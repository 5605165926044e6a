// SPDX-License-Identifier: GPL-2.0
/*
 * The prompt a member hears until its PIN is accepted: 440 Hz, 800 ms on and
 * 200 ms off, at -12 dBov: a long beep every second, mostly tone, so that
 * whoever checks for it (a test cutting the audio in blocks) finds few
 * blocks straddling an edge. 440 Hz fits 22 whole periods in 400 samples,
 * so one table of 400 samples repeats without a click.
 */
#include <math.h>

#include "mixer/room_priv.h"

#define PROMPT_HZ 440
#define PROMPT_TABLE 400
#define PROMPT_ON (MIXER_RATE * 4 / 5)	/* 800 ms */
#define PROMPT_CYCLE MIXER_RATE		/* 1 s */
#define PROMPT_AMPLITUDE 8192		/* -12 dBov */

static int16_t prompt_table[PROMPT_TABLE];

__attribute__((constructor))
static void prompt_init(void)
{
	for (int i = 0; i < PROMPT_TABLE; i++)
		prompt_table[i] = (int16_t)lrint(PROMPT_AMPLITUDE *
						 sin(2 * M_PI * PROMPT_HZ * i / MIXER_RATE));
}

void prompt_fill(unsigned int *pos, int16_t *out)
{
	for (int i = 0; i < MIXER_FRAME; i++) {
		unsigned int p = *pos;

		out[i] = p < PROMPT_ON ? prompt_table[p % PROMPT_TABLE] : 0;
		*pos = (p + 1) % PROMPT_CYCLE;
	}
}
