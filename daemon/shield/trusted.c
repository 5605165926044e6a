// SPDX-License-Identifier: GPL-2.0
#include "shield/trusted.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

bool cidr_match(const struct ksip_cidr *c, const struct sockaddr_storage *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;
	unsigned int whole = c->plen / 8, rest = c->plen % 8;

	if (addr->ss_family == AF_INET) {
		if (c->family != AF_INET)
			return false;
		a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
	} else if (addr->ss_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
		if (c->family == AF_INET) {
			/* ::ffff:192.0.2.1 on a dual-stack socket is 192.0.2.1. */
			if (memcmp(a, v4mapped, sizeof(v4mapped)))
				return false;
			a += sizeof(v4mapped);
		}
	} else {
		return false;
	}
	if (memcmp(a, c->addr, whole))
		return false;
	return !rest || !((a[whole] ^ c->addr[whole]) & (uint8_t)(0xff << (8 - rest)));
}

bool trusted_match(const struct ksip_cidr *list, int n, const struct sockaddr_storage *addr)
{
	for (int i = 0; i < n; i++)
		if (cidr_match(&list[i], addr))
			return true;
	return false;
}
