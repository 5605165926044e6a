// SPDX-License-Identifier: GPL-2.0
/* trusted_peers: config.c parses the CIDRs, shield/trusted.c matches them (IPv4, IPv6, mapped). */
#include <arpa/inet.h>
#include <string.h>

#include "shield/trusted.h"
#include "tap.h"

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return ss;
}

struct list {
	int n;
	struct ksip_cidr cidr[CONFIG_MAX_CIDRS];
};

static int parse(struct list *t, const char *s)
{
	return config_parse_cidrs(s, t->cidr, CONFIG_MAX_CIDRS, &t->n);
}

static bool in(const struct list *t, const char *s)
{
	struct sockaddr_storage ss = addr(s);

	return trusted_match(t->cidr, t->n, &ss);
}

int main(void)
{
	static const char *const bad[] = {
		"10.0.0.1/24",		/* host bits set */
		"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
		"example.org", "10.0.0", "/8", "fe80::1%eth0/64",
	};
	struct list t, one;

	ok(!parse(&t, "") && t.n == 0, "an empty list parses to nobody");
	ok(!in(&t, "10.1.2.3") && !trusted_match(NULL, 0, &(struct sockaddr_storage){ 0 }),
	   "nobody is trusted by an empty or absent list");
	ok(!parse(&t, "10.0.0.0/8 192.0.2.7, 2001:db8:a::/48\tfd00::5") && t.n == 4,
	   "four prefixes, separated by spaces, commas and tabs");
	ok(in(&t, "10.255.0.1") && in(&t, "10.0.0.0") && !in(&t, "11.0.0.1"), "10.0.0.0/8 matches inside only");
	ok(in(&t, "192.0.2.7") && !in(&t, "192.0.2.8"), "a bare IPv4 address is a /32");
	ok(in(&t, "2001:db8:a:ffff::1") && !in(&t, "2001:db8:b::1"), "2001:db8:a::/48 matches inside only");
	ok(in(&t, "fd00::5") && !in(&t, "fd00::6"), "a bare IPv6 address is a /128");
	ok(in(&t, "::ffff:10.9.8.7") && !in(&t, "::ffff:11.9.8.7"),
	   "an IPv4-mapped IPv6 source is matched as IPv4");
	ok(!in(&t, "::a00:1"), "an IPv4-compatible (not mapped) address is not IPv4");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parse(&one, bad[i]) == -1, "'%s' is refused", bad[i]);
	ok(parse(&one, "10.0.0.0/8 nonsense") == -1, "a bad entry fails the whole list");
	ok(!parse(&one, "0.0.0.0/0") &&
	   cidr_match(&one.cidr[0], &(struct sockaddr_storage){ .ss_family = AF_INET }),
	   "0.0.0.0/0 matches every IPv4 address");
	ok(!parse(&one, "10.128.0.0/9"), "10.128.0.0/9 parses");
	{
		struct sockaddr_storage a = addr("10.127.255.255"), b = addr("10.128.0.0");

		ok(!cidr_match(&one.cidr[0], &a) && cidr_match(&one.cidr[0], &b),
		   "/9 splits inside a byte");
	}
	return tap_done();
}
