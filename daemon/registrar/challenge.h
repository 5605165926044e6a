/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which digest algorithms a challenge offers one user, and which the
 * user's credentials may use (docs/security.md, "Digest algorithms").
 * Pure: the configuration, the user's setting and last algorithm and the
 * request's User-Agent in, a list of algorithms out; auth.c applies it.
 *
 * auth_algorithms is the hard limit: nothing outside it is ever offered or
 * accepted. Within it, for the user's setting (enum user_digest):
 *   sha256, md5  that algorithm alone, offered and accepted;
 *   both         every configured algorithm, whoever asks;
 *   auto         MD5 alone to a User-Agent listed in digest_md5_agents (a
 *                phone that gives up on a 401 offering SHA-256) and to a
 *                user whose last successful authentication used MD5; else
 *                every configured algorithm, in order (SHA-256 first by
 *                default, RFC 8760). Credentials of any configured
 *                algorithm are accepted: the User-Agent is the sender's
 *                claim and only ever changes its own challenge.
 */
#ifndef KSIP_REGISTRAR_CHALLENGE_H
#define KSIP_REGISTRAR_CHALLENGE_H

#include <stdbool.h>

#include "base/config.h"
#include "sip/digest.h"
#include "sip/msg.h"
#include "store/record.h"

/* Bytes of a User-Agent that are searched for digest_md5_agents (bounds the work per request). */
#define CHALLENGE_UA_SCAN 256

struct challenge_algs {
	int n;
	enum digest_alg alg[DIGEST__COUNT];	/* most preferred first */
};

/* Does USER_AGENT hold one of digest_md5_agents (case-insensitive, within CHALLENGE_UA_SCAN)? */
bool challenge_md5_agent(const struct ksip_config *cfg, struct sip_span user_agent);

/* The algorithms whose credentials a user with setting D may use (may be none). */
void challenge_accepted(const struct ksip_config *cfg, enum user_digest d,
			struct challenge_algs *out);
bool challenge_accepts(const struct ksip_config *cfg, enum user_digest d, enum digest_alg alg);

/*
 * What to offer a user with setting D and last algorithm LAST, asked by a
 * listed User-Agent or not (MD5_AGENT). Never empty: when D leaves nothing
 * of auth_algorithms, every configured algorithm is offered (so the answer
 * looks like any other) and challenge_accepted() refuses whatever comes.
 */
void challenge_offer(const struct ksip_config *cfg, enum user_digest d, enum user_last_alg last,
		     bool md5_agent, struct challenge_algs *out);

#endif
