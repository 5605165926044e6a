// SPDX-License-Identifier: GPL-2.0
#include "base/stats.h"

void stats_accumulate(struct ksip_stats *out, const struct ksip_stats *in)
{
	const uint64_t *src = (const uint64_t *)in;
	uint64_t *dst = (uint64_t *)out;

	/* The struct is nothing but uint64_t counters (and tail padding). */
	for (unsigned long i = 0; i < sizeof(*in) / sizeof(uint64_t); i++)
		dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
