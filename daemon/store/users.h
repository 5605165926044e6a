/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subscribers: name -> HA1 (MD5 and SHA-256 of user:realm:password), the
 * digest setting and the algorithm of the last successful authentication
 * (enum user_digest, user_last_alg in store/record.h), plus
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
/* NAME's stored record (HA1s, digest setting, last algorithm) into *OUT; false: no such user. */
bool users_get(struct user_table *t, const char *name, struct user_record *out);

/*
 * Digest algorithms per user (docs/security.md, "Digest algorithms").
 *
 * users_digest_of: NAME's setting and last algorithm. For a name that is
 * no user, those of a decoy: a (setting, last algorithm) pair drawn from
 * the users there are, the same for the same name (keyed by
 * users_decoy_key), so that which algorithms a challenge offers does not
 * tell whether a name exists. Returns whether NAME is a user.
 */
bool users_digest_of(struct user_table *t, const char *name, enum user_digest *digest,
		     enum user_last_alg *last);
/* The key of the decoy draw: stable across restarts when derived from a stored secret. */
void users_decoy_key(struct user_table *t, const uint64_t key[2]);
/* NAME authenticated with LAST: remembered, and reported to the persist ops when it changed. */
void users_note_alg(struct user_table *t, const char *name, enum user_last_alg last);
/* Who hears of changed last algorithms (the store); NULL: nobody. */
void users_set_persist(struct user_table *t, const struct users_persist_ops *ops, void *arg);

/* "auto", "sha256", "md5", "both"; parse returns -1 for anything else. */
const char *user_digest_name(enum user_digest d);
int user_digest_parse(const char *s);
/* "", "MD5", "SHA-256" (as stored); parse returns USER_LAST_NONE for anything else. */
const char *user_last_alg_name(enum user_last_alg l);
enum user_last_alg user_last_alg_parse(const char *s);

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
	uint64_t bytes;		/* their records (chunks, free records included) and hash chains */
};

void users_nonce_usage(struct user_table *t, struct users_nonce_usage *u);

/*
 * Calls fn for every user, in no particular order, under the shard lock:
 * the name, digest setting and last algorithm (the HA1s are left zero).
 */
void users_foreach(struct user_table *t, void (*fn)(void *ctx, const struct user_record *u),
		   void *ctx);

#endif
