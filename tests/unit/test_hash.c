// SPDX-License-Identifier: GPL-2.0
/*
 * The keyed hash: SipHash against the paper's test vectors, keys drawn per
 * process, and the MAC key independent of the table key.
 */
#include <string.h>

#include "tap.h"
#include "base/hash.h"

int main(void)
{
	/* Aumasson & Bernstein, "SipHash" (2012), appendix A: key 00..0f, message 00..0e. */
	const uint64_t k[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	unsigned char msg[64];
	uint64_t zero[2] = { 0, 0 }, a, b;

	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	ok(siphash24(k, msg, 15) == 0xa129ca6149be45e5ULL, "SipHash-2-4 of 15 bytes: the paper's answer");
	ok(siphash24(k, msg, 0) == 0x726fdb47dd0e0e31ULL, "SipHash-2-4 of the empty message");
	ok(siphash24(k, msg, 8) == 0x93f5f5799a932462ULL, "SipHash-2-4 of one whole word");
	ok(siphash13(k, msg, 15) != siphash24(k, msg, 15), "SipHash-1-3 differs from 2-4");

	ok(memcmp(hash_table_key, zero, sizeof(zero)) && memcmp(hash_mac_key, zero, sizeof(zero)),
	   "keys are set before main()");
	ok(memcmp(hash_table_key, hash_mac_key, sizeof(zero)), "the MAC key is not the table key");

	a = hash_bytes("alice", 5);
	ok(a == hash_bytes("alice", 5), "the same key hashes the same within a process");
	hash_table_key[0] ^= 1;
	b = hash_bytes("alice", 5);
	ok(a != b, "another key gives another hash (what a sender cannot predict)");
	ok(hash_bytes_seed(7, "x", 1) != hash_bytes_seed(8, "x", 1), "chaining depends on the seed");
	ok(hash_mac(0, "alice", 5) != hash_bytes("alice", 5), "the MAC is not the bucket hash");
	return tap_done();
}
