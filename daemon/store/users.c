// SPDX-License-Identifier: GPL-2.0
#include "store/users.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

#define USER_SHARDS 16
#define NC_SLOTS 4	/* concurrent nonces per user (devices sharing an account) */

struct nc_slot {
	uint64_t nonce_id;
	uint32_t nc;
	uint32_t stamp;
};

struct user {
	struct user *next;
	uint8_t ha1_md5[16];
	uint8_t ha1_sha256[32];
	struct nc_slot nc[NC_SLOTS];
	uint32_t nc_clock;
	char name[];
};

struct user_shard {
	pthread_mutex_t lock;
	struct user **buckets;
	size_t nbuckets;
	size_t count;
};

struct user_table {
	struct user_shard shard[USER_SHARDS];
};

struct user_table *users_new(void)
{
	struct user_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	for (int i = 0; i < USER_SHARDS; i++) {
		pthread_mutex_init(&t->shard[i].lock, NULL);
		t->shard[i].nbuckets = 256;
		t->shard[i].buckets = calloc(256, sizeof(struct user *));
		if (!t->shard[i].buckets)
			abort();
	}
	return t;
}

void users_free(struct user_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < USER_SHARDS; i++) {
		for (size_t b = 0; b < t->shard[i].nbuckets; b++) {
			struct user *u = t->shard[i].buckets[b], *n;

			for (; u; u = n) {
				n = u->next;
				free(u);
			}
		}
		free(t->shard[i].buckets);
		pthread_mutex_destroy(&t->shard[i].lock);
	}
	free(t);
}

static struct user_shard *shard_of(struct user_table *t, const char *name, uint64_t *h)
{
	*h = hash_bytes(name, strlen(name));
	return &t->shard[*h % USER_SHARDS];
}

static struct user **find(struct user_shard *s, uint64_t h, const char *name)
{
	struct user **pp = &s->buckets[(h / USER_SHARDS) % s->nbuckets];

	for (; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name))
			return pp;
	return pp;
}

static void grow(struct user_shard *s)
{
	size_t n = s->nbuckets * 2;
	struct user **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;	/* keep the old, longer chains */
	for (size_t b = 0; b < s->nbuckets; b++) {
		struct user *u = s->buckets[b], *next;

		for (; u; u = next) {
			uint64_t h = hash_bytes(u->name, strlen(u->name));
			size_t i = (h / USER_SHARDS) % n;

			next = u->next;
			u->next = nb[i];
			nb[i] = u;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

int users_put(struct user_table *t, const struct user_record *r)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, r->name, &h);
	struct user **pp, *u;
	size_t nlen = strlen(r->name) + 1;

	pthread_mutex_lock(&s->lock);
	pp = find(s, h, r->name);
	if (*pp) {
		u = *pp;
		memset(u->nc, 0, sizeof(u->nc));
	} else {
		u = calloc(1, sizeof(*u) + nlen);
		if (!u) {
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		memcpy(u->name, r->name, nlen);
		*pp = u;
		if (++s->count > s->nbuckets)
			grow(s);
	}
	memcpy(u->ha1_md5, r->ha1_md5, sizeof(u->ha1_md5));
	memcpy(u->ha1_sha256, r->ha1_sha256, sizeof(u->ha1_sha256));
	pthread_mutex_unlock(&s->lock);
	return 0;
}

bool users_del(struct user_table *t, const char *name)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, name, &h);
	struct user **pp, *u;

	pthread_mutex_lock(&s->lock);
	pp = find(s, h, name);
	u = *pp;
	if (u) {
		*pp = u->next;
		s->count--;
	}
	pthread_mutex_unlock(&s->lock);
	free(u);
	return u != NULL;
}

bool users_exists(struct user_table *t, const char *name)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, name, &h);
	bool found;

	pthread_mutex_lock(&s->lock);
	found = *find(s, h, name) != NULL;
	pthread_mutex_unlock(&s->lock);
	return found;
}

bool users_get_ha1(struct user_table *t, const char *name, enum digest_alg alg, uint8_t *ha1)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, name, &h);
	struct user *u;

	pthread_mutex_lock(&s->lock);
	u = *find(s, h, name);
	if (u)
		memcpy(ha1, alg == DIGEST_SHA256 ? u->ha1_sha256 : u->ha1_md5, digest_len(alg));
	pthread_mutex_unlock(&s->lock);
	return u != NULL;
}

size_t users_count(struct user_table *t)
{
	size_t n = 0;

	for (int i = 0; i < USER_SHARDS; i++) {
		pthread_mutex_lock(&t->shard[i].lock);
		n += t->shard[i].count;
		pthread_mutex_unlock(&t->shard[i].lock);
	}
	return n;
}

bool users_nc_advance(struct user_table *t, const char *name, uint64_t nonce_id, uint32_t nc)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, name, &h);
	struct user *u;
	struct nc_slot *slot = NULL, *oldest;
	bool ok = false;

	pthread_mutex_lock(&s->lock);
	u = *find(s, h, name);
	if (!u)
		goto out;
	oldest = &u->nc[0];
	for (int i = 0; i < NC_SLOTS; i++) {
		if (u->nc[i].nonce_id == nonce_id && u->nc[i].stamp)
			slot = &u->nc[i];
		if (u->nc[i].stamp < oldest->stamp)
			oldest = &u->nc[i];
	}
	if (slot && nc <= slot->nc)
		goto out;	/* replay: this nc (or a later one) was already accepted */
	if (!slot) {
		/*
		 * A nonce evicted from the window could be replayed with an old nc;
		 * eviction only happens when more than NC_SLOTS nonces are in use
		 * by one account inside nonce_lifetime.
		 */
		slot = oldest;
		slot->nonce_id = nonce_id;
	}
	slot->nc = nc;
	slot->stamp = ++u->nc_clock;
	ok = true;
out:
	pthread_mutex_unlock(&s->lock);
	return ok;
}

void users_foreach(struct user_table *t, void (*fn)(void *ctx, const char *name), void *ctx)
{
	for (int i = 0; i < USER_SHARDS; i++) {
		struct user_shard *s = &t->shard[i];

		pthread_mutex_lock(&s->lock);
		for (size_t b = 0; b < s->nbuckets; b++)
			for (struct user *u = s->buckets[b]; u; u = u->next)
				fn(ctx, u->name);
		pthread_mutex_unlock(&s->lock);
	}
}
