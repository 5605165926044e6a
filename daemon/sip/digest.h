/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP Digest for SIP (RFC 3261 §22, RFC 7616, RFC 8760): credential
 * parsing, HA1 and response computation, and stateless nonces.
 */
#ifndef KSIP_DIGEST_H
#define KSIP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sip/msg.h"

enum digest_alg { DIGEST_MD5, DIGEST_SHA256, DIGEST__COUNT };

#define DIGEST_MAX_LEN 32		/* SHA-256 */
#define DIGEST_HEX_MAX (2 * DIGEST_MAX_LEN + 1)

size_t digest_len(enum digest_alg alg);
const char *digest_alg_name(enum digest_alg alg);

/* Bounded, unescaped copies of the auth-params a server needs. */
struct digest_creds {
	enum digest_alg alg;
	char username[128];
	char realm[128];
	char nonce[128];
	char uri[512];
	char response[DIGEST_HEX_MAX];
	char cnonce[128];
	char qop[16];
	char nc[9];
	uint32_t nc_value;
};

/*
 * Parse a "Digest k=v, ..." credentials value. Returns 0, or -1 with *why
 * set when the value is not Digest, misses a required parameter, or a
 * parameter is too long or malformed.
 */
int digest_parse_credentials(struct sip_span value, struct digest_creds *c, const char **why);

/* H(user ":" realm ":" password) */
void digest_ha1(enum digest_alg alg, const char *user, const char *realm, const char *password,
		uint8_t *out);

/* The request-digest of RFC 7616 §3.4.1 (qop=auth), lowercase hex. */
void digest_response(enum digest_alg alg, const uint8_t *ha1, const struct digest_creds *c,
		     const char *method, char *hex_out);

/* Constant-time comparison of two NUL-terminated hex strings. */
bool digest_hex_equal(const char *a, const char *b);

void hex_encode(const uint8_t *in, size_t n, char *out);
bool hex_decode(const char *in, size_t n, uint8_t *out);

/*
 * Stateless nonces: hex(timestamp | counter | HMAC-SHA256(secret, ts |
 * counter | realm)[0..16)). The server verifies age and integrity without
 * remembering the nonce; nonce_id() names a nonce for nc tracking.
 */
#define NONCE_SECRET_LEN 32
#define NONCE_HEX_LEN 64

struct nonce_key;

struct nonce_key *nonce_key_new(const uint8_t secret[NONCE_SECRET_LEN], const char *realm);
void nonce_key_free(struct nonce_key *k);

enum nonce_state { NONCE_VALID, NONCE_STALE, NONCE_INVALID };

void nonce_make(const struct nonce_key *k, time_t now, char out[NONCE_HEX_LEN + 1]);
enum nonce_state nonce_check(const struct nonce_key *k, const char *nonce, time_t now,
			     unsigned int lifetime, uint64_t *id);

#endif
