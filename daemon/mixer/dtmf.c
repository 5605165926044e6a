// SPDX-License-Identifier: GPL-2.0
/* RFC 4733 §2.3 payload: event (8 bits), E, R, volume (6), duration (16). */
#include <string.h>

#include "mixer/dtmf.h"

static const char dtmf_events[16] = "0123456789*#ABCD";

void dtmf_init(struct dtmf *d)
{
	memset(d, 0, sizeof(*d));
}

static void report(struct dtmf *d)
{
	d->in_event = false;
	if (d->queued == DTMF_QUEUE) {
		d->overflow++;
		return;
	}
	d->queue[d->queued++] = d->digit;
	d->digits++;
}

bool dtmf_put(struct dtmf *d, uint32_t ts, const uint8_t *payload, size_t len)
{
	bool end;

	if (len < 4 || payload[0] >= sizeof(dtmf_events)) {
		d->ignored++;
		return false;
	}
	end = payload[1] & 0x80;
	if (d->have_last && ts == d->ts) {
		/* Another packet of the event in hand, or a repeated end of one already reported. */
		if (d->in_event && end)
			report(d);
		return true;
	}
	if (d->have_last && (int32_t)(ts - d->ts) < 0) {
		/* A straggler of an earlier event (reordered): reporting it would repeat a digit. */
		d->ignored++;
		return false;
	}
	/* A new event: the one before it lost all its end packets, report it now. */
	if (d->in_event)
		report(d);
	d->have_last = true;
	d->ts = ts;
	d->digit = dtmf_events[payload[0]];
	d->in_event = true;
	if (end)
		report(d);
	return true;
}

size_t dtmf_take(struct dtmf *d, char *buf, size_t cap)
{
	size_t n = d->queued < cap ? d->queued : cap;

	memcpy(buf, d->queue, n);
	memmove(d->queue, d->queue + n, d->queued - n);
	d->queued -= (unsigned int)n;
	return n;
}
