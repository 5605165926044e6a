// SPDX-License-Identifier: GPL-2.0
#include "store/rooms.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

#define ROOM_BUCKETS 256

struct room {
	struct room *next;
	uint64_t hash;
	struct room_record r;
};

struct room_table {
	pthread_mutex_t lock;
	size_t count;
	struct room *bucket[ROOM_BUCKETS];
};

struct room_table *rooms_new(void)
{
	struct room_table *t = calloc(1, sizeof(*t));

	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

void rooms_free(struct room_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < ROOM_BUCKETS; i++)
		for (struct room *r = t->bucket[i], *n; r; r = n) {
			n = r->next;
			free(r);
		}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The link pointing at NAME's room (or at the NULL ending its chain). Under the lock. */
static struct room **slot(struct room_table *t, const char *name, uint64_t h)
{
	struct room **pp = &t->bucket[h % ROOM_BUCKETS];

	while (*pp && ((*pp)->hash != h || strcmp((*pp)->r.name, name)))
		pp = &(*pp)->next;
	return pp;
}

int rooms_put(struct room_table *t, const struct room_record *r)
{
	uint64_t h = hash_bytes(r->name, strlen(r->name));
	struct room **pp, *n;

	pthread_mutex_lock(&t->lock);
	pp = slot(t, r->name, h);
	if (*pp) {
		(*pp)->r = *r;
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (n) {
		n->hash = h;
		n->r = *r;
		*pp = n;
		t->count++;
	}
	pthread_mutex_unlock(&t->lock);
	return n ? 0 : -1;
}

bool rooms_del(struct room_table *t, const char *name)
{
	uint64_t h = hash_bytes(name, strlen(name));
	struct room **pp, *r;

	pthread_mutex_lock(&t->lock);
	pp = slot(t, name, h);
	r = *pp;
	if (r) {
		*pp = r->next;
		t->count--;
	}
	pthread_mutex_unlock(&t->lock);
	free(r);
	return r != NULL;
}

bool rooms_get(struct room_table *t, const char *name, struct room_record *out)
{
	uint64_t h = hash_bytes(name, strlen(name));
	struct room *r;

	pthread_mutex_lock(&t->lock);
	r = *slot(t, name, h);
	if (r && out)
		*out = r->r;
	pthread_mutex_unlock(&t->lock);
	return r != NULL;
}

bool rooms_exists(struct room_table *t, const char *name)
{
	return rooms_get(t, name, NULL);
}

size_t rooms_count(struct room_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct room_record *)a)->name, ((const struct room_record *)b)->name);
}

void rooms_foreach(struct room_table *t, void (*fn)(void *ctx, const struct room_record *r),
		   void *ctx)
{
	struct room_record *v;
	size_t n = 0;

	pthread_mutex_lock(&t->lock);
	v = calloc(t->count ? t->count : 1, sizeof(*v));
	for (int i = 0; v && i < ROOM_BUCKETS; i++)
		for (struct room *r = t->bucket[i]; r; r = r->next)
			v[n++] = r->r;
	pthread_mutex_unlock(&t->lock);
	if (!v)
		return;
	qsort(v, n, sizeof(*v), by_name);
	for (size_t i = 0; i < n; i++)
		fn(ctx, &v[i]);
	free(v);
}
