// SPDX-License-Identifier: GPL-2.0
/*
 * The registrar alone (base sip store txn registrar): REGISTER messages
 * built here, judged by registrar_handle() against an in-memory location
 * table (a fake persistence handler, no database) and a user table, with
 * the digest answers computed by sip/digest.c. RFC 3261 §10.3: expiry
 * rules, 423, Contact: *, Call-ID/CSeq order, q, queries, and the
 * authentication in front of them: which algorithms each user is
 * challenged with (registrar/challenge.h), what is accepted, what is
 * remembered, and that a challenge tells nothing of which names exist.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/auth.h"
#include "registrar/registrar.h"
#include "sip/digest.h"
#include "store/location.h"
#include "store/users.h"
#include "txn/cache.h"
#include "tap.h"

#define NOW 1700000000

static struct ksip_config cfg;
static struct auth auth;
static struct location *loc;
static struct ksip_stats stats;
static struct registrar_ctx rc;
static struct sip_source src;
static struct sip_out out;
static int saves, removes;

static char nonce[NONCE_HEX_LEN + 1];
static uint32_t nc;
static int branch;

static void fake_save(void *arg, const struct binding_view *b, time_t expires_at)
{
	(void)arg, (void)b, (void)expires_at;
	saves++;
}

static void fake_remove(void *arg, const char *aor, const char *contact)
{
	(void)arg, (void)aor, (void)contact;
	removes++;
}

static void fake_remove_aor(void *arg, const char *aor)
{
	(void)arg, (void)aor;
	removes++;
}

static const struct binding_persist_ops fake_ops = {
	.save = fake_save,
	.remove = fake_remove,
	.remove_aor = fake_remove_aor,
};

static void add_user(const char *name, const char *password)
{
	struct user_record u = { 0 };

	snprintf(u.name, sizeof(u.name), "%s", name);
	digest_ha1(DIGEST_MD5, name, cfg.realm, password, u.ha1_md5);
	digest_ha1(DIGEST_SHA256, name, cfg.realm, password, u.ha1_sha256);
	users_put(auth.users, &u);
}

/* The Authorization header for USER/PASSWORD with ALG answering the current nonce with NC. */
static void authorization_alg(char *buf, size_t len, const char *user, const char *password,
			      uint32_t count, enum digest_alg alg)
{
	struct digest_creds c;
	uint8_t ha1[DIGEST_MAX_LEN];
	char resp[DIGEST_HEX_MAX], hdr[1024];
	const char *why, *an = digest_alg_name(alg);
	int n;

	n = snprintf(hdr, sizeof(hdr), "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
		     "uri=\"sip:%s\", algorithm=%s, qop=auth, nc=%08x, cnonce=\"c0ffee\", "
		     "response=\"0\"", user, cfg.realm, nonce, cfg.realm, an, count);
	if (digest_parse_credentials((struct sip_span){ hdr, (uint32_t)n }, &c, &why)) {
		diag("own credentials do not parse: %s", why);
		buf[0] = 0;
		return;
	}
	digest_ha1(alg, user, cfg.realm, password, ha1);
	digest_response(alg, ha1, &c, "REGISTER", resp);
	snprintf(buf, len, "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
		 "uri=\"sip:%s\", algorithm=%s, qop=auth, nc=%08x, cnonce=\"c0ffee\", "
		 "response=\"%s\"\r\n", user, cfg.realm, nonce, cfg.realm, an, count, resp);
}

static void authorization(char *buf, size_t len, const char *user, const char *password,
			  uint32_t count)
{
	authorization_alg(buf, len, user, password, count, DIGEST_SHA256);
}

/*
 * Send one REGISTER for TO_USER with the extra header lines EXTRA (Contact,
 * Expires, Authorization...), each ending in CRLF. Returns the status code.
 */
static int send_raw(const char *to_user, const char *callid, uint32_t cseq, const char *extra)
{
	static char msg[SIP_MAX_MESSAGE];
	char to[256];
	struct sip_msg m;
	int n, code = 0;

	if (to_user[0])
		snprintf(to, sizeof(to), "%s@%s", to_user, cfg.realm);
	else
		snprintf(to, sizeof(to), "%s", cfg.realm);	/* a To URI without a user */
	n = snprintf(msg, sizeof(msg),
		     "REGISTER sip:%s SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-t%d\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:%s>;tag=f1\r\n"
		     "To: <sip:%s>\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u REGISTER\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n",
		     cfg.realm, ++branch, to, to, callid, cseq, extra);
	if (sip_parse(&m, msg, (size_t)n) != SIP_PARSE_OK) {
		diag("own REGISTER does not parse: %s", m.error);
		return -1;
	}
	memset(&out, 0, sizeof(out));
	registrar_handle(&rc, &m, &src, &out);
	out.buf[out.len < sizeof(out.buf) ? out.len : sizeof(out.buf) - 1] = 0;
	sscanf(out.buf, "SIP/2.0 %d", &code);
	return code;
}

/* The same for alice, authenticated with a fresh nonce-count. */
static int reg(const char *callid, uint32_t cseq, const char *fmt, ...)
{
	char extra[4096], authz[1024];
	va_list ap;
	int n;

	authorization(authz, sizeof(authz), "alice", "secret-a", ++nc);
	va_start(ap, fmt);
	n = vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	snprintf(extra + n, sizeof(extra) - (size_t)n, "%s", authz);
	return send_raw("alice", callid, cseq, extra);
}

static bool has(const char *text)
{
	return strstr(out.buf, text) != NULL;
}

static int count_contacts(void)
{
	int n = 0;

	for (const char *p = out.buf; (p = strstr(p, "\r\nContact: ")); p++)
		n++;
	return n;
}

static void test_auth(void)
{
	char authz[1024], extra[1200];
	const char *p;
	uint64_t before = stats.auth_challenges;

	ok(send_raw("alice", "cid-auth", 1, "Contact: <sip:alice@192.0.2.1>\r\n") == 401,
	   "no credentials: 401");
	ok(has("WWW-Authenticate: Digest realm=\"ksip\"") && has("qop=\"auth\"") &&
	   has("algorithm=SHA-256") && has("algorithm=MD5"),
	   "with a challenge per configured algorithm");
	ok(stats.auth_challenges == before + 1, "counted as a challenge");
	p = strstr(out.buf, "nonce=\"");
	if (p && strlen(p + 7) > NONCE_HEX_LEN) {
		memcpy(nonce, p + 7, NONCE_HEX_LEN);
		nonce[NONCE_HEX_LEN] = 0;
	}
	ok(p && nonce[0], "the challenge carries a nonce");

	authorization(authz, sizeof(authz), "alice", "wrong", ++nc);
	snprintf(extra, sizeof(extra), "Contact: <sip:alice@192.0.2.1>\r\n%s", authz);
	ok(send_raw("alice", "cid-auth", 2, extra) == 401 && stats.auth_failures == 1,
	   "a wrong password: 401 again, counted as a failure");

	ok(reg("cid-auth", 3, "Contact: <sip:alice@192.0.2.1>\r\n") == 200,
	   "the right digest response (computed by sip/digest.c): 200");
	ok(count_contacts() == 1 && has("Contact: <sip:alice@192.0.2.1>;expires=3600") &&
	   has("\r\nDate: "), "the 200 lists the binding with its expiry, and a Date");
	ok(saves == 1, "the new binding is reported for persistence");

	/* Replays: the same credentials again in a new transaction. */
	authorization(authz, sizeof(authz), "alice", "secret-a", nc);
	snprintf(extra, sizeof(extra), "Contact: <sip:alice@192.0.2.1>\r\n%s", authz);
	ok(send_raw("alice", "cid-auth", 4, extra) == 401 && stats.auth_replays == 1,
	   "a replayed nonce-count: 401, counted as a replay");

	/* Bob authenticates fine but may not register alice's AOR (§10.3 step 4). */
	add_user("bob", "secret-b");
	authorization(authz, sizeof(authz), "bob", "secret-b", 1);
	snprintf(extra, sizeof(extra), "Contact: <sip:bob@192.0.2.2>\r\n%s", authz);
	ok(send_raw("alice", "cid-bob", 1, extra) == 403, "another user's AOR: 403");
}

static void test_retransmission(void)
{
	static char msg[SIP_MAX_MESSAGE];
	struct sip_msg m;
	char authz[1024];
	uint64_t before = stats.retransmissions;
	int n, code = 0;

	authorization(authz, sizeof(authz), "alice", "secret-a", ++nc);
	n = snprintf(msg, sizeof(msg),
		     "REGISTER sip:ksip SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-retrans\r\n"
		     "Max-Forwards: 70\r\nFrom: <sip:alice@ksip>;tag=f1\r\nTo: <sip:alice@ksip>\r\n"
		     "Call-ID: cid-rt\r\nCSeq: 1 REGISTER\r\n"
		     "Contact: <sip:alice@192.0.2.1>\r\n%sContent-Length: 0\r\n\r\n", authz);
	for (int i = 0; i < 2; i++) {
		sip_parse(&m, msg, (size_t)n);
		memset(&out, 0, sizeof(out));
		registrar_handle(&rc, &m, &src, &out);
		code = 0;
		sscanf(out.buf, "SIP/2.0 %d", &code);
		ok(code == 200, "REGISTER %s: 200", i ? "retransmitted (same nc)" : "sent");
	}
	ok(stats.retransmissions == before + 1 && has("Contact: <sip:alice@192.0.2.1>"),
	   "the retransmission is answered from the cache with the bindings, not judged as a replay");
}

static void test_expires(void)
{
	ok(reg("cid-e", 1, "Contact: <sip:alice@192.0.2.1>;expires=120\r\nExpires: 300\r\n") == 200 &&
	   has("Contact: <sip:alice@192.0.2.1>;expires=120"),
	   "the contact's expires parameter wins over the Expires header");
	ok(reg("cid-e", 2, "Contact: <sip:alice@192.0.2.1>\r\nExpires: 300\r\n") == 200 &&
	   has("Contact: <sip:alice@192.0.2.1>;expires=300"),
	   "without a parameter the Expires header applies");
	ok(reg("cid-e", 3, "Contact: <sip:alice@192.0.2.1>\r\n") == 200 &&
	   has("Contact: <sip:alice@192.0.2.1>;expires=3600"),
	   "without either, default_expires");
	ok(reg("cid-e", 4, "Contact: <sip:alice@192.0.2.1>;expires=soon\r\nExpires: 400\r\n") == 200 &&
	   has("Contact: <sip:alice@192.0.2.1>;expires=400"),
	   "a malformed parameter falls back to the header");
	ok(reg("cid-e", 5, "Contact: <sip:alice@192.0.2.1>\r\nExpires: later\r\n") == 200 &&
	   has("Contact: <sip:alice@192.0.2.1>;expires=3600"),
	   "a malformed Expires header is ignored like an absent one");
	ok(reg("cid-e", 6, "Contact: <sip:alice@192.0.2.1>;expires=99999\r\n") == 200 &&
	   has("Contact: <sip:alice@192.0.2.1>;expires=7200"), "clamped to max_expires");
	ok(reg("cid-e", 7, "Contact: <sip:alice@192.0.2.1>;expires=30\r\n") == 423 &&
	   has("Min-Expires: 60\r\n"), "below min_expires: 423 Interval Too Brief with Min-Expires");
	ok(reg("cid-e", 8, "Contact: <sip:alice@192.0.2.1>\r\nExpires: 59\r\n") == 423,
	   "the same through the Expires header");
	ok(reg("cid-e", 9, "Contact: <sip:alice@192.0.2.1>;expires=60\r\n") == 200 &&
	   has(";expires=60\r\n"), "exactly min_expires is accepted");
	ok(reg("cid-e", 10, "Contact: <sip:alice@192.0.2.1>;expires=0\r\n") == 200 &&
	   count_contacts() == 0 && removes >= 1, "expires=0 removes the binding (no 423)");
}

static void test_star(void)
{
	ok(reg("cid-s", 1, "Contact: <sip:alice@192.0.2.1>, <sip:alice@192.0.2.2>\r\n") == 200 &&
	   count_contacts() == 2, "two bindings");
	ok(reg("cid-s", 2, "Contact: *\r\nExpires: 10\r\n") == 400, "Contact: * with Expires 10: 400");
	ok(reg("cid-s", 3, "Contact: *\r\n") == 400, "Contact: * without Expires: 400");
	ok(reg("cid-s", 4, "Contact: *, <sip:alice@192.0.2.3>\r\nExpires: 0\r\n") == 400,
	   "Contact: * beside another contact: 400");
	ok(reg("cid-s", 5, "") == 200 && count_contacts() == 2, "the 400s changed nothing");
	removes = 0;
	ok(reg("cid-s", 6, "Contact: *\r\nExpires: 0\r\n") == 200 && count_contacts() == 0 &&
	   removes == 2, "Contact: * with Expires: 0 removes all, each removal reported");
}

static void test_cseq(void)
{
	ok(reg("cid-c", 10, "Contact: <sip:alice@192.0.2.1>;expires=300\r\n") == 200, "CSeq 10");
	ok(reg("cid-c", 10, "Contact: <sip:alice@192.0.2.1>;expires=600\r\n") == 500 &&
	   has("Stale CSeq"), "same Call-ID, same CSeq (new transaction): 500 Stale CSeq");
	ok(reg("cid-c", 9, "Contact: <sip:alice@192.0.2.1>;expires=600\r\n") == 500,
	   "same Call-ID, lower CSeq: 500");
	ok(reg("cid-c", 11, "") == 200 && has(";expires=300"), "the binding kept its expiry");
	ok(reg("cid-d", 1, "Contact: <sip:alice@192.0.2.1>;expires=600\r\n") == 200 &&
	   has(";expires=600"), "another Call-ID may update it with any CSeq");
	reg("cid-d", 2, "Contact: *\r\nExpires: 0\r\n");
}

static void test_q_and_query(void)
{
	ok(reg("cid-q", 1, "Contact: <sip:alice@192.0.2.1>;q=0.5, <sip:alice@192.0.2.2>;q=1\r\n"
		"Contact: <sip:alice@192.0.2.3>\r\n") == 200 && count_contacts() == 3,
	   "three contacts over two Contact headers");
	ok(has("Contact: <sip:alice@192.0.2.1>;expires=3600;q=0.500\r\n") &&
	   has("Contact: <sip:alice@192.0.2.2>;expires=3600;q=1.000\r\n") &&
	   has("Contact: <sip:alice@192.0.2.3>;expires=3600\r\n"),
	   "q values are kept and reported; none when none was given");
	saves = removes = 0;
	ok(reg("cid-q", 2, "") == 200 && count_contacts() == 3 && saves == 0 && removes == 0,
	   "a REGISTER without Contact is a query: the bindings, nothing changed");
	ok(reg("cid-q", 3, "Contact: <sip:alice@192.0.2.1>;q=2\r\n") == 400 &&
	   has("Malformed q-value"), "q above 1: 400");
	ok(reg("cid-q", 4, "Contact: <sip:alice@192.0.2.1>;q=0.5;expires=120, "
		"<sip:alice@192.0.2.1>;q=0.7;expires=240\r\n") == 200 &&
	   has("Contact: <sip:alice@192.0.2.1>;expires=240;q=0.700"),
	   "a contact given twice: the last one wins");
	reg("cid-q", 5, "Contact: *\r\nExpires: 0\r\n");
}

static void test_limits(void)
{
	char many[4096];
	int n = 0;

	cfg.max_contacts = 2;
	ok(reg("cid-l", 1, "Contact: <sip:alice@192.0.2.1>, <sip:alice@192.0.2.2>, "
		"<sip:alice@192.0.2.3>\r\n") == 403 && has("Too Many Contacts"),
	   "more than max_contacts: 403");
	ok(reg("cid-l", 2, "") == 200 && count_contacts() == 0, "and nothing was bound");
	cfg.max_contacts = 10;

	for (int i = 0; i < 33; i++)
		n += snprintf(many + n, sizeof(many) - (size_t)n, "Contact: <sip:alice@192.0.2.%d>\r\n",
			      i + 1);
	ok(reg("cid-l", 3, "%s", many) == 403, "more than 32 contacts in one request: 403");
}

/* Hostile input the registrar must refuse without binding anything. */
static void test_hostile(void)
{
	char authz[1200];

	ok(reg("cid-h", 1, "Contact: <sip:alice@192.0.2.1\r\n") == 400, "unclosed Contact: 400");
	ok(reg("cid-h", 2, "Contact: <http//x>\r\n") == 400, "Contact URI that is not one: 400");
	ok(send_raw("", "cid-h", 3, "") == 404, "a To without a user: 404");
	snprintf(authz, sizeof(authz), "Authorization: Digest realm=\"ksip\", username=\r\n");
	ok(send_raw("alice", "cid-h", 4, authz) == 400, "malformed credentials for our realm: 400");
	snprintf(authz, sizeof(authz),
		 "Authorization: Digest realm=\"elsewhere\", username=\r\n");
	ok(send_raw("alice", "cid-h", 5, authz) == 401,
	   "malformed credentials for another realm: ignored, 401");
	ok(reg("cid-h", 6, "") == 200 && count_contacts() == 0, "nothing was bound by any of them");
}

static void test_stale_nonce(void)
{
	char saved[sizeof(nonce)], authz[1024], extra[1200];

	memcpy(saved, nonce, sizeof(nonce));
	nonce_make(auth.nonce, NOW - (time_t)cfg.nonce_lifetime - 10, nonce);
	authorization(authz, sizeof(authz), "alice", "secret-a", 1);
	snprintf(extra, sizeof(extra), "Contact: <sip:alice@192.0.2.1>\r\n%s", authz);
	ok(send_raw("alice", "cid-st", 1, extra) == 401 && has("stale=true") &&
	   stats.auth_stale == 1, "the right password with an expired nonce: 401 stale=true");
	memcpy(nonce, saved, sizeof(nonce));
}

/*
 * The challenge to a REGISTER for USER from User-Agent UA (NULL: none), as
 * "SHA-256,MD5": the algorithm of each WWW-Authenticate, in order. Every
 * challenge header must carry the same nonce, which is kept for answering.
 */
static const char *challenge_for(const char *user, const char *ua)
{
	static char algs[64];
	char extra[256];
	size_t n = 0;
	const char *p;

	snprintf(extra, sizeof(extra), "Contact: <sip:%s@192.0.2.9>\r\n%s%s%s", user,
		 ua ? "User-Agent: " : "", ua ? ua : "", ua ? "\r\n" : "");
	algs[0] = 0;
	if (send_raw(user, "cid-dg", 1, extra) != 401)
		return "(no 401)";
	for (p = out.buf; (p = strstr(p, "WWW-Authenticate: Digest ")); p++) {
		const char *a = strstr(p, "algorithm="), *nn = strstr(p, "nonce=\"");

		if (!a || !nn)
			return "(malformed)";
		memcpy(nonce, nn + 7, NONCE_HEX_LEN);
		nonce[NONCE_HEX_LEN] = 0;
		a += 10;
		n += (size_t)snprintf(algs + n, sizeof(algs) - n, "%s%.*s", n ? "," : "",
				      (int)strcspn(a, ",\r"), a);
	}
	return algs;
}

/* A REGISTER for USER answered with ALG; the status code. */
static int register_with(const char *user, const char *password, enum digest_alg alg,
			 const char *ua)
{
	char authz[1024], extra[1400];

	authorization_alg(authz, sizeof(authz), user, password, ++nc, alg);
	snprintf(extra, sizeof(extra), "Contact: <sip:%s@192.0.2.9>\r\n%s%s%s%s", user,
		 ua ? "User-Agent: " : "", ua ? ua : "", ua ? "\r\n" : "", authz);
	return send_raw(user, "cid-dg2", nc, extra);
}

static void add_user_digest(const char *name, const char *password, enum user_digest d)
{
	struct user_record u;

	add_user(name, password);
	users_get(auth.users, name, &u);
	u.digest = (uint8_t)d;
	users_put(auth.users, &u);
}

#define BARESIP "baresip v1.0.0 (x86_64/linux)"
#define LINPHONE "Linphone Desktop/5.1.2 (Debian GNU/Linux) LinphoneCore/5.1.2"

static void test_digest_per_user(void)
{
	enum user_digest d;
	enum user_last_alg last;
	uint64_t failures;

	add_user("dora", "secret-d");
	ok(!strcmp(challenge_for("dora", BARESIP), "MD5"),
	   "a REGISTER from baresip: exactly one challenge, MD5");
	ok(!strcmp(challenge_for("dora", LINPHONE), "SHA-256,MD5"),
	   "from linphone: SHA-256, then MD5");
	ok(!strcmp(challenge_for("dora", NULL), "SHA-256,MD5"), "without a User-Agent: the same");
	ok(register_with("dora", "secret-d", DIGEST_SHA256, LINPHONE) == 200 &&
	   users_digest_of(auth.users, "dora", &d, &last) && last == USER_LAST_SHA256,
	   "linphone registers with SHA-256: remembered");
	ok(!strcmp(challenge_for("dora", LINPHONE), "SHA-256,MD5"),
	   "after a SHA-256 authentication: SHA-256 first");
	ok(!strcmp(challenge_for("dora", BARESIP), "MD5"),
	   "a forged baresip User-Agent gets MD5 alone: its own challenge, nothing else");
	ok(users_digest_of(auth.users, "dora", &d, &last) && last == USER_LAST_SHA256 &&
	   !strcmp(challenge_for("dora", LINPHONE), "SHA-256,MD5"),
	   "and the user's next challenge is SHA-256 first still: a challenge changes no state");

	add_user("emil", "secret-e");
	ok(!strcmp(challenge_for("emil", BARESIP), "MD5") &&
	   register_with("emil", "secret-e", DIGEST_MD5, BARESIP) == 200,
	   "baresip registers with the MD5 challenge");
	ok(users_digest_of(auth.users, "emil", &d, &last) && last == USER_LAST_MD5 &&
	   !strcmp(challenge_for("emil", NULL), "MD5"),
	   "remembered: emil's next challenge is MD5 alone, whatever the User-Agent");

	add_user_digest("fay", "secret-f", USER_DIGEST_MD5);
	ok(!strcmp(challenge_for("fay", LINPHONE), "MD5"), "--digest md5: MD5 alone even to linphone");
	failures = stats.auth_failures;
	ok(register_with("fay", "secret-f", DIGEST_SHA256, LINPHONE) == 401 &&
	   stats.auth_failures == failures + 1,
	   "and SHA-256 credentials, right password or not, are refused and counted");
	ok(register_with("fay", "secret-f", DIGEST_MD5, LINPHONE) == 200, "MD5 ones are accepted");

	add_user_digest("gus", "secret-g", USER_DIGEST_SHA256);
	ok(!strcmp(challenge_for("gus", BARESIP), "SHA-256"),
	   "--digest sha256: SHA-256 alone even to baresip");
	ok(register_with("gus", "secret-g", DIGEST_MD5, BARESIP) == 401,
	   "MD5 credentials with the right password are refused");
	ok(register_with("gus", "secret-g", DIGEST_SHA256, NULL) == 200, "SHA-256 ones accepted");

	add_user_digest("hal", "secret-h", USER_DIGEST_BOTH);
	ok(!strcmp(challenge_for("hal", BARESIP), "SHA-256,MD5") &&
	   register_with("hal", "secret-h", DIGEST_MD5, NULL) == 200 &&
	   !strcmp(challenge_for("hal", NULL), "SHA-256,MD5"),
	   "--digest both: both to everyone, before and after an MD5 authentication");

	/* The operator's hard limit. */
	config_parse_auth_algorithms(&cfg, "SHA-256");
	ok(!strcmp(challenge_for("dora", BARESIP), "SHA-256") &&
	   !strcmp(challenge_for("emil", NULL), "SHA-256") &&
	   !strcmp(challenge_for("fay", BARESIP), "SHA-256"),
	   "auth_algorithms = SHA-256: never MD5, not to baresip, nor an md5 user, nor one that used it");
	ok(register_with("emil", "secret-e", DIGEST_MD5, BARESIP) == 401 &&
	   register_with("fay", "secret-f", DIGEST_MD5, BARESIP) == 401,
	   "and MD5 credentials with the right password are refused");
	config_parse_auth_algorithms(&cfg, "SHA-256 MD5");
}

/*
 * An attacker probing names: the challenge to a name that is no user must
 * look like one to a user. Users with the default setting (here all of
 * them, with SHA-256 or nothing remembered): the same bytes.
 */
static void test_no_enumeration(void)
{
	char known[2048], unknown[2048];

	add_user("ivy", "secret-i");
	for (int agent = 0; agent < 3; agent++) {
		const char *ua = agent == 0 ? NULL : agent == 1 ? BARESIP : LINPHONE;

		snprintf(known, sizeof(known), "%s", challenge_for("ivy", ua));
		snprintf(unknown, sizeof(unknown), "%s", challenge_for("nosuchuser", ua));
		ok(!strcmp(known, unknown), "%s: a default user and an unknown name get %s and %s",
		   ua ? ua : "no User-Agent", known, unknown);
	}
	/* Byte for byte, but for the nonces (each one new): built alike. */
	challenge_for("ivy", LINPHONE);
	snprintf(known, sizeof(known), "%s", strstr(out.buf, "WWW-Authenticate"));
	challenge_for("zzzz", LINPHONE);
	snprintf(unknown, sizeof(unknown), "%s", strstr(out.buf, "WWW-Authenticate"));
	for (char *b = known, *u = unknown; (b = strstr(b, "nonce=\"")) && (u = strstr(u, "nonce=\""));
	     b++, u++) {
		memset(b + 7, 'N', NONCE_HEX_LEN);
		memset(u + 7, 'N', NONCE_HEX_LEN);
	}
	ok(strlen(known) > 100 && !strcmp(known, unknown),
	   "the challenge headers are the same bytes but for the nonce");
}

/*
 * With users that get MD5 alone among them (a remembered MD5, --digest
 * md5), unknown names answer like those users as often as the users do,
 * each name the same way every time: MD5 alone does not mean "exists".
 */
static void test_decoys(void)
{
	int md5_alone = 0, stable = 1;

	/* Users now: alice, bob (SHA-256), dora (SHA-256), emil (MD5), ivy (none), fay, gus, hal. */
	for (int i = 0; i < 200; i++) {
		char name[32], first[64];

		snprintf(name, sizeof(name), "probe%d", i);
		snprintf(first, sizeof(first), "%s", challenge_for(name, LINPHONE));
		stable &= !strcmp(first, challenge_for(name, LINPHONE));
		md5_alone += !strcmp(first, "MD5");
	}
	ok(stable, "each unknown name is answered the same way each time");
	ok(md5_alone > 0 && md5_alone < 200,
	   "some unknown names (%d of 200) get MD5 alone, as the users who have it do", md5_alone);
}

int main(void)
{
	uint8_t secret[NONCE_SECRET_LEN] = { 1, 2, 3 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&src.addr;

	config_defaults(&cfg);
	auth.cfg = &cfg;
	auth.users = users_new();
	auth.nonce = nonce_key_new(secret, cfg.realm);
	loc = location_new(&fake_ops, NULL);
	rc = (struct registrar_ctx){
		.cfg = &cfg, .auth = &auth, .loc = loc, .txc = txn_cache_new(1024), .st = &stats,
		.now = NOW,
	};
	a4->sin_family = AF_INET;
	a4->sin_port = htons(5070);
	inet_pton(AF_INET, "192.0.2.1", &a4->sin_addr);
	src.addrlen = sizeof(*a4);
	src.transport = KSIP_UDP;
	add_user("alice", "secret-a");

	test_auth();
	test_retransmission();
	test_expires();
	test_star();
	test_cseq();
	test_q_and_query();
	test_limits();
	test_hostile();
	test_stale_nonce();
	test_no_enumeration();
	test_digest_per_user();
	test_decoys();

	txn_cache_free(rc.txc);
	location_free(loc);
	nonce_key_free(auth.nonce);
	users_free(auth.users);
	return tap_done();
}
