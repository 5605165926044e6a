/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Paging groups in memory (issue 17): name -> members, read by the proxy
 * on every INVITE to a user part that is no user, changed by the control
 * thread after the store saved the change. A keyed hash (names come from
 * Request-URIs) under one read-write lock: changes are rare, reads copy
 * the group out and hold nothing.
 */
#ifndef KSIP_STORE_PAGES_H
#define KSIP_STORE_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "store/record.h"

/* Groups a daemon keeps: bounded, so `page add` cannot grow memory without end. */
#define PAGE_GROUPS_MAX 1024

struct page_table;

struct page_table *pages_new(void);
void pages_free(struct page_table *t);

/* Insert or replace. 0, or -1 when out of memory or at PAGE_GROUPS_MAX. */
int pages_put(struct page_table *t, const struct page_record *g);
bool pages_del(struct page_table *t, const char *name);
/* NAME's group copied into *OUT (may be NULL: does it exist?). */
bool pages_get(struct page_table *t, const char *name, struct page_record *out);
size_t pages_count(struct page_table *t);
/* Every group, sorted by name, under the read lock. */
void pages_foreach(struct page_table *t, void (*fn)(void *ctx, const struct page_record *g),
		   void *ctx);

#endif
