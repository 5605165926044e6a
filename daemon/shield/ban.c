// SPDX-License-Identifier: GPL-2.0
/*
 * The ban list: one entry per banned source group, stamped with the second
 * its ban ends, so a full set gives up the ban closest to its end (or one
 * already over). A ban is in force while expires > now; shield_ban_expire()
 * clears what is over and tells the observer.
 */
#include "shield/shield_priv.h"

#include <stdio.h>
#include <string.h>

struct ban_entry {
	struct shield_slot h;	/* h.stamp: the second the ban ends */
	int64_t added;
	uint32_t reason;	/* enum shield_ban_reason */
	char note[KSIP_BAN_NOTE_MAX];
};

int shield_ban_init(struct shield *s)
{
	return shield_table_init(&s->bans, s->p.table_size, sizeof(struct ban_entry));
}

void shield_ban_observe(struct shield *s, shield_ban_observer *fn, void *arg)
{
	s->observer = fn;
	s->observer_arg = arg;
}

static void ban_view(const struct ban_entry *e, struct shield_ban_view *v)
{
	v->addr = e->h.key;
	v->added = (time_t)e->added;
	v->expires = (time_t)e->h.stamp;
	v->reason = (enum shield_ban_reason)e->reason;
	memcpy(v->note, e->note, sizeof(v->note));
}

static void tell(struct shield *s, enum shield_ban_event ev, const struct shield_ban_view *v)
{
	if (s->observer)
		s->observer(s->observer_arg, ev, v);
}

bool shield_ban_add(struct shield *s, const struct shield_addr *k, time_t now, uint32_t seconds,
		    enum shield_ban_reason reason, const char *note)
{
	struct ban_entry *e, old;
	struct shield_ban_view v, ov;
	int64_t until = (int64_t)now + seconds;
	size_t set;

	set = shield_set_lock(&s->bans, k);
	e = (struct ban_entry *)shield_set_find(&s->bans, set, k);
	if (e && e->h.stamp > now) {
		bool later = e->h.stamp < until;

		if (later) {
			e->h.stamp = until;
			ban_view(e, &v);
		}
		shield_set_unlock(&s->bans, set);
		if (later)	/* the copies (nftables, the store) must end later too */
			tell(s, SHIELD_BAN_EXTENDED, &v);
		return false;
	}
	if (!e) {
		e = (struct ban_entry *)shield_set_claim(&s->bans, set, k, &old.h);
		if (!old.h.key.family)
			__atomic_add_fetch(&s->nbans, 1, __ATOMIC_RELAXED);
	} else {
		/* Over but not yet swept: the observer hears it end before it starts again. */
		old = *e;
	}
	e->h.key = *k;
	e->h.stamp = until;
	e->added = now;
	e->reason = reason;
	snprintf(e->note, sizeof(e->note), "%s", note ? note : "");
	ban_view(e, &v);
	if (old.h.key.family)
		ban_view(&old, &ov);
	shield_set_unlock(&s->bans, set);

	if (old.h.key.family)
		tell(s, old.h.stamp > now ? SHIELD_BAN_EVICTED : SHIELD_BAN_EXPIRED, &ov);
	tell(s, SHIELD_BAN_ADDED, &v);
	return true;
}

bool shield_banned(struct shield *s, const struct shield_addr *k, time_t now)
{
	struct shield_slot *e;
	bool banned;
	size_t set;

	/* The common case, no bans at all, costs one load and no lock. */
	if (!__atomic_load_n(&s->nbans, __ATOMIC_RELAXED))
		return false;
	set = shield_set_lock(&s->bans, k);
	e = shield_set_find(&s->bans, set, k);
	banned = e && e->stamp > now;
	shield_set_unlock(&s->bans, set);
	return banned;
}

bool shield_ban_del(struct shield *s, const struct shield_addr *k)
{
	struct ban_entry *e;
	struct shield_ban_view v;
	size_t set;

	set = shield_set_lock(&s->bans, k);
	e = (struct ban_entry *)shield_set_find(&s->bans, set, k);
	if (e) {
		ban_view(e, &v);
		memset(e, 0, sizeof(*e));
		__atomic_sub_fetch(&s->nbans, 1, __ATOMIC_RELAXED);
	}
	shield_set_unlock(&s->bans, set);
	if (e)
		tell(s, SHIELD_BAN_REMOVED, &v);
	return e != NULL;
}

/*
 * Walk every set, one lock at a time. Views are copied out under the lock and
 * handed on after it is released, so FN (the observer, a listing) may block.
 */
static int ban_walk(struct shield *s, time_t now, bool expire,
		    void (*fn)(void *arg, const struct shield_ban_view *b), void *arg)
{
	struct shield_ban_view v[SHIELD_WAYS];
	int total = 0;

	if (!__atomic_load_n(&s->nbans, __ATOMIC_RELAXED))
		return 0;
	for (size_t set = 0; set < s->bans.nsets; set++) {
		int n = 0;

		shield_set_lock_index(&s->bans, set);
		for (unsigned int w = 0; w < SHIELD_WAYS; w++) {
			struct ban_entry *e = (struct ban_entry *)shield_set_entry(&s->bans, set, w);

			if (!e->h.key.family || (e->h.stamp > now) == expire)
				continue;
			ban_view(e, &v[n++]);
			if (expire) {
				memset(e, 0, sizeof(*e));
				__atomic_sub_fetch(&s->nbans, 1, __ATOMIC_RELAXED);
			}
		}
		shield_set_unlock(&s->bans, set);
		for (int i = 0; i < n; i++) {
			if (expire)
				tell(s, SHIELD_BAN_EXPIRED, &v[i]);
			else
				fn(arg, &v[i]);
		}
		total += n;
	}
	return total;
}

int shield_ban_expire(struct shield *s, time_t now)
{
	return ban_walk(s, now, true, NULL, NULL);
}

int shield_ban_foreach(struct shield *s, time_t now,
		       void (*fn)(void *arg, const struct shield_ban_view *b), void *arg)
{
	return ban_walk(s, now, false, fn, arg);
}

size_t shield_ban_count(const struct shield *s)
{
	return __atomic_load_n(&s->nbans, __ATOMIC_RELAXED);
}
