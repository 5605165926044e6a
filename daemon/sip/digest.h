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
 * Stateless nonces: hex(timestamp | boot | counter | HMAC-SHA256(secret,
 * timestamp | boot | counter | realm)[0..16)). The server verifies age and
 * integrity without remembering the nonce. boot is drawn at random by each
 * process (nonce_key_new): a nonce with a valid MAC but another boot was
 * minted before a restart, when the nonce-count memory of the registrar was
 * lost, and is answered as stale. counter grows by one per nonce over the
 * whole process (all workers), so it names a nonce and orders nonces by
 * minting within this process.
 */
#define NONCE_SECRET_LEN 32
#define NONCE_HEX_LEN 80

struct nonce_key;

struct nonce_key *nonce_key_new(const uint8_t secret[NONCE_SECRET_LEN], const char *realm);
void nonce_key_free(struct nonce_key *k);

enum nonce_state {
	NONCE_VALID,
	NONCE_STALE,		/* ours, but past its lifetime or minted by an earlier process */
	NONCE_INVALID,		/* not made with our secret and realm, or not a nonce at all */
};

/* What a valid (or stale) nonce says about itself. */
struct nonce_id {
	uint64_t counter;	/* unique and increasing within one process */
	time_t minted;		/* stale after minted + lifetime */
};

void nonce_make(struct nonce_key *k, time_t now, char out[NONCE_HEX_LEN + 1]);
enum nonce_state nonce_check(const struct nonce_key *k, const char *nonce, time_t now,
			     unsigned int lifetime, struct nonce_id *id);

#endif
