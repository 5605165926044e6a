// SPDX-License-Identifier: GPL-2.0
/*
 * The user table's nonces in use (store/users.c): each (nonce, nc) accepted
 * once over the nonce's life, out-of-order nc inside the 64-wide window,
 * caps that drop the oldest nonce without ever accepting it again, expiry.
 * The digest setting and last algorithm per user: remembered, reported to
 * the persist ops only when changed, and decoys for names that are no user.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "store/users.h"

#define T0 1700000000
#define LIFE 3600

static struct user_table *t;

static void add(const char *name)
{
	struct user_record r = { 0 };

	snprintf(r.name, sizeof(r.name), "%s", name);
	users_put(t, &r);
}

static enum nonce_verdict use(const char *user, uint64_t counter, uint32_t nc, time_t now)
{
	struct nonce_id id = { .counter = counter, .minted = T0 };

	return users_nonce_use(t, user, &id, LIFE, nc, now);
}

static uint64_t tracked(void)
{
	struct users_nonce_usage u;

	users_nonce_usage(t, &u);
	return u.tracked;
}

static void test_window(void)
{
	int accepted = 0;

	ok(tracked() == 0, "no nonce in use costs nothing");
	ok(use("alice", 1, 1, T0) == NONCE_USE_OK && tracked() == 1, "first use: accepted, tracked");
	ok(use("alice", 1, 1, T0) == NONCE_USE_REPLAY, "the same (nonce, nc) again: replay");
	ok(use("alice", 1, 0, T0) == NONCE_USE_REPLAY, "nc 0 is never valid");
	ok(use("alice", 1, 2, T0) == NONCE_USE_OK, "nc 2 accepted");
	for (uint32_t nc = 3; nc < 1000; nc++)
		accepted += use("alice", 1, nc, T0 + nc) == NONCE_USE_OK;
	ok(accepted == 997, "997 refreshes on one nonce, each accepted");
	for (uint32_t nc = 1; nc < 1000; nc++)
		accepted += use("alice", 1, nc, T0 + 1000) == NONCE_USE_OK;
	ok(accepted == 997, "replaying any of them, old or recent, is refused");
	ok(use("alice", 1, 1100, T0) == NONCE_USE_OK, "nc far ahead accepted");
	ok(use("alice", 1, 1100 - 63, T0) == NONCE_USE_OK, "an older nc inside the window accepted once");
	ok(use("alice", 1, 1100 - 63, T0) == NONCE_USE_REPLAY, "and not twice");
	ok(use("alice", 1, 1100 - 64, T0) == NONCE_USE_REPLAY, "below the window: refused");
	ok(use("alice", 1, 1050, T0) == NONCE_USE_OK && use("alice", 1, 1050, T0) == NONCE_USE_REPLAY,
	   "out of order inside the window: once");
	ok(use("bob", 1, 1, T0) == NONCE_USE_OK, "another user answering the same nonce has its own window");
	ok(use("mallory", 7, 1, T0) == NONCE_USE_REPLAY && tracked() == 2,
	   "no such user: refused, nothing tracked");
}

static void test_caps(void)
{
	int ok_all = 1;

	users_nonce_limits(t, 4, 64);
	for (uint64_t c = 100; c < 104; c++)
		ok_all &= use("carol", c, 1, T0) == NONCE_USE_OK;
	ok(ok_all, "carol uses 4 nonces, the per-user cap");
	ok(use("carol", 104, 1, T0) == NONCE_USE_OK, "a fifth: accepted, the oldest dropped");
	ok(use("carol", 100, 2, T0) == NONCE_USE_DROPPED, "the dropped nonce is refused (as stale)");
	ok(use("carol", 100, 1, T0) == NONCE_USE_DROPPED, "with any nc: dropping never reopens replay");
	ok(use("carol", 101, 2, T0) == NONCE_USE_OK, "the others keep their windows");
	ok(use("carol", 99, 1, T0) == NONCE_USE_DROPPED, "an older nonce never used: refused too");
	ok(use("carol", 200, 1, T0) == NONCE_USE_OK, "a newer one: accepted");

	/* The global cap: 64 over 16 shards, 4 per shard. */
	add("dave");
	add("erin");
	users_nonce_limits(t, 1000, 16);
	for (uint64_t c = 300; c < 340; c++)
		use(c & 1 ? "dave" : "erin", c, 1, T0);
	{
		struct users_nonce_usage u;

		users_nonce_usage(t, &u);
		ok(u.tracked <= 16 + 8 && u.evicted > 0, "global cap holds (%llu tracked, %llu dropped)",
		   (unsigned long long)u.tracked, (unsigned long long)u.evicted);
	}
	ok(use("dave", 301, 2, T0) == NONCE_USE_DROPPED, "a nonce dropped at the global cap is refused");
	ok(use("dave", 339, 2, T0) == NONCE_USE_OK, "the newest is still tracked");
}

static void test_expire(void)
{
	struct nonce_id id = { .counter = 1000, .minted = T0 };

	users_nonce_limits(t, 0, 0);
	ok(users_nonces_expire(t, T0 + LIFE) == 0, "nothing freed while nonces are fresh");
	ok(users_nonces_expire(t, T0 + LIFE + 1) > 0 && tracked() == 0, "all freed once stale");
	ok(users_nonce_use(t, "dave", &id, LIFE, 1, T0) == NONCE_USE_OK, "dave uses a nonce");
	ok(users_del(t, "dave") && tracked() == 0, "deleting dave frees his nonces");
	add("dave");
	ok(users_nonce_use(t, "dave", &id, LIFE, 2, T0) == NONCE_USE_DROPPED,
	   "dave re-added: his old nonce is not accepted again");
}

static int saved;
static char saved_name[128];
static enum user_last_alg saved_last;

static void save_last_alg(void *arg, const char *name, enum user_last_alg last)
{
	(void)arg;
	saved++;
	snprintf(saved_name, sizeof(saved_name), "%s", name);
	saved_last = last;
}

static const struct users_persist_ops persist = { .save_last_alg = save_last_alg };

static void add_kind(const char *name, enum user_digest d, enum user_last_alg last)
{
	struct user_record r = { 0 };

	snprintf(r.name, sizeof(r.name), "%s", name);
	r.digest = (uint8_t)d;
	r.last_alg = (uint8_t)last;
	users_put(t, &r);
}

static void test_digest_settings(void)
{
	struct user_table *keep = t;
	struct user_record r;
	enum user_digest d;
	enum user_last_alg l;
	int md5_only = 0, stable = 1, n = 400;
	uint64_t key[2] = { 0x1234, 0x5678 };

	t = users_new();
	users_set_persist(t, &persist, NULL);
	ok(!users_digest_of(t, "nobody", &d, &l) && d == USER_DIGEST_AUTO && l == USER_LAST_NONE,
	   "an empty table: an unknown name looks like a new auto user");
	add_kind("erin", USER_DIGEST_AUTO, USER_LAST_NONE);
	ok(users_digest_of(t, "erin", &d, &l) && d == USER_DIGEST_AUTO && l == USER_LAST_NONE,
	   "a new user: auto, nothing known");
	users_note_alg(t, "erin", USER_LAST_SHA256);
	ok(saved == 1 && !strcmp(saved_name, "erin") && saved_last == USER_LAST_SHA256,
	   "the first success is reported for persistence");
	users_note_alg(t, "erin", USER_LAST_SHA256);
	users_note_alg(t, "erin", USER_LAST_SHA256);
	ok(saved == 1, "the same algorithm again: nothing to write");
	users_note_alg(t, "erin", USER_LAST_MD5);
	ok(saved == 2 && users_digest_of(t, "erin", &d, &l) && l == USER_LAST_MD5,
	   "another algorithm: remembered and reported");
	users_note_alg(t, "nobody", USER_LAST_MD5);
	users_note_alg(t, "erin", (enum user_last_alg)99);
	ok(saved == 2, "an unknown name or a value out of range changes nothing");
	ok(users_get(t, "erin", &r) && r.digest == USER_DIGEST_AUTO && r.last_alg == USER_LAST_MD5,
	   "users_get returns the record with both");
	r.digest = USER_DIGEST_SHA256;
	users_put(t, &r);
	ok(users_digest_of(t, "erin", &d, &l) && d == USER_DIGEST_SHA256, "users_put replaces them");
	r.digest = 200;
	r.last_alg = 200;
	users_put(t, &r);
	ok(users_digest_of(t, "erin", &d, &l) && d == USER_DIGEST_AUTO && l == USER_LAST_NONE,
	   "out-of-range values from a record are taken as auto, nothing known");
	users_free(t);

	/* Decoys: three auto users with nothing known, one remembered MD5. */
	t = users_new();
	users_decoy_key(t, key);
	add_kind("u1", USER_DIGEST_AUTO, USER_LAST_NONE);
	add_kind("u2", USER_DIGEST_AUTO, USER_LAST_NONE);
	add_kind("u3", USER_DIGEST_AUTO, USER_LAST_SHA256);
	add_kind("u4", USER_DIGEST_AUTO, USER_LAST_MD5);
	for (int i = 0; i < n; i++) {
		char name[32];
		enum user_digest d2;
		enum user_last_alg l2;

		snprintf(name, sizeof(name), "guess%d", i);
		users_digest_of(t, name, &d, &l);
		users_digest_of(t, name, &d2, &l2);
		stable &= d == d2 && l == l2 && d == USER_DIGEST_AUTO;
		md5_only += l == USER_LAST_MD5;
	}
	ok(stable, "an unknown name always gets the same decoy, drawn from the users' kinds");
	ok(md5_only > n / 8 && md5_only < n * 3 / 8,
	   "in the users' proportions: %d of %d unknown names look like the MD5 user (1 in 4)",
	   md5_only, n);
	users_del(t, "u4");
	md5_only = 0;
	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "guess%d", i);
		users_digest_of(t, name, &d, &l);
		md5_only += l == USER_LAST_MD5;
	}
	ok(md5_only == 0, "the MD5 user deleted: no decoy looks like it any more");
	users_free(t);
	t = keep;
}

/*
 * Nonce records come in chunks (users.c): a record is 64 bytes and no
 * more, and the records of stale nonces serve the next ones instead of
 * taking more memory.
 */
static void test_records(void)
{
	struct users_nonce_usage u1, u2, u3;
	const uint64_t n = 5000;
	int ok1 = 1, ok2 = 1;

	users_nonce_limits(t, 0, 0);
	add("fay");
	for (uint64_t c = 0; c < n; c++)
		ok1 &= use("fay", 5000 + c, 1, T0) == NONCE_USE_OK;
	users_nonce_usage(t, &u1);
	/* 5,000 records in chunks of 63 over 16 shards, and the hash buckets (8 to 16 bytes each). */
	ok(ok1 && u1.tracked == n && u1.bytes <= n * 64 + 16 * 4040 + n * 16,
	   "5,000 nonces in use: %llu bytes, %.1f a nonce with its bucket",
	   (unsigned long long)u1.bytes, (double)u1.bytes / n);
	ok(users_nonces_expire(t, T0 + LIFE + 1) >= (int)n && tracked() == 0,
	   "all stale, all released");
	users_nonce_usage(t, &u2);
	for (uint64_t c = 0; c < n; c++)
		ok2 &= use("fay", 20000 + c, 1, T0 + LIFE + 2) == NONCE_USE_OK;
	users_nonce_usage(t, &u3);
	ok(ok2 && u3.tracked == n && u3.bytes == u1.bytes && u2.bytes == u1.bytes,
	   "5,000 new nonces reuse those records: no byte more (%llu, %llu, %llu)",
	   (unsigned long long)u1.bytes, (unsigned long long)u2.bytes,
	   (unsigned long long)u3.bytes);
	users_nonces_expire(t, T0 + 2 * LIFE + 3);
}

int main(void)
{
	t = users_new();
	add("alice");
	add("bob");
	add("carol");
	test_window();
	test_caps();
	test_expire();
	test_records();
	test_digest_settings();
	users_free(t);
	return tap_done();
}
