// SPDX-License-Identifier: GPL-2.0
#include "base/timer.h"

#include <stdlib.h>
#include <time.h>

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void place(struct timer_heap *h, uint32_t i, struct timer *t)
{
	h->v[i] = t;
	t->slot = (int32_t)i;
}

static void sift_up(struct timer_heap *h, uint32_t i)
{
	struct timer *t = h->v[i];

	while (i) {
		uint32_t parent = (i - 1) / 2;

		if (h->v[parent]->at <= t->at)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void sift_down(struct timer_heap *h, uint32_t i)
{
	struct timer *t = h->v[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->at < h->v[c]->at)
			c++;
		if (t->at <= h->v[c]->at)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, t);
}

void timer_heap_free(struct timer_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

void timer_cancel(struct timer_heap *h, struct timer *t)
{
	uint32_t i;
	struct timer *last;

	if (t->slot < 0)
		return;
	i = (uint32_t)t->slot;
	t->slot = -1;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	sift_down(h, i);
	sift_up(h, (uint32_t)last->slot);
}

int timer_arm(struct timer_heap *h, struct timer *t, uint64_t at)
{
	timer_cancel(h, t);
	if (h->n == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 256;
		struct timer **v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	t->at = at;
	place(h, h->n++, t);
	sift_up(h, (uint32_t)t->slot);
	return 0;
}

int timer_wait_ms(const struct timer_heap *h, uint64_t now, int max)
{
	uint64_t at;

	if (!h->n)
		return max;
	at = h->v[0]->at;
	if (at <= now)
		return 0;
	return at - now < (uint64_t)max ? (int)(at - now) : max;
}

void timer_run(struct timer_heap *h, uint64_t now, void *ctx)
{
	/* Bounded: a callback that re-arms for "now" runs again next round, not forever. */
	for (uint32_t budget = h->n; budget && h->n && h->v[0]->at <= now; budget--) {
		struct timer *t = h->v[0];

		timer_cancel(h, t);
		t->fn(t, ctx);
	}
}
