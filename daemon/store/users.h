/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subscribers: name -> HA1 (MD5 and SHA-256 of user:realm:password), plus
 * the nonce-count windows of the nonces each user has in use, to refuse
 * replayed credentials (not persisted: nonce_check makes a restart's nonces
 * stale). Sharded hash table; reads and nc updates take one shard lock briefly.
 */
#ifndef KSIP_USERS_H
#define KSIP_USERS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

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
 * Nonces in use (RFC 7616 §3.3). A nonce costs nothing until a digest made
 * with it verified; from then until it goes stale it holds a window: the
 * highest nc accepted and which of the NC_WINDOW (64) below it were, so each
 * (nonce, nc) is accepted once, in any order inside the window.
 *
 * Caps: PER_USER nonces per user, TOTAL over the table (0: none). Past a
 * cap the oldest nonce (by first use) is dropped, and refused from then on
 * (NONCE_USE_DROPPED, to be answered as stale): dropping never reopens replay.
 */
void users_nonce_limits(struct user_table *t, uint32_t per_user, uint32_t total);

enum nonce_verdict {
	NONCE_USE_OK,		/* first use of this nc with this nonce */
	NONCE_USE_REPLAY,	/* seen before, or below the window, or no such user */
	NONCE_USE_DROPPED,	/* the nonce's state was dropped to make room: not accepted again */
};

/* Record that user NAME, with a verified digest, used the nonce ID with nonce-count NC. */
enum nonce_verdict users_nonce_use(struct user_table *t, const char *name,
				   const struct nonce_id *id, uint32_t lifetime, uint32_t nc,
				   time_t now);

/* Free the state of nonces gone stale; returns how many. */
int users_nonces_expire(struct user_table *t, time_t now);

struct users_nonce_usage {
	uint64_t tracked;	/* nonces with state */
	uint64_t evicted;	/* dropped at a cap (since start) */
	uint64_t bytes;		/* their state and hash chains, without malloc's overhead */
};

void users_nonce_usage(struct user_table *t, struct users_nonce_usage *u);

/* Calls fn for every user name, in no particular order, under the shard lock. */
void users_foreach(struct user_table *t, void (*fn)(void *ctx, const char *name), void *ctx);

#endif
