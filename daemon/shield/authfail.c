// SPDX-License-Identifier: GPL-2.0
/*
 * Failed digest verifications, counted in a sliding window per source group
 * and per user name. Each entry keeps the times of the last auth_fail_limit
 * failures in a ring: a failure that finds the ring full of failures younger
 * than auth_fail_window is one too many. For a source that means a ban of
 * ban_time; for a user only a counter and a warning, never a lockout (locking
 * a user out on failures anyone can cause is a denial of service against it).
 *
 * Entries are stamped with their last failure, so a full set gives up the one
 * that failed longest ago. An attacker with more sources than the table holds
 * can push its own entries out; it gains nothing it would not have by using
 * fewer failures per source, and each source still gets at most
 * auth_fail_limit guesses per window.
 */
#include "shield/shield_priv.h"

#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/log.h"

struct fail_entry {
	struct shield_slot h;	/* h.stamp: the last failure (seconds) */
	int64_t warned;		/* users: when the last warning was logged */
	uint16_t n, head;	/* failures in the ring; index of the oldest */
	uint32_t ring[];	/* [auth_fail_limit] failure times (seconds, truncated) */
};

union fail_buf {
	struct fail_entry e;
	unsigned char bytes[sizeof(struct fail_entry) + 4 * SHIELD_FAIL_LIMIT_MAX + 8];
};

static size_t fail_size(const struct shield *s)
{
	uint32_t l = s->p.auth_fail_limit ? s->p.auth_fail_limit : 1;

	return sizeof(struct fail_entry) + 4 * l;
}

int shield_authfail_init(struct shield *s)
{
	if (shield_table_init(&s->fails, s->p.table_size, fail_size(s)))
		return -1;
	return shield_table_init(&s->users, s->p.table_size, fail_size(s));
}

/*
 * Note a failure of K at NOW in T. Returns true when it is the
 * (limit + 1)th within the window. RESET empties the ring then (a banned
 * source starts afresh when its ban ends); otherwise the ring slides and every
 * further failure inside the window is over the limit too. *WARN (may be
 * NULL) is set when the caller should log: once per window per entry.
 */
static bool fail_note(struct shield *s, struct shield_table *t, const struct shield_addr *k,
		      time_t now, bool reset, bool *warn)
{
	const uint32_t limit = s->p.auth_fail_limit, window = s->p.auth_fail_window;
	const uint32_t t32 = (uint32_t)now;
	struct fail_entry *e;
	union fail_buf old;
	bool over = false;
	size_t set;

	set = shield_set_lock(t, k);
	e = (struct fail_entry *)shield_set_find(t, set, k);
	if (!e)
		e = (struct fail_entry *)shield_set_claim(t, set, k, &old.e.h);
	e->h.stamp = now;
	/* Forget what has left the window (unsigned: right across the wrap of t32). */
	while (e->n && t32 - e->ring[e->head] >= window) {
		e->head = (uint16_t)((e->head + 1) % limit);
		e->n--;
	}
	if (e->n < limit) {
		e->ring[(e->head + e->n) % limit] = t32;
		e->n++;
	} else {
		over = true;
		if (reset) {
			e->n = 0;
			e->head = 0;
		} else {
			e->ring[e->head] = t32;	/* the oldest leaves, this one enters */
			e->head = (uint16_t)((e->head + 1) % limit);
		}
		if (warn) {
			*warn = !e->warned || now - e->warned >= window;
			if (*warn)
				e->warned = now;
		}
	}
	shield_set_unlock(t, set);
	return over;
}

/*
 * Warnings about users: one per user per window, and at most
 * USER_WARN_BURST a second per thread whatever the number of users attacked,
 * so a guessing run across many names does not become a log flood.
 */
#define USER_WARN_BURST 5

static bool user_warn_allowed(time_t now)
{
	static __thread time_t second;
	static __thread unsigned int n;

	if (second != now) {
		second = now;
		n = 0;
	}
	return n++ < USER_WARN_BURST;
}

bool shield_auth_failed(struct shield *s, struct ksip_stats *st, const struct shield_addr *src,
			const char *user, time_t now)
{
	char a[SHIELD_ADDR_STRLEN];
	bool banned = false, warn = false;

	if (!s->p.auth_fail_limit)
		return false;
	STAT_INC(st, auth_failures_source);
	if (fail_note(s, &s->fails, src, now, true, NULL) &&
	    shield_ban_add(s, src, now, s->p.ban_time, SHIELD_BAN_AUTH, NULL)) {
		STAT_INC(st, bans_added);
		shield_addr_format(src, a, sizeof(a));
		/* One line per ban: bans are few, each stops a source's whole flood. */
		log_warn("banned %s for %u s: more than %u failed authentications in %u s", a,
			 s->p.ban_time, s->p.auth_fail_limit, s->p.auth_fail_window);
		banned = true;
	}
	if (user && *user) {
		struct shield_addr uk = {
			.prefix = hash_bytes(user, strlen(user)),
			.family = SHIELD_FAMILY_USER,
		};

		if (fail_note(s, &s->users, &uk, now, false, &warn)) {
			STAT_INC(st, auth_user_failures);
			if (warn && user_warn_allowed(now)) {
				shield_addr_format(src, a, sizeof(a));
				log_warn("user '%.64s': more than %u failed authentications in %u s "
					 "(latest from %s); not locked out", user,
					 s->p.auth_fail_limit, s->p.auth_fail_window, a);
			}
		}
	}
	return banned;
}
