// SPDX-License-Identifier: GPL-2.0
/* Digest known-answer tests (RFC 2617 §3.5, RFC 7616 §3.9.1) and nonce checks. */
#include <string.h>

#include "sip/digest.h"
#include "tap.h"

#define S(x) ((struct sip_span){ x, sizeof(x) - 1 })

static void test_rfc2617(void)
{
	struct digest_creds c;
	const char *why;
	uint8_t ha1[DIGEST_MAX_LEN];
	char resp[DIGEST_HEX_MAX];

	ok(digest_parse_credentials(
		   S("Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
		     "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
		     "qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
		     "response=\"6629fae49393a05397450978507c4ef1\", "
		     "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""), &c, &why) == 0,
	   "RFC 2617 credentials parse");
	ok(c.alg == DIGEST_MD5 && c.nc_value == 1 && !strcmp(c.cnonce, "0a4f113b"),
	   "default algorithm MD5, nc=1");
	digest_ha1(DIGEST_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life", ha1);
	digest_response(DIGEST_MD5, ha1, &c, "GET", resp);
	ok(!strcmp(resp, "6629fae49393a05397450978507c4ef1"), "RFC 2617 3.5 response (%s)", resp);
	ok(digest_hex_equal(resp, c.response), "constant-time compare accepts equal");
	ok(!digest_hex_equal(resp, "6629fae49393a05397450978507c4ef0"),
	   "constant-time compare rejects a one-digit change");
}

static void test_rfc7616(void)
{
	struct digest_creds c;
	const char *why;
	uint8_t ha1[DIGEST_MAX_LEN];
	char resp[DIGEST_HEX_MAX];
	const char *common =
		"username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
		"qop=auth, nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", "
		"nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
		"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
	char buf[1024];

	snprintf(buf, sizeof(buf), "Digest %s, algorithm=SHA-256, response=\"x\"", common);
	ok(digest_parse_credentials((struct sip_span){ buf, (uint32_t)strlen(buf) }, &c, &why) == 0 &&
	   c.alg == DIGEST_SHA256, "RFC 7616 SHA-256 credentials parse");
	digest_ha1(DIGEST_SHA256, "Mufasa", "http-auth@example.org", "Circle of Life", ha1);
	digest_response(DIGEST_SHA256, ha1, &c, "GET", resp);
	ok(!strcmp(resp, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
	   "RFC 7616 3.9.1 SHA-256 response");
	snprintf(buf, sizeof(buf), "Digest %s, algorithm=MD5, response=\"x\"", common);
	digest_parse_credentials((struct sip_span){ buf, (uint32_t)strlen(buf) }, &c, &why);
	digest_ha1(DIGEST_MD5, "Mufasa", "http-auth@example.org", "Circle of Life", ha1);
	digest_response(DIGEST_MD5, ha1, &c, "GET", resp);
	ok(!strcmp(resp, "8ca523f5e9506fed4657c9700eebdbec"), "RFC 7616 3.9.1 MD5 response");
}

static void test_parse_errors(void)
{
	struct digest_creds c;
	const char *why;
	char big[1024];

	ok(digest_parse_credentials(S("Basic QWxhZGRpbjpvcGVu"), &c, &why) < 0, "Basic rejected");
	ok(digest_parse_credentials(S("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\""),
				    &c, &why) < 0, "missing response rejected");
	ok(digest_parse_credentials(S("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", "
				      "response=\"0\", algorithm=SHA-512-256"), &c, &why) < 0 &&
	   strstr(why, "algorithm"), "unsupported algorithm named in the error");
	ok(digest_parse_credentials(S("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", "
				      "response=\"0\", qop=auth, nc=1, cnonce=\"c\""), &c, &why) < 0,
	   "nc must have 8 hex digits");
	ok(digest_parse_credentials(S("Digest username=\"a\\\"b\", realm=\"r\", nonce=\"n\", "
				      "uri=\"u\", response=\"0\""), &c, &why) == 0 &&
	   !strcmp(c.username, "a\"b"), "escaped quote in username unescaped");
	memset(big, 'x', sizeof(big));
	memcpy(big, "Digest username=\"", 17);
	big[sizeof(big) - 1] = 0;
	ok(digest_parse_credentials((struct sip_span){ big, (uint32_t)strlen(big) }, &c, &why) < 0,
	   "overlong parameter rejected");
}

static void test_nonce(void)
{
	uint8_t secret[NONCE_SECRET_LEN] = { 1, 2, 3 };
	uint8_t other[NONCE_SECRET_LEN] = { 9 };
	struct nonce_key *k = nonce_key_new(secret, "ksip");
	struct nonce_key *k2 = nonce_key_new(other, "ksip");
	struct nonce_key *k3 = nonce_key_new(secret, "other-realm");
	struct nonce_key *next_boot = nonce_key_new(secret, "ksip");
	char n1[NONCE_HEX_LEN + 1], n2[NONCE_HEX_LEN + 1];
	struct nonce_id id1 = { 0 }, id2 = { 0 };

	nonce_make(k, 1000, n1);
	nonce_make(k, 1000, n2);
	ok(strlen(n1) == NONCE_HEX_LEN && strcmp(n1, n2) != 0, "two nonces in the same second differ");
	ok(nonce_check(k, n1, 1000, 300, &id1) == NONCE_VALID && id1.minted == 1000,
	   "fresh nonce valid");
	ok(nonce_check(k, n2, 1100, 300, &id2) == NONCE_VALID && id2.counter == id1.counter + 1,
	   "nonce counters differ and grow");
	ok(nonce_check(k, n1, 1300, 300, &id1) == NONCE_VALID, "valid for its whole lifetime");
	ok(nonce_check(k, n1, 1301, 300, &id1) == NONCE_STALE, "nonce past lifetime is stale");
	ok(nonce_check(next_boot, n1, 1000, 300, &id1) == NONCE_STALE,
	   "same secret, next process: stale (its nonce-counts were lost)");
	ok(nonce_check(k2, n1, 1000, 300, &id1) == NONCE_INVALID,
	   "nonce from another secret invalid");
	ok(nonce_check(k3, n1, 1000, 300, &id1) == NONCE_INVALID,
	   "nonce bound to its realm");
	n1[10] ^= 1;
	ok(nonce_check(k, n1, 1000, 300, &id1) == NONCE_INVALID, "tampered nonce invalid");
	n1[10] ^= 1;
	n1[20] ^= 1;	/* in the boot id: covered by the MAC too */
	ok(nonce_check(k, n1, 1000, 300, &id1) == NONCE_INVALID, "tampered boot id invalid");
	ok(nonce_check(k, "abc", 1000, 300, &id1) == NONCE_INVALID, "short nonce invalid");
	nonce_key_free(k);
	nonce_key_free(k2);
	nonce_key_free(k3);
	nonce_key_free(next_boot);
}

int main(void)
{
	test_rfc2617();
	test_rfc7616();
	test_parse_errors();
	test_nonce();
	return tap_done();
}
