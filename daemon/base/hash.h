/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keyed hashing: SipHash-1-3 under keys drawn from getrandom() when the
 * process starts. Every table whose keys come from the network (Via
 * branches, Call-IDs, user names, addresses) hashes with hash_bytes(), so a
 * sender cannot pick keys that collide without knowing the key. hash_mac()
 * uses a second, independent key: a PRF output that only this process can
 * produce, for values ksipd hands out and must recognise later (our branch
 * ids, To tags).
 */
#ifndef KSIP_HASH_H
#define KSIP_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-1-3 of P under the 128-bit key K. */
uint64_t siphash13(const uint64_t k[2], const void *p, size_t n);
/* SipHash-2-4: the same construction with the paper's rounds (its test vectors check both). */
uint64_t siphash24(const uint64_t k[2], const void *p, size_t n);

/* The table key and the MAC key; random per process (tests may set them). */
extern uint64_t hash_table_key[2];
extern uint64_t hash_mac_key[2];

/* Bucket hash of untrusted bytes. */
static inline uint64_t hash_bytes(const void *p, size_t n)
{
	return siphash13(hash_table_key, p, n);
}

/* Chained: the hash of P given the hash H of what came before it. */
static inline uint64_t hash_bytes_seed(uint64_t h, const void *p, size_t n)
{
	const uint64_t k[2] = { hash_table_key[0] ^ h, hash_table_key[1] };

	return siphash13(k, p, n);
}

/* A 64-bit MAC over P, chained from H (0 to start). */
static inline uint64_t hash_mac(uint64_t h, const void *p, size_t n)
{
	const uint64_t k[2] = { hash_mac_key[0] ^ h, hash_mac_key[1] };

	return siphash13(k, p, n);
}

#endif
