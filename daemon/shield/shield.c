// SPDX-License-Identifier: GPL-2.0
/* Making the shield, and the address groups it counts by. */
#include "shield/shield_priv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

bool shield_addr_from(struct shield_addr *k, const struct sockaddr *sa)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		k->family = AF_INET;
		k->prefix = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			k->family = AF_INET;
			k->prefix = (uint64_t)a->s6_addr[12] << 24 | (uint64_t)a->s6_addr[13] << 16 |
				    (uint64_t)a->s6_addr[14] << 8 | a->s6_addr[15];
			return true;
		}
		k->family = AF_INET6;
		k->prefix = be64_at(a->s6_addr);
		return true;
	}
	return false;
}

int shield_addr_parse(const char *s, struct shield_addr *k)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	struct sockaddr_storage ss = { 0 };

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash) {
		/* Only the group the shield keys by: /32 for IPv4, /64 for IPv6. */
		if (strcmp(slash + 1, strchr(buf, ':') ? "64" : "32"))
			return -1;
		*slash = 0;
	}
	if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return -1;
	return shield_addr_from(k, (struct sockaddr *)&ss) ? 0 : -1;
}

void shield_addr_format(const struct shield_addr *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (k->family == AF_INET) {
		struct in_addr in = { htonl((uint32_t)k->prefix) };

		inet_ntop(AF_INET, &in, a, sizeof(a));
		snprintf(buf, len, "%s", a);
	} else if (k->family == AF_INET6) {
		struct in6_addr in6 = { 0 };

		for (int i = 0; i < 8; i++)
			in6.s6_addr[i] = (uint8_t)(k->prefix >> (56 - 8 * i));
		inet_ntop(AF_INET6, &in6, a, sizeof(a));
		snprintf(buf, len, "%s/64", a);
	} else {
		snprintf(buf, len, "?");
	}
}

struct shield *shield_new(const struct shield_params *p)
{
	struct shield *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->p = *p;
	if (s->p.auth_fail_limit > SHIELD_FAIL_LIMIT_MAX)
		s->p.auth_fail_limit = SHIELD_FAIL_LIMIT_MAX;
	if (s->p.table_size < SHIELD_WAYS)
		s->p.table_size = SHIELD_WAYS;
	if (shield_ban_init(s) || shield_authfail_init(s) || shield_rate_init(s)) {
		shield_free(s);
		return NULL;
	}
	return s;
}

void shield_free(struct shield *s)
{
	if (!s)
		return;
	shield_table_destroy(&s->bans);
	shield_table_destroy(&s->fails);
	shield_table_destroy(&s->users);
	shield_table_destroy(&s->rates);
	free(s);
}

size_t shield_memory(const struct shield *s)
{
	return sizeof(*s) + shield_table_bytes(&s->bans) + shield_table_bytes(&s->fails) +
	       shield_table_bytes(&s->users) + shield_table_bytes(&s->rates);
}
