// SPDX-License-Identifier: GPL-2.0
#include "base/stats.h"

#include <time.h>

/*
 * Bucket bounds. Call setup spans network round trips (provisional) and a
 * person picking up (answer, up to minutes); a REGISTER is handled in
 * microseconds unless the worker is backed up.
 */
const uint64_t ksip_hist_bounds_us[KSIP_HIST__COUNT][KSIP_HIST_BOUNDS] = {
	[KSIP_HIST_CALL_PROVISIONAL] = { 5000, 10000, 25000, 50000, 100000, 250000, 500000,
					 1000000, 2500000, 5000000, 10000000, 30000000 },
	[KSIP_HIST_CALL_ANSWER] = { 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
				    10000000, 20000000, 30000000, 60000000, 120000000 },
	[KSIP_HIST_REGISTER] = { 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000,
				 1000000 },
};

void stats_accumulate(struct ksip_stats *out, const struct ksip_stats *in)
{
	const uint64_t *src = (const uint64_t *)in;
	uint64_t *dst = (uint64_t *)out;

	/* The struct is nothing but uint64_t counters (and tail padding). */
	for (unsigned long i = 0; i < sizeof(*in) / sizeof(uint64_t); i++)
		dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void stats_observe(struct ksip_stats *st, enum ksip_hist_id h, uint64_t us)
{
	struct ksip_hist *hi = &st->hist[h];
	int b = 0;

	while (b < KSIP_HIST_BOUNDS && us > ksip_hist_bounds_us[h][b])
		b++;
	STAT_INC(hi, bucket[b]);
	STAT_ADD(hi, sum_us, us);
}

uint64_t stats_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
