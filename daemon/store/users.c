// SPDX-License-Identifier: GPL-2.0
#include "store/users.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/list.h"

#define USER_SHARDS 16
#define NC_WINDOW 64	/* nonce-counts remembered below the highest: bits of nonce_use.seen */

/*
 * One nonce in use by one user (RFC 7616 §3.3: the server may track nc per
 * nonce). Created only after a digest verified with that nonce, freed when
 * the nonce goes stale. 64 bytes.
 */
struct nonce_use {
	struct nonce_use *hnext;	/* shard's chain, keyed by (user, counter) */
	struct nonce_use *unext;	/* the user's nonces, first used first */
	struct list_head age;		/* the shard's nonces, first used first */
	struct user *user;
	uint64_t counter;		/* names the nonce (struct nonce_id) */
	uint64_t seen;			/* bit i: nc == top - i was accepted */
	uint32_t top;			/* highest nc accepted */
	uint32_t expires;		/* the nonce is stale after this second */
};

/* docs/security.md states the cost per nonce in use from this size. */
_Static_assert(sizeof(struct nonce_use) == 64, "a nonce in use is one 64-byte record");

/*
 * Nonce records come 63 to a chunk of 4,040 bytes, one malloc, so that a
 * record costs its 64 bytes and not the 80 of a malloc of its own (the
 * per-binding budget of docs/benchmarks.md). A freed record goes on its
 * shard's free list for the next nonce; chunks go back only with the
 * table. What that keeps is bounded by the caps: a shard never holds more
 * than nonces_per_shard records at once, so never more chunks than those
 * need, one partly used chunk more.
 */
#define NONCE_CHUNK_RECORDS 63

struct nonce_chunk {
	struct nonce_chunk *next;
	struct nonce_use rec[NONCE_CHUNK_RECORDS];
};

struct user {
	struct user *next;
	uint64_t hash;			/* hash_bytes(name) */
	uint8_t ha1_md5[16];
	uint8_t ha1_sha256[32];
	struct nonce_use *nonces;	/* oldest first; nonces_last is the newest */
	struct nonce_use *nonces_last;
	uint32_t nnonces;
	uint32_t floor_until;		/* floor applies until this second */
	uint64_t floor;			/* untracked nonces with counter <= floor are refused */
	uint8_t digest;			/* enum user_digest */
	uint8_t last_alg;		/* enum user_last_alg */
	char name[];
};

struct user_shard {
	pthread_mutex_t lock;
	struct user **buckets;
	size_t nbuckets;
	size_t count;
	/* nonces in use (all users of the shard) */
	struct nonce_use **nbuckets_p;
	size_t nnbuckets;
	size_t nnonces;
	struct list_head age;		/* oldest first use first */
	uint64_t floor;			/* as user.floor, left by deleted users */
	uint32_t floor_until;
	uint64_t evicted;
	struct nonce_chunk *chunks;	/* every record's memory */
	size_t nchunks;
	struct nonce_use *free_nonces;	/* records not in use, linked by hnext */
} __attribute__((aligned(64)));

struct user_table {
	struct user_shard shard[USER_SHARDS];
	/*
	 * Users per (digest setting, last algorithm), for the decoys of
	 * users_digest_of(); updated under the user's shard lock, read without.
	 */
	uint32_t kinds[USER_DIGEST__COUNT][USER_LAST__COUNT];
	uint64_t decoy_key[2];
	const struct users_persist_ops *persist;
	void *persist_arg;
	uint32_t nonces_per_user;	/* 0: no cap */
	uint32_t nonces_per_shard;	/* the global cap, shared out over the shards; 0: no cap */
};

struct user_table *users_new(void)
{
	struct user_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	for (int i = 0; i < USER_SHARDS; i++) {
		struct user_shard *s = &t->shard[i];

		pthread_mutex_init(&s->lock, NULL);
		s->nbuckets = 256;
		s->buckets = calloc(256, sizeof(struct user *));
		s->nnbuckets = 256;
		s->nbuckets_p = calloc(256, sizeof(struct nonce_use *));
		if (!s->buckets || !s->nbuckets_p)
			abort();
		list_init(&s->age);
	}
	return t;
}

void users_nonce_limits(struct user_table *t, uint32_t per_user, uint32_t total)
{
	t->nonces_per_user = per_user;
	t->nonces_per_shard = total ? (total + USER_SHARDS - 1) / USER_SHARDS : 0;
}

void users_free(struct user_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < USER_SHARDS; i++) {
		struct user_shard *s = &t->shard[i];

		while (s->chunks) {
			struct nonce_chunk *c = s->chunks;

			s->chunks = c->next;
			free(c);
		}
		for (size_t b = 0; b < s->nbuckets; b++) {
			struct user *u = s->buckets[b], *n;

			for (; u; u = n) {
				n = u->next;
				free(u);
			}
		}
		free(s->buckets);
		free(s->nbuckets_p);
		pthread_mutex_destroy(&s->lock);
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
			size_t i = (u->hash / USER_SHARDS) % n;

			next = u->next;
			u->next = nb[i];
			nb[i] = u;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

/* --- nonces in use --------------------------------------------------------- */

/* The chain of (U, COUNTER): keyed, so a client cannot aim its nonces at one chain. */
static struct nonce_use **nonce_slot(struct user_shard *s, const struct user *u, uint64_t counter)
{
	uint64_t h = hash_bytes_seed(u->hash, &counter, sizeof(counter));

	return &s->nbuckets_p[h % s->nnbuckets];
}

static struct nonce_use *nonce_find(struct user_shard *s, const struct user *u, uint64_t counter)
{
	struct nonce_use *n = *nonce_slot(s, u, counter);

	for (; n; n = n->hnext)
		if (n->counter == counter && n->user == u)
			return n;
	return NULL;
}

static void nonce_grow(struct user_shard *s)
{
	size_t nb_len = s->nnbuckets * 2, old = s->nnbuckets;
	struct nonce_use **nb = calloc(nb_len, sizeof(*nb)), **ob = s->nbuckets_p;

	if (!nb)
		return;
	s->nbuckets_p = nb;
	s->nnbuckets = nb_len;
	for (size_t b = 0; b < old; b++) {
		struct nonce_use *n = ob[b], *next;

		for (; n; n = next) {
			struct nonce_use **slot = nonce_slot(s, n->user, n->counter);

			next = n->hnext;
			n->hnext = *slot;
			*slot = n;
		}
	}
	free(ob);
}

/*
 * Forget N, the oldest nonce of its user (the caller makes sure): from the
 * chain, the user's list and the age list. Shard lock held.
 */
/* A zeroed record from S's free list, which takes a new chunk when empty; NULL: no memory. */
static struct nonce_use *nonce_alloc(struct user_shard *s)
{
	struct nonce_use *n;

	if (!s->free_nonces) {
		struct nonce_chunk *c = malloc(sizeof(*c));

		if (!c)
			return NULL;
		c->next = s->chunks;
		s->chunks = c;
		s->nchunks++;
		for (int i = NONCE_CHUNK_RECORDS - 1; i >= 0; i--) {
			c->rec[i].hnext = s->free_nonces;
			s->free_nonces = &c->rec[i];
		}
	}
	n = s->free_nonces;
	s->free_nonces = n->hnext;
	memset(n, 0, sizeof(*n));
	return n;
}

static void nonce_release(struct user_shard *s, struct nonce_use *n)
{
	n->hnext = s->free_nonces;
	s->free_nonces = n;
}

static void nonce_unlink(struct user_shard *s, struct nonce_use *n)
{
	struct nonce_use **pp = nonce_slot(s, n->user, n->counter);
	struct user *u = n->user;

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	assert(u->nonces == n);
	u->nonces = n->unext;
	if (!u->nonces)
		u->nonces_last = NULL;
	u->nnonces--;
	list_del(&n->age);
	s->nnonces--;
}

/*
 * Drop N to make room. Its nonce must stay refused until it goes stale, or
 * dropping would reopen replay: its user's floor covers it from now on.
 */
static void nonce_evict(struct user_shard *s, struct nonce_use *n)
{
	struct user *u = n->user;

	if (n->counter > u->floor)
		u->floor = n->counter;
	if (n->expires > u->floor_until)
		u->floor_until = n->expires;
	nonce_unlink(s, n);
	nonce_release(s, n);
	s->evicted++;
}

/* Accept NC once within the window below the highest nc seen (IPsec's anti-replay window). */
static bool window_accept(struct nonce_use *n, uint32_t nc)
{
	uint32_t d;

	if (nc > n->top) {
		d = nc - n->top;
		n->seen = d >= NC_WINDOW ? 0 : n->seen << d;
		n->seen |= 1;
		n->top = nc;
		return true;
	}
	d = n->top - nc;
	if (d >= NC_WINDOW || (n->seen & (1ULL << d)))
		return false;
	n->seen |= 1ULL << d;
	return true;
}

static bool floor_covers(uint64_t floor, uint32_t until, uint64_t counter, time_t now)
{
	return floor && counter <= floor && (int64_t)now <= (int64_t)until;
}

enum nonce_verdict users_nonce_use(struct user_table *t, const char *name,
				   const struct nonce_id *id, uint32_t lifetime, uint32_t nc,
				   time_t now)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, name, &h);
	struct nonce_use *n;
	struct user *u;
	enum nonce_verdict v = NONCE_USE_REPLAY;

	if (!nc)
		return NONCE_USE_REPLAY;	/* nc counts from 1 (RFC 7616 §3.4) */
	pthread_mutex_lock(&s->lock);
	u = *find(s, h, name);
	if (!u)
		goto out;
	n = nonce_find(s, u, id->counter);
	if (n) {
		v = window_accept(n, nc) ? NONCE_USE_OK : NONCE_USE_REPLAY;
		goto out;
	}
	/* First use of this nonce by this user, unless it was dropped to make room. */
	if (floor_covers(u->floor, u->floor_until, id->counter, now) ||
	    floor_covers(s->floor, s->floor_until, id->counter, now)) {
		v = NONCE_USE_DROPPED;
		goto out;
	}
	if (t->nonces_per_user && u->nnonces >= t->nonces_per_user)
		nonce_evict(s, u->nonces);
	if (t->nonces_per_shard && s->nnonces >= t->nonces_per_shard)
		nonce_evict(s, container_of(s->age.next, struct nonce_use, age));
	n = nonce_alloc(s);
	if (!n) {
		v = NONCE_USE_DROPPED;	/* refused as stale: the client simply tries a new nonce */
		goto out;
	}
	n->user = u;
	n->counter = id->counter;
	n->expires = (uint32_t)(id->minted + lifetime);
	n->top = nc;
	n->seen = 1;
	n->hnext = *nonce_slot(s, u, id->counter);
	*nonce_slot(s, u, id->counter) = n;
	if (u->nonces_last)
		u->nonces_last->unext = n;
	else
		u->nonces = n;
	u->nonces_last = n;
	u->nnonces++;
	list_add_tail(&n->age, &s->age);
	if (++s->nnonces > s->nnbuckets)
		nonce_grow(s);
	v = NONCE_USE_OK;
out:
	pthread_mutex_unlock(&s->lock);
	return v;
}

/*
 * The age list is in order of first use, and a nonce is first used after it
 * was minted: stopping at the first live one leaves an expired nonce behind
 * it for at most nonce_lifetime after its own first use.
 */
int users_nonces_expire(struct user_table *t, time_t now)
{
	int freed = 0;

	for (int i = 0; i < USER_SHARDS; i++) {
		struct user_shard *s = &t->shard[i];

		pthread_mutex_lock(&s->lock);
		while (!list_empty(&s->age)) {
			struct nonce_use *n = container_of(s->age.next, struct nonce_use, age);

			if ((int64_t)now <= (int64_t)n->expires)
				break;
			nonce_unlink(s, n);
			nonce_release(s, n);
			freed++;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return freed;
}

void users_nonce_usage(struct user_table *t, struct users_nonce_usage *u)
{
	memset(u, 0, sizeof(*u));
	for (int i = 0; i < USER_SHARDS; i++) {
		struct user_shard *s = &t->shard[i];

		pthread_mutex_lock(&s->lock);
		u->tracked += s->nnonces;
		u->evicted += s->evicted;
		u->bytes += s->nchunks * sizeof(struct nonce_chunk) +
			    s->nnbuckets * sizeof(struct nonce_use *);
		pthread_mutex_unlock(&s->lock);
	}
}

/* --- users ------------------------------------------------------------------ */

/* U joins (+1) or leaves (-1) the count of its kind. Its shard lock held. */
static void kind_count(struct user_table *t, const struct user *u, int d)
{
	__atomic_add_fetch(&t->kinds[u->digest][u->last_alg], (uint32_t)d, __ATOMIC_RELAXED);
}

int users_put(struct user_table *t, const struct user_record *r)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, r->name, &h);
	struct user **pp, *u;
	size_t nlen = strlen(r->name) + 1;

	pthread_mutex_lock(&s->lock);
	pp = find(s, h, r->name);
	if (!*pp) {
		u = calloc(1, sizeof(*u) + nlen);
		if (!u) {
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		memcpy(u->name, r->name, nlen);
		u->hash = h;
		*pp = u;
		if (++s->count > s->nbuckets)
			grow(s);
	} else {
		/* A new password: nonces in use stay tracked (old answers fail on HA1 anyway). */
		u = *pp;
		kind_count(t, u, -1);
	}
	memcpy(u->ha1_md5, r->ha1_md5, sizeof(u->ha1_md5));
	memcpy(u->ha1_sha256, r->ha1_sha256, sizeof(u->ha1_sha256));
	u->digest = r->digest < USER_DIGEST__COUNT ? r->digest : USER_DIGEST_AUTO;
	u->last_alg = r->last_alg < USER_LAST__COUNT ? r->last_alg : USER_LAST_NONE;
	kind_count(t, u, 1);
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
		kind_count(t, u, -1);
		/*
		 * The user may come back with the same password while its nonces
		 * are still fresh: the shard remembers them as a floor.
		 */
		while (u->nonces)
			nonce_evict(s, u->nonces);
		if (u->floor > s->floor)
			s->floor = u->floor;
		if (u->floor_until > s->floor_until)
			s->floor_until = u->floor_until;
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

void users_foreach(struct user_table *t, void (*fn)(void *ctx, const struct user_record *u),
		   void *ctx)
{
	struct user_record r;

	for (int i = 0; i < USER_SHARDS; i++) {
		struct user_shard *s = &t->shard[i];

		pthread_mutex_lock(&s->lock);
		for (size_t b = 0; b < s->nbuckets; b++)
			for (struct user *u = s->buckets[b]; u; u = u->next) {
				/* Name and settings only: the HA1s stay in the table. */
				memset(&r, 0, sizeof(r));
				snprintf(r.name, sizeof(r.name), "%s", u->name);
				r.digest = u->digest;
				r.last_alg = u->last_alg;
				fn(ctx, &r);
			}
		pthread_mutex_unlock(&s->lock);
	}
}

bool users_get(struct user_table *t, const char *name, struct user_record *out)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, name, &h);
	struct user *u;

	pthread_mutex_lock(&s->lock);
	u = *find(s, h, name);
	if (u) {
		memset(out, 0, sizeof(*out));
		snprintf(out->name, sizeof(out->name), "%s", u->name);
		memcpy(out->ha1_md5, u->ha1_md5, sizeof(out->ha1_md5));
		memcpy(out->ha1_sha256, u->ha1_sha256, sizeof(out->ha1_sha256));
		out->digest = u->digest;
		out->last_alg = u->last_alg;
	}
	pthread_mutex_unlock(&s->lock);
	return u != NULL;
}

/* --- digest algorithms per user ------------------------------------------------ */

void users_decoy_key(struct user_table *t, const uint64_t key[2])
{
	t->decoy_key[0] = key[0];
	t->decoy_key[1] = key[1];
}

void users_set_persist(struct user_table *t, const struct users_persist_ops *ops, void *arg)
{
	t->persist = ops;
	t->persist_arg = arg;
}

/*
 * The kind of the k-th user in a fixed order of kinds, k drawn from NAME
 * under the decoy key: unknown names show the kinds in the proportions the
 * users have them, each name always the same one while the counts stand.
 */
static void decoy(struct user_table *t, const char *name, enum user_digest *digest,
		  enum user_last_alg *last)
{
	uint32_t counts[USER_DIGEST__COUNT][USER_LAST__COUNT];
	uint64_t total = 0, k;

	*digest = USER_DIGEST_AUTO;
	*last = USER_LAST_NONE;
	for (int d = 0; d < USER_DIGEST__COUNT; d++)
		for (int l = 0; l < USER_LAST__COUNT; l++) {
			counts[d][l] = __atomic_load_n(&t->kinds[d][l], __ATOMIC_RELAXED);
			total += counts[d][l];
		}
	if (!total)
		return;
	k = siphash13(t->decoy_key, name, strlen(name)) % total;
	for (int d = 0; d < USER_DIGEST__COUNT; d++)
		for (int l = 0; l < USER_LAST__COUNT; l++) {
			if (k < counts[d][l]) {
				*digest = (enum user_digest)d;
				*last = (enum user_last_alg)l;
				return;
			}
			k -= counts[d][l];
		}
}

bool users_digest_of(struct user_table *t, const char *name, enum user_digest *digest,
		     enum user_last_alg *last)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, name, &h);
	struct user *u;

	pthread_mutex_lock(&s->lock);
	u = *find(s, h, name);
	if (u) {
		*digest = (enum user_digest)u->digest;
		*last = (enum user_last_alg)u->last_alg;
	}
	pthread_mutex_unlock(&s->lock);
	if (!u)
		decoy(t, name, digest, last);
	return u != NULL;
}

void users_note_alg(struct user_table *t, const char *name, enum user_last_alg last)
{
	uint64_t h;
	struct user_shard *s = shard_of(t, name, &h);
	struct user *u;

	if (last >= USER_LAST__COUNT)
		return;
	pthread_mutex_lock(&s->lock);
	u = *find(s, h, name);
	if (u && u->last_alg != last) {
		kind_count(t, u, -1);
		u->last_alg = (uint8_t)last;
		kind_count(t, u, 1);
		if (t->persist && t->persist->save_last_alg)
			t->persist->save_last_alg(t->persist_arg, name, last);
	}
	pthread_mutex_unlock(&s->lock);
}

static const char *const digest_names[USER_DIGEST__COUNT] = {
	[USER_DIGEST_AUTO] = "auto",
	[USER_DIGEST_SHA256] = "sha256",
	[USER_DIGEST_MD5] = "md5",
	[USER_DIGEST_BOTH] = "both",
};

static const char *const last_names[USER_LAST__COUNT] = {
	[USER_LAST_NONE] = "",
	[USER_LAST_MD5] = "MD5",
	[USER_LAST_SHA256] = "SHA-256",
};

const char *user_digest_name(enum user_digest d)
{
	return d < USER_DIGEST__COUNT ? digest_names[d] : "auto";
}

int user_digest_parse(const char *s)
{
	for (int i = 0; i < USER_DIGEST__COUNT; i++)
		if (!strcmp(s, digest_names[i]))
			return i;
	return -1;
}

const char *user_last_alg_name(enum user_last_alg l)
{
	return l < USER_LAST__COUNT ? last_names[l] : "";
}

enum user_last_alg user_last_alg_parse(const char *s)
{
	for (int i = 1; i < USER_LAST__COUNT; i++)
		if (s && !strcmp(s, last_names[i]))
			return (enum user_last_alg)i;
	return USER_LAST_NONE;
}
