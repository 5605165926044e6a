// SPDX-License-Identifier: GPL-2.0
/*
 * The SQLite backend (WAL): tables users, bindings, bans and meta (the
 * nonce secret), migrated by PRAGMA user_version. store.c calls these one
 * at a time under its backend lock.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ksip/endpoint.h"
#include "sip/digest.h"
#include "store/backend.h"
#include "store/users.h"

struct sqlite_backend {
	sqlite3 *db;
	sqlite3_stmt *upsert, *del, *del_aor;	/* the writer's statements, prepared once */
	sqlite3_stmt *ban, *unban;
	sqlite3_stmt *user_alg;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"PRAGMA cache_size=-1024;"
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS users(name TEXT PRIMARY KEY, realm TEXT NOT NULL,"
	" ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS bindings(aor TEXT NOT NULL, contact TEXT NOT NULL,"
	" callid TEXT NOT NULL, cseq INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" q INTEGER NOT NULL, transport INTEGER NOT NULL, source TEXT NOT NULL,"
	" PRIMARY KEY(aor, contact));"
	"CREATE TABLE IF NOT EXISTS bans(source TEXT PRIMARY KEY, added INTEGER NOT NULL,"
	" until INTEGER NOT NULL, reason TEXT NOT NULL, note TEXT NOT NULL);";

/*
 * Schema changes since the first release, by PRAGMA user_version: step I
 * takes a database of version I to I + 1, in one transaction. A new
 * database is made with the first schema above and migrated like an old
 * one, so both end up the same.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the digest setting and last algorithm per user (issue 14). */
	"ALTER TABLE users ADD COLUMN digest TEXT NOT NULL DEFAULT 'auto';"
	"ALTER TABLE users ADD COLUMN last_alg TEXT NOT NULL DEFAULT '';",
	/*
	 * 1 -> 2: multiparty (issue 17): conference rooms (pin '' = none,
	 * max_members 0 = the configured default) and paging groups.
	 */
	"CREATE TABLE rooms(name TEXT PRIMARY KEY, pin TEXT NOT NULL DEFAULT '',"
	" max_members INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE page_groups(name TEXT PRIMARY KEY);"
	"CREATE TABLE page_members(grp TEXT NOT NULL"
	", member TEXT NOT NULL, PRIMARY KEY(grp, member));",
};

#define SCHEMA_VERSION (int)(sizeof(migrations) / sizeof(migrations[0]))

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	char *msg = NULL, sql[64];
	int version = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version < 0 || version > SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %d, this ksipd knows up to %d", version,
			 SCHEMA_VERSION);
		return -1;
	}
	for (; version < SCHEMA_VERSION; version++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d;", version + 1);
		if (sqlite3_exec(db, "BEGIN", NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, migrations[version], NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "migrating the schema to version %d: %s", version + 1,
				 msg ? msg : "failed");
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		log_info("database schema migrated to version %d", version + 1);
	}
	return 0;
}

static int prepare(struct sqlite_backend *b, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(b->db, sql, -1, st, NULL) != SQLITE_OK) {
		log_err("sqlite: %s: %s", sql, sqlite3_errmsg(b->db));
		return -1;
	}
	return 0;
}

static void sqlite_close(void *be)
{
	struct sqlite_backend *b = be;

	if (!b)
		return;
	sqlite3_finalize(b->upsert);
	sqlite3_finalize(b->del);
	sqlite3_finalize(b->del_aor);
	sqlite3_finalize(b->ban);
	sqlite3_finalize(b->unban);
	sqlite3_finalize(b->user_alg);
	sqlite3_close(b->db);
	free(b);
}

static void *sqlite_open(const char *path, char *err, size_t errlen)
{
	struct sqlite_backend *b = calloc(1, sizeof(*b));
	char *msg = NULL;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", path,
			 b->db ? sqlite3_errmsg(b->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(b->db, 5000);
	/* A file that is not a database ("file is not a database") fails here. */
	if (sqlite3_exec(b->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", path, msg ? msg : "schema");
		sqlite3_free(msg);
		goto fail;
	}
	if (migrate(b->db, err, errlen)) {
		char what[200];

		snprintf(what, sizeof(what), "%s", err);
		snprintf(err, errlen, "database %s: %s", path, what);
		goto fail;
	}
	if (prepare(b, "INSERT OR REPLACE INTO bindings VALUES(?,?,?,?,?,?,?,?)", &b->upsert) ||
	    prepare(b, "DELETE FROM bindings WHERE aor=? AND contact=?", &b->del) ||
	    prepare(b, "DELETE FROM bindings WHERE aor=?", &b->del_aor) ||
	    prepare(b, "INSERT OR REPLACE INTO bans VALUES(?,?,?,?,?)", &b->ban) ||
	    prepare(b, "DELETE FROM bans WHERE source=?", &b->unban) ||
	    prepare(b, "UPDATE users SET last_alg=? WHERE name=?", &b->user_alg)) {
		snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(b->db));
		goto fail;
	}
	return b;
fail:
	sqlite_close(b);
	return NULL;
}

static int sqlite_load_secret(void *be, uint8_t *secret, size_t len)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int r = 1;

	if (prepare(b, "SELECT value FROM meta WHERE key='nonce_secret'", &st))
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) == len) {
		memcpy(secret, sqlite3_column_blob(st, 0), len);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int sqlite_save_secret(void *be, const uint8_t *secret, size_t len)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int r;

	if (prepare(b, "INSERT OR REPLACE INTO meta VALUES('nonce_secret', ?)", &st))
		return -1;
	sqlite3_bind_blob(st, 1, secret, (int)len, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

/* Other secrets in meta, by KEY (the Record-Route key: proxy/authorize.c). */
static int sqlite_load_meta(void *be, const char *key, uint8_t *buf, size_t len)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int r = 1;

	if (prepare(b, "SELECT value FROM meta WHERE key=?", &st))
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) == len) {
		memcpy(buf, sqlite3_column_blob(st, 0), len);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int sqlite_save_meta(void *be, const char *key, const uint8_t *buf, size_t len)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int r;

	if (prepare(b, "INSERT OR REPLACE INTO meta VALUES(?, ?)", &st))
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, buf, (int)len, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

static int sqlite_load_users(void *be, backend_user_fn fn, void *ctx)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int n = 0;

	if (prepare(b, "SELECT name, realm, ha1_md5, ha1_sha256, digest, last_alg FROM users", &st))
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct user_record u = { 0 };
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *realm = (const char *)sqlite3_column_text(st, 1);
		const char *md5 = (const char *)sqlite3_column_text(st, 2);
		const char *sha = (const char *)sqlite3_column_text(st, 3);
		const char *digest = (const char *)sqlite3_column_text(st, 4);
		int d = digest ? user_digest_parse(digest) : -1;

		/* A row edited by hand into nonsense is left out, not trusted. */
		if (!name || !realm || !md5 || !sha || strlen(name) >= sizeof(u.name) ||
		    strlen(md5) != 32 || strlen(sha) != 64)
			continue;
		snprintf(u.name, sizeof(u.name), "%s", name);
		if (!hex_decode(md5, 16, u.ha1_md5) || !hex_decode(sha, 32, u.ha1_sha256))
			continue;
		if (d < 0)
			log_warn("user %s: unknown digest setting '%s', auto applies", name,
				 digest ? digest : "");
		u.digest = (uint8_t)(d < 0 ? USER_DIGEST_AUTO : d);
		u.last_alg = (uint8_t)user_last_alg_parse((const char *)sqlite3_column_text(st, 5));
		if (fn(ctx, realm, &u) == 0)
			n++;
	}
	sqlite3_finalize(st);
	return n;
}

static int sqlite_put_user(void *be, const char *realm, const struct user_record *u)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	char md5[33], sha[65];
	int r;

	hex_encode(u->ha1_md5, 16, md5);
	hex_encode(u->ha1_sha256, 32, sha);
	if (prepare(b, "INSERT OR REPLACE INTO users(name, realm, ha1_md5, ha1_sha256, digest,"
		    " last_alg) VALUES(?,?,?,?,?,?)", &st))
		return -1;
	sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, realm, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, md5, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, user_digest_name((enum user_digest)u->digest), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, user_last_alg_name((enum user_last_alg)u->last_alg), -1,
			  SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (r)
		log_err("sqlite: saving user %s: %s", u->name, sqlite3_errmsg(b->db));
	sqlite3_finalize(st);
	return r;
}

/* Rows ordered by group: each run of one group's rows becomes one record. */
static int sqlite_load_pages(void *be, page_load_fn fn, void *ctx)
{
	struct sqlite_backend *b = be;
	struct page_record *g = calloc(1, sizeof(*g));
	sqlite3_stmt *st;
	int n = 0;

	if (!g || prepare(b, "SELECT g.name, m.member FROM page_groups g JOIN page_members m"
			  " ON m.grp = g.name ORDER BY g.name, m.member", &st)) {
		free(g);
		return -1;
	}
	for (;;) {
		bool row = sqlite3_step(st) == SQLITE_ROW;
		const char *name = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
		const char *member = row ? (const char *)sqlite3_column_text(st, 1) : NULL;

		if (g->n && (!row || !name || strcmp(name, g->name))) {
			if (fn(ctx, g) == 0)
				n++;
			memset(g, 0, sizeof(*g));
		}
		if (!row)
			break;
		/* A row edited by hand into nonsense is left out, not trusted. */
		if (!name || !member || strlen(name) >= sizeof(g->name) ||
		    strlen(member) >= sizeof(g->member[0]) || g->n >= PAGE_MEMBERS_MAX)
			continue;
		snprintf(g->name, sizeof(g->name), "%s", name);
		snprintf(g->member[g->n++], sizeof(g->member[0]), "%s", member);
	}
	sqlite3_finalize(st);
	free(g);
	return n;
}

static int exec_name(struct sqlite_backend *b, const char *sql, const char *a, const char *c)
{
	sqlite3_stmt *st;
	int r;

	if (prepare(b, sql, &st))
		return -1;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (c)
		sqlite3_bind_text(st, 2, c, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

static int sqlite_delete_page(void *be, const char *name)
{
	struct sqlite_backend *b = be;
	int r;

	if (sqlite3_exec(b->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	r = exec_name(b, "DELETE FROM page_members WHERE grp=?", name, NULL) |
	    exec_name(b, "DELETE FROM page_groups WHERE name=?", name, NULL);
	if (sqlite3_exec(b->db, r ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = -1;
	return r;
}

static int sqlite_put_page(void *be, const struct page_record *g)
{
	struct sqlite_backend *b = be;
	int r;

	if (sqlite3_exec(b->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	r = exec_name(b, "DELETE FROM page_members WHERE grp=?", g->name, NULL) |
	    exec_name(b, "INSERT OR REPLACE INTO page_groups(name) VALUES(?)", g->name, NULL);
	for (unsigned int i = 0; i < g->n && !r; i++)
		r = exec_name(b, "INSERT INTO page_members(grp, member) VALUES(?,?)", g->name,
			      g->member[i]);
	if (r)
		log_err("sqlite: saving paging group %s: %s", g->name, sqlite3_errmsg(b->db));
	if (sqlite3_exec(b->db, r ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = -1;
	return r;
}

static int sqlite_delete_user(void *be, const char *name)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int r;

	if (prepare(b, "DELETE FROM users WHERE name=?", &st))
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}

/* --- conference rooms (schema v2) --- */

static int sqlite_load_rooms(void *be, room_load_fn fn, void *ctx)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int n = 0;

	if (prepare(b, "SELECT name, pin, max_members FROM rooms", &st))
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct room_record r = { 0 };
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *pin = (const char *)sqlite3_column_text(st, 1);
		sqlite3_int64 max = sqlite3_column_int64(st, 2);

		/* A row edited by hand into nonsense is left out, not trusted. */
		if (!name || !pin || !*name || strlen(name) >= sizeof(r.name) ||
		    strlen(pin) > ROOM_PIN_MAX || strspn(pin, "0123456789") != strlen(pin) ||
		    max < 0 || max > 1000) {
			log_warn("sqlite: room row '%s' is malformed, left out", name ? name : "");
			continue;
		}
		snprintf(r.name, sizeof(r.name), "%s", name);
		snprintf(r.pin, sizeof(r.pin), "%s", pin);
		r.max_members = (uint32_t)max;
		if (fn(ctx, &r) == 0)
			n++;
	}
	sqlite3_finalize(st);
	return n;
}

static int sqlite_put_room(void *be, const struct room_record *r)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int rc;

	if (prepare(b, "INSERT OR REPLACE INTO rooms(name, pin, max_members) VALUES(?,?,?)", &st))
		return -1;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->pin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->max_members);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (rc)
		log_err("sqlite: saving room %s: %s", r->name, sqlite3_errmsg(b->db));
	sqlite3_finalize(st);
	return rc;
}

static int sqlite_delete_room(void *be, const char *name)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int rc;

	if (prepare(b, "DELETE FROM rooms WHERE name=?", &st))
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

static int sqlite_load_bindings(void *be, time_t now, binding_load_fn fn, void *ctx)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int n = 0;

	sqlite3_exec(b->db, "BEGIN", NULL, NULL, NULL);
	if (prepare(b, "DELETE FROM bindings WHERE expires <= ?", &st) == 0) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL);
	if (prepare(b, "SELECT aor, contact, callid, cseq, expires, q, transport, source "
		    "FROM bindings", &st))
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct binding_view v = { 0 };
		const char *src = (const char *)sqlite3_column_text(st, 7);

		v.aor = (const char *)sqlite3_column_text(st, 0);
		v.contact = (const char *)sqlite3_column_text(st, 1);
		v.callid = (const char *)sqlite3_column_text(st, 2);
		if (!v.aor || !v.contact || !v.callid)
			continue;
		v.cseq = (uint32_t)sqlite3_column_int64(st, 3);
		v.q = (uint16_t)sqlite3_column_int(st, 5);
		v.transport = (enum ksip_transport)sqlite3_column_int(st, 6);
		if (src && *src && ksip_parse_endpoint(src, false, &v.source))
			memset(&v.source, 0, sizeof(v.source));
		if (fn(ctx, &v, (time_t)sqlite3_column_int64(st, 4)) == 0)
			n++;
	}
	sqlite3_finalize(st);
	return n;
}

static int sqlite_begin(void *be)
{
	struct sqlite_backend *b = be;

	return sqlite3_exec(b->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int sqlite_commit(void *be)
{
	struct sqlite_backend *b = be;

	if (sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_err("sqlite: commit: %s", sqlite3_errmsg(b->db));
		return -1;
	}
	return 0;
}

/* Run a prepared writer statement once and make it ready for the next. */
static int step_reset(struct sqlite_backend *b, sqlite3_stmt *st, const char *aor)
{
	int r = 0;

	if (sqlite3_step(st) != SQLITE_DONE) {
		log_err("sqlite: writing the row of %s: %s", aor, sqlite3_errmsg(b->db));
		r = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int sqlite_save_binding(void *be, const struct binding_view *v, time_t expires_at)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st = b->upsert;
	char source[64] = "";

	if (v->source.ss_family)
		ksip_format_endpoint(&v->source, source, sizeof(source));
	sqlite3_bind_text(st, 1, v->aor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v->contact, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, v->callid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, v->cseq);
	sqlite3_bind_int64(st, 5, expires_at);
	sqlite3_bind_int(st, 6, v->q);
	sqlite3_bind_int(st, 7, (int)v->transport);
	sqlite3_bind_text(st, 8, source, -1, SQLITE_STATIC);
	return step_reset(b, st, v->aor);
}

static int sqlite_delete_binding(void *be, const char *aor, const char *contact)
{
	struct sqlite_backend *b = be;

	sqlite3_bind_text(b->del, 1, aor, -1, SQLITE_STATIC);
	sqlite3_bind_text(b->del, 2, contact, -1, SQLITE_STATIC);
	return step_reset(b, b->del, aor);
}

static int sqlite_delete_aor(void *be, const char *aor)
{
	struct sqlite_backend *b = be;

	sqlite3_bind_text(b->del_aor, 1, aor, -1, SQLITE_STATIC);
	return step_reset(b, b->del_aor, aor);
}

static int sqlite_save_ban(void *be, const struct ban_record *r)
{
	struct sqlite_backend *b = be;

	sqlite3_bind_text(b->ban, 1, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(b->ban, 2, r->added);
	sqlite3_bind_int64(b->ban, 3, r->until);
	sqlite3_bind_text(b->ban, 4, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(b->ban, 5, r->note, -1, SQLITE_STATIC);
	return step_reset(b, b->ban, r->source);
}

static int sqlite_delete_ban(void *be, const char *source)
{
	struct sqlite_backend *b = be;

	sqlite3_bind_text(b->unban, 1, source, -1, SQLITE_STATIC);
	return step_reset(b, b->unban, source);
}

static int sqlite_save_user_last_alg(void *be, const char *name, enum user_last_alg last)
{
	struct sqlite_backend *b = be;

	sqlite3_bind_text(b->user_alg, 1, user_last_alg_name(last), -1, SQLITE_STATIC);
	sqlite3_bind_text(b->user_alg, 2, name, -1, SQLITE_STATIC);
	return step_reset(b, b->user_alg, name);
}

static int sqlite_load_bans(void *be, time_t now, ban_load_fn fn, void *ctx)
{
	struct sqlite_backend *b = be;
	sqlite3_stmt *st;
	int n = 0;

	if (prepare(b, "DELETE FROM bans WHERE until <= ?", &st) == 0) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (prepare(b, "SELECT source, added, until, reason, note FROM bans", &st))
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ban_record r = { 0 };
		const char *src = (const char *)sqlite3_column_text(st, 0);
		const char *reason = (const char *)sqlite3_column_text(st, 3);
		const char *note = (const char *)sqlite3_column_text(st, 4);

		/* Text edited by hand into something too long is left out; the caller parses the rest. */
		if (!src || !reason || strlen(src) >= sizeof(r.source) ||
		    strlen(reason) >= sizeof(r.reason))
			continue;
		snprintf(r.source, sizeof(r.source), "%s", src);
		snprintf(r.reason, sizeof(r.reason), "%s", reason);
		snprintf(r.note, sizeof(r.note), "%s", note ? note : "");
		r.added = sqlite3_column_int64(st, 1);
		r.until = sqlite3_column_int64(st, 2);
		if (fn(ctx, &r) == 0)
			n++;
	}
	sqlite3_finalize(st);
	return n;
}

const struct store_backend_ops store_backend_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.load_secret = sqlite_load_secret,
	.save_secret = sqlite_save_secret,
	.load_meta = sqlite_load_meta,
	.save_meta = sqlite_save_meta,
	.load_users = sqlite_load_users,
	.put_user = sqlite_put_user,
	.delete_user = sqlite_delete_user,
	.load_pages = sqlite_load_pages,
	.put_page = sqlite_put_page,
	.delete_page = sqlite_delete_page,
	.load_bindings = sqlite_load_bindings,
	.begin = sqlite_begin,
	.save_binding = sqlite_save_binding,
	.delete_binding = sqlite_delete_binding,
	.delete_aor = sqlite_delete_aor,
	.save_ban = sqlite_save_ban,
	.delete_ban = sqlite_delete_ban,
	.save_user_last_alg = sqlite_save_user_last_alg,
	.load_bans = sqlite_load_bans,
	.load_rooms = sqlite_load_rooms,
	.put_room = sqlite_put_room,
	.delete_room = sqlite_delete_room,
	.commit = sqlite_commit,
};
