/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Persistence in SQLite (WAL). Users and the nonce secret are written
 * synchronously (rare, operator-driven). Binding changes are queued by the
 * workers and written by one writer thread in a transaction every
 * store_flush_ms, so the request path never waits for the disk.
 */
#ifndef KSIP_STORE_H
#define KSIP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/location.h"
#include "store/users.h"

struct store;

struct store *store_open(const char *path, uint32_t flush_ms, char *err, size_t errlen);
/* Writes everything queued, stops the writer, closes the database. */
void store_close(struct store *s);

/* The 32-byte nonce secret: loaded, or created and saved on first start. */
int store_secret(struct store *s, uint8_t *secret, size_t len);

int store_load_users(struct store *s, const char *realm, struct user_table *t);
/* Loads unexpired bindings into L and deletes the expired ones. */
int store_load_bindings(struct store *s, struct location *l, time_t now);

/* Synchronous user changes; -1 with errno-like message in err. */
int store_user_put(struct store *s, const char *realm, const struct user_record *u);
int store_user_del(struct store *s, const char *name);

/* Queued binding changes (called under a location shard lock: never blocks on I/O). */
void store_queue_upsert(struct store *s, const struct binding_view *b, time_t expires_at);
void store_queue_delete(struct store *s, const char *aor, const char *contact);
void store_queue_delete_aor(struct store *s, const char *aor);

/* Block until everything queued before the call is committed. */
void store_sync(struct store *s);

#endif
