/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Digest authentication of requests against the user table: challenge,
 * verify, stale nonces, nonce-count replay protection. Shared by the
 * registrar (401/Authorization) and, later, the proxy (407/Proxy-Authorization).
 */
#ifndef KSIP_AUTH_H
#define KSIP_AUTH_H

#include "ksipd.h"
#include "sip/msg.h"
#include "sip/reply.h"
#include "base/stats.h"

enum auth_result {
	AUTH_OK,
	AUTH_CHALLENGE,		/* no (usable) credentials, or they failed: 401/407 */
	AUTH_STALE,		/* right password, expired nonce: challenge with stale=true */
	AUTH_MALFORMED,		/* credentials for our realm that don't parse: 400 */
};

struct auth_outcome {
	enum auth_result result;
	char user[128];		/* authenticated user name when AUTH_OK */
	const char *why;	/* for AUTH_MALFORMED */
};

void auth_check(struct ksipd *d, struct ksip_stats *st, const struct sip_msg *m,
		enum sip_hdr_id cred_hdr, time_t now, struct auth_outcome *out);

/* Append WWW-Authenticate (or Proxy-Authenticate) headers: SHA-256, then MD5 (RFC 8760). */
void auth_add_challenge(struct ksipd *d, struct sip_out *o, bool proxy, bool stale, time_t now);

#endif
