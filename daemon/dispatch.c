// SPDX-License-Identifier: GPL-2.0
#include "dispatch.h"

#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/log.h"
#include "proxy/proxy.h"
#include "registrar/registrar.h"
#include "ksip/endpoint.h"
#include "shield/shield.h"
#include "shield/trusted.h"
#include "sip/hdr.h"
#include "sip/stun.h"
#include "store/location.h"
#include "transport/netpath.h"
#include "transport/worker.h"

_Static_assert(SIP_METHOD__COUNT <= KSIP_STATS_METHODS, "stats count every method");
_Static_assert(KSIP_TLS < KSIP_STATS_TRANSPORTS, "stats count every transport");

/* Option tags we implement; anything else in Require gets 420. None yet. */
static bool option_supported(struct sip_span tag)
{
	(void)tag;
	return false;
}

/*
 * RFC 3261 §8.2.2.3: collect unsupported Require tags into O as an
 * Unsupported header. Returns true if there was one.
 */
static bool unsupported_required_in(const struct sip_msg *m, enum sip_hdr_id id, char *list,
				    size_t len)
{
	struct sip_hdr_iter it;
	struct sip_span tag;
	size_t o = 0;

	list[0] = 0;
	sip_hdr_iter_init(&it, m, id);
	while (sip_hdr_iter_next(&it, &tag)) {
		if (option_supported(tag))
			continue;
		if (o + tag.len + 3 < len)
			o += (size_t)snprintf(list + o, len - o, "%s" SPAN_FMT, o ? ", " : "",
					      SPAN_ARG(tag));
	}
	return o > 0;
}

static bool unsupported_required(const struct sip_msg *m, char *list, size_t len)
{
	return unsupported_required_in(m, SIP_HDR_REQUIRE, list, len);
}

/*
 * The mandatory headers of §8.1.1 that we need to answer at all, each
 * once (Via may repeat), and a CSeq that names the request's method.
 * Returns NULL when fine, or the reason phrase for a 400.
 */
static const char *check_mandatory(const struct sip_msg *m, struct sip_via *top_via)
{
	static const struct { enum sip_hdr_id id; const char *missing, *dup; } need[] = {
		{ SIP_HDR_FROM, "Missing From header", "Duplicate From header" },
		{ SIP_HDR_TO, "Missing To header", "Duplicate To header" },
		{ SIP_HDR_CALL_ID, "Missing Call-ID header", "Duplicate Call-ID header" },
		{ SIP_HDR_CSEQ, "Missing CSeq header", "Duplicate CSeq header" },
	};
	struct sip_cseq cs;
	struct sip_naddr na;
	struct sip_span rest, elem;

	rest = sip_hdr_first(m, SIP_HDR_VIA)->value;
	if (!sip_list_next(&rest, &elem) || !sip_via_parse(elem, top_via))
		return "Malformed Via header";
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!m->count[need[i].id])
			return need[i].missing;
		if (m->count[need[i].id] > 1)
			return need[i].dup;
	}
	if (!sip_hdr_first(m, SIP_HDR_CALL_ID)->value.len)
		return "Empty Call-ID header";
	if (!sip_cseq_parse(sip_hdr_first(m, SIP_HDR_CSEQ)->value, &cs))
		return "Malformed CSeq header";
	if (cs.method.len != m->method_name.len ||
	    memcmp(cs.method.p, m->method_name.p, cs.method.len))
		return "CSeq method does not match the request";
	if (!sip_naddr_parse(sip_hdr_first(m, SIP_HDR_FROM)->value, &na))
		return "Malformed From header";
	if (!sip_naddr_parse(sip_hdr_first(m, SIP_HDR_TO)->value, &na))
		return "Malformed To header";
	if (m->count[SIP_HDR_MAX_FORWARDS]) {
		uint32_t mf;

		if (!span_to_u32(sip_hdr_first(m, SIP_HDR_MAX_FORWARDS)->value, 255, &mf))
			return "Malformed Max-Forwards header";
	}
	return NULL;
}

static void answer_options(const struct sip_msg *m, const struct sip_source *src,
			   struct sip_out *o)
{
	sip_reply_start(o, m, src, 200, NULL);
	out_str(o, "Allow: " KSIP_ALLOW "\r\nAccept: application/sdp\r\n");
	sip_reply_finish(o);
}

/*
 * Which worker owns M's Call-ID: every message of a call goes to the same
 * worker, which keeps the call's transactions, dialog and media.
 */
static int call_owner(const struct ksipd *d, const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_hdr_first(m, SIP_HDR_CALL_ID);

	if (!h || d->nworkers <= 1)
		return 0;
	return (int)(hash_bytes(h->value.p, h->value.len) % (uint64_t)d->nworkers);
}

static void to_proxy(struct sip_ctx *c, const struct sip_msg *m, const char *buf,
		     const struct sip_source *src)
{
	transport_handoff(c->w, call_owner(c->d, m), m, buf, m->len, src);
}

static bool is_known_method(enum sip_method me)
{
	return me != SIP_METHOD_UNKNOWN;
}

struct flow_ctx {
	const struct sockaddr_storage *peer;
	uint32_t longest;	/* seconds the longest binding over PEER's connection has left */
};

static void longest_binding(void *arg, const struct binding_view *b)
{
	struct flow_ctx *f = arg;

	if (ksip_transport_stream(b->transport) && ksip_endpoint_equal(&b->source, f->peer) &&
	    b->expires_in > f->longest)
		f->longest = b->expires_in;
}

/*
 * A REGISTER over TCP was answered 200: the connection now carries the
 * bindings whose source it is (RFC 5626 calls it a flow). The transport
 * cannot know that; tell it until when, so that it holds the connection
 * through silence (tcp_idle_timeout) rather than dropping it as an
 * unregistered one (tcp_unauth_idle_timeout). 0 when none is left.
 */
static void keep_flow(struct sip_ctx *c, const struct sip_msg *m, const struct sip_source *src)
{
	struct flow_ctx f = { &src->addr, 0 };
	struct sip_naddr na;
	struct sip_uri uri;
	char aor[128];

	/* The AOR as the registrar named it (§10.3 step 5: the user part of To). */
	if (!sip_naddr_parse(sip_hdr_first(m, SIP_HDR_TO)->value, &na) ||
	    !sip_uri_parse(na.uri, &uri) || !uri.user.len || uri.user.len >= sizeof(aor))
		return;
	snprintf(aor, sizeof(aor), SPAN_FMT, SPAN_ARG(uri.user));
	location_lookup(c->d->loc, aor, c->now, longest_binding, &f);
	transport_conn_keep(c->w, &src->addr, f.longest ? c->now + (time_t)f.longest : 0);
}

/* The registrar's context for one request: the daemon's shared tables, this worker's cache. */
static void register_request(struct sip_ctx *c, const struct sip_msg *m,
			     const struct sip_source *src, struct sip_out *o)
{
	const struct registrar_ctx rc = {
		.cfg = &c->d->cfg,
		.auth = &c->d->auth,
		.loc = c->d->loc,
		.txc = c->txc,
		.st = c->st,
		.now = c->now,
	};

	registrar_handle(&rc, m, src, o);
	if (ksip_transport_stream(src->transport) && c->w && o->len > 12 && !memcmp(o->buf, "SIP/2.0 200", 11))
		keep_flow(c, m, src);
}

/* --- the shield: bans and per-source rates (shield/shield.h, docs/security.md) --- */

bool ksipd_addr_exempt(const struct ksipd *d, const struct sockaddr_storage *addr)
{
	/* As in the kernel (allow4/allow6 hold both lists): never banned nor rate-limited. */
	return trusted_match(d->cfg.trusted_peers, d->cfg.n_trusted_peers, addr) ||
	       trusted_match(d->cfg.shield_allow, d->cfg.n_shield_allow, addr);
}

bool ksipd_source_trusted(const struct ksipd *d, const struct sip_source *src)
{
	/* The one place the shield asks: trusted peers and shield_allow are exempt. */
	return ksipd_addr_exempt(d, &src->addr);
}

void ksipd_auth_failed(void *arg, struct ksip_stats *st, const struct sip_source *src,
		       const char *user, time_t now)
{
	struct ksipd *d = arg;
	struct shield_addr k;

	if (!d->shield || !src || ksipd_source_trusted(d, src) ||
	    !shield_addr_from(&k, (const struct sockaddr *)&src->addr))
		return;
	shield_auth_failed(d->shield, st, &k, user, now);
}

/*
 * Before anything costly: a banned source's messages are dropped unread and
 * unanswered. *K is SRC's shield key for shield_rate_ok() (family 0: none).
 */
static bool shield_banned_source(struct sip_ctx *c, const struct sip_source *src,
				 struct shield_addr *k)
{
	k->family = 0;
	if (!c->d || !c->d->shield || ksipd_source_trusted(c->d, src) ||
	    !shield_addr_from(k, (const struct sockaddr *)&src->addr)) {
		k->family = 0;
		return false;
	}
	if (!shield_banned(c->d->shield, k, c->now))
		return false;
	STAT_INC(c->st, banned_dropped);
	return true;
}

/*
 * A request without credentials takes a token from its source's bucket;
 * over source_rate it is dropped unanswered. One with an Authorization or
 * Proxy-Authorization header passes: if the credentials are false, they
 * count as failed authentications instead, towards a ban.
 */
static bool source_token(struct sip_ctx *c, const struct shield_addr *k)
{
	struct timespec ts;

	if (!k->family)
		return true;	/* no shield, or a trusted source */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (shield_rate_allow(c->d->shield, k,
			      (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000))
		return true;
	STAT_INC(c->st, rate_limited);
	return false;
}

static bool shield_rate_ok(struct sip_ctx *c, const struct sip_msg *m, const struct shield_addr *k)
{
	if (m->count[SIP_HDR_AUTHORIZATION] || m->count[SIP_HDR_PROXY_AUTHORIZATION])
		return true;
	return source_token(c, k);
}

/*
 * A STUN datagram on the SIP UDP port (RFC 5626 §4.4.2): a phone behind NAT
 * keeping its mapping open and learning its public address. Past the ban
 * check, and it takes a token of its source's bucket like any request
 * without credentials: an answer is at most a few dozen bytes larger than
 * the question, so a flood of them is bounded like a flood of OPTIONS.
 */
static bool stun_process(struct sip_ctx *c, const char *buf, size_t len,
			 const struct sip_source *src, const struct shield_addr *k, struct sip_out *o)
{
	size_t n = 0;

	if (!source_token(c, k))
		return false;
	switch (stun_answer(buf, len, &src->addr, (uint8_t *)o->buf, &n)) {
	case STUN_ANSWER:
		STAT_INC(c->st, stun_answered);
		o->len = n;
		o->dst = src->addr;
		o->dstlen = src->addrlen;
		return true;
	case STUN_KEEPALIVE:
		STAT_INC(c->st, keepalives);
		return false;
	default:
		STAT_INC(c->st, stun_dropped);
		return false;
	}
}

/*
 * RFC 5923: a top Via with the alias parameter asks that requests to its
 * sent-by go over this connection (transport_conn_alias() says which it
 * accepts). Only over TLS: RFC 5923 §5 leaves TCP out, a connection
 * nothing authenticates being no basis for aliasing.
 */
static void take_alias(struct sip_ctx *c, const struct sip_via *v, const struct sip_source *src)
{
	struct sockaddr_storage alias;
	struct sip_span val;

	if (!sip_param_find(v->params, "alias", &val) ||
	    !netpath_sockaddr(v->host, v->port ? v->port : 5061, &alias))
		return;
	if (transport_conn_alias(c->w, &src->addr, &alias))
		STAT_INC(c->st, tls_aliases);
	else
		STAT_INC(c->st, tls_aliases_refused);
}

bool sip_process(struct sip_ctx *c, const char *buf, size_t len, const struct sip_source *src,
		 struct sip_out *o)
{
	struct shield_addr sk;
	struct sip_msg m;
	struct sip_via top_via;
	enum sip_parse_result r;
	const char *why;
	char unsupported[256];
	uint64_t t0 = stats_now_us();	/* registration handling time */

	o->len = 0;
	if (shield_banned_source(c, src, &sk))
		return false;
	if (src->transport == KSIP_UDP && stun_candidate(buf, len))
		return stun_process(c, buf, len, src, &sk, o);
	r = sip_parse(&m, buf, len);
	if (r == SIP_E_GARBAGE) {
		STAT_INC(c->st, garbage);
		return false;
	}
	if (!m.is_request) {
		/* Responses belong to the proxy's client transactions. */
		if (r == SIP_PARSE_OK && m.count[SIP_HDR_CALL_ID] && m.count[SIP_HDR_VIA] && c->w)
			to_proxy(c, &m, buf, src);
		else
			STAT_INC(c->st, responses_received);
		return false;
	}
	STAT_INC(c->st, requests[m.method]);
	STAT_INC(c->st, requests_by_transport[src->transport]);
	if (!shield_rate_ok(c, &m, &sk))
		return false;
	/* Without a usable Via there is no way to address an answer: drop. */
	if (!m.count[SIP_HDR_VIA] || (r != SIP_PARSE_OK && r != SIP_E_VERSION &&
				      r != SIP_E_BODY_SHORT && r != SIP_E_CONTENT_LENGTH &&
				      r != SIP_E_HEADER)) {
		STAT_INC(c->st, parse_errors);
		return false;
	}
	why = check_mandatory(&m, &top_via);
	if (why && !strcmp(why, "Malformed Via header")) {
		STAT_INC(c->st, parse_errors);
		return false;
	}
	if (!why && r == SIP_PARSE_OK && src->transport == KSIP_TLS && c->w)
		take_alias(c, &top_via, src);
	if (m.method == SIP_ACK) {
		/* ACK is never answered; the proxy absorbs it or passes it on. */
		if (r == SIP_PARSE_OK && !why && c->w)
			to_proxy(c, &m, buf, src);
		return false;
	}
	if (r == SIP_E_VERSION) {
		STAT_INC(c->st, parse_errors);
		sip_reply_simple(o, &m, src, 505, NULL);
		goto sent;
	}
	if (r != SIP_PARSE_OK || why) {
		STAT_INC(c->st, parse_errors);
		sip_reply_simple(o, &m, src, 400, why ? why : m.error);
		goto sent;
	}
	if (proxy_wants(&m) && c->w) {
		/* §16.3 step 5: a proxy checks Proxy-Require; Require is for the UAS. */
		if (m.method != SIP_CANCEL &&
		    unsupported_required_in(&m, SIP_HDR_PROXY_REQUIRE, unsupported,
					    sizeof(unsupported))) {
			sip_reply_start(o, &m, src, 420, NULL);
			out_printf(o, "Unsupported: %s\r\n", unsupported);
			sip_reply_finish(o);
			goto sent;
		}
		to_proxy(c, &m, buf, src);
		return false;
	}
	if (m.method != SIP_CANCEL && unsupported_required(&m, unsupported, sizeof(unsupported))) {
		sip_reply_start(o, &m, src, 420, NULL);
		out_printf(o, "Unsupported: %s\r\n", unsupported);
		sip_reply_finish(o);
		goto sent;
	}

	switch (m.method) {
	case SIP_REGISTER:
		register_request(c, &m, src, o);
		break;
	case SIP_OPTIONS:
		answer_options(&m, src, o);
		break;
	default:
		/* §8.2.1: 405 for a method we know but do not serve, 501 for one we don't know. */
		sip_reply_start(o, &m, src, is_known_method(m.method) ? 405 : 501, NULL);
		out_str(o, "Allow: " KSIP_ALLOW_LOCAL "\r\n");
		sip_reply_finish(o);
		break;
	}
sent:
	if (o->overflow) {
		log_warn("response to " SPAN_FMT " did not fit in %d bytes", SPAN_ARG(m.method_name),
			 SIP_OUT_MAX);
		sip_reply_simple(o, &m, src, 500, "Response Too Large");
	}
	if (o->len >= 12) {
		int code = (o->buf[8] - '0') * 100 + (o->buf[9] - '0') * 10 + (o->buf[10] - '0');

		if (code >= 100 && code < 700)
			STAT_INC(c->st, responses_sent[code]);
	}
	if (m.method == SIP_REGISTER && o->len)
		stats_observe(c->st, KSIP_HIST_REGISTER, stats_now_us() - t0);
	return o->len > 0;
}

/* --- what the workers call (transport/worker.h); ARG is a struct ksipd_worker --- */

static bool on_message(void *arg, struct worker *w, const char *buf, size_t len,
		       const struct sip_source *src, struct sip_out *reply)
{
	struct ksipd_worker *kw = arg;
	struct sip_ctx c = { kw->d, worker_stats(w), kw->txc, time(NULL), w };

	return sip_process(&c, buf, len, src, reply);
}

static void on_handoff(void *arg, struct worker *w, const struct sip_msg *m, const char *buf,
		       size_t len, const struct sip_source *src)
{
	struct ksipd_worker *kw = arg;

	(void)w;
	if (m)
		proxy_handle_msg(kw->proxy, m, src);
	else
		proxy_handle(kw->proxy, buf, len, src);
}

static int tick(void *arg, struct worker *w, int max_ms)
{
	struct ksipd_worker *kw = arg;

	(void)w;
	return proxy_tick(kw->proxy, max_ms);
}

static void after_batch(void *arg, struct worker *w)
{
	struct ksipd_worker *kw = arg;

	(void)w;
	proxy_batch_done(kw->proxy);
}

static void on_connect_failed(void *arg, struct worker *w, const struct sockaddr_storage *dst)
{
	struct ksipd_worker *kw = arg;

	(void)w;
	proxy_connect_failed(kw->proxy, dst);
}

const struct transport_ops ksipd_transport_ops = {
	.on_message = on_message,
	.on_handoff = on_handoff,
	.tick = tick,
	.after_batch = after_batch,
	.on_connect_failed = on_connect_failed,
};
