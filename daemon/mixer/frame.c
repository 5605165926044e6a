// SPDX-License-Identifier: GPL-2.0
/* Decoded 20 ms frames: is it silence, and what to play in place of a lost one. */
#include <stdlib.h>

#include "mixer/room_priv.h"

/* Mean |sample| at most MIXER_SILENCE_LEVEL: idle line noise, comfort noise, digital silence. */
bool frame_is_silence(const int16_t *frame)
{
	uint32_t level = 0;

	for (int i = 0; i < MIXER_FRAME; i++)
		level += (uint32_t)abs(frame[i]);
	return level <= MIXER_SILENCE_LEVEL * MIXER_FRAME;
}

/*
 * FRAME (the last one played) halved in place to stand for a lost one;
 * false, FRAME untouched, once MIXER_CONCEAL_FRAMES were concealed in a row.
 */
bool frame_conceal(int16_t *frame, unsigned int *in_a_row)
{
	if (*in_a_row >= MIXER_CONCEAL_FRAMES)
		return false;
	(*in_a_row)++;
	for (int i = 0; i < MIXER_FRAME; i++)
		frame[i] = (int16_t)(frame[i] / 2);
	return true;
}
