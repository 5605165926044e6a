// SPDX-License-Identifier: GPL-2.0
#include "registrar/challenge.h"

#include <ctype.h>
#include <string.h>

/* Case-insensitive: is NEEDLE (NUL-terminated, not empty) within the LEN bytes at P? */
static bool contains_ci(const char *p, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n && i + n <= len; i++) {
		size_t k = 0;

		while (k < n && tolower((unsigned char)p[i + k]) == tolower((unsigned char)needle[k]))
			k++;
		if (k == n)
			return true;
	}
	return false;
}

bool challenge_md5_agent(const struct ksip_config *cfg, struct sip_span user_agent)
{
	size_t len = user_agent.len < CHALLENGE_UA_SCAN ? user_agent.len : CHALLENGE_UA_SCAN;

	if (!user_agent.p)
		return false;
	for (int i = 0; i < cfg->n_digest_md5_agents; i++)
		if (contains_ci(user_agent.p, len, cfg->digest_md5_agents[i]))
			return true;
	return false;
}

static bool setting_allows(enum user_digest d, enum digest_alg alg)
{
	switch (d) {
	case USER_DIGEST_SHA256:
		return alg == DIGEST_SHA256;
	case USER_DIGEST_MD5:
		return alg == DIGEST_MD5;
	default:
		return true;
	}
}

void challenge_accepted(const struct ksip_config *cfg, enum user_digest d,
			struct challenge_algs *out)
{
	out->n = 0;
	for (int i = 0; i < cfg->n_auth_algs && out->n < DIGEST__COUNT; i++)
		if (setting_allows(d, (enum digest_alg)cfg->auth_algs[i]))
			out->alg[out->n++] = (enum digest_alg)cfg->auth_algs[i];
}

bool challenge_accepts(const struct ksip_config *cfg, enum user_digest d, enum digest_alg alg)
{
	struct challenge_algs a;

	challenge_accepted(cfg, d, &a);
	for (int i = 0; i < a.n; i++)
		if (a.alg[i] == alg)
			return true;
	return false;
}

void challenge_offer(const struct ksip_config *cfg, enum user_digest d, enum user_last_alg last,
		     bool md5_agent, struct challenge_algs *out)
{
	challenge_accepted(cfg, d, out);
	if (!out->n) {
		challenge_accepted(cfg, USER_DIGEST_BOTH, out);
		return;
	}
	/*
	 * auto: the listed agent first, then the remembered algorithm (a
	 * listed phone must get MD5 alone even on an account whose other
	 * phone last used SHA-256). Only MD5 needs offering alone: a phone
	 * that did SHA-256 finds it in the full list, first by default.
	 */
	if (d == USER_DIGEST_AUTO && (md5_agent || last == USER_LAST_MD5) &&
	    challenge_accepts(cfg, d, DIGEST_MD5)) {
		out->n = 1;
		out->alg[0] = DIGEST_MD5;
	}
}
