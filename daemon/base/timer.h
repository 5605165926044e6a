/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Millisecond timers for one thread (a worker's transactions and calls):
 * a binary min-heap of timers embedded in their owners, so arming and
 * cancelling allocate nothing and cancelling is O(log n).
 */
#ifndef KSIP_TIMER_H
#define KSIP_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct timer;
typedef void (*timer_fn)(struct timer *t, void *owner_ctx);

struct timer {
	uint64_t at;		/* monotonic ms */
	int32_t slot;		/* heap index, -1 when not armed */
	timer_fn fn;
};

struct timer_heap {
	struct timer **v;
	uint32_t n, cap;
};

/* Monotonic clock in milliseconds. */
uint64_t now_ms(void);

static inline void timer_init(struct timer *t, timer_fn fn)
{
	t->slot = -1;
	t->fn = fn;
}

static inline bool timer_armed(const struct timer *t)
{
	return t->slot >= 0;
}

void timer_heap_free(struct timer_heap *h);
/* (Re)arm T to fire at AT; returns -1 when out of memory. */
int timer_arm(struct timer_heap *h, struct timer *t, uint64_t at);
void timer_cancel(struct timer_heap *h, struct timer *t);
/* Milliseconds until the first timer (capped at MAX), 0 if one is due. */
int timer_wait_ms(const struct timer_heap *h, uint64_t now, int max);
/* Fire due timers (each disarmed before its callback, which may re-arm it). */
void timer_run(struct timer_heap *h, uint64_t now, void *ctx);

#endif
