// SPDX-License-Identifier: GPL-2.0
/*
 * The store over its SQLite backend, against a database file in a
 * temporary directory (removed at the end): users, the nonce secret and
 * bindings written, the store closed and opened again, what comes back.
 * Hostile: a file that is not a database, rows edited into nonsense.
 * Schema migration: a database of the first release (no digest columns)
 * opens, keeps its users, and gains the digest setting and last algorithm.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/location.h"
#include "store/store.h"
#include "tap.h"

#define NOW 1700000000

static char dir[] = "/tmp/ksip-test-store-XXXXXX";
static char path[256];

struct loaded_user {
	int n;
	char name[4][128];
	uint8_t md5[4][16];
	uint8_t digest[4], last[4];
};

static int take_user(void *ctx, const struct user_record *u)
{
	struct loaded_user *l = ctx;

	if (l->n >= 4)
		return -1;
	snprintf(l->name[l->n], sizeof(l->name[0]), "%s", u->name);
	memcpy(l->md5[l->n], u->ha1_md5, 16);
	l->digest[l->n] = u->digest;
	l->last[l->n] = u->last_alg;
	l->n++;
	return 0;
}

struct loaded_binding {
	int n;
	struct {
		char aor[64], contact[128], callid[64];
		uint32_t cseq;
		uint16_t q;
		enum ksip_transport transport;
		time_t expires_at;
		struct sockaddr_storage source;
	} b[8];
};

static int take_binding(void *ctx, const struct binding_view *v, time_t expires_at)
{
	struct loaded_binding *l = ctx;

	if (l->n >= 8)
		return -1;
	snprintf(l->b[l->n].aor, sizeof(l->b[0].aor), "%s", v->aor);
	snprintf(l->b[l->n].contact, sizeof(l->b[0].contact), "%s", v->contact);
	snprintf(l->b[l->n].callid, sizeof(l->b[0].callid), "%s", v->callid);
	l->b[l->n].cseq = v->cseq;
	l->b[l->n].q = v->q;
	l->b[l->n].transport = v->transport;
	l->b[l->n].expires_at = expires_at;
	l->b[l->n].source = v->source;
	l->n++;
	return 0;
}

static int find_binding(const struct loaded_binding *l, const char *contact)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->b[i].contact, contact))
			return i;
	return -1;
}

static struct store *open_db(void)
{
	char err[512] = "";
	struct store *s = store_open(&store_backend_sqlite, path, 10, err, sizeof(err));

	if (!s)
		diag("store_open: %s", err);
	return s;
}

static struct binding_view view(const char *aor, const char *contact, const char *callid,
				uint32_t cseq, uint16_t q, const struct sockaddr_in *src)
{
	struct binding_view v = {
		.aor = aor, .contact = contact, .callid = callid, .cseq = cseq, .q = q,
		.transport = KSIP_TCP,
	};

	if (src)
		memcpy(&v.source, src, sizeof(*src));
	return v;
}

static void test_write_reopen(void)
{
	struct user_record alice = { .name = "alice" }, bob = { .name = "bob" };
	struct user_record carl = { .name = "carl" };
	uint8_t secret[32], again[32];
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(5062) };
	struct loaded_user lu = { 0 };
	struct loaded_binding lb = { 0 };
	struct binding_view v;
	struct store *s;
	int i;

	inet_pton(AF_INET, "192.0.2.7", &src.sin_addr);
	memset(alice.ha1_md5, 0xa1, 16);
	memset(alice.ha1_sha256, 0xa2, 32);
	s = open_db();
	ok(s != NULL, "a new database is created");
	if (!s)
		return;
	ok(store_secret(s, secret, sizeof(secret)) == 0, "a nonce secret is made on first start");
	ok(store_user_put(s, "ksip", &alice) == 0 && store_user_put(s, "ksip", &carl) == 0 &&
	   store_user_put(s, "elsewhere", &bob) == 0, "three users saved (one of another realm)");
	ok(store_user_del(s, "carl") == 0, "one deleted again");

	v = view("alice", "sip:alice@192.0.2.7:5062", "cid-1", 4, 500, &src);
	store_queue_upsert(s, &v, NOW + 3600);
	v = view("alice", "sip:alice@192.0.2.8", "cid-2", 1, LOC_Q_NONE, NULL);
	store_queue_upsert(s, &v, NOW + 5);
	v = view("alice", "sip:alice@192.0.2.9", "cid-3", 1, LOC_Q_NONE, NULL);
	store_queue_upsert(s, &v, NOW + 3600);
	store_queue_delete(s, "alice", "sip:alice@192.0.2.9");
	v = view("dora", "sip:dora@192.0.2.10", "cid-4", 1, LOC_Q_NONE, NULL);
	store_queue_upsert(s, &v, NOW + 3600);
	store_queue_delete_aor(s, "dora");
	store_sync(s);
	/* Queued but never synced: store_close() must still write it. */
	v = view("erik", "sip:erik@192.0.2.11", "cid-5", 9, 1000, NULL);
	store_queue_upsert(s, &v, NOW + 3600);
	store_close(s);

	s = open_db();
	ok(s != NULL, "the database opens again");
	if (!s)
		return;
	ok(store_secret(s, again, sizeof(again)) == 0 && !memcmp(secret, again, sizeof(again)),
	   "the same nonce secret comes back");
	ok(store_load_users(s, "ksip", take_user, &lu) == 1 && lu.n == 1 &&
	   !strcmp(lu.name[0], "alice") && lu.md5[0][0] == 0xa1 && lu.md5[0][15] == 0xa1,
	   "users: alice with her HA1; carl deleted, bob of another realm left out");
	ok(store_load_bindings(s, NOW + 10, take_binding, &lb) == 2 && lb.n == 2,
	   "two bindings survive the reopen");
	i = find_binding(&lb, "sip:alice@192.0.2.7:5062");
	ok(i >= 0 && !strcmp(lb.b[i].aor, "alice") && !strcmp(lb.b[i].callid, "cid-1") &&
	   lb.b[i].cseq == 4 && lb.b[i].q == 500 && lb.b[i].transport == KSIP_TCP &&
	   lb.b[i].expires_at == NOW + 3600, "a binding keeps AOR, Call-ID, CSeq, q, transport, expiry");
	ok(i >= 0 && lb.b[i].source.ss_family == AF_INET &&
	   ((struct sockaddr_in *)&lb.b[i].source)->sin_port == htons(5062) &&
	   ((struct sockaddr_in *)&lb.b[i].source)->sin_addr.s_addr == src.sin_addr.s_addr,
	   "and its source address");
	ok(find_binding(&lb, "sip:erik@192.0.2.11") >= 0,
	   "a change still queued at close was written");
	ok(find_binding(&lb, "sip:alice@192.0.2.8") < 0, "an expired binding is dropped on load");
	ok(find_binding(&lb, "sip:alice@192.0.2.9") < 0 && find_binding(&lb, "sip:dora@192.0.2.10") < 0,
	   "deleted bindings and AORs stay deleted");
	memset(&lb, 0, sizeof(lb));
	ok(store_load_bindings(s, 0, take_binding, &lb) == 2 &&
	   find_binding(&lb, "sip:alice@192.0.2.8") < 0,
	   "the expired one was deleted from the disk, not only skipped");
	store_close(s);
}

/* The location table persisting through the store, as main.c wires them. */
static int restore(void *loc, const struct binding_view *b, time_t expires_at)
{
	return location_restore(loc, b, expires_at);
}

static void count(void *ctx, const struct binding_view *b)
{
	(void)b;
	(*(int *)ctx)++;
}

static void test_location_through_store(void)
{
	struct store *s = open_db();
	struct location *l;
	struct loc_contact c = { { "sip:fay@192.0.2.20", 18 }, 600, LOC_Q_NONE };
	struct loc_request rq = {
		.aor = "fay", .callid = { "cid-f", 5 }, .cseq = 1, .contacts = &c, .ncontacts = 1,
		.now = NOW, .transport = KSIP_UDP, .max_contacts = 10,
	};
	int n = 0;

	if (!ok(s != NULL, "store for the location table"))
		return;
	l = location_new(&store_binding_persist, s);
	ok(location_apply(l, &rq, NULL, NULL) == LOC_OK, "a REGISTER applied to the table");
	location_free(l);
	store_close(s);

	s = open_db();
	if (!s)
		return;
	l = location_new(&store_binding_persist, s);
	ok(store_load_bindings(s, NOW, restore, l) == 3, "restored into a new table after a restart");
	ok(location_lookup(l, "fay", NOW, count, &n) == 1 && n == 1, "fay's binding is there");
	ok(location_remove_aor(l, "fay") == 1, "removed by the operator");
	location_free(l);
	store_close(s);

	s = open_db();
	if (!s)
		return;
	l = location_new(NULL, NULL);
	ok(store_load_bindings(s, NOW, restore, l) == 2 && location_lookup(l, "fay", NOW, NULL, NULL) == 0,
	   "and the removal reached the disk");
	location_free(l);
	store_close(s);
}

static void test_hostile(void)
{
	char bad[300], err[512] = "";
	struct loaded_user lu = { 0 };
	struct loaded_binding lb = { 0 };
	struct store *s;
	sqlite3 *db;
	FILE *f;

	/* A file that is not a database: a clean error, not a crash. */
	snprintf(bad, sizeof(bad), "%s/garbage.db", dir);
	f = fopen(bad, "w");
	for (int i = 0; i < 4096; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	s = store_open(&store_backend_sqlite, bad, 10, err, sizeof(err));
	ok(s == NULL && strstr(err, "garbage.db") && strstr(err, "not a database"),
	   "a garbage file is refused with a message (%s)", err);
	store_close(s);
	unlink(bad);

	err[0] = 0;
	snprintf(bad, sizeof(bad), "%s/no/such/dir/x.db", dir);
	ok(store_open(&store_backend_sqlite, bad, 10, err, sizeof(err)) == NULL && err[0],
	   "a path that cannot be created is refused (%s)", err);

	/* Rows edited by hand into nonsense are left out, the others loaded. */
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		sqlite3_exec(db,
			     "INSERT INTO users(name, realm, ha1_md5, ha1_sha256)"
			     " VALUES('mallory','ksip','zz','00');"
			     "INSERT INTO users(name, realm, ha1_md5, ha1_sha256) VALUES('trudy','ksip',"
			     "'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz',"
			     "'0000000000000000000000000000000000000000000000000000000000000000');"
			     "INSERT INTO bindings VALUES('gil','sip:gil@192.0.2.30','c',1,9999999999,"
			     "0,0,'not an endpoint');"
			     "INSERT INTO meta VALUES('other','x');",
			     NULL, NULL, NULL);
		sqlite3_close(db);
	}
	s = open_db();
	if (!ok(s != NULL, "the database with hand-edited rows opens"))
		return;
	ok(store_load_users(s, "ksip", take_user, &lu) == 1 && !strcmp(lu.name[0], "alice"),
	   "users with malformed HA1s are not loaded");
	ok(store_load_bindings(s, NOW, take_binding, &lb) >= 1 && find_binding(&lb, "sip:gil@192.0.2.30") >= 0 &&
	   lb.b[find_binding(&lb, "sip:gil@192.0.2.30")].source.ss_family == 0,
	   "a binding with an unreadable source is loaded without one");
	store_close(s);
	store_close(NULL);
	store_sync(NULL);
}

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	ok(rmdir(dir) == 0, "the temporary directory is removed");
}

struct ban_list {
	struct ban_record b[8];
	int n;
};

static int collect_ban(void *ctx, const struct ban_record *b)
{
	struct ban_list *l = ctx;

	if (l->n == 8)
		return -1;
	l->b[l->n++] = *b;
	return 0;
}

/* Bans go through the writer queue like bindings; load drops those over and gives the rest. */
static void test_bans(void)
{
	struct ban_record r1 = { "192.0.2.1", 1000, 5000, "auth_failures", "" };
	struct ban_record r2 = { "2001:db8::/64", 1000, 1500, "operator", "a scanner, \"quoted\"" };
	struct ban_record r3 = { "198.51.100.9", 1000, 9000, "operator", "lifted" };
	struct ban_list l = { .n = 0 };
	struct store *s = open_db();
	int i;

	store_queue_ban(s, &r1);
	store_queue_ban(s, &r2);
	store_queue_ban(s, &r3);
	r1.until = 6000;	/* saved again: replaced, not doubled */
	store_queue_ban(s, &r1);
	store_queue_unban(s, "198.51.100.9");
	store_close(s);	/* writes what is queued */
	s = open_db();
	ok(store_load_bans(s, 2000, collect_ban, &l) == 1 && l.n == 1,
	   "reopened at 2000: one ban in force (the other over, the third lifted)");
	ok(l.n == 1 && !strcmp(l.b[0].source, "192.0.2.1") && l.b[0].until == 6000 &&
	   l.b[0].added == 1000 && !strcmp(l.b[0].reason, "auth_failures"),
	   "192.0.2.1 until 6000, saved twice: the last one kept");
	l.n = 0;
	store_queue_ban(s, &r2);
	store_sync(s);
	ok(store_load_bans(s, 1200, collect_ban, &l) == 2 && l.n == 2, "both at 1200");
	i = l.n == 2 && !strcmp(l.b[0].source, "192.0.2.1");	/* rows come in no promised order */
	ok(l.n == 2 && !strcmp(l.b[i].note, "a scanner, \"quoted\"") && !strcmp(l.b[i].reason, "operator"),
	   "the operator's note comes back as it went in");
	l.n = 0;
	ok(store_load_bans(s, 6000, collect_ban, &l) == 0 && l.n == 0, "at 6000 nothing is left");
	store_close(s);
}

static int user_index(const struct loaded_user *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], name))
			return i;
	return -1;
}

/* A database made by the first release: users without the digest columns, user_version 0. */
static void test_migration(void)
{
	char old[300], err[512] = "";
	struct loaded_user lu = { 0 };
	struct user_record u = { 0 };
	struct store *s;
	sqlite3 *db;
	sqlite3_stmt *st;
	int version = -1, i;

	snprintf(old, sizeof(old), "%s/old.db", dir);
	ok(sqlite3_open(old, &db) == SQLITE_OK &&
	   sqlite3_exec(db, "CREATE TABLE users(name TEXT PRIMARY KEY, realm TEXT NOT NULL,"
			" ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL);"
			"INSERT INTO users VALUES('olga','ksip','0123456789abcdef0123456789abcdef',"
			"'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');",
			NULL, NULL, NULL) == SQLITE_OK, "a first-release database with user olga");
	sqlite3_close(db);
	s = store_open(&store_backend_sqlite, old, 10, err, sizeof(err));
	if (!ok(s != NULL, "it opens (%s)", err))
		return;
	ok(store_load_users(s, "ksip", take_user, &lu) == 1 && !strcmp(lu.name[0], "olga") &&
	   lu.md5[0][0] == 0x01 && lu.digest[0] == USER_DIGEST_AUTO && lu.last[0] == USER_LAST_NONE,
	   "olga is kept, HA1 and all, as auto with nothing known");
	store_queue_user_last_alg(s, "olga", USER_LAST_SHA256);
	snprintf(u.name, sizeof(u.name), "pat");
	u.digest = USER_DIGEST_MD5;
	ok(store_user_put(s, "ksip", &u) == 0, "a user with --digest md5 is saved");
	store_close(s);

	s = store_open(&store_backend_sqlite, old, 10, err, sizeof(err));
	memset(&lu, 0, sizeof(lu));
	ok(s && store_load_users(s, "ksip", take_user, &lu) == 2, "reopened: both users");
	i = user_index(&lu, "olga");
	ok(i >= 0 && lu.last[i] == USER_LAST_SHA256, "olga's last algorithm was written (SHA-256)");
	i = user_index(&lu, "pat");
	ok(i >= 0 && lu.digest[i] == USER_DIGEST_MD5 && lu.last[i] == USER_LAST_NONE,
	   "pat's setting came back (md5)");
	store_close(s);

	if (sqlite3_open(old, &db) == SQLITE_OK) {
		if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				version = sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
		}
		/* Hand-edited into a setting that does not exist, and a future schema. */
		sqlite3_exec(db, "UPDATE users SET digest='sha1', last_alg='RC4' WHERE name='pat'",
			     NULL, NULL, NULL);
		sqlite3_close(db);
	}
	ok(version == 2, "the schema is at version 2 (%d)", version);
	s = store_open(&store_backend_sqlite, old, 10, err, sizeof(err));
	memset(&lu, 0, sizeof(lu));
	ok(s && store_load_users(s, "ksip", take_user, &lu) == 2 &&
	   (i = user_index(&lu, "pat")) >= 0 && lu.digest[i] == USER_DIGEST_AUTO &&
	   lu.last[i] == USER_LAST_NONE, "an unknown setting or algorithm in a row: auto, none");
	store_close(s);
	if (sqlite3_open(old, &db) == SQLITE_OK) {
		sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	err[0] = 0;
	s = store_open(&store_backend_sqlite, old, 10, err, sizeof(err));
	ok(!s && strstr(err, "schema version 99"),
	   "a database from a newer ksipd is refused, not misread (%s)", err);
	store_close(s);
	unlink(old);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ksip.db", dir);
	test_write_reopen();
	test_location_through_store();
	test_hostile();
	test_bans();
	test_migration();
	remove_dir();
	return tap_done();
}
