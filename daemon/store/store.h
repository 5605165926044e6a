/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Persistence of users, bindings, bans and the nonce secret, through one
 * backend (backend.h; SQLite today). Users and the nonce secret are written
 * synchronously (rare, operator-driven). Binding and ban changes are queued
 * by the workers and written by one writer thread in a transaction every
 * store_flush_ms, so the request path never waits for the disk.
 *
 * The store knows the tables only through the callbacks it is given:
 * loading hands each record to a load function, and the location table
 * reports its changes through store_binding_persist.
 */
#ifndef KSIP_STORE_H
#define KSIP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/backend.h"
#include "store/record.h"

struct store;

/* NULL with the reason in ERR: cannot open, not a database, no thread. */
struct store *store_open(const struct store_backend_ops *ops, const char *path,
			 uint32_t flush_ms, char *err, size_t errlen);
/* Writes everything queued, stops the writer, closes the backend. */
void store_close(struct store *s);

/* The nonce secret of LEN bytes: loaded, or created and saved on first start. */
int store_secret(struct store *s, uint8_t *secret, size_t len);
/*
 * Another secret of LEN bytes, kept in the store under NAME (the key that
 * signs our Record-Route, "route_secret"): loaded, or created on first start.
 */
int store_named_secret(struct store *s, const char *name, uint8_t *secret, size_t len);

/* Gives FN every user of REALM (others are left out, with a warning); how many it took, or -1. */
int store_load_users(struct store *s, const char *realm, user_load_fn fn, void *ctx);
/* Deletes the bindings expired at NOW, gives FN the others; how many it took, or -1. */
int store_load_bindings(struct store *s, time_t now, binding_load_fn fn, void *ctx);

/* Synchronous user changes; 0 or -1 (logged). */
int store_user_put(struct store *s, const char *realm, const struct user_record *u);
int store_user_del(struct store *s, const char *name);

/* Conference rooms: FN gets each; synchronous changes, 0 or -1 (logged). */
int store_load_rooms(struct store *s, room_load_fn fn, void *ctx);
int store_room_put(struct store *s, const struct room_record *r);
int store_room_del(struct store *s, const char *name);
/* Paging groups: every group to FN (how many it took, or -1); synchronous put and delete. */
int store_load_pages(struct store *s, page_load_fn fn, void *ctx);
int store_page_put(struct store *s, const struct page_record *g);
int store_page_del(struct store *s, const char *name);

/* Queued binding changes (called under a location shard lock: never blocks on I/O). */
void store_queue_upsert(struct store *s, const struct binding_view *b, time_t expires_at);
void store_queue_delete(struct store *s, const char *aor, const char *contact);
void store_queue_delete_aor(struct store *s, const char *aor);

/* The three above as the location table's persistence ops; their argument is the store. */
extern const struct binding_persist_ops store_binding_persist;

/* Queued ban changes (from the ban list's observer, on any thread: never blocks on I/O). */
void store_queue_ban(struct store *s, const struct ban_record *b);
void store_queue_unban(struct store *s, const char *source);
/* Deletes the bans over at NOW, gives FN the others; how many it took, or -1. */
int store_load_bans(struct store *s, time_t now, ban_load_fn fn, void *ctx);

/*
 * Queued: NAME's last algorithm (from the user table's observer, under its
 * shard lock: never blocks on I/O). store_users_persist wires it up.
 */
void store_queue_user_last_alg(struct store *s, const char *name, enum user_last_alg last);
extern const struct users_persist_ops store_users_persist;

/* Block until everything queued before the call is committed. */
void store_sync(struct store *s);

#endif
