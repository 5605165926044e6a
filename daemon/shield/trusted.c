// SPDX-License-Identifier: GPL-2.0
#include "shield/trusted.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keep the first BITS bits of A (LEN bytes), clear the rest; true when nothing was set there. */
static bool clear_host_bits(uint8_t *a, size_t len, unsigned int bits)
{
	bool clean = true;

	for (size_t i = 0; i < len; i++) {
		unsigned int keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
		uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;

		if (a[i] & ~mask)
			clean = false;
		a[i] &= mask;
	}
	return clean;
}

int cidr_parse(const char *s, struct cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long bits;
	unsigned int max;
	char *end;

	memset(out, 0, sizeof(*out));
	if (!alen || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	bits = max;
	if (slash) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || slash[1] == '-' || bits > max)
			return -1;
	}
	out->prefix = (uint8_t)bits;
	return clear_host_bits(out->addr, max / 8, (unsigned int)bits) ? 0 : -1;
}

bool cidr_match(const struct cidr *c, const struct sockaddr_storage *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;
	unsigned int whole = c->prefix / 8, rest = c->prefix % 8;

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

int trusted_parse(struct trusted_peers *t, const char *list, char *err, size_t errlen)
{
	char *buf = strdup(list), *save = NULL, *tok;
	int r = 0;

	err[0] = 0;
	t->n = 0;
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		if (t->n >= TRUSTED_MAX) {
			snprintf(err, errlen, "more than %d prefixes", TRUSTED_MAX);
			r = -1;
			break;
		}
		if (cidr_parse(tok, &t->cidr[t->n])) {
			snprintf(err, errlen, "'%s' is not ADDR or ADDR/BITS (host bits clear)", tok);
			r = -1;
			break;
		}
		t->n++;
	}
	free(buf);
	if (r)
		t->n = 0;
	return r;
}

bool trusted_match(const struct trusted_peers *t, const struct sockaddr_storage *addr)
{
	if (!t)
		return false;
	for (int i = 0; i < t->n; i++)
		if (cidr_match(&t->cidr[i], addr))
			return true;
	return false;
}
