// SPDX-License-Identifier: GPL-2.0
#include "sip/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sip/hdr.h"

size_t digest_len(enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? 32 : 16;
}

const char *digest_alg_name(enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? "SHA-256" : "MD5";
}

/*
 * EVP_MD objects are fetched once per thread: implicit fetching on every
 * EVP_DigestInit costs more than hashing a short SIP string.
 */
struct hash_ctx {
	EVP_MD_CTX *ctx;
	EVP_MD *md[DIGEST__COUNT];
};

static __thread struct hash_ctx tls_hash;
static pthread_key_t hash_key;
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

/* Runs when a thread that hashed exits: release its OpenSSL objects. */
static void hash_ctx_release(void *arg)
{
	struct hash_ctx *h = arg;

	EVP_MD_CTX_free(h->ctx);
	for (int i = 0; i < DIGEST__COUNT; i++)
		EVP_MD_free(h->md[i]);
	memset(h, 0, sizeof(*h));
}

static void hash_key_init(void)
{
	pthread_key_create(&hash_key, hash_ctx_release);
}

static struct hash_ctx *hash_ctx(void)
{
	if (!tls_hash.ctx) {
		pthread_once(&hash_key_once, hash_key_init);
		pthread_setspecific(hash_key, &tls_hash);
		tls_hash.ctx = EVP_MD_CTX_new();
		tls_hash.md[DIGEST_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
		tls_hash.md[DIGEST_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (!tls_hash.ctx || !tls_hash.md[DIGEST_MD5] || !tls_hash.md[DIGEST_SHA256])
			abort();
	}
	return &tls_hash;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool hex_decode(const char *in, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val(in[2 * i]), lo;

		if (hi < 0)
			return false;
		lo = hex_val(in[2 * i + 1]);
		if (lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Hash the pieces joined by ':' into hex. */
static void hash_join_hex(enum digest_alg alg, const char *const *parts, int n, char *hex)
{
	struct hash_ctx *h = hash_ctx();
	uint8_t md[DIGEST_MAX_LEN];
	unsigned int len;

	EVP_DigestInit_ex(h->ctx, h->md[alg], NULL);
	for (int i = 0; i < n; i++) {
		if (i)
			EVP_DigestUpdate(h->ctx, ":", 1);
		EVP_DigestUpdate(h->ctx, parts[i], strlen(parts[i]));
	}
	EVP_DigestFinal_ex(h->ctx, md, &len);
	hex_encode(md, len, hex);
}

void digest_ha1(enum digest_alg alg, const char *user, const char *realm, const char *password,
		uint8_t *out)
{
	const char *parts[] = { user, realm, password };
	char hex[DIGEST_HEX_MAX];

	hash_join_hex(alg, parts, 3, hex);
	hex_decode(hex, digest_len(alg), out);
}

void digest_response(enum digest_alg alg, const uint8_t *ha1, const struct digest_creds *c,
		     const char *method, char *hex_out)
{
	char ha1_hex[DIGEST_HEX_MAX], ha2_hex[DIGEST_HEX_MAX];
	const char *a2[] = { method, c->uri };

	hex_encode(ha1, digest_len(alg), ha1_hex);
	hash_join_hex(alg, a2, 2, ha2_hex);
	if (c->qop[0]) {
		const char *r[] = { ha1_hex, c->nonce, c->nc, c->cnonce, c->qop, ha2_hex };

		hash_join_hex(alg, r, 6, hex_out);
	} else {
		/* RFC 2069 compatibility form, only reachable if we ever stop requiring qop. */
		const char *r[] = { ha1_hex, c->nonce, ha2_hex };

		hash_join_hex(alg, r, 3, hex_out);
	}
}

bool digest_hex_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	uint8_t lower_a[DIGEST_HEX_MAX] = { 0 }, lower_b[DIGEST_HEX_MAX] = { 0 };

	if (la != lb || la >= DIGEST_HEX_MAX)
		return false;
	for (size_t i = 0; i < la; i++) {
		lower_a[i] = (uint8_t)(a[i] | 0x20);
		lower_b[i] = (uint8_t)(b[i] | 0x20);
	}
	return CRYPTO_memcmp(lower_a, lower_b, la) == 0;
}

/* Copy a token or quoted-string value, unescaping, bounded by cap. */
static bool copy_value(struct sip_span v, char *dst, size_t cap)
{
	size_t o = 0;
	uint32_t i = 0, end = v.len;

	if (v.len >= 2 && v.p[0] == '"') {
		if (v.p[v.len - 1] != '"')
			return false;
		i = 1;
		end = v.len - 1;
	}
	for (; i < end; i++) {
		char ch = v.p[i];

		if (ch == '\\' && i + 1 < end)
			ch = v.p[++i];
		if (o + 1 >= cap)
			return false;
		dst[o++] = ch;
	}
	dst[o] = 0;
	return true;
}

int digest_parse_credentials(struct sip_span value, struct digest_creds *c, const char **why)
{
	struct sip_span rest, item;
	bool have_response = false;

	memset(c, 0, sizeof(*c));
	value = span_trim(value);
	*why = "Malformed credentials";
	if (value.len < 7 || strncasecmp(value.p, "Digest", 6) ||
	    (value.p[6] != ' ' && value.p[6] != '\t'))
		return -1;
	rest = (struct sip_span){ value.p + 7, value.len - 7 };

	while (sip_list_next(&rest, &item)) {
		const char *eq = memchr(item.p, '=', item.len);
		struct sip_span name, val;
		bool ok = true;

		if (!eq)
			return -1;
		name = span_trim((struct sip_span){ item.p, (uint32_t)(eq - item.p) });
		val = span_trim((struct sip_span){ eq + 1, (uint32_t)(item.p + item.len - eq - 1) });

		if (span_ieq(name, "username")) {
			ok = copy_value(val, c->username, sizeof(c->username));
		} else if (span_ieq(name, "realm")) {
			ok = copy_value(val, c->realm, sizeof(c->realm));
		} else if (span_ieq(name, "nonce")) {
			ok = copy_value(val, c->nonce, sizeof(c->nonce));
		} else if (span_ieq(name, "uri")) {
			ok = copy_value(val, c->uri, sizeof(c->uri));
		} else if (span_ieq(name, "response")) {
			ok = copy_value(val, c->response, sizeof(c->response));
			have_response = ok;
		} else if (span_ieq(name, "cnonce")) {
			ok = copy_value(val, c->cnonce, sizeof(c->cnonce));
		} else if (span_ieq(name, "qop")) {
			ok = copy_value(val, c->qop, sizeof(c->qop));
		} else if (span_ieq(name, "nc")) {
			char *endp;

			ok = copy_value(val, c->nc, sizeof(c->nc)) && strlen(c->nc) == 8;
			if (ok) {
				c->nc_value = (uint32_t)strtoul(c->nc, &endp, 16);
				ok = *endp == 0;
			}
		} else if (span_ieq(name, "algorithm")) {
			char alg[16];

			ok = copy_value(val, alg, sizeof(alg));
			if (ok && !strcasecmp(alg, "MD5")) {
				c->alg = DIGEST_MD5;
			} else if (ok && !strcasecmp(alg, "SHA-256")) {
				c->alg = DIGEST_SHA256;
			} else {
				*why = "Unsupported digest algorithm";
				return -1;
			}
		}
		/* opaque, userhash and unknown parameters are ignored. */
		if (!ok)
			return -1;
	}
	if (!c->username[0] || !c->realm[0] || !c->nonce[0] || !c->uri[0] || !have_response) {
		*why = "Missing digest parameter";
		return -1;
	}
	if (c->qop[0] && (strcasecmp(c->qop, "auth") || !c->cnonce[0] || !c->nc[0])) {
		*why = "Unsupported qop";
		return -1;
	}
	return 0;
}

/* --- stateless nonces ---------------------------------------------------- */

#define NONCE_BODY_LEN 24	/* timestamp, boot, counter: 8 bytes each, big-endian */
#define NONCE_MAC_LEN 16

struct nonce_key {
	EVP_MD_CTX *inner;	/* SHA-256 state after (key ^ ipad) */
	EVP_MD_CTX *outer;	/* SHA-256 state after (key ^ opad) */
	uint64_t boot;		/* random per process: nonces of earlier processes are stale */
	uint64_t counter;	/* last counter handed out; atomic, shared by the workers */
	char realm[128];
};

struct nonce_key *nonce_key_new(const uint8_t secret[NONCE_SECRET_LEN], const char *realm)
{
	struct nonce_key *k = calloc(1, sizeof(*k));
	uint8_t pad[64];
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);

	if (!k || !sha)
		abort();
	if (RAND_bytes((unsigned char *)&k->boot, sizeof(k->boot)) != 1)
		abort();
	k->inner = EVP_MD_CTX_new();
	k->outer = EVP_MD_CTX_new();
	snprintf(k->realm, sizeof(k->realm), "%s", realm);
	/* HMAC (RFC 2104) with the key shorter than the block: pad it with zeros. */
	memset(pad, 0x36, sizeof(pad));
	for (int i = 0; i < NONCE_SECRET_LEN; i++)
		pad[i] ^= secret[i];
	EVP_DigestInit_ex(k->inner, sha, NULL);
	EVP_DigestUpdate(k->inner, pad, sizeof(pad));
	memset(pad, 0x5c, sizeof(pad));
	for (int i = 0; i < NONCE_SECRET_LEN; i++)
		pad[i] ^= secret[i];
	EVP_DigestInit_ex(k->outer, sha, NULL);
	EVP_DigestUpdate(k->outer, pad, sizeof(pad));
	OPENSSL_cleanse(pad, sizeof(pad));
	EVP_MD_free(sha);
	return k;
}

void nonce_key_free(struct nonce_key *k)
{
	if (!k)
		return;
	EVP_MD_CTX_free(k->inner);
	EVP_MD_CTX_free(k->outer);
	free(k);
}

static void nonce_mac(const struct nonce_key *k, const uint8_t body[NONCE_BODY_LEN],
		      uint8_t mac[32])
{
	EVP_MD_CTX *ctx = hash_ctx()->ctx;
	uint8_t inner[32];
	unsigned int len;

	EVP_MD_CTX_copy_ex(ctx, k->inner);
	EVP_DigestUpdate(ctx, body, NONCE_BODY_LEN);
	EVP_DigestUpdate(ctx, k->realm, strlen(k->realm));
	EVP_DigestFinal_ex(ctx, inner, &len);
	EVP_MD_CTX_copy_ex(ctx, k->outer);
	EVP_DigestUpdate(ctx, inner, sizeof(inner));
	EVP_DigestFinal_ex(ctx, mac, &len);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void nonce_make(struct nonce_key *k, time_t now, char out[NONCE_HEX_LEN + 1])
{
	uint8_t raw[NONCE_BODY_LEN + NONCE_MAC_LEN], mac[32];

	put_be64(raw, (uint64_t)now);
	put_be64(raw + 8, k->boot);
	put_be64(raw + 16, __atomic_add_fetch(&k->counter, 1, __ATOMIC_RELAXED));
	nonce_mac(k, raw, mac);
	memcpy(raw + NONCE_BODY_LEN, mac, NONCE_MAC_LEN);
	hex_encode(raw, sizeof(raw), out);
}

enum nonce_state nonce_check(const struct nonce_key *k, const char *nonce, time_t now,
			     unsigned int lifetime, struct nonce_id *id)
{
	uint8_t raw[NONCE_BODY_LEN + NONCE_MAC_LEN], mac[32];
	int64_t ts;

	if (strlen(nonce) != NONCE_HEX_LEN || !hex_decode(nonce, sizeof(raw), raw))
		return NONCE_INVALID;
	nonce_mac(k, raw, mac);
	if (CRYPTO_memcmp(mac, raw + NONCE_BODY_LEN, NONCE_MAC_LEN))
		return NONCE_INVALID;
	ts = (int64_t)get_be64(raw);
	id->minted = (time_t)ts;
	id->counter = get_be64(raw + 16);
	/* Minted by an earlier process: its nonce-counts were not kept (RFC 7616 §3.3). */
	if (get_be64(raw + 8) != k->boot)
		return NONCE_STALE;
	if (ts > (int64_t)now + 5 || (int64_t)now - ts > (int64_t)lifetime)
		return NONCE_STALE;
	return NONCE_VALID;
}
