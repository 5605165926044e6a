// SPDX-License-Identifier: GPL-2.0
/*
 * The shield alone (linked with base/ and sip/ only), on a fake clock: the
 * ban list, failed-auth counting per source and per user, the per-source
 * token bucket, and that every table stays the size it was made.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "shield/shield.h"

static const struct shield_params defaults = {
	.ban_time = 600, .auth_fail_limit = 10, .auth_fail_window = 60,
	.source_rate = 20, .source_burst = 50, .table_size = 1024,
};

static struct shield_addr v4(const char *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct shield_addr k;

	inet_pton(AF_INET, s, &sin.sin_addr);
	shield_addr_from(&k, (struct sockaddr *)&sin);
	return k;
}

static struct shield_addr v6(const char *s)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct shield_addr k;

	inet_pton(AF_INET6, s, &sin6.sin6_addr);
	shield_addr_from(&k, (struct sockaddr *)&sin6);
	return k;
}

static bool same(struct shield_addr a, struct shield_addr b)
{
	return a.family == b.family && a.prefix == b.prefix;
}

/* The observer: what it was told, in order. */
static struct {
	int added, extended, expired, removed, evicted;
	char last[SHIELD_ADDR_STRLEN], note[KSIP_BAN_NOTE_MAX];
} seen;

static void observe(void *arg, enum shield_ban_event ev, const struct shield_ban_view *b)
{
	(void)arg;
	if (ev == SHIELD_BAN_ADDED)
		seen.added++;
	else if (ev == SHIELD_BAN_EXTENDED)
		seen.extended++;
	else if (ev == SHIELD_BAN_EXPIRED)
		seen.expired++;
	else if (ev == SHIELD_BAN_REMOVED)
		seen.removed++;
	else
		seen.evicted++;
	shield_addr_format(&b->addr, seen.last, sizeof(seen.last));
	memcpy(seen.note, b->note, sizeof(seen.note));
}

static void list_one(void *arg, const struct shield_ban_view *b)
{
	char *out = arg, a[SHIELD_ADDR_STRLEN];

	shield_addr_format(&b->addr, a, sizeof(a));
	strcat(out, a);
	strcat(out, b->reason == SHIELD_BAN_OPERATOR ? "(operator) " : "(auth) ");
}

static void test_addresses(void)
{
	struct shield_addr k;
	char buf[SHIELD_ADDR_STRLEN];

	ok(same(v6("2001:db8:1:2::1"), v6("2001:db8:1:2:ffff:ffff:ffff:ffff")),
	   "two addresses of one IPv6 /64 are one source");
	ok(!same(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1")), "the next /64 is another source");
	ok(same(v6("::ffff:192.0.2.7"), v4("192.0.2.7")), "an IPv4-mapped address is the IPv4 address");
	ok(!same(v4("192.0.2.7"), v4("192.0.2.8")), "IPv4: one address, one source");
	k = v6("2001:db8:1:2::99");
	shield_addr_format(&k, buf, sizeof(buf));
	ok(!strcmp(buf, "2001:db8:1:2::/64"), "an IPv6 source prints as its /64 (%s)", buf);
	k = v4("198.51.100.4");
	shield_addr_format(&k, buf, sizeof(buf));
	ok(!strcmp(buf, "198.51.100.4"), "an IPv4 source prints as itself (%s)", buf);
	ok(!shield_addr_parse("2001:db8:1:2::/64", &k) && same(k, v6("2001:db8:1:2::5")) &&
	   !shield_addr_parse("2001:db8:1:2::7", &k) && same(k, v6("2001:db8:1:2::5")) &&
	   !shield_addr_parse("198.51.100.4", &k) && same(k, v4("198.51.100.4")) &&
	   !shield_addr_parse("198.51.100.4/32", &k),
	   "parse: an address or its group");
	ok(shield_addr_parse("2001:db8::/48", &k) && shield_addr_parse("10.0.0.0/8", &k) &&
	   shield_addr_parse("nonsense", &k) && shield_addr_parse("", &k),
	   "parse refuses other prefix lengths and garbage");
}

static void test_bans(void)
{
	struct shield *s = shield_new(&defaults);
	struct shield_addr a = v4("192.0.2.1"), b = v6("2001:db8::1"), b2 = v6("2001:db8::2");
	char list[512] = "";

	memset(&seen, 0, sizeof(seen));
	shield_ban_observe(s, observe, NULL);
	ok(!shield_banned(s, &a, 1000), "nothing banned at first");
	ok(shield_ban_add(s, &a, 1000, 10, SHIELD_BAN_AUTH, NULL), "ban 192.0.2.1 for 10 s: new");
	ok(seen.added == 1 && !strcmp(seen.last, "192.0.2.1"), "the observer is told of the ban");
	ok(shield_banned(s, &a, 1000) && shield_banned(s, &a, 1009), "banned through its 10th second");
	ok(!shield_banned(s, &a, 1010), "and no longer at 1000 + 10");
	ok(!shield_ban_add(s, &a, 1005, 20, SHIELD_BAN_AUTH, NULL) && seen.added == 1,
	   "banning again extends, and is no new ban to the observer");
	ok(seen.extended == 1, "but it is told the ban now ends later (for nftables and the store)");
	ok(!shield_ban_add(s, &a, 1006, 2, SHIELD_BAN_AUTH, NULL) && seen.extended == 1,
	   "a shorter ban on top changes nothing and tells nothing");
	ok(shield_banned(s, &a, 1024) && !shield_banned(s, &a, 1025), "extended to 1005 + 20");
	ok(shield_ban_add(s, &b, 1000, 600, SHIELD_BAN_OPERATOR, "scanner"), "ban 2001:db8::1");
	ok(!strcmp(seen.note, "scanner"), "the operator's reason reaches the observer");
	ok(shield_banned(s, &b2, 1000), "its /64 neighbour is banned with it");
	ok(shield_ban_foreach(s, 1000, list_one, list) == 2 && strstr(list, "192.0.2.1(auth)") &&
	   strstr(list, "2001:db8::/64(operator)"), "listing: %s", list);
	ok(shield_ban_count(s) == 2, "two entries");
	ok(shield_ban_expire(s, 1024) == 0, "expire at 1024: nothing is over");
	ok(shield_ban_expire(s, 1025) == 1 && seen.expired == 1 && !strcmp(seen.last, "192.0.2.1"),
	   "expire at 1025: 192.0.2.1's ban ends and the observer hears it");
	ok(shield_ban_count(s) == 1 && shield_banned(s, &b, 1025), "the other stays");
	ok(shield_ban_del(s, &b2) && seen.removed == 1 && !shield_banned(s, &b, 1025),
	   "del by a neighbour in the /64 lifts the ban");
	ok(!shield_ban_del(s, &b2) && shield_ban_count(s) == 0, "del again: nothing to lift");
	/* A ban that is over but not swept, added again: the observer hears it end, then begin. */
	shield_ban_add(s, &a, 2000, 5, SHIELD_BAN_AUTH, NULL);
	seen.expired = 0;
	ok(shield_ban_add(s, &a, 2010, 5, SHIELD_BAN_AUTH, NULL) && seen.expired == 1 && seen.added == 4 &&
	   shield_ban_count(s) == 1, "re-banned after its ban ended unswept: expired, then added");
	shield_free(s);
}

static void test_auth_limit(void)
{
	struct shield *s = shield_new(&defaults);
	struct ksip_stats st = { 0 };
	struct shield_addr a = v4("203.0.113.9"), other = v4("203.0.113.10");
	bool banned = false;
	int i;

	for (i = 0; i < 10; i++)
		banned |= shield_auth_failed(s, &st, &a, "alice", 5000 + i);
	ok(!banned && !shield_banned(s, &a, 5009), "10 failures in 10 s (the limit): not banned");
	ok(shield_auth_failed(s, &st, &a, "alice", 5010) && shield_banned(s, &a, 5010),
	   "the 11th within the window bans the source");
	ok(st.auth_failures_source == 11 && st.bans_added == 1, "counted: %llu failures, %llu bans",
	   (unsigned long long)st.auth_failures_source, (unsigned long long)st.bans_added);
	ok(shield_banned(s, &a, 5010 + 599) && !shield_banned(s, &a, 5010 + 600),
	   "for ban_time (600 s)");
	ok(!shield_banned(s, &other, 5010), "the next address is not banned");
	ok(st.auth_user_failures == 1, "alice is over the limit too: counted once (%llu)",
	   (unsigned long long)st.auth_user_failures);
	/* After the ban the source starts afresh. */
	shield_ban_expire(s, 5610);
	for (i = 0, banned = false; i < 10; i++)
		banned |= shield_auth_failed(s, &st, &a, "bob", 5610 + i);
	ok(!banned, "after the ban ends, the count starts afresh");
	shield_free(s);

	/* The window slides: failures spread so that no 60 s hold 11 are never banned. */
	s = shield_new(&defaults);
	memset(&st, 0, sizeof(st));
	for (i = 0, banned = false; i < 100; i++)
		banned |= shield_auth_failed(s, &st, &a, "carol", 7000 + i * 6);
	ok(!banned, "one failure every 6 s (10 per 60 s), 100 times: never banned");
	ok(shield_auth_failed(s, &st, &a, "carol", 7000 + 99 * 6 + 1),
	   "one more inside the window is the 11th: banned");
	shield_free(s);

	/* 10 at once, then one as the first leaves the window, then one just before. */
	s = shield_new(&defaults);
	for (i = 0; i < 10; i++)
		shield_auth_failed(s, &st, &a, NULL, 8000);
	ok(!shield_auth_failed(s, &st, &a, NULL, 8060), "10 at t, one at t + 60: the 10 have left");
	for (i = 0; i < 10; i++)
		shield_auth_failed(s, &st, &other, NULL, 8000);
	ok(shield_auth_failed(s, &st, &other, NULL, 8059), "10 at t, one at t + 59: banned");
	shield_free(s);

	/* A user attacked from many sources: counted and warned, nobody banned, nothing locked. */
	s = shield_new(&defaults);
	memset(&st, 0, sizeof(st));
	for (i = 0, banned = false; i < 200; i++) {
		char ip[32];
		struct shield_addr src;

		snprintf(ip, sizeof(ip), "198.51.100.%d", i % 100);
		src = v4(ip);
		banned |= shield_auth_failed(s, &st, &src, "dave", 9000);
	}
	ok(!banned && st.bans_added == 0, "200 failures for one user from 100 sources: no ban");
	ok(st.auth_user_failures == 190, "auth_user_failures counts those past the limit (%llu)",
	   (unsigned long long)st.auth_user_failures);
	shield_free(s);

	/* auth_fail_limit = 0: never ban. */
	{
		struct shield_params p = defaults;

		p.auth_fail_limit = 0;
		s = shield_new(&p);
		for (i = 0, banned = false; i < 100; i++)
			banned |= shield_auth_failed(s, &st, &a, "eve", 9000);
		ok(!banned, "auth_fail_limit = 0: never banned");
		shield_free(s);
	}
}

static void test_tables_bounded(void)
{
	struct shield_params p = defaults;
	struct ksip_stats st = { 0 };
	struct shield *s;
	size_t mem;
	int listed;

	p.table_size = 64;
	s = shield_new(&p);
	mem = shield_memory(s);
	memset(&seen, 0, sizeof(seen));
	shield_ban_observe(s, observe, NULL);
	for (int i = 0; i < 5000; i++) {
		struct shield_addr k = { .prefix = 0x0a000000u + (uint32_t)i, .family = AF_INET };

		shield_ban_add(s, &k, 1000, 600 + (uint32_t)(i % 7), SHIELD_BAN_AUTH, NULL);
		for (int j = 0; j < 3; j++)
			shield_auth_failed(s, &st, &k, "user", 1000);
		shield_rate_allow(s, &k, 1000);
	}
	ok(shield_ban_count(s) <= 64, "5000 bans into a 64-entry table: %zu entries",
	   shield_ban_count(s));
	ok(seen.added == 5000 && seen.evicted == 5000 - (int)shield_ban_count(s),
	   "each ban that made room was reported evicted (%d)", seen.evicted);
	listed = shield_ban_foreach(s, 1000, list_one, (char[64 * 40]){ 0 });
	ok(listed == (int)shield_ban_count(s), "the listing shows what the table holds (%d)", listed);
	ok(shield_memory(s) == mem, "memory is what it was at the start (%zu bytes)", mem);
	ok(shield_ban_expire(s, 2000) == listed && shield_ban_count(s) == 0,
	   "all expire later");
	shield_free(s);

	p.table_size = 16384;
	s = shield_new(&p);
	diag("shield memory at table_size 16384: %zu KiB", shield_memory(s) / 1024);
	ok(shield_memory(s) < 8u << 20, "the default tables take under 8 MiB");
	shield_free(s);
}

static void test_rate(void)
{
	struct shield *s = shield_new(&defaults);
	struct shield_addr a = v4("192.0.2.50"), b = v4("192.0.2.51");
	uint64_t t = 1000000;
	int n = 0, sent = 0;

	for (int i = 0; i < 200; i++)
		n += shield_rate_allow(s, &a, t);
	ok(n == 50, "200 at one instant: the burst (50) passes, %d", n);
	ok(shield_rate_allow(s, &b, t), "another source is unaffected");
	ok(!shield_rate_allow(s, &a, t + 49), "49 ms later: not yet a token (20/s is one per 50 ms)");
	ok(shield_rate_allow(s, &a, t + 50) && !shield_rate_allow(s, &a, t + 50),
	   "at 50 ms one token, and only one");
	/* 100 requests a second for 10 s: what passes is the rate, 20 a second. */
	n = 0;
	t += 50;
	for (int ms = 10; ms <= 10000; ms += 10, sent++)
		n += shield_rate_allow(s, &a, t + (uint64_t)ms);
	ok(n >= 199 && n <= 201, "100/s for 10 s: %d of %d pass (rate x time = 200)", n, sent);
	/* Idle long enough, the bucket is full again, but never more than the burst. */
	t += 10000 + 3600 * 1000;
	n = 0;
	for (int i = 0; i < 100; i++)
		n += shield_rate_allow(s, &a, t);
	ok(n == 50, "after an hour idle: the burst again, not more (%d)", n);
	shield_free(s);

	{
		struct shield_params p = defaults;

		p.source_rate = 0;
		s = shield_new(&p);
		n = 0;
		for (int i = 0; i < 1000; i++)
			n += !shield_rate_allow(s, &a, t);
		ok(n == 0, "source_rate = 0: nothing refused");
		shield_free(s);
	}
}

/* Several threads at once, so the sanitizer build sees the locks work. */
static struct shield *shared;

static void *hammer(void *arg)
{
	struct ksip_stats st = { 0 };
	uintptr_t id = (uintptr_t)arg;

	for (uint32_t i = 0; i < 20000; i++) {
		struct shield_addr k = { .prefix = (i * 7 + id) % 300, .family = AF_INET };

		if (i % 5 == 0)
			shield_auth_failed(shared, &st, &k, "u", 100 + i / 1000);
		shield_rate_allow(shared, &k, i);
		shield_banned(shared, &k, 100 + i / 1000);
		if (id == 0 && i % 1000 == 0)
			shield_ban_expire(shared, 100 + i / 1000);
	}
	return NULL;
}

static void test_threads(void)
{
	struct shield_params p = defaults;
	pthread_t th[4];

	p.table_size = 256;
	shared = shield_new(&p);
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ok(shield_ban_count(shared) > 0 && shield_ban_count(shared) <= 256,
	   "4 threads at once: bans made, the table holds (%zu bans)",
	   shield_ban_count(shared));
	shield_free(shared);
}

int main(void)
{
	test_addresses();
	test_bans();
	test_auth_limit();
	test_tables_bounded();
	test_rate();
	test_threads();
	return tap_done();
}
