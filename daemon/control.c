// SPDX-License-Identifier: GPL-2.0
/* The control socket: ksipctl's requests, served on their own thread. */
#include "control.h"
#include "control_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "counters.h"
#include "dispatch.h"
#include "proxy/call_info.h"
#include "sip/digest.h"
#include "ksip/ctl_proto.h"
#include "ksip/genl.h"
#include "media/port_pool.h"
#include "proxy/proxy.h"
#include "registrar/challenge.h"
#include "shield/nft.h"
#include "shield/shield.h"
#include "store/location.h"
#include "ksip/endpoint.h"
#include "base/log.h"
#include "media/media.h"
#include "transport/netpath.h"
#include "base/stats.h"
#include "store/store.h"
#include "store/pages.h"
#include "store/users.h"
#include "store/rooms.h"
#include "transport/worker.h"

/* page-add NAME and PAGE_MEMBERS_MAX members fit; more are refused, not cut. */
#define MAX_FIELDS 24

struct control {
	struct ksipd *d;
	int fd;
	int stop_pipe[2];
	pthread_t thread;
};

void ans_printf(struct answer *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = a->cap - a->len;

		va_start(ap, fmt);
		n = vsnprintf(a->buf ? a->buf + a->len : NULL, a->buf ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (a->buf && (size_t)n < room) {
			a->len += (size_t)n;
			return;
		}
		{
			size_t ncap = (a->cap ? a->cap * 2 : 4096) + (size_t)n;
			char *nb = realloc(a->buf, ncap);

			if (!nb)
				return;
			a->buf = nb;
			a->cap = ncap;
		}
	}
}

void ans_json_str(struct answer *a, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			ans_printf(a, "\\%c", c);
		else if (c < 0x20)
			ans_printf(a, "\\u%04x", c);
		else
			ans_printf(a, "%c", c);
	}
}

bool valid_user_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= sizeof(((struct user_record *)0)->name))
		return false;
	/* RFC 3261 user part without escapes: keeps names printable and quotable. */
	for (; *s; s++)
		if (!(( *s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.!~*'()&=+$,;?/", *s)))
			return false;
	return true;
}

/* A --digest value into *D ("" means auto where EMPTY_OK); false after answering the error. */
static bool parse_digest(const char *s, bool empty_ok, enum user_digest *d, struct answer *a)
{
	int v = *s || !empty_ok ? user_digest_parse(s) : USER_DIGEST_AUTO;

	if (v < 0) {
		ans_printf(a, "error\t--digest: '%s' is not auto, sha256, md5 or both\n", s);
		return false;
	}
	*d = (enum user_digest)v;
	return true;
}

/* A setting that leaves nothing of auth_algorithms locks the user out: say so. */
static void warn_locked_out(struct control *c, const char *name, enum user_digest d,
			    struct answer *a)
{
	struct challenge_algs acc;

	challenge_accepted(&c->d->cfg, d, &acc);
	if (!acc.n)
		ans_printf(a, "warning: auth_algorithms does not allow %s: user '%s' cannot "
			   "authenticate\n", user_digest_name(d), name);
}

/* user-add NAME PASSWORD [DIGEST], user-passwd NAME PASSWORD. */
static void cmd_user_password(struct control *c, char **f, int n, bool create, struct answer *a)
{
	struct user_record u;
	enum user_digest d = USER_DIGEST_AUTO;
	bool exists;

	if (n != 3 && !(create && n == 4)) {
		ans_printf(a, "error\tusage: user add NAME PASSWORD [DIGEST] | passwd NAME PASSWORD\n");
		return;
	}
	if (!valid_user_name(f[1])) {
		ans_printf(a, "error\tinvalid user name '%s'\n", f[1]);
		return;
	}
	if (!f[2][0]) {
		ans_printf(a, "error\tempty password\n");
		return;
	}
	/* One namespace: a Request-URI names a user or a room, never both. */
	if (create && rooms_exists(c->d->rooms, f[1])) {
		ans_printf(a, "error\t'%s' is a conference room\n", f[1]);
		return;
	}
	if (n == 4 && !parse_digest(f[3], true, &d, a))
		return;
	memset(&u, 0, sizeof(u));
	exists = users_get(c->d->users, f[1], &u);	/* passwd keeps the digest setting */
	if (create && exists) {
		ans_printf(a, "error\tuser '%s' already exists\n", f[1]);
		return;
	}
	if (create && pages_get(c->d->pages, f[1], NULL)) {
		ans_printf(a, "error\t'%s' is a paging group\n", f[1]);
		return;
	}
	if (!create && !exists) {
		ans_printf(a, "error\tno such user '%s'\n", f[1]);
		return;
	}
	if (create) {
		snprintf(u.name, sizeof(u.name), "%s", f[1]);
		u.digest = (uint8_t)d;
		u.last_alg = USER_LAST_NONE;
	}
	digest_ha1(DIGEST_MD5, u.name, c->d->cfg.realm, f[2], u.ha1_md5);
	digest_ha1(DIGEST_SHA256, u.name, c->d->cfg.realm, f[2], u.ha1_sha256);
	/*
	 * Disk first: a user we report as saved must survive a crash. The
	 * writer's queued last algorithms go first (store_sync), so that an
	 * older one cannot land on the row after it. One noted in between is
	 * set right on disk by the user's next authentication.
	 */
	store_sync(c->d->store);
	if (store_user_put(c->d->store, c->d->cfg.realm, &u) || users_put(c->d->users, &u)) {
		explicit_bzero(&u, sizeof(u));
		ans_printf(a, "error\tcannot save user '%s'\n", f[1]);
		return;
	}
	explicit_bzero(u.ha1_md5, sizeof(u.ha1_md5));
	explicit_bzero(u.ha1_sha256, sizeof(u.ha1_sha256));
	log_info("user %s %s", u.name, create ? "added" : "password changed");
	ans_printf(a, "ok\n");
	if (create)
		warn_locked_out(c, u.name, d, a);
}

/*
 * user-set NAME DIGEST: the setting changes and the remembered algorithm
 * is forgotten, so `--digest auto` starts the user afresh (a new phone).
 */
static void cmd_user_set(struct control *c, char **f, int n, struct answer *a)
{
	struct user_record u;
	enum user_digest d;

	if (n != 3) {
		ans_printf(a, "error\tusage: user set NAME DIGEST\n");
		return;
	}
	if (!parse_digest(f[2], false, &d, a))
		return;
	if (!users_get(c->d->users, f[1], &u)) {
		ans_printf(a, "error\tno such user '%s'\n", f[1]);
		return;
	}
	u.digest = (uint8_t)d;
	u.last_alg = USER_LAST_NONE;
	store_sync(c->d->store);	/* as in cmd_user_password() */
	if (store_user_put(c->d->store, c->d->cfg.realm, &u) || users_put(c->d->users, &u)) {
		explicit_bzero(&u, sizeof(u));
		ans_printf(a, "error\tcannot save user '%s'\n", f[1]);
		return;
	}
	explicit_bzero(&u, sizeof(u));
	log_info("user %s: digest %s", f[1], user_digest_name(d));
	ans_printf(a, "ok\n");
	warn_locked_out(c, f[1], d, a);
}

static void page_drop_member(struct control *c, const char *user);

static void cmd_user_del(struct control *c, char **f, int n, struct answer *a)
{
	if (n != 2) {
		ans_printf(a, "error\tusage: user del NAME\n");
		return;
	}
	if (!users_exists(c->d->users, f[1])) {
		ans_printf(a, "error\tno such user '%s'\n", f[1]);
		return;
	}
	if (store_user_del(c->d->store, f[1])) {
		ans_printf(a, "error\tcannot delete user '%s'\n", f[1]);
		return;
	}
	users_del(c->d->users, f[1]);
	page_drop_member(c, f[1]);
	location_remove_aor(c->d->loc, f[1]);
	log_info("user %s deleted", f[1]);
	ans_printf(a, "ok\n");
}

struct list_ctx {
	struct answer *a;
	bool json;
	int n;
};

static void list_user(void *arg, const struct user_record *u)
{
	struct list_ctx *l = arg;
	const char *last = user_last_alg_name((enum user_last_alg)u->last_alg);

	if (l->json) {
		ans_printf(l->a, "%s{\"name\":\"", l->n ? "," : "");
		ans_json_str(l->a, u->name);
		ans_printf(l->a, "\",\"digest\":\"%s\",\"last_algorithm\":",
			   user_digest_name((enum user_digest)u->digest));
		if (*last)
			ans_printf(l->a, "\"%s\"}", last);
		else
			ans_printf(l->a, "null}");
	} else {
		ans_printf(l->a, "%-24s %-7s %s\n", u->name,
			   user_digest_name((enum user_digest)u->digest), *last ? last : "-");
	}
	l->n++;
}

static const char *transport_name(enum ksip_transport t)
{
	return ksip_transport_name(t);
}

static void list_binding(void *arg, const struct binding_view *b)
{
	struct list_ctx *l = arg;
	char src[64] = "-";

	if (b->source.ss_family)
		ksip_format_endpoint(&b->source, src, sizeof(src));
	if (l->json) {
		ans_printf(l->a, "%s{\"aor\":\"", l->n ? "," : "");
		ans_json_str(l->a, b->aor);
		ans_printf(l->a, "\",\"contact\":\"");
		ans_json_str(l->a, b->contact);
		ans_printf(l->a, "\",\"expires\":%u,\"q\":", b->expires_in);
		if (b->q == LOC_Q_NONE)
			ans_printf(l->a, "null");
		else
			ans_printf(l->a, "%u.%03u", b->q / 1000, b->q % 1000);
		ans_printf(l->a, ",\"call_id\":\"");
		ans_json_str(l->a, b->callid);
		ans_printf(l->a, "\",\"cseq\":%u,\"transport\":\"%s\",\"source\":\"%s\"}", b->cseq,
			   transport_name(b->transport), src);
	} else {
		ans_printf(l->a, "%-16s %-48s %6u  %s %s\n", b->aor, b->contact, b->expires_in,
			   transport_name(b->transport), src);
	}
	l->n++;
}

static void cmd_list(struct control *c, bool users, bool json, struct answer *a)
{
	struct list_ctx l = { a, json, 0 };

	ans_printf(a, "ok\n");
	if (json)
		ans_printf(a, "[");
	else if (!users)
		ans_printf(a, "%-16s %-48s %6s  %s\n", "AOR", "CONTACT", "EXPIRES", "SOURCE");
	else
		ans_printf(a, "%-24s %-7s %s\n", "NAME", "DIGEST", "LAST");
	if (users)
		users_foreach(c->d->users, list_user, &l);
	else
		location_foreach(c->d->loc, time(NULL), list_binding, &l);
	if (json)
		ans_printf(a, "]\n");
}

static void cmd_stats(struct control *c, bool json, struct answer *a)
{
	struct ksipd_counters v;
	struct ksip_stats t;
	struct location_usage u;
	struct users_nonce_usage nu;
	struct nft_shield_counters nc;
	struct { const char *name; uint64_t v; } rows[112];
	static const char *const nft_rows[NFT_SHIELD_NCOUNTERS] = {
#define NFT_ROW(name, help) [NFT_SHIELD_CTR_##name] = "nft_" #name,
		NFT_SHIELD_COUNTERS(NFT_ROW)
#undef NFT_ROW
	};
	int nrows = 0;

	ksipd_counters_read(c->d, &v, true);
	t = v.t;
	u = v.loc;
	nu = v.nonces;
	nc = v.nft;
#define ROW(n, val) (rows[nrows].name = (n), rows[nrows++].v = (val))
	ROW("uptime_seconds", v.uptime_seconds);
	ROW("requests", ksipd_requests_total(&t));
	ROW("responses_sent", ksipd_responses_sent_total(&t));
	ROW("responses_received", t.responses_received);
	ROW("parse_errors", t.parse_errors);
	ROW("garbage_dropped", t.garbage);
	ROW("auth_challenges", t.auth_challenges);
	ROW("auth_failures", t.auth_failures);
	ROW("auth_stale", t.auth_stale);
	ROW("auth_replays", t.auth_replays);
	ROW("nonces_tracked", nu.tracked);
	ROW("nonces_evicted", nu.evicted);
	ROW("nonce_bytes", nu.bytes);
	ROW("banned_dropped", t.banned_dropped);
	ROW("rate_limited", t.rate_limited);
	ROW("auth_failures_source", t.auth_failures_source);
	ROW("auth_user_failures", t.auth_user_failures);
	ROW("bans_added", t.bans_added);
	ROW("bans_active", v.bans_active);
	/* The kernel's side of the shield: what its rules dropped before ksipd saw it. */
	if (v.have_nft)
		for (int i = 0; i < NFT_SHIELD_NCOUNTERS && nrows < 90; i++)
			ROW(nft_rows[i], nc.packets[i]);
	ROW("retransmissions", t.retransmissions);
	ROW("keepalives", t.keepalives);
	ROW("stun_answered", t.stun_answered);
	ROW("stun_dropped", t.stun_dropped);
	ROW("nat_keepalives_sent", t.nat_keepalives_sent);
	ROW("nat_keepalives_answered", t.nat_keepalives_answered);
	ROW("nat_keepalive_expired", t.nat_keepalive_expired);
	ROW("nat_keepalive_skipped", t.nat_keepalive_skipped);
	ROW("tcp_accepted", t.tcp_accepted);
	ROW("tcp_closed", t.tcp_closed);
	ROW("tcp_refused", t.tcp_errors);
	ROW("tcp_refused_source", t.tcp_refused_source);
	ROW("tcp_accept_emfile", t.tcp_accept_emfile);
	ROW("tcp_header_timeouts", t.tcp_header_timeouts);
	ROW("tcp_idle_closed", t.tcp_idle_closed);
	ROW("tcp_write_overflows", t.tcp_write_overflows);
	ROW("tcp_connects", t.tcp_connects);
	ROW("tcp_connect_failed", t.tcp_connect_failed);
	ROW("tcp_connect_timeouts", t.tcp_connect_timeouts);
	ROW("tcp_connect_refused", t.tcp_connect_refused);
	ROW("tls_handshakes", t.tls_handshakes);
	ROW("tls_handshake_failed", t.tls_handshake_failed);
	ROW("tls_handshake_timeouts", t.tls_handshake_timeouts);
	ROW("tls_aliases", t.tls_aliases);
	ROW("tls_aliases_refused", t.tls_aliases_refused);
	ROW("transactions", t.stx_created - t.stx_freed);
	ROW("branches", t.branches_created - t.branches_freed);
	ROW("calls_started", t.calls_created);
	ROW("calls_answered", t.calls_answered);
	ROW("calls_active", t.calls_created - t.calls_ended);
	ROW("calls_listed", t.calls_created - t.calls_freed);
	ROW("calls_freed_early", t.calls_freed_early);
	ROW("txn_done_early", t.txn_done_early);
	ROW("relay_ports_in_use", v.relay_ports_in_use);
	ROW("relay_streams", t.relay_streams_opened - t.relay_streams_closed);
	ROW("relay_streams_cross_family", t.relay_streams_cross_family);
	ROW("kernel_flow_pairs", t.kernel_flows_installed - t.kernel_flows_removed);
	ROW("relay_fanout_sent", t.relay_fanout_sent);
	ROW("relay_fanout_errors", t.relay_fanout_errors);
	ROW("responses_forwarded", t.responses_forwarded);
	ROW("responses_stray", t.responses_stray);
	ROW("retransmissions_sent", t.retransmissions_sent);
	ROW("cancels_received", t.cancels_received);
	ROW("cancels_sent", t.cancels_sent);
	ROW("relay_denied", t.relay_denied);
	ROW("handoffs", t.handoffs);
	ROW("inbox_dropped", t.inbox_dropped);
	ROW("cap_rejects", t.cap_rejects);
	ROW("send_errors", t.send_errors);
	ROW("users", v.users);
	ROW("aors", u.aors);
	ROW("bindings", u.bindings);
	ROW("location_bytes", u.bytes);
#undef ROW

	ans_printf(a, "ok\n");
	if (json) {
		ans_printf(a, "{\"shield\":\"%s\",", config_shield_name(c->d->shield_mode));
		for (int i = 0; i < nrows; i++)
			ans_printf(a, "\"%s\":%llu,", rows[i].name, (unsigned long long)rows[i].v);
		ans_printf(a, "\"requests_by_method\":{");
		for (int i = 0, k = 0; i < SIP_METHOD__COUNT; i++)
			if (t.requests[i])
				ans_printf(a, "%s\"%s\":%llu", k++ ? "," : "", sip_method_name(i),
					   (unsigned long long)t.requests[i]);
		ans_printf(a, "},\"responses_by_code\":{");
		for (int i = 0, k = 0; i < 700; i++)
			if (t.responses_sent[i])
				ans_printf(a, "%s\"%d\":%llu", k++ ? "," : "", i,
					   (unsigned long long)t.responses_sent[i]);
		ans_printf(a, "}}\n");
		return;
	}
	ans_printf(a, "%-22s %s\n", "shield", config_shield_name(c->d->shield_mode));
	for (int i = 0; i < nrows; i++)
		ans_printf(a, "%-22s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
	for (int i = 0; i < SIP_METHOD__COUNT; i++)
		if (t.requests[i])
			ans_printf(a, "requests.%-13s %llu\n", sip_method_name(i),
				   (unsigned long long)t.requests[i]);
	for (int i = 0; i < 700; i++)
		if (t.responses_sent[i])
			ans_printf(a, "responses.%-12d %llu\n", i,
				   (unsigned long long)t.responses_sent[i]);
}

/* `ban list`: the shield copies each ban out under its set's lock; we print without it. */
struct ban_rows {
	struct answer *a;
	bool json;
	int n;
	time_t now;
};

static void list_ban(void *arg, const struct shield_ban_view *b)
{
	struct ban_rows *r = arg;
	char addr[SHIELD_ADDR_STRLEN];
	const char *why = b->reason == SHIELD_BAN_OPERATOR ? "operator" : "auth_failures";

	shield_addr_format(&b->addr, addr, sizeof(addr));
	if (r->json) {
		ans_printf(r->a, "%s{\"source\":\"%s\",\"expires_in\":%lld,\"age\":%lld,"
			   "\"reason\":\"%s\",\"note\":\"", r->n ? "," : "", addr,
			   (long long)(b->expires - r->now), (long long)(r->now - b->added), why);
		ans_json_str(r->a, b->note);
		ans_printf(r->a, "\"}");
	} else {
		ans_printf(r->a, "%-40s %8lld %8lld  %s%s%s\n", addr, (long long)(b->expires - r->now),
			   (long long)(r->now - b->added), why, b->note[0] ? ": " : "", b->note);
	}
	r->n++;
}

static void cmd_ban_list(struct control *c, bool json, struct answer *a)
{
	struct ban_rows r = { a, json, 0, time(NULL) };

	ans_printf(a, "ok\n");
	if (json)
		ans_printf(a, "[");
	else
		ans_printf(a, "%-40s %8s %8s  %s\n", "SOURCE", "EXPIRES", "AGE", "REASON");
	shield_ban_foreach(c->d->shield, r.now, list_ban, &r);
	if (json)
		ans_printf(a, "]\n");
}

static void cmd_ban_del(struct control *c, const char *addr, struct answer *a)
{
	struct shield_addr k;
	char s[SHIELD_ADDR_STRLEN];

	if (shield_addr_parse(addr, &k)) {
		ans_printf(a, "error\tnot an IPv4 address or IPv6 address or /64: '%s'\n", addr);
		return;
	}
	shield_addr_format(&k, s, sizeof(s));
	if (shield_ban_del(c->d->shield, &k))
		ans_printf(a, "ok\nban on %s lifted\n", s);
	else
		ans_printf(a, "error\t%s is not banned\n", s);
}

/* Does the /64 of IPv6 source K hold any address of prefix C (or C all of it)? */
static bool cidr_meets_64(const struct ksip_cidr *c, const struct shield_addr *k)
{
	int bits = c->plen < 64 ? c->plen : 64;
	uint64_t top = 0;

	if (c->family != AF_INET6)
		return false;
	for (int i = 0; i < 8; i++)
		top = top << 8 | c->addr[i];
	return !bits || !((top ^ k->prefix) >> (64 - bits));
}

/* Would a ban on K touch a trusted peer or a shield_allow address? */
static bool ban_hits_exempt(const struct ksipd *d, const struct shield_addr *k)
{
	struct sockaddr_storage ss = { 0 };

	if (k->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl((uint32_t)k->prefix);
		return ksipd_addr_exempt(d, &ss);
	}
	for (int i = 0; i < d->cfg.n_trusted_peers; i++)
		if (cidr_meets_64(&d->cfg.trusted_peers[i], k))
			return true;
	for (int i = 0; i < d->cfg.n_shield_allow; i++)
		if (cidr_meets_64(&d->cfg.shield_allow[i], k))
			return true;
	return false;
}

/* An operator's reason: printable, no control characters (it is logged and listed), short. */
static const char *bad_note(const char *s)
{
	if (strlen(s) >= KSIP_BAN_NOTE_MAX)
		return "too long";
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return "has a control character";
	return NULL;
}

/* `ban add ADDR [--for SECONDS] [--reason TEXT]`: f[1] ADDR, f[2] SECONDS or "", f[3] TEXT or "". */
static void cmd_ban_add(struct control *c, char **f, int n, struct answer *a)
{
	struct shield_addr k;
	char s[SHIELD_ADDR_STRLEN], *end;
	unsigned long secs = c->d->cfg.ban_time;
	const char *why;
	time_t now = time(NULL);

	if (n != 4) {
		ans_printf(a, "error\tusage: ban add ADDR [--for SECONDS] [--reason TEXT]\n");
		return;
	}
	if (shield_addr_parse(f[1], &k)) {
		ans_printf(a, "error\tnot an IPv4 address or IPv6 address or /64: '%s'\n", f[1]);
		return;
	}
	shield_addr_format(&k, s, sizeof(s));
	if (f[2][0]) {
		errno = 0;
		secs = strtoul(f[2], &end, 10);
		if (*end || errno || f[2][0] == '-' || !secs || secs > KSIP_BAN_MAX_SECONDS) {
			ans_printf(a, "error\t--for: '%s' is not 1 to %d seconds\n", f[2],
				   KSIP_BAN_MAX_SECONDS);
			return;
		}
	}
	why = bad_note(f[3]);
	if (why) {
		ans_printf(a, "error\t--reason %s (at most %d bytes, printable)\n", why,
			   KSIP_BAN_NOTE_MAX - 1);
		return;
	}
	if (ban_hits_exempt(c->d, &k)) {
		ans_printf(a, "error\t%s is (or holds) a trusted peer (trusted_peers or shield_allow): "
			   "trusted peers are never banned\n", s);
		return;
	}
	if (shield_ban_add(c->d->shield, &k, now, (uint32_t)secs, SHIELD_BAN_OPERATOR, f[3])) {
		log_warn("banned %s for %lu s by the operator%s%s", s, secs, f[3][0] ? ": " : "", f[3]);
		ans_printf(a, "ok\n%s banned for %lu s\n", s, secs);
	} else {
		ans_printf(a, "ok\n%s was banned already; its ban lasts at least %lu s more\n", s, secs);
	}
}

/* `shield`: which one is in force, the kernel's counters and the userspace ones. */
static void cmd_shield(struct control *c, bool json, struct answer *a)
{
	struct ksipd_counters v;
	const struct ksip_stats *t = &v.t;
	const struct nft_shield_counters *nc = &v.nft;
	bool kernel;
	size_t bans;

	ksipd_counters_read(c->d, &v, true);
	kernel = v.have_nft;
	bans = (size_t)v.bans_active;
	ans_printf(a, "ok\n");
	if (json) {
		ans_printf(a, "{\"shield\":\"%s\",\"table\":", config_shield_name(c->d->shield_mode));
		if (c->d->nft)
			ans_printf(a, "\"inet %s\"", nft_shield_table(c->d->nft));
		else
			ans_printf(a, "null");
		ans_printf(a, ",\"bans_active\":%zu,\"banned_dropped\":%llu,\"rate_limited\":%llu,"
			   "\"counters\":{", bans, (unsigned long long)t->banned_dropped,
			   (unsigned long long)t->rate_limited);
		for (int i = 0; kernel && i < NFT_SHIELD_NCOUNTERS; i++)
			ans_printf(a, "%s\"%s\":{\"packets\":%llu,\"bytes\":%llu}", i ? "," : "",
				   nft_shield_counter_desc[i].name, (unsigned long long)nc->packets[i],
				   (unsigned long long)nc->bytes[i]);
		ans_printf(a, "}}\n");
		return;
	}
	ans_printf(a, "%-16s %s\n", "shield", config_shield_name(c->d->shield_mode));
	if (c->d->nft)
		ans_printf(a, "%-16s inet %s\n", "table", nft_shield_table(c->d->nft));
	ans_printf(a, "%-16s %zu\n%-16s %llu\n%-16s %llu\n", "bans_active", bans, "banned_dropped",
		   (unsigned long long)t->banned_dropped, "rate_limited",
		   (unsigned long long)t->rate_limited);
	for (int i = 0; kernel && i < NFT_SHIELD_NCOUNTERS; i++)
		ans_printf(a, "%-16s %llu packets %llu bytes  (%s)\n", nft_shield_counter_desc[i].name,
			   (unsigned long long)nc->packets[i], (unsigned long long)nc->bytes[i],
			   nft_shield_counter_desc[i].help);
}

/* `tls show`: the certificate TLS listeners present, for an operator checking a renewal. */
static void cmd_tls_show(struct control *c, bool json, struct answer *a)
{
	struct transport_tls_info ti;

	if (!transport_tls_info(c->d->transport, &ti)) {
		ans_printf(a, "error\tno tls: listen address\n");
		return;
	}
	ans_printf(a, "ok\n");
	if (json) {
		ans_printf(a, "{\"certificate\":\"");
		ans_json_str(a, ti.path);
		ans_printf(a, "\",\"subject\":\"");
		ans_json_str(a, ti.subject);
		ans_printf(a, "\",\"not_after\":\"");
		ans_json_str(a, ti.not_after);
		ans_printf(a, "\",\"sha256\":\"");
		ans_json_str(a, ti.fingerprint);
		ans_printf(a, "\"}\n");
		return;
	}
	ans_printf(a, "%-12s %s\n%-12s %s\n%-12s %s\n%-12s %s\n", "certificate", ti.path, "subject",
		   ti.subject, "not_after", ti.not_after, "sha256", ti.fingerprint);
}

/* `tls reload`: the files named at start read again (a renewed certificate); connections stay. */
static void cmd_tls_reload(struct control *c, struct answer *a)
{
	struct transport_tls_info ti;

	if (!transport_tls_info(c->d->transport, &ti)) {
		ans_printf(a, "error\tno tls: listen address\n");
		return;
	}
	if (transport_tls_reload(c->d->transport, &c->d->cfg)) {
		ans_printf(a, "error\tcertificate not reloaded (see the log): the one in use stays\n");
		return;
	}
	transport_tls_info(c->d->transport, &ti);
	ans_printf(a, "ok\nreloaded %s, sha256 %s\n", ti.path, ti.fingerprint);
}

static void listen_str(const struct listen_addr *l, char *out, size_t len)
{
	const struct sockaddr_storage *ss = &l->addr;
	const char *t = ksip_transport_name(l->transport);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, len, "%s:[%s]:%u", t, host, port);
		return;
	}
	inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
	port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	snprintf(out, len, "%s:%s:%u", t, host, port);
}

/*
 * `status`: what is running and why it runs that way: the first thing an
 * operator asks after a start, before any counter.
 */
static void cmd_status(struct control *c, bool json, struct answer *a)
{
	struct ksipd *d = c->d;
	const char *media = d->media.kernel ? "kernel" : "userspace";
	struct ksipd_counters v;
	const struct ksip_stats *t = &v.t;
	char l[96];

	ksipd_counters_read(d, &v, false);
	ans_printf(a, "ok\n");
	if (json) {
		ans_printf(a, "{\"uptime_seconds\":%llu,\"workers\":%d,\"realm\":\"",
			   (unsigned long long)v.uptime_seconds, d->nworkers);
		ans_json_str(a, d->cfg.realm);
		ans_printf(a, "\",\"listen\":[");
		for (int i = 0; i < d->cfg.nlisten; i++) {
			listen_str(&d->cfg.listen[i], l, sizeof(l));
			ans_printf(a, "%s\"%s\"", i ? "," : "", l);
		}
		ans_printf(a, "],\"media\":\"%s\",\"media_why\":\"", media);
		ans_json_str(a, d->media_why);
		ans_printf(a, "\",\"relay_ports\":\"%u-%u\",\"shield\":\"%s\",\"shield_why\":\"",
			   d->cfg.rtp_port_min, d->cfg.rtp_port_max,
			   config_shield_name(d->shield_mode));
		ans_json_str(a, d->shield_why);
		ans_printf(a, "\",\"users\":%zu,\"bindings\":%zu,\"calls_active\":%llu,"
			   "\"bans_active\":%zu}\n", (size_t)v.users, (size_t)v.loc.bindings,
			   (unsigned long long)(t->calls_created - t->calls_ended),
			   (size_t)v.bans_active);
		return;
	}
	ans_printf(a, "%-13s %llu s, %d workers, realm %s\n", "running",
		   (unsigned long long)v.uptime_seconds, d->nworkers, d->cfg.realm);
	for (int i = 0; i < d->cfg.nlisten; i++) {
		listen_str(&d->cfg.listen[i], l, sizeof(l));
		ans_printf(a, "%-13s %s\n", i ? "" : "listen", l);
	}
	ans_printf(a, "%-13s %s (%s), relay ports %u-%u\n", "media", media, d->media_why,
		   d->cfg.rtp_port_min, d->cfg.rtp_port_max);
	ans_printf(a, "%-13s %s (%s)\n", "shield", config_shield_name(d->shield_mode),
		   d->shield_why);
	ans_printf(a, "%-13s %zu users, %zu bindings, %llu calls, %zu bans\n", "state",
		   (size_t)v.users, (size_t)v.loc.bindings,
		   (unsigned long long)(t->calls_created - t->calls_ended),
		   (size_t)v.bans_active);
}

/*
 * `call list`: the owners copy their calls into call_info records under the
 * worker's lock; the packet counters of kernel flows are read after the
 * lock is released (one netlink GET per flow on the control thread's own
 * socket), so listing many calls never holds up a worker's call processing.
 */
struct call_rows {
	struct call_info *v;
	char **callid;			/* copies: call_info's points into the call */
	size_t n, cap;
};

static void add_row(void *arg, const struct call_info *ci)
{
	struct call_rows *r = arg;

	if (r->n == r->cap) {
		size_t ncap = r->cap ? 2 * r->cap : 64;
		struct call_info *nv = realloc(r->v, ncap * sizeof(*nv));
		char **nc;

		if (!nv)
			return;
		r->v = nv;
		nc = realloc(r->callid, ncap * sizeof(*nc));
		if (!nc)
			return;
		r->callid = nc;
		r->cap = ncap;
	}
	r->v[r->n] = *ci;
	r->callid[r->n] = strdup(ci->callid);
	r->v[r->n].callid = r->callid[r->n] ? r->callid[r->n] : "";
	r->n++;
}

/* A call's taps: a line each under its row, or a "taps" array. */
static void list_taps(const struct call_info *r, bool json, struct answer *a)
{
	if (json)
		ans_printf(a, ",\"taps\":[");
	for (int t = 0; t < r->ntaps; t++) {
		char to[INET6_ADDRSTRLEN + 8];

		ksip_format_endpoint(&r->tap[t].to, to, sizeof(to));
		if (!json) {
			ans_printf(a, "%-10s tap -> %s (RTCP port %u): %llu copies, %llu not sent\n", "",
				   to, ksip_endpoint_port(&r->tap[t].to) + 1,
				   (unsigned long long)r->tap[t].copies,
				   (unsigned long long)r->tap[t].errors);
			continue;
		}
		ans_printf(a, "%s{\"collector\":\"%s\",\"copies\":%llu,\"errors\":%llu,\"from\":[",
			   t ? "," : "", to, (unsigned long long)r->tap[t].copies,
			   (unsigned long long)r->tap[t].errors);
		for (int i = 0; i < r->nstreams; i++)
			ans_printf(a, "%s{\"caller\":%u,\"callee\":%u}", i ? "," : "",
				   r->tap[t].port[i][0], r->tap[t].port[i][1]);
		ans_printf(a, "]}");
	}
	if (json)
		ans_printf(a, "]");
}

static void list_call(const struct call_info *r, bool json, struct answer *a, int *n)
{
	if (!json) {
		/* A live call's REASON column says why its media is not where expected. */
		ans_printf(a, "%-10llu %-9s %-14s %-14s %-9s %6lus %10llu %10llu  %s%s\n",
			   (unsigned long long)r->id, call_state_name(r->state), r->caller, r->callee,
			   r->media, r->duration, (unsigned long long)r->pkts[0],
			   (unsigned long long)r->pkts[1], r->reason[0] || !r->media_why ? "" : "media: ",
			   r->reason[0] || !r->media_why ? r->reason : r->media_why);
		list_taps(r, false, a);
		return;
	}
	ans_printf(a, "%s{\"id\":%llu,\"state\":\"%s\",\"caller\":\"", (*n)++ ? "," : "",
		   (unsigned long long)r->id, call_state_name(r->state));
	ans_json_str(a, r->caller);
	ans_printf(a, "\",\"callee\":\"");
	ans_json_str(a, r->callee);
	ans_printf(a, "\",\"call_id\":\"");
	ans_json_str(a, r->callid);
	ans_printf(a, "\",\"media\":\"%s\",\"streams\":%d,\"duration\":%lu,"
		   "\"packets_from_caller\":%llu,\"packets_from_callee\":%llu,\"reason\":\"",
		   r->media, r->nstreams, r->duration, (unsigned long long)r->pkts[0],
		   (unsigned long long)r->pkts[1]);
	ans_json_str(a, r->reason);
	ans_printf(a, "\",\"media_reason\":\"");
	ans_json_str(a, r->media_why ? r->media_why : "");
	ans_printf(a, "\",\"relay\":[");
	for (int i = 0; i < r->nstreams; i++) {
		char ip[2][64];

		for (int leg = 0; leg < 2; leg++)
			netpath_host_str(&r->s[i].ip[leg], ip[leg], sizeof(ip[leg]));
		ans_printf(a, "%s{\"caller_side\":\"%s\",\"caller_port\":%u,\"callee_side\":\"%s\","
			   "\"callee_port\":%u,\"open\":%s}", i ? "," : "", ip[0], r->s[i].port[0],
			   ip[1], r->s[i].port[1], r->s[i].open ? "true" : "false");
	}
	ans_printf(a, "]");
	list_taps(r, true, a);
	ans_printf(a, "}");
}

static void cmd_call_list(struct control *c, bool json, struct answer *a)
{
	struct call_rows rows = { 0 };
	struct ksip_genl *g = NULL;
	int n = 0;

	for (int i = 0; i < c->d->nworkers; i++) {
		struct ksipd_worker *kw = &c->d->workers[i];

		worker_lock(kw->w);
		proxy_calls_snapshot(kw->proxy, add_row, &rows);
		worker_unlock(kw->w);
	}
	ans_printf(a, "ok\n%s", json ? "[" : "");
	if (!json)
		ans_printf(a, "%-10s %-9s %-14s %-14s %-9s %7s %10s %10s  %s\n", "ID", "STATE",
			   "CALLER", "CALLEE", "MEDIA", "TALK", "PKTS_A", "PKTS_B", "REASON");
	for (size_t i = 0; i < rows.n; i++) {
		struct call_info *r = &rows.v[i];

		for (int k = 0; k < r->nflows; k++)	/* outside any lock */
			media_flow_count(&g, &r->flow[k], r->pkts);
		for (int t = 0; t < r->ntaps; t++)	/* ksip.ko's copies for taps */
			for (int k = 0; k < r->nflows; k++)
				media_flow_output_count(&g, &r->flow[k], &r->tap[t].to, &r->tap[t].copies,
							&r->tap[t].errors);
		list_call(r, json, a, &n);
		free(rows.callid[i]);
	}
	if (json)
		ans_printf(a, "]\n");
	if (g)
		ksip_genl_close(g);
	free(rows.v);
	free(rows.callid);
}

static void cmd_call_hangup(struct control *c, const char *id_s, struct answer *a)
{
	char *end;
	unsigned long long id = strtoull(id_s, &end, 10);
	struct ksipd_worker *kw;
	int r;

	if (!*id_s || *end || call_id_worker(id) >= c->d->nworkers) {
		ans_printf(a, "error\tno call %s\n", id_s);
		return;
	}
	kw = &c->d->workers[call_id_worker(id)];
	worker_lock(kw->w);
	r = proxy_call_hangup(kw->proxy, id, "hung up by ksipctl");
	worker_unlock(kw->w);
	if (!r)
		ans_printf(a, "ok\ncall %llu hung up\n", id);
	else
		ans_printf(a, "error\tno call %s in progress\n", id_s);
}

/* --- paging groups (issue 17) --------------------------------------------- */

_Static_assert(PAGE_MEMBERS_MAX == MEDIA_OUTPUTS_MAX,
	       "a paging group has at most as many members as a flow has outputs");

/* page-add NAME MEMBER...: a name that is no user, members that are (each once). */
static void cmd_page_add(struct control *c, char **f, int n, struct answer *a)
{
	struct page_record *g;

	if (n < 3) {
		ans_printf(a, "error\tusage: page add NAME MEMBER...\n");
		return;
	}
	if (!valid_user_name(f[1])) {
		ans_printf(a, "error\tinvalid paging group name '%s'\n", f[1]);
		return;
	}
	/* The Request-URI's user part names a user first: a group by that name would never ring. */
	if (users_exists(c->d->users, f[1])) {
		ans_printf(a, "error\t'%s' is a user: a paging group needs a name of its own\n", f[1]);
		return;
	}
	if (rooms_exists(c->d->rooms, f[1])) {
		ans_printf(a, "error\t'%s' is a conference room\n", f[1]);
		return;
	}
	if (n - 2 > PAGE_MEMBERS_MAX) {
		ans_printf(a, "error\ttoo many members: %d (at most %d)\n", n - 2, PAGE_MEMBERS_MAX);
		return;
	}
	if (!pages_get(c->d->pages, f[1], NULL) && pages_count(c->d->pages) >= PAGE_GROUPS_MAX) {
		ans_printf(a, "error\ttoo many paging groups (at most %d)\n", PAGE_GROUPS_MAX);
		return;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		ans_printf(a, "error\tout of memory\n");
		return;
	}
	snprintf(g->name, sizeof(g->name), "%s", f[1]);
	for (int i = 2; i < n; i++) {
		if (!users_exists(c->d->users, f[i])) {
			ans_printf(a, "error\tno such user '%s'\n", f[i]);
			goto out;
		}
		for (unsigned int k = 0; k < g->n; k++)
			if (!strcmp(g->member[k], f[i])) {
				ans_printf(a, "error\tmember '%s' named twice\n", f[i]);
				goto out;
			}
		snprintf(g->member[g->n++], sizeof(g->member[0]), "%s", f[i]);
	}
	/* Disk first, as users: a group we report as saved survives a crash. */
	if (store_page_put(c->d->store, g) || pages_put(c->d->pages, g)) {
		ans_printf(a, "error\tcannot save paging group '%s'\n", f[1]);
		goto out;
	}
	log_info("paging group %s: %u members", g->name, g->n);
	ans_printf(a, "ok\n");
out:
	free(g);
}

static void cmd_page_del(struct control *c, char **f, int n, struct answer *a)
{
	if (n != 2) {
		ans_printf(a, "error\tusage: page del NAME\n");
		return;
	}
	if (!pages_get(c->d->pages, f[1], NULL)) {
		ans_printf(a, "error\tno such paging group '%s'\n", f[1]);
		return;
	}
	if (store_page_del(c->d->store, f[1])) {
		ans_printf(a, "error\tcannot delete paging group '%s'\n", f[1]);
		return;
	}
	pages_del(c->d->pages, f[1]);
	log_info("paging group %s deleted", f[1]);
	ans_printf(a, "ok\n");
}

static void list_page(void *arg, const struct page_record *g)
{
	struct list_ctx *l = arg;

	if (l->json) {
		ans_printf(l->a, "%s{\"name\":\"", l->n ? "," : "");
		ans_json_str(l->a, g->name);
		ans_printf(l->a, "\",\"members\":[");
		for (unsigned int i = 0; i < g->n; i++) {
			ans_printf(l->a, "%s\"", i ? "," : "");
			ans_json_str(l->a, g->member[i]);
			ans_printf(l->a, "\"");
		}
		ans_printf(l->a, "]}");
	} else {
		ans_printf(l->a, "%-24s", g->name);
		for (unsigned int i = 0; i < g->n; i++)
			ans_printf(l->a, "%s%s", i ? "," : " ", g->member[i]);
		ans_printf(l->a, "\n");
	}
	l->n++;
}

static void cmd_page_list(struct control *c, bool json, struct answer *a)
{
	struct list_ctx l = { a, json, 0 };

	ans_printf(a, "ok\n%s", json ? "[" : "");
	if (!json)
		ans_printf(a, "%-24s %s\n", "NAME", "MEMBERS");
	pages_foreach(c->d->pages, list_page, &l);
	if (json)
		ans_printf(a, "]\n");
}

struct page_drop {
	const char *user;
	struct page_record *hit[PAGE_GROUPS_MAX];
	int n;
};

static void find_member(void *arg, const struct page_record *g)
{
	struct page_drop *d = arg;

	for (unsigned int i = 0; i < g->n; i++) {
		if (strcmp(g->member[i], d->user))
			continue;
		d->hit[d->n] = malloc(sizeof(*g));
		if (d->hit[d->n])
			*d->hit[d->n++] = *g;
		return;
	}
}

/*
 * A deleted user leaves every paging group it was in (the schema has no
 * foreign keys to do it); a group left with nobody is deleted with it.
 */
static void page_drop_member(struct control *c, const char *user)
{
	struct page_drop *d = calloc(1, sizeof(*d));

	if (!d)
		return;
	d->user = user;
	pages_foreach(c->d->pages, find_member, d);
	for (int k = 0; k < d->n; k++) {
		struct page_record *g = d->hit[k];
		unsigned int j = 0;

		for (unsigned int i = 0; i < g->n; i++)
			if (strcmp(g->member[i], user))
				memcpy(g->member[j++], g->member[i], sizeof(g->member[0]));
		g->n = j;
		if (!g->n) {
			if (!store_page_del(c->d->store, g->name))
				pages_del(c->d->pages, g->name);
		} else if (!store_page_put(c->d->store, g)) {
			pages_put(c->d->pages, g);
		}
		log_info("paging group %s: member %s deleted with the user", g->name, user);
		free(g);
	}
	free(d);
}

/* The call's worker for ID_S, or NULL after answering that there is no such call. */
static struct ksipd_worker *call_worker(struct control *c, const char *id_s, uint64_t *id,
					struct answer *a)
{
	char *end;

	*id = strtoull(id_s, &end, 10);
	if (!*id_s || *end || *id_s == '-' || call_id_worker(*id) >= c->d->nworkers) {
		ans_printf(a, "error\tno call %s\n", id_s);
		return NULL;
	}
	return &c->d->workers[call_id_worker(*id)];
}

/* call-tap ID ADDR:PORT */
static void cmd_call_tap(struct control *c, char **f, int n, bool json, struct answer *a)
{
	struct sockaddr_storage to;
	struct ksipd_worker *kw;
	char err[256], host[INET6_ADDRSTRLEN + 8];
	uint64_t id;
	int r;

	if (n < 3 || n > 4 || (n == 4 && !json)) {
		ans_printf(a, "error\tusage: call tap ID ADDR:PORT\n");
		return;
	}
	if (ksip_parse_endpoint(f[2], false, &to)) {
		ans_printf(a, "error\tnot an address and port: '%s' (ADDR:PORT, [IPV6]:PORT)\n", f[2]);
		return;
	}
	kw = call_worker(c, f[1], &id, a);
	if (!kw)
		return;
	worker_lock(kw->w);
	r = proxy_call_tap(kw->proxy, id, &to, err, sizeof(err));
	worker_unlock(kw->w);
	if (r) {
		ans_printf(a, "error\t%s\n", err);
		return;
	}
	ksip_format_endpoint(&to, host, sizeof(host));
	if (json)
		ans_printf(a, "ok\n{\"call\":%llu,\"collector\":\"%s\",\"rtcp_port\":%u}\n",
			   (unsigned long long)id, host, ksip_endpoint_port(&to) + 1);
	else
		ans_printf(a, "ok\ncall %llu tapped to %s (RTP; RTCP to port %u)\n",
			   (unsigned long long)id, host, ksip_endpoint_port(&to) + 1);
}

/* call-untap ID [ADDR:PORT] */
static void cmd_call_untap(struct control *c, char **f, int n, bool json, struct answer *a)
{
	struct sockaddr_storage to;
	struct ksipd_worker *kw;
	bool one;
	uint64_t id;
	int r;

	if (json)
		n--;
	if (n < 2 || n > 3) {
		ans_printf(a, "error\tusage: call untap ID [ADDR:PORT]\n");
		return;
	}
	one = n == 3;
	if (one && ksip_parse_endpoint(f[2], false, &to)) {
		ans_printf(a, "error\tnot an address and port: '%s' (ADDR:PORT, [IPV6]:PORT)\n", f[2]);
		return;
	}
	kw = call_worker(c, f[1], &id, a);
	if (!kw)
		return;
	worker_lock(kw->w);
	r = proxy_call_untap(kw->proxy, id, one ? &to : NULL);
	worker_unlock(kw->w);
	if (r < 0)
		ans_printf(a, "error\tno call %s\n", f[1]);
	else if (!r && one)
		ans_printf(a, "error\tcall %s has no tap to %s\n", f[1], f[2]);
	else if (json)
		ans_printf(a, "ok\n{\"call\":%llu,\"removed\":%d}\n", (unsigned long long)id, r);
	else
		ans_printf(a, "ok\ncall %llu: %d tap%s removed\n", (unsigned long long)id, r,
			   r == 1 ? "" : "s");
}

static void dispatch(struct control *c, char *line, struct answer *a)
{
	char *f[MAX_FIELDS];
	int n = 0;
	bool json;

	for (char *p = line; n < MAX_FIELDS;) {
		f[n++] = p;
		p = strchr(p, CTL_FIELD_SEP);
		if (!p)
			break;
		*p++ = 0;
	}
	json = n >= 2 && !strcmp(f[n - 1], "json");
	if (!strcmp(f[0], CTL_USER_ADD))
		cmd_user_password(c, f, n, true, a);
	else if (!strcmp(f[0], CTL_USER_PASSWD))
		cmd_user_password(c, f, n, false, a);
	else if (!strcmp(f[0], CTL_USER_SET))
		cmd_user_set(c, f, n, a);
	else if (!strcmp(f[0], CTL_USER_DEL))
		cmd_user_del(c, f, n, a);
	else if (!strcmp(f[0], CTL_USER_LIST))
		cmd_list(c, true, json, a);
	else if (!strcmp(f[0], CTL_REG_LIST))
		cmd_list(c, false, json, a);
	else if (!strcmp(f[0], CTL_REG_DEL) && n == 2) {
		int removed = location_remove_aor(c->d->loc, f[1]);

		if (removed)
			ans_printf(a, "ok\n%d bindings removed\n", removed);
		else
			ans_printf(a, "error\tno bindings for '%s'\n", f[1]);
	} else if (!strcmp(f[0], CTL_STATS)) {
		cmd_stats(c, json, a);
	} else if (!strcmp(f[0], CTL_CALL_LIST)) {
		cmd_call_list(c, json, a);
	} else if (!strcmp(f[0], CTL_CALL_HANGUP) && n == 2) {
		cmd_call_hangup(c, f[1], a);
	} else if (!strcmp(f[0], CTL_CALL_TAP)) {
		cmd_call_tap(c, f, n, json, a);
	} else if (!strcmp(f[0], CTL_CALL_UNTAP)) {
		cmd_call_untap(c, f, n, json, a);
	} else if (!strcmp(f[0], CTL_BAN_LIST)) {
		cmd_ban_list(c, json, a);
	} else if (!strcmp(f[0], CTL_BAN_DEL) && n == 2) {
		cmd_ban_del(c, f[1], a);
	} else if (!strcmp(f[0], CTL_BAN_ADD)) {
		cmd_ban_add(c, f, n, a);	/* a reason may read "json" */
	} else if (!strcmp(f[0], CTL_SHIELD)) {
		cmd_shield(c, json, a);
	} else if (!strcmp(f[0], CTL_STATUS)) {
		cmd_status(c, json, a);
	} else if (!strcmp(f[0], CTL_TLS_SHOW)) {
		cmd_tls_show(c, json, a);
	} else if (!strcmp(f[0], CTL_TLS_RELOAD)) {
		cmd_tls_reload(c, a);
	} else if (!strncmp(f[0], CTL_ROOM_PREFIX, strlen(CTL_ROOM_PREFIX))) {
		cmd_room(c->d, f, n, json, a);
	} else if (!strcmp(f[0], CTL_PAGE_ADD)) {
		cmd_page_add(c, f, n, a);
	} else if (!strcmp(f[0], CTL_PAGE_DEL)) {
		cmd_page_del(c, f, n, a);
	} else if (!strcmp(f[0], CTL_PAGE_LIST)) {
		cmd_page_list(c, json, a);
	}
	else
		ans_printf(a, "error\tunknown command '%s'\n", f[0]);
}

static void serve(struct control *c, int fd)
{
	char req[CTL_MAX_REQUEST + 1];
	size_t len = 0;
	struct answer a = { 0 };
	char *nl = NULL;

	/* A client gets a few seconds to send its line; nobody blocks the thread forever. */
	while (len < CTL_MAX_REQUEST && !nl) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			return;
		r = read(fd, req + len, CTL_MAX_REQUEST - len);
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = 0;
		nl = memchr(req, '\n', len);
	}
	if (!nl) {
		ans_printf(&a, "error\trequest too long\n");
	} else {
		*nl = 0;
		dispatch(c, req, &a);
	}
	for (size_t off = 0; a.buf && off < a.len;) {
		ssize_t w = write(fd, a.buf + off, a.len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	explicit_bzero(req, sizeof(req));	/* it may have held a password */
	free(a.buf);
}

static void *control_main(void *arg)
{
	struct control *c = arg;

	for (;;) {
		struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { c->stop_pipe[0], POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* Out of descriptors: the socket stays readable; wait (or stop) instead of spinning. */
			poll(p + 1, 1, 100);
			continue;
		}
		if (fd < 0)
			continue;
		serve(c, fd);
		close(fd);
	}
	return NULL;
}

struct control *control_start(struct ksipd *d)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = d->cfg.control_socket;
	mode_t old;

	if (!c)
		return NULL;
	c->d = d;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("control_socket path too long: %s", path);
		goto fail;
	}
	strcpy(sun.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || pipe2(c->stop_pipe, O_CLOEXEC))
		goto fail;
	unlink(path);
	old = umask(0077);	/* 0600: only root (or the daemon's user) may administer */
	if (bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		log_err("control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	umask(old);
	chmod(path, 0600);
	if (listen(c->fd, 16) < 0 || pthread_create(&c->thread, NULL, control_main, c))
		goto fail;
	log_info("control socket %s", path);
	return c;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return NULL;
}

void control_stop(struct control *c)
{
	if (!c)
		return;
	if (write(c->stop_pipe[1], "x", 1) != 1)
		log_warn("control: cannot signal stop");
	pthread_join(c->thread, NULL);
	close(c->fd);
	close(c->stop_pipe[0]);
	close(c->stop_pipe[1]);
	unlink(c->d->cfg.control_socket);
	free(c);
}
