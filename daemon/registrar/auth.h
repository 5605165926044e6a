/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Digest authentication of requests against the user table: challenge
 * (with the algorithms registrar/challenge.h picks per user), verify,
 * remember the algorithm that worked, digest uri against the Request-URI, stale nonces (expired, or
 * minted before a restart), nonce-count replay protection (store/users.h). Shared by the
 * registrar (401/Authorization) and, later, the proxy (407/Proxy-Authorization).
 */
#ifndef KSIP_AUTH_H
#define KSIP_AUTH_H

#include <stdbool.h>
#include <time.h>

#include "base/config.h"
#include "base/stats.h"
#include "sip/msg.h"
#include "sip/reply.h"

struct user_table;
struct nonce_key;

/* What authentication reads; owned by whoever made it (the daemon), shared by all workers. */
struct auth {
	const struct ksip_config *cfg;	/* realm, offered algorithms, nonce lifetime */
	struct user_table *users;	/* HA1s and the nonces in use */
	struct nonce_key *nonce;	/* makes and checks stateless nonces */
	/*
	 * Told of each failed verification (wrong password, unknown user, bad
	 * nonce; not a missing header, not a stale nonce) with the source and
	 * the user name tried, on the worker that checked, ST its counters.
	 * The top points it at the shield (dispatch.c). NULL: nobody listens.
	 */
	void (*on_failure)(void *arg, struct ksip_stats *st, const struct sip_source *src,
			   const char *user, time_t now);
	void *failure_arg;
};

enum auth_result {
	AUTH_OK,
	AUTH_CHALLENGE,		/* no (usable) credentials, or they failed: 401/407 */
	AUTH_STALE,		/* right password, nonce expired, from before a restart or dropped
				   at a cap: challenge with stale=true */
	AUTH_MALFORMED,		/* credentials for our realm that don't parse, or whose
				   digest uri is not the Request-URI: 400 */
};

struct auth_outcome {
	enum auth_result result;
	char user[128];		/* authenticated user name when AUTH_OK */
	const char *why;	/* for AUTH_MALFORMED */
};

/*
 * Judge the credentials of M from SRC in CRED_HDR (Authorization or
 * Proxy-Authorization); counts in ST, reports failures through on_failure.
 */
void auth_check(const struct auth *a, struct ksip_stats *st, const struct sip_msg *m,
		const struct sip_source *src, enum sip_hdr_id cred_hdr, time_t now,
		struct auth_outcome *out);

/*
 * Append WWW-Authenticate (or Proxy-Authenticate) headers to the answer to
 * M, one per algorithm offered, most preferred first (RFC 8760): which ones
 * is registrar/challenge.h's choice for the user M names (To of a REGISTER,
 * From of a request to the proxy) and M's User-Agent. A name that is no
 * user is answered like a user (users_digest_of's decoys).
 */
void auth_add_challenge(const struct auth *a, struct sip_out *o, const struct sip_msg *m,
			bool proxy, bool stale, time_t now);

#endif
