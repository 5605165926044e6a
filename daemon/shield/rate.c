// SPDX-License-Identifier: GPL-2.0
/*
 * A token bucket per source group for requests that carry no credentials:
 * source_rate tokens a second, source_burst deep, one token a request. Kept
 * in thousandths of a token so integer arithmetic refills exactly at any
 * rate: source_rate thousandths per millisecond.
 *
 * The table is fixed; an entry is stamped with its last request, so a full
 * set gives up the source heard from longest ago. A source idle long enough
 * to refill its bucket loses nothing by being evicted (a new entry starts
 * full). An attacker sending from more sources than the table holds does
 * evict busy entries, which only resets their buckets to full: each of its
 * sources still gets at most source_burst requests before the limit bites,
 * and a source that keeps sending keeps its entry (it is the most recent).
 */
#include "shield/shield_priv.h"

struct rate_entry {
	struct shield_slot h;	/* h.stamp: the last request (ms, monotonic) */
	uint64_t milli;		/* tokens left, in thousandths */
};

int shield_rate_init(struct shield *s)
{
	return shield_table_init(&s->rates, s->p.table_size, sizeof(struct rate_entry));
}

bool shield_rate_allow(struct shield *s, const struct shield_addr *k, uint64_t now_ms)
{
	const uint64_t full = (uint64_t)s->p.source_burst * 1000;
	struct rate_entry *e, old;
	bool allow;
	size_t set;

	if (!s->p.source_rate)
		return true;
	set = shield_set_lock(&s->rates, k);
	e = (struct rate_entry *)shield_set_find(&s->rates, set, k);
	if (!e) {
		e = (struct rate_entry *)shield_set_claim(&s->rates, set, k, &old.h);
		e->milli = full;
	} else if (now_ms > (uint64_t)e->h.stamp) {
		uint64_t add = (now_ms - (uint64_t)e->h.stamp) * s->p.source_rate;

		e->milli = add >= full - e->milli ? full : e->milli + add;
	}
	e->h.stamp = (int64_t)now_ms;
	allow = e->milli >= 1000;
	if (allow)
		e->milli -= 1000;
	shield_set_unlock(&s->rates, set);
	return allow;
}
