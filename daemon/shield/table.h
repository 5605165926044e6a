/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shield's tables (private to shield/): a fixed array of sets of
 * SHIELD_WAYS entries, the set chosen by SipHash of the key under the
 * process's table key (base/hash.h), so a sender cannot aim at one set.
 * A full set makes room by replacing the entry its owner says matters least
 * (smallest stamp): memory never grows. One spinlock per set.
 *
 * An entry starts with struct shield_slot; the rest is the owner's.
 */
#ifndef KSIP_SHIELD_TABLE_H
#define KSIP_SHIELD_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shield/shield.h"

#define SHIELD_WAYS 8

struct shield_slot {
	struct shield_addr key;	/* key.family == 0: empty */
	int64_t stamp;		/* the owner's: smallest is replaced first */
};

struct shield_table {
	size_t esize;		/* bytes per entry, a multiple of 8 */
	size_t nsets;		/* a power of two */
	pthread_spinlock_t *locks;	/* [nsets] */
	unsigned char *mem;	/* [nsets * SHIELD_WAYS * esize] */
};

/* Room for at least ENTRIES entries of ESIZE bytes. */
int shield_table_init(struct shield_table *t, size_t entries, size_t esize);
void shield_table_destroy(struct shield_table *t);
size_t shield_table_bytes(const struct shield_table *t);

static inline struct shield_slot *shield_set_entry(const struct shield_table *t, size_t set,
						   unsigned int way)
{
	return (struct shield_slot *)(t->mem + (set * SHIELD_WAYS + way) * t->esize);
}

/* K's set, locked. */
size_t shield_set_lock(struct shield_table *t, const struct shield_addr *k);
void shield_set_lock_index(struct shield_table *t, size_t set);
void shield_set_unlock(struct shield_table *t, size_t set);

/* K's entry in SET (locked), or NULL. */
struct shield_slot *shield_set_find(const struct shield_table *t, size_t set,
				    const struct shield_addr *k);

/*
 * An entry for K in SET (locked): an empty one, else the one with the
 * smallest stamp (owners stamp so that an entry that is over has a smaller
 * stamp than any live one). What it held is copied to OLD (esize bytes;
 * OLD->key.family == 0 if it was empty) so the owner can tell an entry that
 * was over from one it evicted; the entry is zeroed and given K.
 */
struct shield_slot *shield_set_claim(struct shield_table *t, size_t set,
				     const struct shield_addr *k, struct shield_slot *old);

static inline bool shield_addr_eq(const struct shield_addr *a, const struct shield_addr *b)
{
	return a->prefix == b->prefix && a->family == b->family;
}

#endif
