// SPDX-License-Identifier: GPL-2.0
#include "registrar/auth.h"

#include <stdio.h>
#include <string.h>

#include "registrar/challenge.h"
#include "sip/digest.h"
#include "sip/hdr.h"
#include "base/log.h"
#include "store/users.h"

_Static_assert(DIGEST_MD5 == (int)KSIP_AUTH_MD5 && DIGEST_SHA256 == (int)KSIP_AUTH_SHA256,
	       "configured algorithms are digest algorithms");

/*
 * The user part of ID's URI (To or From) into NAME, "" when it has none or
 * one too long to be a user's: then the decoy of "" answers for it.
 */
static void named_user(const struct sip_msg *m, enum sip_hdr_id id, char *name, size_t len)
{
	const struct sip_hdr *h = sip_hdr_first(m, id);
	struct sip_naddr na;
	struct sip_uri u;

	name[0] = 0;
	if (h && sip_naddr_parse(h->value, &na) && sip_uri_parse(na.uri, &u) && u.user.len < len)
		snprintf(name, len, SPAN_FMT, SPAN_ARG(u.user));
}

void auth_add_challenge(const struct auth *a, struct sip_out *o, const struct sip_msg *m,
			bool proxy, bool stale, time_t now)
{
	const struct sip_hdr *ua = sip_hdr_first(m, SIP_HDR_USER_AGENT);
	char nonce[NONCE_HEX_LEN + 1], name[sizeof(((struct user_record *)0)->name)];
	enum user_digest digest;
	enum user_last_alg last;
	struct challenge_algs algs;

	/* Before any credentials: the user the request claims, as the registrar and proxy check it. */
	named_user(m, proxy ? SIP_HDR_FROM : SIP_HDR_TO, name, sizeof(name));
	users_digest_of(a->users, name, &digest, &last);
	challenge_offer(a->cfg, digest, last,
			challenge_md5_agent(a->cfg, ua ? ua->value : (struct sip_span){ 0 }), &algs);
	nonce_make(a->nonce, now, nonce);
	for (int i = 0; i < algs.n; i++)
		out_printf(o, "%s: Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\", algorithm=%s%s\r\n",
			   proxy ? "Proxy-Authenticate" : "WWW-Authenticate", a->cfg->realm, nonce,
			   digest_alg_name(algs.alg[i]), stale ? ", stale=true" : "");
}

/*
 * A guessing flood must not become a write() per request: failure lines
 * share one budget (base/log.h); auth_failures still counts every one.
 */
static struct log_limit auth_log_budget = LOG_LIMIT_INIT;

static void log_auth_failure(const char *user, const char *why, const char *nc)
{
	log_limited(&auth_log_budget, LOG_LVL_INFO, "auth failed for '%s' (%s%s%s)", user, why,
		    nc ? ", nc " : "", nc ? nc : "");
}

static bool algorithm_offered(const struct auth *a, enum digest_alg alg)
{
	for (int i = 0; i < a->cfg->n_auth_algs; i++)
		if (a->cfg->auth_algs[i] == (int)alg)
			return true;
	return false;
}

/*
 * Pick the credentials meant for our realm. A request may carry several
 * (one per realm it has met); those for other realms are not ours to judge.
 */
static int find_credentials(const struct auth *a, const struct sip_msg *m, enum sip_hdr_id id,
			    struct digest_creds *c, const char **why)
{
	for (int i = m->first[id]; i >= 0 && i < m->nhdrs; i++) {
		if (m->hdrs[i].id != id)
			continue;
		if (digest_parse_credentials(m->hdrs[i].value, c, why) < 0) {
			/* Malformed: it is ours to reject only if it names our realm. */
			if (memmem(m->hdrs[i].value.p, m->hdrs[i].value.len, a->cfg->realm,
				   strlen(a->cfg->realm)))
				return -1;
			continue;
		}
		/* Only algorithms we offer: an operator who disabled MD5 means it. */
		if (!strcmp(c->realm, a->cfg->realm) && algorithm_offered(a, c->alg))
			return 1;
	}
	return 0;
}

/*
 * RFC 7616 §3.4.6: the digest-uri must name the resource of the Request-Line,
 * else credentials captured for one target would open another. Clients copy
 * the Request-URI, so bytes are compared, as sent.
 */
static bool uri_matches(const struct digest_creds *c, const struct sip_msg *m)
{
	return strlen(c->uri) == m->ruri.len && !memcmp(c->uri, m->ruri.p, m->ruri.len);
}

void auth_check(const struct auth *a, struct ksip_stats *st, const struct sip_msg *m,
		const struct sip_source *src, enum sip_hdr_id cred_hdr, time_t now,
		struct auth_outcome *out)
{
	struct digest_creds c;
	uint8_t ha1[DIGEST_MAX_LEN];
	char expected[DIGEST_HEX_MAX], method[32];
	enum nonce_state ns;
	enum nonce_verdict nv;
	struct nonce_id nonce_id = { 0 };
	enum user_digest digest;
	enum user_last_alg last;
	bool known, allowed, match;
	int found;

	out->user[0] = 0;
	out->why = NULL;
	found = find_credentials(a, m, cred_hdr, &c, &out->why);
	if (found < 0) {
		out->result = AUTH_MALFORMED;
		return;
	}
	if (!found) {
		STAT_INC(st, auth_challenges);
		out->result = AUTH_CHALLENGE;
		return;
	}
	/* RFC 7616 §3.4.6: "the server SHOULD return a 400 Bad Request error". */
	if (!uri_matches(&c, m)) {
		STAT_INC(st, auth_failures);
		log_auth_failure(c.username, "digest uri is not the Request-URI", NULL);
		out->why = "Digest uri does not match the Request-URI";
		out->result = AUTH_MALFORMED;
		return;
	}

	ns = nonce_check(a->nonce, c.nonce, now, a->cfg->nonce_lifetime, &nonce_id);
	/*
	 * An unknown user is checked against a fixed dummy HA1 so that the
	 * answer and the work done are the same as for a wrong password.
	 */
	known = users_get_ha1(a->users, c.username, c.alg, ha1);
	/*
	 * A user's setting (sha256, md5) holds for credentials as for
	 * challenges. Looked up for unknown names too (a decoy): the same work.
	 */
	users_digest_of(a->users, c.username, &digest, &last);
	allowed = known && challenge_accepts(a->cfg, digest, c.alg);
	if (!allowed)
		memset(ha1, 0x5a, sizeof(ha1));
	snprintf(method, sizeof(method), SPAN_FMT, SPAN_ARG(m->method_name));
	digest_response(c.alg, ha1, &c, method, expected);
	match = digest_hex_equal(expected, c.response) && allowed && ns != NONCE_INVALID;

	if (!match) {
		STAT_INC(st, auth_failures);
		log_auth_failure(c.username,
				 ns == NONCE_INVALID ? "foreign nonce"
				 : known && !allowed ? "algorithm not allowed for the user"
				 : "bad credentials", NULL);
		if (a->on_failure)
			a->on_failure(a->failure_arg, st, src, c.username, now);
		out->result = AUTH_CHALLENGE;
		return;
	}
	if (ns == NONCE_STALE) {
		STAT_INC(st, auth_stale);
		out->result = AUTH_STALE;
		return;
	}
	/*
	 * We only offer qop=auth; without it there is no nonce-count to protect
	 * us. The nonce's state is created here, after the digest verified, so
	 * only holders of a password can make the table grow.
	 */
	nv = c.qop[0] ? users_nonce_use(a->users, c.username, &nonce_id, a->cfg->nonce_lifetime,
					c.nc_value, now)
		      : NONCE_USE_REPLAY;
	if (nv == NONCE_USE_DROPPED) {
		/* Its state was dropped at a cap: a new nonce, without asking for the password. */
		STAT_INC(st, auth_stale);
		out->result = AUTH_STALE;
		return;
	}
	if (nv != NONCE_USE_OK) {
		STAT_INC(st, auth_replays);
		STAT_INC(st, auth_failures);
		log_auth_failure(c.username, "replayed nonce-count", c.nc);
		out->result = AUTH_CHALLENGE;
		return;
	}
	/* What auto offers this user next (registrar/challenge.h); stored only when it changes. */
	users_note_alg(a->users, c.username,
		       c.alg == DIGEST_SHA256 ? USER_LAST_SHA256 : USER_LAST_MD5);
	snprintf(out->user, sizeof(out->user), "%s", c.username);
	out->result = AUTH_OK;
}
