// SPDX-License-Identifier: GPL-2.0
/*
 * The user table's nonces in use (store/users.c): each (nonce, nc) accepted
 * once over the nonce's life, out-of-order nc inside the 64-wide window,
 * caps that drop the oldest nonce without ever accepting it again, expiry.
 */
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

int main(void)
{
	t = users_new();
	add("alice");
	add("bob");
	add("carol");
	test_window();
	test_caps();
	test_expire();
	users_free(t);
	return tap_done();
}
