// SPDX-License-Identifier: GPL-2.0
/* Paging groups in memory: a keyed hash of names under one read-write lock. */
#include "store/pages.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

#define PAGE_BUCKETS 256

struct page_entry {
	struct page_entry *next;
	struct page_record g;
};

struct page_table {
	pthread_rwlock_t lock;
	size_t n;
	struct page_entry *bucket[PAGE_BUCKETS];
};

static struct page_entry **slot(struct page_table *t, const char *name)
{
	struct page_entry **e = &t->bucket[hash_bytes(name, strlen(name)) % PAGE_BUCKETS];

	while (*e && strcmp((*e)->g.name, name))
		e = &(*e)->next;
	return e;
}

struct page_table *pages_new(void)
{
	struct page_table *t = calloc(1, sizeof(*t));

	if (t)
		pthread_rwlock_init(&t->lock, NULL);
	return t;
}

void pages_free(struct page_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < PAGE_BUCKETS; i++) {
		while (t->bucket[i]) {
			struct page_entry *e = t->bucket[i];

			t->bucket[i] = e->next;
			free(e);
		}
	}
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

int pages_put(struct page_table *t, const struct page_record *g)
{
	struct page_entry **e;
	int r = 0;

	pthread_rwlock_wrlock(&t->lock);
	e = slot(t, g->name);
	if (*e) {
		(*e)->g = *g;
	} else if (t->n >= PAGE_GROUPS_MAX || !(*e = calloc(1, sizeof(**e)))) {
		r = -1;
	} else {
		(*e)->g = *g;
		t->n++;
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}

bool pages_del(struct page_table *t, const char *name)
{
	struct page_entry **e, *gone;

	pthread_rwlock_wrlock(&t->lock);
	e = slot(t, name);
	gone = *e;
	if (gone) {
		*e = gone->next;
		t->n--;
	}
	pthread_rwlock_unlock(&t->lock);
	free(gone);
	return gone != NULL;
}

bool pages_get(struct page_table *t, const char *name, struct page_record *out)
{
	struct page_entry *e;

	pthread_rwlock_rdlock(&t->lock);
	e = *slot(t, name);
	if (e && out)
		*out = e->g;
	pthread_rwlock_unlock(&t->lock);
	return e != NULL;
}

size_t pages_count(struct page_table *t)
{
	size_t n;

	pthread_rwlock_rdlock(&t->lock);
	n = t->n;
	pthread_rwlock_unlock(&t->lock);
	return n;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct page_entry *const *)a)->g.name,
		      (*(struct page_entry *const *)b)->g.name);
}

void pages_foreach(struct page_table *t, void (*fn)(void *ctx, const struct page_record *g),
		   void *ctx)
{
	struct page_entry **v;
	size_t k = 0;

	pthread_rwlock_rdlock(&t->lock);
	v = malloc((t->n ? t->n : 1) * sizeof(*v));
	for (int i = 0; v && i < PAGE_BUCKETS; i++)
		for (struct page_entry *e = t->bucket[i]; e; e = e->next)
			v[k++] = e;
	if (v) {
		qsort(v, k, sizeof(*v), by_name);
		for (size_t i = 0; i < k; i++)
			fn(ctx, &v[i]->g);
	}
	pthread_rwlock_unlock(&t->lock);
	free(v);
}
