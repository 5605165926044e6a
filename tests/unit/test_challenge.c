// SPDX-License-Identifier: GPL-2.0
/*
 * registrar/challenge.c alone (base, sip, registrar/challenge): which digest
 * algorithms a challenge offers and which credentials are accepted, for
 * every user setting, last algorithm and User-Agent, under each
 * auth_algorithms; the digest_md5_agents key; hostile User-Agents.
 */
#include <stdio.h>
#include <string.h>

#include "registrar/challenge.h"
#include "tap.h"

static struct ksip_config cfg;

/* "SHA-256,MD5": the offer as text, most preferred first. */
static const char *offer(enum user_digest d, enum user_last_alg last, bool agent)
{
	static char buf[64];
	struct challenge_algs a;
	size_t n = 0;

	challenge_offer(&cfg, d, last, agent, &a);
	buf[0] = 0;
	for (int i = 0; i < a.n; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "",
				      digest_alg_name(a.alg[i]));
	return buf;
}

static bool ua(const char *s)
{
	return challenge_md5_agent(&cfg, (struct sip_span){ s, (uint32_t)strlen(s) });
}

static void test_default_config(void)
{
	config_defaults(&cfg);
	ok(cfg.n_digest_md5_agents == 1 && !strcmp(cfg.digest_md5_agents[0], "baresip"),
	   "digest_md5_agents defaults to baresip");
	ok(ua("baresip v1.0.0 (x86_64/linux)") && ua("BareSIP") && ua("my-baresip-fork/2"),
	   "a User-Agent holding 'baresip' in any case is a listed agent");
	ok(!ua("Linphone Desktop/5.1.2 (Debian) LinphoneCore/5.1") && !ua("") && !ua("bare sip"),
	   "others are not");
	ok(!challenge_md5_agent(&cfg, (struct sip_span){ NULL, 0 }), "no User-Agent: not listed");

	ok(!strcmp(offer(USER_DIGEST_AUTO, USER_LAST_NONE, false), "SHA-256,MD5"),
	   "auto, nothing known, any phone: SHA-256 then MD5 (RFC 8760 order)");
	ok(!strcmp(offer(USER_DIGEST_AUTO, USER_LAST_NONE, true), "MD5"),
	   "auto, a listed agent: MD5 alone");
	ok(!strcmp(offer(USER_DIGEST_AUTO, USER_LAST_SHA256, false), "SHA-256,MD5"),
	   "auto, last authenticated with SHA-256: SHA-256 first");
	ok(!strcmp(offer(USER_DIGEST_AUTO, USER_LAST_SHA256, true), "MD5"),
	   "auto, last SHA-256 but a listed agent asks: MD5 alone (that phone could not answer)");
	ok(!strcmp(offer(USER_DIGEST_AUTO, USER_LAST_MD5, false), "MD5"),
	   "auto, last authenticated with MD5: MD5 alone");
	for (int last = 0; last < USER_LAST__COUNT; last++)
		for (int agent = 0; agent < 2; agent++) {
			ok(!strcmp(offer(USER_DIGEST_SHA256, last, agent), "SHA-256"),
			   "sha256 (last %d, agent %d): SHA-256 alone", last, agent);
			ok(!strcmp(offer(USER_DIGEST_MD5, last, agent), "MD5"),
			   "md5 (last %d, agent %d): MD5 alone", last, agent);
			ok(!strcmp(offer(USER_DIGEST_BOTH, last, agent), "SHA-256,MD5"),
			   "both (last %d, agent %d): SHA-256 then MD5", last, agent);
		}
	ok(challenge_accepts(&cfg, USER_DIGEST_AUTO, DIGEST_MD5) &&
	   challenge_accepts(&cfg, USER_DIGEST_AUTO, DIGEST_SHA256),
	   "auto accepts both configured algorithms");
	ok(challenge_accepts(&cfg, USER_DIGEST_SHA256, DIGEST_SHA256) &&
	   !challenge_accepts(&cfg, USER_DIGEST_SHA256, DIGEST_MD5),
	   "sha256 refuses MD5 credentials");
	ok(challenge_accepts(&cfg, USER_DIGEST_MD5, DIGEST_MD5) &&
	   !challenge_accepts(&cfg, USER_DIGEST_MD5, DIGEST_SHA256),
	   "md5 refuses SHA-256 credentials");
}

/* auth_algorithms is the hard limit: nothing outside it, whatever the user or the phone. */
static void test_hard_limit(void)
{
	config_defaults(&cfg);
	config_parse_auth_algorithms(&cfg, "SHA-256");
	for (int d = 0; d < USER_DIGEST__COUNT; d++)
		for (int last = 0; last < USER_LAST__COUNT; last++)
			for (int agent = 0; agent < 2; agent++)
				ok(!strcmp(offer(d, last, agent), "SHA-256"),
				   "auth_algorithms = SHA-256, setting %d (last %d, agent %d): never MD5",
				   d, last, agent);
	ok(!challenge_accepts(&cfg, USER_DIGEST_AUTO, DIGEST_MD5) &&
	   !challenge_accepts(&cfg, USER_DIGEST_BOTH, DIGEST_MD5) &&
	   !challenge_accepts(&cfg, USER_DIGEST_MD5, DIGEST_MD5) &&
	   !challenge_accepts(&cfg, USER_DIGEST_MD5, DIGEST_SHA256),
	   "and MD5 credentials are refused for every setting; an md5 user cannot authenticate");

	config_parse_auth_algorithms(&cfg, "MD5");
	ok(!strcmp(offer(USER_DIGEST_AUTO, USER_LAST_SHA256, false), "MD5") &&
	   !strcmp(offer(USER_DIGEST_SHA256, USER_LAST_NONE, false), "MD5") &&
	   !challenge_accepts(&cfg, USER_DIGEST_SHA256, DIGEST_MD5),
	   "auth_algorithms = MD5: MD5 for all; a sha256 user is offered it but cannot use it");

	config_parse_auth_algorithms(&cfg, "MD5 SHA-256");
	ok(!strcmp(offer(USER_DIGEST_AUTO, USER_LAST_NONE, false), "MD5,SHA-256") &&
	   !strcmp(offer(USER_DIGEST_BOTH, USER_LAST_MD5, true), "MD5,SHA-256"),
	   "the operator's order is kept");
}

static void test_config_key(void)
{
	char big[CONFIG_MAX_AGENTS * CONFIG_AGENT_LEN + 8], tok[CONFIG_AGENT_LEN + 1];
	size_t n = 0;

	config_defaults(&cfg);
	ok(config_parse_md5_agents(&cfg, "baresip, Grandstream GXP1610") == 0 &&
	   cfg.n_digest_md5_agents == 3 && ua("Grandstream GXP1610 1.0.7.13") && ua("x GXP1610"),
	   "digest_md5_agents takes a space- or comma-separated list");
	ok(config_parse_md5_agents(&cfg, "") == 0 && cfg.n_digest_md5_agents == 0 && !ua("baresip"),
	   "empty: no agent gets MD5 alone");
	memset(tok, 'a', CONFIG_AGENT_LEN);
	tok[CONFIG_AGENT_LEN] = 0;
	ok(config_parse_md5_agents(&cfg, tok) < 0, "a substring of %d bytes is refused",
	   CONFIG_AGENT_LEN);
	for (int i = 0; i <= CONFIG_MAX_AGENTS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "a%d ", i);
	ok(config_parse_md5_agents(&cfg, big) < 0, "more than %d substrings are refused",
	   CONFIG_MAX_AGENTS);
}

/* A User-Agent as long as a message: only its first CHALLENGE_UA_SCAN bytes are searched. */
static void test_hostile_agent(void)
{
	static char big[65536];

	config_defaults(&cfg);
	memset(big, 'b', sizeof(big));
	memcpy(big + sizeof(big) - 8, "baresip", 7);
	ok(!challenge_md5_agent(&cfg, (struct sip_span){ big, sizeof(big) }),
	   "'baresip' past the first %d bytes of a 64 KiB User-Agent is not looked for",
	   CHALLENGE_UA_SCAN);
	memcpy(big + 10, "BARESIP", 7);
	ok(challenge_md5_agent(&cfg, (struct sip_span){ big, sizeof(big) }),
	   "within them it is found");
	ok(!challenge_md5_agent(&cfg, (struct sip_span){ "baresi", 6 }),
	   "a User-Agent shorter than the substring: no match, no overread");
}

int main(void)
{
	test_default_config();
	test_hard_limit();
	test_config_key();
	test_hostile_agent();
	return tap_done();
}
