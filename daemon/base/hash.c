// SPDX-License-Identifier: GPL-2.0
#include "base/hash.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t hash_table_key[2];
uint64_t hash_mac_key[2];

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND					\
	do {						\
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0;	\
		v0 = ROTL(v0, 32);			\
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;	\
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;	\
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2;	\
		v2 = ROTL(v2, 32);			\
	} while (0)

static inline uint64_t load_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* C compression rounds per word, D finalisation rounds (SipHash-C-D). */
static inline uint64_t siphash(const uint64_t k[2], const void *data, size_t n, int c, int d)
{
	const unsigned char *p = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ k[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ k[0];
	uint64_t v3 = 0x7465646279746573ULL ^ k[1];
	uint64_t b = (uint64_t)n << 56;
	size_t full = n & ~(size_t)7;

	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = load_le64(p + i);

		v3 ^= m;
		for (int r = 0; r < c; r++)
			SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < (n & 7); i++)
		b |= (uint64_t)p[full + i] << (8 * i);
	v3 ^= b;
	for (int r = 0; r < c; r++)
		SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (int r = 0; r < d; r++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t siphash13(const uint64_t k[2], const void *p, size_t n)
{
	return siphash(k, p, n, 1, 3);
}

uint64_t siphash24(const uint64_t k[2], const void *p, size_t n)
{
	return siphash(k, p, n, 2, 4);
}

/*
 * Before main(): every binary that hashes gets its keys, so no table is
 * ever keyed with zeros. getrandom() only blocks before the kernel's pool
 * is initialised at boot; a failure there falls back to weaker entropy
 * rather than a fixed key.
 */
__attribute__((constructor)) static void hash_keys_init(void)
{
	uint64_t k[4];

	if (getrandom(k, sizeof(k), 0) != sizeof(k)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
		k[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)(uintptr_t)&k;
		k[2] = k[0] * 0x165667b19e3779f9ULL ^ k[1];
		k[3] = k[1] * 0x27d4eb2f165667c5ULL ^ k[0];
	}
	hash_table_key[0] = k[0];
	hash_table_key[1] = k[1];
	hash_mac_key[0] = k[2];
	hash_mac_key[1] = k[3];
}
