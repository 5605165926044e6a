/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trusted peers (config key trusted_peers = CIDR ...): gateways and PBXes
 * whose initial requests the proxy forwards without a digest challenge
 * (docs/security.md), and which the shield never bans. The shape of
 * Kamailio's permissions module (address table, allow_source_address),
 * reduced to a list of IPv4 and IPv6 prefixes read once at start.
 *
 * Filled before the workers start and read-only afterwards: any thread
 * may call trusted_match() without a lock.
 */
#ifndef KSIP_SHIELD_TRUSTED_H
#define KSIP_SHIELD_TRUSTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TRUSTED_MAX 64		/* prefixes in trusted_peers */

struct cidr {
	uint8_t addr[16];	/* network byte order, host bits cleared; IPv4 in the first 4 */
	uint8_t prefix;		/* bits: 0-32 for IPv4, 0-128 for IPv6 */
	sa_family_t family;	/* AF_INET or AF_INET6 */
};

struct trusted_peers {
	int n;
	struct cidr cidr[TRUSTED_MAX];
};

/*
 * "192.0.2.0/24" or "2001:db8::/32"; a bare address is a host (/32, /128).
 * Host bits set in the address are an error (a typo, not a wish).
 */
int cidr_parse(const char *s, struct cidr *out);
/* Does ADDR (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as IPv4) lie in C? */
bool cidr_match(const struct cidr *c, const struct sockaddr_storage *addr);

/* Parse a space- or comma-separated list into T; on error ERR names the bad entry. */
int trusted_parse(struct trusted_peers *t, const char *list, char *err, size_t errlen);
/* Is ADDR inside one of T's prefixes? NULL T or an empty list: nobody is. */
bool trusted_match(const struct trusted_peers *t, const struct sockaddr_storage *addr);

#endif
