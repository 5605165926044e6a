// SPDX-License-Identifier: GPL-2.0
/* The per-worker timer heap: order, cancel from any position, re-arm, bounded runs. */
#include <stdlib.h>

#include "tap.h"
#include "base/timer.h"

#define N 1000

static int fired[N], order[N], nfired;
static struct timer t[N];

static void on_fire(struct timer *tm, void *ctx)
{
	int i = (int)(tm - t);

	(void)ctx;
	fired[i]++;
	order[nfired++] = i;
}

static void rearm_now(struct timer *tm, void *ctx)
{
	struct timer_heap *h = ctx;

	fired[0]++;
	timer_arm(h, tm, tm->at);	/* due again at once: must not loop forever */
}

int main(void)
{
	struct timer_heap h = { 0 };
	bool sorted = true, once = true;
	int cancelled = 0;

	srand(7);
	for (int i = 0; i < N; i++) {
		timer_init(&t[i], on_fire);
		timer_arm(&h, &t[i], 1000 + (uint64_t)(rand() % 5000));
	}
	ok(h.n == N && timer_wait_ms(&h, 0, 100000) >= 1000, "1000 timers armed, first not before 1000");
	for (int i = 0; i < N; i += 3) {
		timer_cancel(&h, &t[i]);
		cancelled++;
	}
	ok(h.n == (uint32_t)(N - cancelled) && !timer_armed(&t[0]) && timer_armed(&t[1]),
	   "cancelling every third timer removes exactly those");
	timer_arm(&h, &t[1], 10);
	ok(timer_wait_ms(&h, 0, 100000) == 10, "re-arming moves a timer to the front");
	timer_run(&h, 1000000, NULL);
	for (int i = 1; i < nfired; i++)
		sorted &= t[order[i - 1]].at <= t[order[i]].at;
	for (int i = 0; i < N; i++)
		once &= fired[i] == (i % 3 ? 1 : 0);
	ok(nfired == N - cancelled && sorted, "due timers fire in deadline order");
	ok(once, "each live timer fires exactly once, cancelled ones never");
	ok(h.n == 0 && timer_wait_ms(&h, 0, 777) == 777, "an empty heap waits the maximum");

	fired[0] = 0;
	timer_init(&t[0], rearm_now);
	timer_arm(&h, &t[0], 5);
	timer_run(&h, 10, &h);
	ok(fired[0] == 1 && timer_armed(&t[0]), "a callback re-arming for now runs once per round");
	timer_heap_free(&h);
	return tap_done();
}
