// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 4733 digits: one per event however its packets arrive (repeated
 * ends, lost ends, stragglers, timestamp wrap), every DTMF event code, and
 * hostile payloads ignored with a bounded queue.
 */
#include <string.h>

#include "tap.h"
#include "mixer/dtmf.h"

static bool ev(struct dtmf *d, uint32_t ts, uint8_t event, bool end, uint16_t duration)
{
	uint8_t p[4] = { event, (uint8_t)((end ? 0x80 : 0) | 10), (uint8_t)(duration >> 8),
			 (uint8_t)duration };

	return dtmf_put(d, ts, p, sizeof(p));
}

static const char *take(struct dtmf *d)
{
	static char buf[64];
	size_t n = dtmf_take(d, buf, sizeof(buf) - 1);

	buf[n] = 0;
	return buf;
}

int main(void)
{
	struct dtmf d;
	uint8_t p[8] = { 0 };
	char two[2];
	bool good;

	dtmf_init(&d);
	ev(&d, 1000, 5, false, 160);
	ev(&d, 1000, 5, false, 320);
	ok(!strcmp(take(&d), ""), "no digit before the event ends");
	for (int i = 0; i < 3; i++)
		ev(&d, 1000, 5, true, 480);
	ok(!strcmp(take(&d), "5"), "the end packet sent three times gives one digit");
	ev(&d, 1000, 5, true, 480);
	ok(!strcmp(take(&d), ""), "a fourth end, late, gives nothing");

	dtmf_init(&d);
	for (uint8_t e = 0; e < 16; e++)
		ev(&d, 100u * e, e, true, 160);
	ok(!strcmp(take(&d), "0123456789*#ABCD"), "events 0-15 are 0-9 * # A-D");

	dtmf_init(&d);
	ev(&d, 2000, 1, false, 160);
	ev(&d, 3000, 2, false, 160);		/* 1's ends were all lost */
	ev(&d, 3000, 2, true, 400);
	ok(!strcmp(take(&d), "12"), "an event whose ends were all lost is reported when the next begins");

	dtmf_init(&d);
	ev(&d, 5000, 3, true, 160);
	ev(&d, 4000, 9, true, 160);		/* a straggler from before */
	ok(!strcmp(take(&d), "3") && d.ignored == 1, "a straggler of an earlier event is ignored");

	dtmf_init(&d);
	ev(&d, 0xffffff00u, 7, true, 160);
	ev(&d, 0x00000100u, 8, true, 160);
	ok(!strcmp(take(&d), "78"), "timestamps wrapping: both digits");

	dtmf_init(&d);
	good = !ev(&d, 10, 16, true, 160) && !ev(&d, 20, 255, true, 160) && !dtmf_put(&d, 30, p, 3) &&
	       !dtmf_put(&d, 40, p, 0);
	ok(good && d.ignored == 4 && !strcmp(take(&d), ""),
	   "non-DTMF events (16, 255) and payloads of 3 and 0 bytes are ignored and counted");
	p[0] = 4;
	p[1] = 0x80;
	ok(dtmf_put(&d, 50, p, sizeof(p)) && !strcmp(take(&d), "4"), "a longer payload: its first event is read");

	dtmf_init(&d);
	for (uint32_t i = 0; i < 40; i++)
		ev(&d, i * 1000, (uint8_t)(i % 10), true, 160);
	ok(d.queued == DTMF_QUEUE && d.overflow == 40 - DTMF_QUEUE,
	   "40 unread digits: %d queued, the rest counted as overflow", DTMF_QUEUE);
	ok(dtmf_take(&d, two, 2) == 2 && !memcmp(two, "01", 2) && d.queued == DTMF_QUEUE - 2,
	   "a short read takes the oldest and keeps the rest");
	return tap_done();
}
