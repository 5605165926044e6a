/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What media_set_outputs() was asked for, kept with the stream so it
 * outlives the flows and sockets that carry it: media_update() replaces
 * kernel flows, an idled-out flow is put back, a stream moves to the
 * userspace relay; each time the outputs are applied again from here.
 * Private to media/.
 */
#ifndef KSIP_MEDIA_FANOUT_H
#define KSIP_MEDIA_FANOUT_H

#include "media/media.h"

struct media_fanout {
	unsigned int n[2];				/* outputs of each leg */
	struct media_output o[2][MEDIA_OUTPUTS_MAX];
};

#endif
