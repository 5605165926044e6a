// SPDX-License-Identifier: GPL-2.0
#include "store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "ksip/endpoint.h"
#include "base/log.h"

enum op_kind { OP_UPSERT, OP_DELETE, OP_DELETE_AOR };

/* A queued change: one allocation holding its strings. */
struct store_op {
	struct store_op *next;
	enum op_kind kind;
	int64_t expires;
	uint32_t cseq;
	uint16_t q;
	uint8_t transport;
	char source[64];
	const char *aor, *contact, *callid;
	char data[];
};

struct store {
	sqlite3 *db;
	pthread_mutex_t db_lock;	/* the connection is shared by writer and control */

	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;		/* writer wakes up / sync waits */
	struct store_op *head, *tail;
	uint64_t enqueued, committed;
	bool stop;
	uint32_t flush_ms;
	pthread_t writer;

	sqlite3_stmt *upsert, *del, *del_aor;
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
	" PRIMARY KEY(aor, contact));";

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
		log_err("sqlite: %s: %s", sql, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static void exec_op(struct store *s, const struct store_op *op)
{
	sqlite3_stmt *st;

	switch (op->kind) {
	case OP_UPSERT:
		st = s->upsert;
		sqlite3_bind_text(st, 1, op->aor, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, op->contact, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, op->callid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, op->cseq);
		sqlite3_bind_int64(st, 5, op->expires);
		sqlite3_bind_int(st, 6, op->q);
		sqlite3_bind_int(st, 7, op->transport);
		sqlite3_bind_text(st, 8, op->source, -1, SQLITE_STATIC);
		break;
	case OP_DELETE:
		st = s->del;
		sqlite3_bind_text(st, 1, op->aor, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, op->contact, -1, SQLITE_STATIC);
		break;
	default:
		st = s->del_aor;
		sqlite3_bind_text(st, 1, op->aor, -1, SQLITE_STATIC);
		break;
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		log_err("sqlite: writing binding of %s: %s", op->aor, sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Write one batch in one transaction; returns how many ops it held. */
static uint64_t write_batch(struct store *s, struct store_op *ops)
{
	uint64_t n = 0;
	struct store_op *next;

	pthread_mutex_lock(&s->db_lock);
	sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	for (struct store_op *op = ops; op; op = op->next) {
		exec_op(s, op);
		n++;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		log_err("sqlite: commit: %s", sqlite3_errmsg(s->db));
	pthread_mutex_unlock(&s->db_lock);
	for (; ops; ops = next) {
		next = ops->next;
		free(ops);
	}
	return n;
}

static void *writer_main(void *arg)
{
	struct store *s = arg;

	pthread_mutex_lock(&s->q_lock);
	for (;;) {
		struct store_op *batch;
		uint64_t n;
		struct timespec until;

		if (!s->head && s->stop)
			break;
		if (!s->head) {
			pthread_cond_wait(&s->q_cond, &s->q_lock);
			continue;
		}
		/* Let a batch accumulate, unless someone is waiting in store_sync(). */
		if (!s->stop) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)s->flush_ms * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&s->q_cond, &s->q_lock, &until);
		}
		batch = s->head;
		s->head = s->tail = NULL;
		pthread_mutex_unlock(&s->q_lock);
		n = write_batch(s, batch);
		pthread_mutex_lock(&s->q_lock);
		s->committed += n;
		pthread_cond_broadcast(&s->q_cond);
	}
	pthread_mutex_unlock(&s->q_lock);
	return NULL;
}

struct store *store_open(const char *path, uint32_t flush_ms, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	char *msg = NULL;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", path, msg ? msg : "schema");
		sqlite3_free(msg);
		goto fail;
	}
	if (prepare(s, "INSERT OR REPLACE INTO bindings VALUES(?,?,?,?,?,?,?,?)", &s->upsert) ||
	    prepare(s, "DELETE FROM bindings WHERE aor=? AND contact=?", &s->del) ||
	    prepare(s, "DELETE FROM bindings WHERE aor=?", &s->del_aor)) {
		snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	pthread_mutex_init(&s->db_lock, NULL);
	pthread_mutex_init(&s->q_lock, NULL);
	pthread_cond_init(&s->q_cond, NULL);
	s->flush_ms = flush_ms;
	if (pthread_create(&s->writer, NULL, writer_main, s)) {
		snprintf(err, errlen, "cannot start the database writer");
		goto fail;
	}
	return s;
fail:
	sqlite3_finalize(s->upsert);
	sqlite3_finalize(s->del);
	sqlite3_finalize(s->del_aor);
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->q_lock);
	s->stop = true;
	pthread_cond_broadcast(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
	pthread_join(s->writer, NULL);
	sqlite3_finalize(s->upsert);
	sqlite3_finalize(s->del);
	sqlite3_finalize(s->del_aor);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->db_lock);
	pthread_mutex_destroy(&s->q_lock);
	pthread_cond_destroy(&s->q_cond);
	free(s);
}

void store_sync(struct store *s)
{
	uint64_t target;

	if (!s)
		return;
	pthread_mutex_lock(&s->q_lock);
	target = s->enqueued;
	pthread_cond_broadcast(&s->q_cond);
	while (s->committed < target)
		pthread_cond_wait(&s->q_cond, &s->q_lock);
	pthread_mutex_unlock(&s->q_lock);
}

static void enqueue(struct store *s, struct store_op *op)
{
	pthread_mutex_lock(&s->q_lock);
	op->next = NULL;
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	s->enqueued++;
	if (op == s->head)
		pthread_cond_signal(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
}

static struct store_op *new_op(enum op_kind kind, const char *aor, const char *contact,
			       const char *callid)
{
	size_t la = strlen(aor) + 1, lc = contact ? strlen(contact) + 1 : 1;
	size_t li = callid ? strlen(callid) + 1 : 1;
	struct store_op *op = malloc(sizeof(*op) + la + lc + li);
	char *p;

	if (!op) {
		/* The in-memory table stays right; only the copy on disk lags. */
		log_err("store: out of memory, binding change of %s not persisted", aor);
		return NULL;
	}
	op->kind = kind;
	p = op->data;
	op->aor = memcpy(p, aor, la);
	p += la;
	op->contact = memcpy(p, contact ? contact : "", lc);
	p += lc;
	op->callid = memcpy(p, callid ? callid : "", li);
	op->source[0] = 0;
	return op;
}

void store_queue_upsert(struct store *s, const struct binding_view *b, time_t expires_at)
{
	struct store_op *op;

	if (!s)
		return;
	op = new_op(OP_UPSERT, b->aor, b->contact, b->callid);
	if (!op)
		return;
	op->expires = expires_at;
	op->cseq = b->cseq;
	op->q = b->q;
	op->transport = (uint8_t)b->transport;
	if (b->source.ss_family)
		ksip_format_endpoint(&b->source, op->source,
				sizeof(op->source));
	enqueue(s, op);
}

void store_queue_delete(struct store *s, const char *aor, const char *contact)
{
	struct store_op *op;

	if (!s)
		return;
	op = new_op(OP_DELETE, aor, contact, NULL);
	if (op)
		enqueue(s, op);
}

void store_queue_delete_aor(struct store *s, const char *aor)
{
	struct store_op *op;

	if (!s)
		return;
	op = new_op(OP_DELETE_AOR, aor, NULL, NULL);
	if (op)
		enqueue(s, op);
}

int store_secret(struct store *s, uint8_t *secret, size_t len)
{
	sqlite3_stmt *st;
	int r = -1;

	pthread_mutex_lock(&s->db_lock);
	if (prepare(s, "SELECT value FROM meta WHERE key='nonce_secret'", &st))
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) == len) {
		memcpy(secret, sqlite3_column_blob(st, 0), len);
		r = 0;
	}
	sqlite3_finalize(st);
	if (r == 0)
		goto out;
	if (RAND_bytes(secret, (int)len) != 1)
		goto out;
	if (prepare(s, "INSERT OR REPLACE INTO meta VALUES('nonce_secret', ?)", &st))
		goto out;
	sqlite3_bind_blob(st, 1, secret, (int)len, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&s->db_lock);
	return r;
}

int store_load_users(struct store *s, const char *realm, struct user_table *t)
{
	sqlite3_stmt *st;
	int n = 0, skipped = 0;

	pthread_mutex_lock(&s->db_lock);
	if (prepare(s, "SELECT name, realm, ha1_md5, ha1_sha256 FROM users", &st)) {
		pthread_mutex_unlock(&s->db_lock);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct user_record u;
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *urealm = (const char *)sqlite3_column_text(st, 1);
		const char *md5 = (const char *)sqlite3_column_text(st, 2);
		const char *sha = (const char *)sqlite3_column_text(st, 3);

		if (!name || !urealm || !md5 || !sha || strlen(name) >= sizeof(u.name) ||
		    strlen(md5) != 32 || strlen(sha) != 64)
			continue;
		/* HA1 covers the realm: users of another realm cannot log in here. */
		if (strcmp(urealm, realm)) {
			skipped++;
			continue;
		}
		snprintf(u.name, sizeof(u.name), "%s", name);
		if (!hex_decode(md5, 16, u.ha1_md5) || !hex_decode(sha, 32, u.ha1_sha256))
			continue;
		if (users_put(t, &u) == 0)
			n++;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->db_lock);
	if (skipped)
		log_warn("%d users belong to another realm than '%s' and were not loaded; "
			 "set their passwords again", skipped, realm);
	return n;
}

int store_load_bindings(struct store *s, struct location *l, time_t now)
{
	sqlite3_stmt *st;
	int n = 0;

	pthread_mutex_lock(&s->db_lock);
	sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	if (prepare(s, "DELETE FROM bindings WHERE expires <= ?", &st) == 0) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (prepare(s, "SELECT aor, contact, callid, cseq, expires, q, transport, source "
		    "FROM bindings", &st)) {
		pthread_mutex_unlock(&s->db_lock);
		return -1;
	}
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
		if (location_restore(l, &v, (time_t)sqlite3_column_int64(st, 4)) == 0)
			n++;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->db_lock);
	return n;
}

int store_user_put(struct store *s, const char *realm, const struct user_record *u)
{
	sqlite3_stmt *st;
	char md5[33], sha[65];
	int r;

	hex_encode(u->ha1_md5, 16, md5);
	hex_encode(u->ha1_sha256, 32, sha);
	pthread_mutex_lock(&s->db_lock);
	if (prepare(s, "INSERT OR REPLACE INTO users VALUES(?,?,?,?)", &st)) {
		pthread_mutex_unlock(&s->db_lock);
		return -1;
	}
	sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, realm, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, md5, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sha, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (r)
		log_err("sqlite: saving user %s: %s", u->name, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->db_lock);
	return r;
}

int store_user_del(struct store *s, const char *name)
{
	sqlite3_stmt *st;
	int r;

	pthread_mutex_lock(&s->db_lock);
	if (prepare(s, "DELETE FROM users WHERE name=?", &st)) {
		pthread_mutex_unlock(&s->db_lock);
		return -1;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->db_lock);
	return r;
}
