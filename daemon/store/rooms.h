/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Conference rooms in memory (issue 17): name -> PIN and size, loaded from
 * the store at start and changed by ksipctl (the control thread writes the
 * store first, then this table). Workers ask it whether a Request-URI names
 * a room on every initial INVITE: one lock, a keyed hash (the names come
 * from the network), no allocation on lookup.
 */
#ifndef KSIP_ROOMS_H
#define KSIP_ROOMS_H

#include <stdbool.h>
#include <stddef.h>

#include "store/record.h"

struct room_table;

struct room_table *rooms_new(void);
void rooms_free(struct room_table *t);

/* Insert or replace. 0, or -1 when out of memory. */
int rooms_put(struct room_table *t, const struct room_record *r);
bool rooms_del(struct room_table *t, const char *name);
bool rooms_exists(struct room_table *t, const char *name);
/* NAME's record into *OUT; false: no such room. */
bool rooms_get(struct room_table *t, const char *name, struct room_record *out);
size_t rooms_count(struct room_table *t);
/* FN for every room, sorted by name, on copies taken under the lock (FN runs without it). */
void rooms_foreach(struct room_table *t, void (*fn)(void *ctx, const struct room_record *r),
		   void *ctx);

#endif
