/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A storage backend behind an ops table (the shape of OpenSMTPD's struct
 * queue_backend): store.c owns the queue, the writer thread and the lock,
 * and calls one backend through these. SQLite (sqlite.c) is the one
 * implementation; a PostgreSQL one would sit beside it.
 *
 * store.c serialises every call under its backend lock, so an
 * implementation needs no locking of its own. Each returns 0 on success
 * and -1 on failure unless said otherwise.
 */
#ifndef KSIP_STORE_BACKEND_H
#define KSIP_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/record.h"

/* A stored user and the realm its HA1 was computed for. */
typedef int (*backend_user_fn)(void *ctx, const char *realm, const struct user_record *u);

struct store_backend_ops {
	const char *name;

	/* Open or create at PATH; NULL with a message in ERR (a damaged file included). */
	void *(*open)(const char *path, char *err, size_t errlen);
	void (*close)(void *be);

	/* The nonce secret: load_secret returns 1 when none of LEN bytes is stored yet. */
	int (*load_secret)(void *be, uint8_t *secret, size_t len);
	int (*save_secret)(void *be, const uint8_t *secret, size_t len);
	/* Any other secret of LEN bytes under KEY: load_meta returns 1 when none is stored. */
	int (*load_meta)(void *be, const char *key, uint8_t *buf, size_t len);
	int (*save_meta)(void *be, const char *key, const uint8_t *buf, size_t len);

	/* Users of every realm; returns how many FN took, or -1. */
	int (*load_users)(void *be, backend_user_fn fn, void *ctx);
	int (*put_user)(void *be, const char *realm, const struct user_record *u);
	int (*delete_user)(void *be, const char *name);

	/*
	 * Paging groups: load gives FN each group with its members (one that
	 * lost its members to hand edits is left out); put replaces a group
	 * and its member rows in one transaction; delete removes both (the
	 * schema enforces no foreign key: members are deleted explicitly).
	 */
	int (*load_pages)(void *be, page_load_fn fn, void *ctx);
	int (*put_page)(void *be, const struct page_record *g);
	int (*delete_page)(void *be, const char *name);

	/* Deletes the bindings expired at NOW, then gives FN the others; how many it took, or -1. */
	int (*load_bindings)(void *be, time_t now, binding_load_fn fn, void *ctx);

	/* One batch of binding changes, applied together between begin and commit. */
	int (*begin)(void *be);
	int (*save_binding)(void *be, const struct binding_view *b, time_t expires_at);
	int (*delete_binding)(void *be, const char *aor, const char *contact);
	int (*delete_aor)(void *be, const char *aor);
	/* Bans, in the same batches: one row per source, replaced when saved again. */
	int (*save_ban)(void *be, const struct ban_record *b);
	int (*delete_ban)(void *be, const char *source);
	/* A user's last algorithm, in the same batches (no row: nothing to do). */
	int (*save_user_last_alg)(void *be, const char *name, enum user_last_alg last);
	int (*commit)(void *be);

	/* Conference rooms (issue 17): synchronous, operator-driven; load returns how many FN took. */
	int (*load_rooms)(void *be, room_load_fn fn, void *ctx);
	int (*put_room)(void *be, const struct room_record *r);
	int (*delete_room)(void *be, const char *name);

	/* Deletes the bans over at NOW, then gives FN the others; how many it took, or -1. */
	int (*load_bans)(void *be, time_t now, ban_load_fn fn, void *ctx);
};

extern const struct store_backend_ops store_backend_sqlite;

#endif
