/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSIP_HASH_H
#define KSIP_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a, 64 bit: short keys (user names, Call-IDs), not attacker-seeded tables. */
static inline uint64_t hash_bytes_seed(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static inline uint64_t hash_bytes(const void *p, size_t n)
{
	return hash_bytes_seed(0xcbf29ce484222325ULL, p, n);
}

#endif
