// SPDX-License-Identifier: GPL-2.0
/* The workers' histograms (base/stats): bucket edges, +Inf, sums, and summing workers. */
#include <stdbool.h>
#include <string.h>

#include "tap.h"
#include "base/stats.h"

static uint64_t buckets(const struct ksip_hist *h)
{
	uint64_t n = 0;

	for (int b = 0; b <= KSIP_HIST_BOUNDS; b++)
		n += h->bucket[b];
	return n;
}

int main(void)
{
	static struct ksip_stats a, b, sum;
	const uint64_t *reg = ksip_hist_bounds_us[KSIP_HIST_REGISTER];
	bool increasing = true;
	uint64_t t0, t1;

	for (int h = 0; h < KSIP_HIST__COUNT; h++)
		for (int i = 1; i < KSIP_HIST_BOUNDS; i++)
			increasing &= ksip_hist_bounds_us[h][i] > ksip_hist_bounds_us[h][i - 1];
	ok(increasing, "every histogram's bounds increase (Prometheus wants le sorted)");

	stats_observe(&a, KSIP_HIST_REGISTER, 0);
	stats_observe(&a, KSIP_HIST_REGISTER, reg[0]);
	ok(a.hist[KSIP_HIST_REGISTER].bucket[0] == 2, "0 and the first bound itself land in the first bucket (le)");
	stats_observe(&a, KSIP_HIST_REGISTER, reg[0] + 1);
	ok(a.hist[KSIP_HIST_REGISTER].bucket[1] == 1, "one microsecond more lands in the next");
	stats_observe(&a, KSIP_HIST_REGISTER, reg[KSIP_HIST_BOUNDS - 1] + 1);
	stats_observe(&a, KSIP_HIST_REGISTER, UINT32_MAX);
	ok(a.hist[KSIP_HIST_REGISTER].bucket[KSIP_HIST_BOUNDS] == 2, "past the last bound: +Inf");
	ok(buckets(&a.hist[KSIP_HIST_REGISTER]) == 5, "the count is the sum of the buckets (5)");
	ok(a.hist[KSIP_HIST_REGISTER].sum_us ==
	   reg[0] + reg[0] + 1 + reg[KSIP_HIST_BOUNDS - 1] + 1 + UINT32_MAX, "the sum adds every duration");
	ok(!buckets(&a.hist[KSIP_HIST_CALL_ANSWER]) && !buckets(&a.hist[KSIP_HIST_CALL_PROVISIONAL]),
	   "the other histograms did not move");

	stats_observe(&b, KSIP_HIST_CALL_ANSWER, 3000000);
	STAT_INC(&b, requests_by_transport[1]);
	memset(&sum, 0, sizeof(sum));
	stats_accumulate(&sum, &a);
	stats_accumulate(&sum, &b);
	ok(buckets(&sum.hist[KSIP_HIST_REGISTER]) == 5 && buckets(&sum.hist[KSIP_HIST_CALL_ANSWER]) == 1 &&
	   sum.hist[KSIP_HIST_CALL_ANSWER].sum_us == 3000000 && sum.requests_by_transport[1] == 1,
	   "stats_accumulate sums the histograms and the new counters of two workers");

	t0 = stats_now_us();
	t1 = stats_now_us();
	ok(t0 > 0 && t1 >= t0, "stats_now_us is monotonic");
	return tap_done();
}
