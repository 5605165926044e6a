/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subscribers: name -> HA1 (MD5 and SHA-256 of user:realm:password), plus
 * the nonce-count window used to refuse replayed credentials. Sharded
 * hash table; reads and nc updates take one shard lock briefly.
 */
#ifndef KSIP_USERS_H
#define KSIP_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "sip/digest.h"
#include "store/record.h"

struct user_table;

struct user_table *users_new(void);
void users_free(struct user_table *t);

/* Insert or replace. Returns 0, or -1 when out of memory. */
int users_put(struct user_table *t, const struct user_record *u);
bool users_del(struct user_table *t, const char *name);
bool users_exists(struct user_table *t, const char *name);
bool users_get_ha1(struct user_table *t, const char *name, enum digest_alg alg, uint8_t *ha1);
size_t users_count(struct user_table *t);

/*
 * Record that NONCE_ID was used with nonce-count NC. Returns false when nc
 * is not greater than the highest seen for that nonce (a replay).
 */
bool users_nc_advance(struct user_table *t, const char *name, uint64_t nonce_id, uint32_t nc);

/* Calls fn for every user name, in no particular order, under the shard lock. */
void users_foreach(struct user_table *t, void (*fn)(void *ctx, const char *name), void *ctx);

#endif
