// SPDX-License-Identifier: GPL-2.0
#include "shield/table.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

int shield_table_init(struct shield_table *t, size_t entries, size_t esize)
{
	size_t nsets = 1;

	memset(t, 0, sizeof(*t));
	t->esize = (esize + 7) & ~(size_t)7;
	while (nsets * SHIELD_WAYS < entries)
		nsets <<= 1;
	t->nsets = nsets;
	t->mem = calloc(nsets * SHIELD_WAYS, t->esize);
	t->locks = calloc(nsets, sizeof(*t->locks));
	if (!t->mem || !t->locks) {
		shield_table_destroy(t);
		return -1;
	}
	for (size_t i = 0; i < nsets; i++)
		pthread_spin_init(&t->locks[i], PTHREAD_PROCESS_PRIVATE);
	return 0;
}

void shield_table_destroy(struct shield_table *t)
{
	if (t->locks)
		for (size_t i = 0; i < t->nsets; i++)
			pthread_spin_destroy(&t->locks[i]);
	free((void *)t->locks);
	free(t->mem);
	memset(t, 0, sizeof(*t));
}

size_t shield_table_bytes(const struct shield_table *t)
{
	return t->nsets * (SHIELD_WAYS * t->esize + sizeof(*t->locks));
}

size_t shield_set_lock(struct shield_table *t, const struct shield_addr *k)
{
	size_t set = (size_t)(hash_bytes(k, sizeof(*k)) & (t->nsets - 1));

	pthread_spin_lock(&t->locks[set]);
	return set;
}

void shield_set_lock_index(struct shield_table *t, size_t set)
{
	pthread_spin_lock(&t->locks[set]);
}

void shield_set_unlock(struct shield_table *t, size_t set)
{
	pthread_spin_unlock(&t->locks[set]);
}

struct shield_slot *shield_set_find(const struct shield_table *t, size_t set,
				    const struct shield_addr *k)
{
	for (unsigned int w = 0; w < SHIELD_WAYS; w++) {
		struct shield_slot *e = shield_set_entry(t, set, w);

		if (e->key.family && shield_addr_eq(&e->key, k))
			return e;
	}
	return NULL;
}

struct shield_slot *shield_set_claim(struct shield_table *t, size_t set,
				     const struct shield_addr *k, struct shield_slot *old)
{
	struct shield_slot *pick = NULL;

	for (unsigned int w = 0; w < SHIELD_WAYS; w++) {
		struct shield_slot *e = shield_set_entry(t, set, w);

		if (!e->key.family) {
			pick = e;
			break;
		}
		if (!pick || e->stamp < pick->stamp)
			pick = e;
	}
	memcpy(old, pick, t->esize);
	memset(pick, 0, t->esize);
	pick->key = *k;
	return pick;
}
