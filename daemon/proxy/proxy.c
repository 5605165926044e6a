// SPDX-License-Identifier: GPL-2.0
#include "proxy/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "registrar/auth.h"
#include "proxy/authorize.h"
#include "proxy/call.h"
#include "proxy/keepalive.h"
#include "proxy/page.h"
#include "transport/conn_map.h"
#include "base/hash.h"
#include "ksip/endpoint.h"
#include "store/location.h"
#include "store/pages.h"
#include "base/log.h"
#include "media/media.h"
#include "transport/netpath.h"
#include "sip/build.h"
#include "sip/hdr.h"
#include "txn/txn.h"
#include "store/users.h"
#include "transport/worker.h"

#define MAX_TARGETS 16

static void txn_send(void *arg, const struct sockaddr_storage *from,
		     const struct sockaddr_storage *dst, enum ksip_transport tp, const char *buf,
		     size_t len)
{
	proxy_send(arg, from, dst, tp, buf, len);
}

/* This worker's share of a cap on the whole daemon (rounded up). */
static uint32_t cap_share(uint32_t total, int nworkers)
{
	uint32_t n = nworkers > 0 ? (uint32_t)nworkers : 1;

	return (total + n - 1) / n;
}

struct proxy *proxy_new(const struct proxy_env *env, int index, struct ksip_stats *st, int epfd)
{
	struct proxy *p = calloc(1, sizeof(*p));
	struct txn_env te = {
		.timers = {
			.t1_ms = env->cfg->t1_ms,
			.t2_ms = env->cfg->t2_ms,
			.t4_ms = env->cfg->t4_ms,
			.timer_c_ms = env->cfg->timer_c * 1000,
		},
		.instance = (unsigned int)index,
		.max_stx = cap_share(env->cfg->max_server_transactions, env->nworkers),
		.max_branches = cap_share(env->cfg->max_client_transactions, env->nworkers),
		.st = st,
		.send = txn_send,
		.send_arg = p,
	};

	if (!p)
		return NULL;
	p->env = *env;
	p->index = index;
	p->st = st;
	p->max_calls = cap_share(env->cfg->max_calls, env->nworkers);
	list_init(&p->calls);
	list_init(&p->ended);
	p->txn = txn_layer_new(&te);
	if (!p->txn)
		goto fail;
	p->media = media_new(env->media, st, epfd, index);
	if (!p->media)
		goto fail;
	return p;
fail:
	txn_layer_free(p->txn);
	free(p);
	return NULL;
}

void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	media_detach_kernel(p->media);
	call_free_all(p);
	txn_layer_free(p->txn);
	media_free(p->media);
	timer_heap_free(&p->timers);
	free(p);
}

void proxy_set_worker(struct proxy *p, struct worker *w)
{
	p->w = w;
}

void proxy_set_focus(struct proxy *p, void *arg)
{
	p->env.focus_arg = arg;
}

/* Is M a request of one of the conference focus's dialogs (proxy_focus_ops)? */
static bool focus_owns(struct proxy *p, const struct sip_msg *m)
{
	return p->env.focus && p->env.focus_arg && naddr_tag(m, SIP_HDR_TO).len &&
	       p->env.focus->owns(p->env.focus_arg, m);
}

bool proxy_wants(const struct sip_msg *m)
{
	struct sip_uri u;

	if (!m->is_request)
		return true;
	if (m->method == SIP_REGISTER)
		return false;
	/*
	 * A request to the server itself (no user part, no Route, outside a
	 * dialog) is ours to answer: OPTIONS 200, anything else 405 or 501.
	 */
	if (sip_uri_parse(m->ruri, &u) && !u.user.len && !m->count[SIP_HDR_ROUTE] &&
	    !naddr_tag(m, SIP_HDR_TO).len && m->method != SIP_ACK && m->method != SIP_CANCEL)
		return false;
	return true;
}

void proxy_send(struct proxy *p, const struct sockaddr_storage *from,
		const struct sockaddr_storage *dst, enum ksip_transport tp, const char *buf, size_t len)
{
	/* Over TCP, the phone's connection, or one we opened (open_tcp()). */
	transport_send(p->w, from, dst, tp, buf, len);
}

/*
 * Is the top Via one that ksipd wrote (a branch we minted, at one of our
 * addresses)? Then the request passed our checks already and is spiralling
 * back to us through another element (§16.3 step 4): it is not challenged
 * again, since the credentials were consumed on the first pass.
 */
static bool top_via_is_ours(const struct sip_msg *m)
{
	struct sip_via v;

	return top_via(m, &v) && txn_branch_is_ours(v.branch) && netpath_is_local(v.host);
}

/*
 * Our Via sent-by and BRANCH for a request towards DST; -1 when unroutable.
 * The address and port are those of the socket the request leaves by
 * (transport_local(): FROM, or the route's), so that the answer comes back
 * to it.
 */
static int our_via(struct proxy *p, const struct sockaddr_storage *from,
		   const struct sockaddr_storage *dst, enum ksip_transport tp, const char *branch,
		   char *out, size_t len)
{
	struct sockaddr_storage local;
	char host[INET6_ADDRSTRLEN + 2];

	if (transport_local(p->w, from, dst, tp, &local))
		return -1;
	netpath_host_str(&local, host, sizeof(host));
	snprintf(out, len, "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n",
		 tp == KSIP_TLS ? "TLS" : tp == KSIP_TCP ? "TCP" : "UDP", host, ksip_endpoint_port(&local), branch);
	return 0;
}

/* --- helpers ------------------------------------------------------------ */

/* Send the stateless answer in p->out towards SRC: one datagram, nothing kept. */
static void send_stateless(struct proxy *p, const struct sip_source *src, int code)
{
	if (p->out.overflow)
		return;
	proxy_send(p, &src->local, &p->out.dst, src->transport, p->out.buf, p->out.len);
	STAT_INC(p->st, responses_sent[code]);
}

static void reply_stateless(struct proxy *p, const struct sip_msg *m, const struct sip_source *src,
			    int code, const char *reason)
{
	sip_reply_simple(&p->out, m, src, code, reason);
	send_stateless(p, src, code);
}

/* At a cap (issue 12, bounded state): 503 with Retry-After, built from the request alone. */
static void reply_busy(struct proxy *p, const struct sip_msg *m, const struct sip_source *src,
		       const char *why)
{
	STAT_INC(p->st, cap_rejects);
	sip_reply_start(&p->out, m, src, 503, why);
	out_printf(&p->out, "Retry-After: %u\r\n", PROXY_RETRY_AFTER);
	sip_reply_finish(&p->out);
	send_stateless(p, src, 503);
}

/*
 * 407 built from the request alone, as the registrar's 401: an unverified
 * sender gets one datagram per request it sends and costs no memory (no
 * transaction, so no Timer G either). Its ACK carries the To tag we minted
 * and is absorbed by on_request().
 */
static void reply_challenge(struct proxy *p, const struct sip_msg *m,
			    const struct sip_source *src, bool stale)
{
	sip_reply_start(&p->out, m, src, 407, NULL);
	auth_add_challenge(p->env.auth, &p->out, m, true, stale, time(NULL));
	sip_reply_finish(&p->out);
	send_stateless(p, src, 407);
}

/* §16.6 step 8: what makes a request "the same" when it comes back to us. */
static uint64_t loop_hash(const struct sip_msg *m)
{
	const struct sip_hdr *cid = sip_hdr_first(m, SIP_HDR_CALL_ID);
	struct sip_span ft = naddr_tag(m, SIP_HDR_FROM), tt = naddr_tag(m, SIP_HDR_TO);
	uint64_t h = hash_bytes(m->ruri.p, m->ruri.len);
	uint32_t cseq = cseq_number(m, NULL);

	h = hash_bytes_seed(h, ft.p, ft.len);
	h = hash_bytes_seed(h, tt.p, tt.len);
	h = hash_bytes_seed(h, cid->value.p, cid->value.len);
	return hash_bytes_seed(h, &cseq, sizeof(cseq));
}

/* A Via of ours with the same loop hash: the request came back unchanged (482). */
static bool looped(const struct sip_msg *m, uint64_t lh)
{
	struct sip_hdr_iter it;
	struct sip_span elem;

	sip_hdr_iter_init(&it, m, SIP_HDR_VIA);
	while (sip_hdr_iter_next(&it, &elem)) {
		struct sip_via v;

		if (sip_via_parse(elem, &v) && txn_branch_has_loophash(v.branch, lh) &&
		    netpath_is_local(v.host))
			return true;
	}
	return false;
}

bool proxy_uri_is_us(const struct proxy *p, struct sip_span uri_s)
{
	struct sockaddr_storage ss;
	struct sip_uri u;

	/* One of this host's addresses, with the port of a listener bound to it (or to any). */
	if (!sip_uri_parse(uri_s, &u) || !netpath_is_local(u.host) ||
	    !netpath_sockaddr(u.host, u.port ? u.port : 5060, &ss))
		return false;
	return worker_listens_on(p->w, &ss);
}

/* How many leading Route entries name us (§16.4), and the first that doesn't. */
static unsigned int our_routes(struct proxy *p, const struct sip_msg *m, struct sip_span *next)
{
	struct sip_hdr_iter it;
	struct sip_span elem;
	unsigned int n = 0;

	next->len = 0;
	sip_hdr_iter_init(&it, m, SIP_HDR_ROUTE);
	while (sip_hdr_iter_next(&it, &elem)) {
		struct sip_naddr na;

		if (!sip_naddr_parse(elem, &na))
			break;
		if (!proxy_uri_is_us(p, na.uri)) {
			*next = na.uri;
			break;
		}
		n++;
	}
	return n;
}

/*
 * The last leading Route entry naming us, as an address: the one we
 * record-routed towards the next hop (RFC 5658: with two entries, the
 * second faces where the request goes). Family 0 when there is none.
 */
static void last_our_route(struct proxy *p, const struct sip_msg *m, struct sockaddr_storage *local)
{
	struct sip_hdr_iter it;
	struct sip_span elem;

	local->ss_family = 0;
	sip_hdr_iter_init(&it, m, SIP_HDR_ROUTE);
	while (sip_hdr_iter_next(&it, &elem)) {
		struct sip_naddr na;
		struct sip_uri u;

		if (!sip_naddr_parse(elem, &na) || !proxy_uri_is_us(p, na.uri) ||
		    !sip_uri_parse(na.uri, &u) || !netpath_sockaddr(u.host, u.port ? u.port : 5060, local))
			return;
	}
}

/* Where a SIP URI points (IP literals only: ksip does not resolve names). */
static bool uri_dest(struct sip_span uri_s, struct sockaddr_storage *dst, enum ksip_transport *tp)
{
	struct sip_uri u;
	struct sip_span v;

	if (!sip_uri_parse(uri_s, &u))
		return false;
	*tp = KSIP_UDP;
	if (sip_param_find(u.params, "transport", &v) && span_ieq(v, "tcp"))
		*tp = KSIP_TCP;
	/* sips: is TLS whatever transport says (RFC 3261 §26.2.2, RFC 5630 §3.1.3). */
	if ((sip_param_find(u.params, "transport", &v) && span_ieq(v, "tls")) ||
	    u.scheme == SIP_SCHEME_SIPS)
		*tp = KSIP_TLS;
	/* A maddr parameter overrides the host (§19.1.1). */
	if (sip_param_find(u.params, "maddr", &v) && v.len)
		u.host = v;
	return netpath_sockaddr(u.host, u.port ? u.port : *tp == KSIP_TLS ? 5061 : 5060, dst);
}

static bool has_sdp(const struct sip_msg *m)
{
	const struct sip_hdr *ct = sip_hdr_first(m, SIP_HDR_CONTENT_TYPE);

	return m->body.len && ct && ct->value.len >= 15 &&
	       !strncasecmp(ct->value.p, "application/sdp", 15);
}

/*
 * Offers and answers travel in these only (RFC 3264, RFC 3262 PRACK, RFC
 * 3311 UPDATE). SDP in another message of a call (an OPTIONS answer's
 * capabilities) moves no media: it goes on empty, it would give its sender away.
 */
static bool carries_offer_answer(enum sip_method m)
{
	return m == SIP_INVITE || m == SIP_ACK || m == SIP_PRACK || m == SIP_UPDATE;
}

/*
 * "<sip:ADDR:PORT;lr;ksig=...>" (with ;transport=tcp or tls) as a leg reaches us.
 * SIG (route_sign()) lets the dialog's requests prove, even after a
 * restart, that ksipd record-routed it (proxy/authorize.c).
 */
static void rr_uri(const struct sockaddr_storage *local, enum ksip_transport tp, const char *sig,
		   char *out, size_t len)
{
	char h[INET6_ADDRSTRLEN + 2];

	netpath_host_str(local, h, sizeof(h));
	snprintf(out, len, "<sip:%s:%u;%slr%s>", h, ksip_endpoint_port(local),
		 tp == KSIP_TLS ? "transport=tls;" : tp == KSIP_TCP ? "transport=tcp;" : "", sig);
}

/*
 * The caller's request came in on our address CALLER_LOCAL from CALLER;
 * it goes out to CALLEE from CALLEE_LOCAL (either NULL or unknown: the
 * route's). Each side records the address it reaches us at.
 */
static void record_route(struct proxy *p, const struct sip_source *caller,
			 const struct sockaddr_storage *callee_local,
			 const struct sockaddr_storage *callee, enum ksip_transport callee_tp,
			 const char *sig, char *out, size_t len)
{
	enum ksip_transport caller_tp = caller->transport;
	struct sockaddr_storage a, b;
	char ua[160], ub[160];

	out[0] = 0;
	if (transport_local(p->w, callee_local, callee, callee_tp, &b) ||
	    transport_local(p->w, &caller->local, &caller->addr, caller_tp, &a))
		return;
	rr_uri(&a, caller_tp, sig, ua, sizeof(ua));
	rr_uri(&b, callee_tp, sig, ub, sizeof(ub));
	if (!strcmp(ua, ub)) {
		snprintf(out, len, "Record-Route: %s\r\n", ub);
		return;
	}
	/*
	 * Two listen addresses, families or transports (RFC 5658 double
	 * record-routing): the callee must reach us one way and the caller
	 * the other, so record both (the callee reads the list top down, the
	 * caller bottom up). Each entry is signed: a forged Route naming one
	 * of our addresses is no proof of a dialog (proxy/authorize.c).
	 */
	snprintf(out, len, "Record-Route: %s, %s\r\n", ub, ua);
}

/* --- requests ----------------------------------------------------------- */

/*
 * §18.1.1: where to open a TCP connection to a contact registered over UDP
 * when a request to it is too large for UDP: the address it registered
 * from (SOURCE), at the port its Contact names (5060 when none) -- but only
 * when the Contact's host is that address. Otherwise the phone sits behind
 * a NAT (or names some other host): the NAT would drop our SYN, and ksipd
 * opens no connection to an address the phone did not send from.
 */
static bool tcp_target(const char *contact, const struct sockaddr_storage *source,
		       struct sockaddr_storage *out)
{
	struct sip_uri u;

	return sip_uri_parse((struct sip_span){ contact, (uint32_t)strlen(contact) }, &u) &&
	       netpath_sockaddr(u.host, u.port ? u.port : 5060, out) &&
	       ksip_endpoint_same_ip(out, source);
}

/*
 * Where to open a TLS connection to a phone registered over TLS whose
 * connection is gone: the same rule as tcp_target(), for a Contact that
 * asks for TLS (transport=tls or sips:) and names the port it listens on.
 * A Contact without a port names no listener of the phone's (its
 * registration connection came from a port nobody listens on): skipped.
 */
static bool tls_target(const char *contact, const struct sockaddr_storage *source,
		       struct sockaddr_storage *out)
{
	struct sip_uri u;
	struct sip_span v;

	if (!sip_uri_parse((struct sip_span){ contact, (uint32_t)strlen(contact) }, &u) || !u.port)
		return false;
	if (u.scheme != SIP_SCHEME_SIPS &&
	    !(sip_param_find(u.params, "transport", &v) && span_ieq(v, "tls")))
		return false;
	return netpath_sockaddr(u.host, u.port, out) && ksip_endpoint_same_ip(out, source);
}

/* What became of the targets that got no branch, for the answer when none did. */
struct unsent {
	int too_large;		/* over 1300 bytes and no TCP to carry it: 513 */
	int unreachable;	/* our connect to it failed at once: a 503 of its own (§16.9) */
	int busy;		/* a cap on connects or connections: we are overloaded */
};

/*
 * A TCP connection to DST (ours, from FROM's address), opened now unless
 * one is open or opening; false (and why, in U) when none can be.
 */
static bool open_tcp(struct proxy *p, const struct sockaddr_storage *from,
		     const struct sockaddr_storage *dst, enum ksip_transport tp, struct unsent *u)
{
	switch (transport_connect(p->w, from, dst, tp)) {
	case TRANSPORT_CONNECT_OK:
		return true;
	case TRANSPORT_CONNECT_BUSY:
		u->busy++;
		return false;
	default:
		u->unreachable++;
		return false;
	}
}

/* Does URI name exactly DST, address and port (5060 when none)? */
static bool uri_names(struct sip_span uri, const struct sockaddr_storage *dst)
{
	struct sockaddr_storage a;
	struct sip_uri u;

	return sip_uri_parse(uri, &u) && netpath_sockaddr(u.host, u.port ? u.port : 5060, &a) &&
	       ksip_endpoint_same_ip(&a, dst) && ksip_endpoint_port(&a) == ksip_endpoint_port(dst);
}

/* The final answer when no branch went out. */
static void reply_unsent(struct proxy *p, struct stx *t, const struct unsent *u)
{
	if (u->busy)
		stx_reply(p->txn, t, 503, "Too Many Connections", PROXY_RETRY_AFTER_HDR);
	else if (u->unreachable)
		/* §16.9: a transport error is a 503 of that branch; §16.7 step 6: 500 upstream. */
		stx_reply(p->txn, t, 500, "Next Hop Unavailable", NULL);
	else if (u->too_large)
		stx_reply(p->txn, t, 513, NULL, NULL);	/* §18.1.1: too large for UDP, no TCP */
	else
		stx_reply(p->txn, t, 480, "No reachable contact", NULL);
}

void proxy_connect_failed(struct proxy *p, const struct sockaddr_storage *dst)
{
	p->now = now_ms();
	txn_set_now(p->txn, p->now);
	/* The connect was TCP or TLS; DST names the one connection either way. */
	txn_transport_error(p->txn, dst, KSIP_TCP);
	txn_transport_error(p->txn, dst, KSIP_TLS);
}

static void branch_event(struct branch *b, enum branch_event ev, int code,
			 const struct sip_msg *m, void *arg);

/* Send p->out to DST (from FROM, may be NULL) as a new branch of RC's server transaction. */
static bool fork_branch(struct proxy *p, struct resp_ctx *rc, enum sip_method method,
			const char *branch, const struct sockaddr_storage *from,
			const struct sockaddr_storage *dst, enum ksip_transport tp)
{
	if (!branch_send(p->txn, rc->stx, method, branch, from, dst, tp, p->out.buf, p->out.len,
			 branch_event, rc))
		return false;
	rc->pending++;
	return true;
}

struct target {
	char uri[256];
	struct sockaddr_storage dst;
	struct sockaddr_storage local;	/* our address it registered to (family 0: unknown) */
	enum ksip_transport transport;
};

struct targets {
	int n;
	struct target t[MAX_TARGETS];
};

static void collect_target(void *ctx, const struct binding_view *b)
{
	struct targets *ts = ctx;
	struct target *t;

	if (ts->n >= MAX_TARGETS)
		return;
	t = &ts->t[ts->n];
	if ((size_t)snprintf(t->uri, sizeof(t->uri), "%s", b->contact) >= sizeof(t->uri))
		return;
	/* Where the REGISTER came from: reaches phones behind NAT (like fix_nated_register). */
	t->dst = b->source;
	t->local = b->local;
	t->transport = b->transport;
	ts->n++;
}

/* Initial INVITE, MESSAGE, OPTIONS, ... for our domain (verified): find the callee's contacts, fork. */
static void route_initial(struct proxy *p, const struct sip_msg *m, struct stx *t,
			  unsigned int ours, uint64_t lh)
{
	struct resp_ctx *rc = t->arg;
	struct sip_uri ru;
	struct targets *ts;
	struct call *c = NULL;
	char user[128], via[256], rr[400], branch[64], sig[64], autoanswer[256];
	struct page_record *group = NULL;
	char *sdp = NULL, *mine = NULL;
	long sdp_len = 0;
	int sent = 0;
	struct unsent un = { 0 };

	/* verify_request() checked the scheme and the credentials (or the trusted source). */
	sip_uri_parse(m->ruri, &ru);
	if (!ru.user.len || ru.user.len >= sizeof(user)) {
		stx_reply(p->txn, t, 404, NULL, NULL);
		return;
	}
	memcpy(user, ru.user.p, ru.user.len);
	user[ru.user.len] = 0;
	/* A conference room: ksipd answers as its focus (a room's name is never a user's). */
	if (p->env.focus && p->env.focus_arg && p->env.focus->is_room(p->env.focus_arg, user)) {
		p->env.focus->request(p->env.focus_arg, m, &t->src, t, user);
		return;
	}
	if (!users_exists(p->env.users, user)) {
		group = malloc(sizeof(*group));
		if (!group || !page_lookup(p, user, group)) {
			stx_reply(p->txn, t, 404, NULL, NULL);
			free(group);
			return;
		}
		/* A paging group is called, nothing else: it has no phone to take a MESSAGE. */
		if (m->method != SIP_INVITE) {
			stx_reply(p->txn, t, 405, NULL, "Allow: INVITE, ACK, CANCEL, BYE\r\n");
			free(group);
			return;
		}
	}
	ts = calloc(1, sizeof(*ts));
	if (!ts) {
		stx_reply(p->txn, t, 500, NULL, NULL);
		free(group);
		return;
	}
	if (group)
		page_collect(p, group, collect_target, ts);
	else
		location_lookup(p->env.loc, user, time(NULL), collect_target, ts);
	if (!ts->n) {
		stx_reply(p->txn, t, 480, NULL, NULL);
		goto out;
	}
	if (m->method == SIP_INVITE) {
		c = call_new(p, m, &t->src.addr, t->src.transport, &ts->t[0].dst, ts->t[0].transport);
		if (!c) {
			stx_reply(p->txn, t, 500, "Cannot create call", NULL);
			goto out;
		}
		c->invite = rc;
		rc->call = c;
		if (group && !(c->page = calloc(1, sizeof(*c->page)))) {
			stx_reply(p->txn, t, 500, "Cannot create call", NULL);
			goto out;
		}
		if (group)
			page_headers(p, autoanswer, sizeof(autoanswer));
		if (has_sdp(m)) {
			sdp = malloc(SIP_OUT_MAX);
			sdp_len = sdp ? call_sdp(p, c, LEG_CALLER, m, sdp, SIP_OUT_MAX) : -1;
			if (sdp_len < 0) {
				stx_reply(p->txn, t, sdp ? 488 : 500,
					  sdp ? (c->sdp_error ? c->sdp_error : "Unusable SDP") : NULL,
					  NULL);
				goto out;
			}
		}
	}
	if (group) {
		/* The paged stream: the first one the relay opened (none: a page without media). */
		c->page->stream = -1;
		for (int k = 0; k < c->nstreams && c->page->stream < 0; k++)
			if (c->s[k].open)
				c->page->stream = k;
		mine = sdp_len > 0 ? malloc(SIP_OUT_MAX) : NULL;
	}
	sig[0] = 0;
	if (m->method == SIP_INVITE || m->method == SIP_SUBSCRIBE)
		route_sign(p, m, time(NULL), sig, sizeof(sig));
	for (int i = 0; i < ts->n; i++) {
		struct fwd_request f = { 0 };
		struct sip_span body = { sdp, (uint32_t)sdp_len };
		enum ksip_transport tp = ts->t[i].transport;
		uint16_t port;

		if (ksip_transport_stream(tp) && !conn_map_find(&ts->t[i].dst, &(struct conn_ref){ 0 })) {
			struct sockaddr_storage tls_dst;

			/* Issue 15: a TLS phone listening where its Contact says, not behind NAT. */
			if (tp != KSIP_TLS || !tls_target(ts->t[i].uri, &ts->t[i].dst, &tls_dst)) {
				STAT_INC(p->st, targets_skipped);	/* its connection is gone */
				continue;
			}
			if (!open_tcp(p, &ts->t[i].local, &tls_dst, KSIP_TLS, &un))
				continue;
			ts->t[i].dst = tls_dst;
		}
		if (txn_branches_full(p->txn, 1)) {
			stx_reply(p->txn, t, 503, "Too Many Client Transactions", PROXY_RETRY_AFTER_HDR);
			goto out;
		}
		/* A paged member's own offer: the page's stream on a relay port pair of its own. */
		if (group && sdp_len > 0) {
			long n;

			if (!mine || page_target_add(p, c, &ts->t[i].dst, tp, &port) ||
			    (n = page_offer(c, sdp, sdp_len, port, mine, SIP_OUT_MAX)) < 0) {
				un.busy++;
				continue;
			}
			body = (struct sip_span){ mine, (uint32_t)n };
		}
		txn_branch_id(p->txn, lh, branch, sizeof(branch));
again:
		if (our_via(p, &ts->t[i].local, &ts->t[i].dst, tp, branch, via, sizeof(via)))
			continue;
		if (m->method == SIP_INVITE || m->method == SIP_SUBSCRIBE)
			record_route(p, &t->src, &ts->t[i].local, &ts->t[i].dst, tp, sig, rr,
				     sizeof(rr));
		else
			rr[0] = 0;
		f.ruri = (struct sip_span){ ts->t[i].uri, (uint32_t)strlen(ts->t[i].uri) };
		f.via = via;
		f.record_route = rr[0] ? rr : NULL;
		f.extra = group ? autoanswer : NULL;
		/* Nobody makes a phone answer by itself but a page (docs/security.md). */
		f.drop_auto_answer = group || !p->env.cfg->auto_answer_pass;
		f.routes_to_drop = ours;
		f.realm = p->env.cfg->realm;
		f.body = sdp_len > 0 ? &body : NULL;
		f.src = &t->src;
		build_forward_request(&p->out, m, &f);
		if (!p->out.overflow && tp == KSIP_UDP && p->out.len > SIP_UDP_REQUEST_MAX) {
			struct sockaddr_storage tcp_dst;

			if (conn_map_find(&ts->t[i].dst, &(struct conn_ref){ 0 })) {
				tp = KSIP_TCP;	/* §18.1.1, on the phone's own connection: Via says so */
				goto again;
			}
			/* §18.1.1: a connection of ours, to the port its Contact names. */
			if (tcp_target(ts->t[i].uri, &ts->t[i].dst, &tcp_dst)) {
				if (!open_tcp(p, &ts->t[i].local, &tcp_dst, KSIP_TCP, &un))
					continue;
				ts->t[i].dst = tcp_dst;
				tp = KSIP_TCP;
				goto again;
			}
		}
		if (p->out.overflow || (tp == KSIP_UDP && p->out.len > SIP_UDP_REQUEST_MAX)) {
			un.too_large++;
			continue;
		}
		if (fork_branch(p, rc, m->method, branch, &ts->t[i].local, &ts->t[i].dst, tp)) {
			sent++;
			/* Over TCP after all (§18.1.1): its answer comes from there. */
			if (group && sdp_len > 0)
				page_target_sent(c, port, &ts->t[i].dst, tp);
		}
	}
	if (!sent)
		reply_unsent(p, t, &un);
out:
	/* No branch went out (488, 503, 513, 480): the call ends now, or it would hold its slot. */
	if (c && !sent)
		call_end(p, c, "failed: %d", t->last_code);
	free(sdp);
	free(mine);
	free(ts);
	free(group);
}

/*
 * In-dialog requests and pre-routed ones (G says why they may pass): follow
 * the Route set, else the dialog or Request-URI.
 */
static void route_onward(struct proxy *p, const struct sip_msg *m, const struct sip_source *src,
			 struct stx *t, unsigned int ours, struct sip_span next_route, uint64_t lh,
			 const struct fwd_grant *g)
{
	struct sockaddr_storage dst, local;
	enum ksip_transport tp = KSIP_UDP;
	struct fwd_request f = { 0 };
	struct call *c = g->call;
	enum leg from = g->from;
	char via[256], branch[64];
	char *sdp = NULL;
	long sdp_len = 0;
	struct sip_span body;
	bool have_dst = false;

	if (next_route.len) {
		have_dst = uri_dest(next_route, &dst, &tp);
	} else if (c) {
		/* NAT-proof: where that leg really is, the way it talks to us. */
		call_route(c, from, m, &dst, &tp);
		have_dst = true;
	} else if (!proxy_uri_is_us(p, m->ruri)) {
		have_dst = uri_dest(m->ruri, &dst, &tp);
	}
	if (!have_dst) {
		if (t)
			stx_reply(p->txn, t, 404, "No route", NULL);
		return;
	}
	/* From the address we record-routed towards that side (else the route's). */
	last_our_route(p, m, &local);
	if (c) {
		call_request_seen(c, from, m);
		if (has_sdp(m)) {
			sdp = malloc(SIP_OUT_MAX);
			sdp_len = !sdp ? -1 : carries_offer_answer(m->method) ?
				  call_sdp(p, c, from, m, sdp, SIP_OUT_MAX) : 0;
			if (sdp_len < 0) {
				if (t)
					stx_reply(p->txn, t, 488, sdp ? c->sdp_error : NULL, NULL);
				free(sdp);
				return;
			}
		}
	}
	if (t) {
		txn_branch_id(p->txn, lh, branch, sizeof(branch));
	} else {
		/* A stateless ACK: the same branch for every retransmission (§16.11). */
		struct sip_via v;

		top_via(m, &v);
		txn_branch_id_ack(lh, v.branch, branch, sizeof(branch));
	}
	/*
	 * A call's leg reached over TCP whose connection is gone: open it
	 * again when it was one of ours -- the Request-URI (the phone's
	 * Contact) names that very address and port, as tcp_target() chose
	 * it. Not a connection the phone opened (from a port nobody listens
	 * on, maybe through a NAT): that one stays gone, as before.
	 */
	if (ksip_transport_stream(tp) && !conn_map_find(&dst, &(struct conn_ref){ 0 }) &&
	    ((c && uri_names(m->ruri, &dst)) || (!c && tp == KSIP_TLS))) {
		struct unsent un = { 0 };

		if (!open_tcp(p, &local, &dst, tp, &un)) {
			if (t)
				reply_unsent(p, t, &un);
			free(sdp);
			return;
		}
	}
	/* A call's TLS leg whose connection is gone, to a port nobody listens on: as over TCP. */
	if (tp == KSIP_TLS && !conn_map_find(&dst, &(struct conn_ref){ 0 })) {
		if (t)
			stx_reply(p->txn, t, 503, "No TLS connection to next hop", NULL);
		free(sdp);
		return;
	}
	if (our_via(p, &local, &dst, tp, branch, via, sizeof(via))) {
		if (t)
			stx_reply(p->txn, t, 503, "No route to next hop", NULL);
		free(sdp);
		return;
	}
	body = (struct sip_span){ sdp ? sdp : "", (uint32_t)(sdp_len > 0 ? sdp_len : 0) };
	f.via = via;
	f.routes_to_drop = ours;
	f.realm = p->env.cfg->realm;
	f.drop_auto_answer = !p->env.cfg->auto_answer_pass && m->method == SIP_INVITE &&
			     !naddr_tag(m, SIP_HDR_TO).len;
	f.body = sdp ? &body : NULL;	/* a call's SDP goes rewritten (empty once ended), never raw */
	f.src = src;
	build_forward_request(&p->out, m, &f);
	if (!p->out.overflow && tp == KSIP_UDP && p->out.len > SIP_UDP_REQUEST_MAX &&
	    conn_map_find(&dst, &(struct conn_ref){ 0 }) && !our_via(p, &local, &dst, KSIP_TCP, branch, via,
								 sizeof(via))) {
		tp = KSIP_TCP;	/* §18.1.1: over TCP when a connection to the next hop exists */
		build_forward_request(&p->out, m, &f);
	}
	free(sdp);
	if (p->out.overflow || (tp == KSIP_UDP && p->out.len > SIP_UDP_REQUEST_MAX)) {
		/* §18.1.1: too large for UDP and no connection to carry it. */
		if (t)
			stx_reply(p->txn, t, 513, NULL, NULL);
		return;
	}
	if (t)
		fork_branch(p, t->arg, m->method, branch, &local, &dst, tp);
	else
		proxy_send(p, &local, &dst, tp, p->out.buf, p->out.len);
	if (c && m->method == SIP_BYE && c->state != CALL_ENDED)
		call_end(p, c, "BYE from %s", from == LEG_CALLER ? "caller" : "callee");
}

static void handle_cancel(struct proxy *p, const struct sip_msg *m, const struct sip_source *src,
			  const char *key)
{
	struct stx *t = stx_find(p->txn, key);
	struct resp_ctx *rc;

	/* §16.10: answer the CANCEL ourselves, then cancel every pending branch. */
	if (!t || t->method != SIP_INVITE) {
		reply_stateless(p, m, src, 481, NULL);
		return;
	}
	reply_stateless(p, m, src, 200, NULL);
	rc = t->arg;
	if (t->state != STX_PROCEEDING || rc->cancelled)
		return;
	STAT_INC(p->st, cancels_received);
	proxy_cancel(p, rc);
}

void proxy_cancel(struct proxy *p, struct resp_ctx *rc)
{
	txn_set_now(p->txn, p->now);	/* the control thread may enter here (ksipctl hangup) */
	rc->cancelled = true;
	stx_cancel_branches(p->txn, rc->stx, NULL);
}

/* The server transaction is gone: so is its response context. */
static void resp_ctx_free(struct stx *t, void *arg)
{
	struct resp_ctx *rc = arg;

	(void)t;
	if (rc->call && rc->call->invite == rc)
		rc->call->invite = NULL;
	free(rc->best);
	free(rc);
}

static struct stx *stx_open(struct proxy *p, const struct sip_msg *m,
			    const struct sip_source *src, const char *key)
{
	struct resp_ctx *rc = calloc(1, sizeof(*rc));
	struct stx *t;

	if (!rc)
		return NULL;
	rc->p = p;
	t = stx_new(p->txn, m, src, key, resp_ctx_free, rc);
	if (!t)
		free(rc);
	else
		rc->stx = t;
	return t;
}

/*
 * Issue 12: verify, then create state. Everything a request can be told
 * before ksipd takes responsibility for it is decided here, each answer
 * one stateless datagram per request received (a retransmission gets one
 * again): a flood from spoofed sources costs no memory and is not
 * amplified. True when the request may have a server transaction.
 *
 * The authorization of forwarding goes here too: whatever decides that a
 * request may be forwarded without credentials (in-dialog, trusted peer)
 * must decide before the transaction exists.
 */
static bool verify_request(struct proxy *p, const struct sip_msg *m,
			   const struct sip_source *src, enum fwd_verdict v, uint64_t lh)
{
	const struct sip_hdr *from = sip_hdr_first(m, SIP_HDR_FROM);
	struct auth_outcome ao;
	struct sip_naddr na;
	struct sip_uri ru, fu;
	uint32_t mf;

	if (m->count[SIP_HDR_MAX_FORWARDS] &&
	    span_to_u32(sip_hdr_first(m, SIP_HDR_MAX_FORWARDS)->value, 255, &mf) && mf == 0) {
		reply_stateless(p, m, src, 483, NULL);
		return false;
	}
	if (m->nhdrs > SIP_FORWARD_MAX_HEADERS) {
		/* We add Via, Record-Route and Max-Forwards: stay within what we accept ourselves. */
		reply_stateless(p, m, src, 513, "Too Many Headers To Forward");
		return false;
	}
	if (looped(m, lh)) {
		reply_stateless(p, m, src, 482, NULL);
		return false;
	}
	if (v == FWD_IN_DIALOG)
		return true;
	if (!sip_uri_parse(m->ruri, &ru) || (ru.scheme != SIP_SCHEME_SIP && ru.scheme != SIP_SCHEME_SIPS)) {
		reply_stateless(p, m, src, 416, NULL);
		return false;
	}
	/* A trusted peer, or a spiral that passed these checks here already, is not asked again. */
	if (v == FWD_TRUSTED || top_via_is_ours(m))
		return true;
	auth_check(p->env.auth, p->st, m, src, SIP_HDR_PROXY_AUTHORIZATION, time(NULL), &ao);
	if (ao.result == AUTH_MALFORMED) {
		reply_stateless(p, m, src, 400, ao.why);
		return false;
	}
	if (ao.result != AUTH_OK) {
		reply_challenge(p, m, src, ao.result == AUTH_STALE);
		return false;
	}
	/* The authenticated user must be the one the request claims to come from. */
	if (!sip_naddr_parse(from->value, &na) || !sip_uri_parse(na.uri, &fu) ||
	    fu.user.len != strlen(ao.user) || memcmp(fu.user.p, ao.user, fu.user.len)) {
		reply_stateless(p, m, src, 403, "Forbidden auth ID");
		return false;
	}
	return true;
}

/* Room for the state a verified request needs; else a stateless 503 (issue 12). */
static bool within_caps(struct proxy *p, const struct sip_msg *m, const struct sip_source *src,
			bool in_dialog)
{
	if (txn_stx_full(p->txn)) {
		reply_busy(p, m, src, "Too Many Transactions");
		return false;
	}
	if (txn_branches_full(p->txn, 1)) {
		reply_busy(p, m, src, "Too Many Client Transactions");
		return false;
	}
	if (m->method == SIP_INVITE && !in_dialog && !call_admit(p, 0)) {
		reply_busy(p, m, src, "Too Many Calls");
		return false;
	}
	return true;
}

static void on_request(struct proxy *p, const struct sip_msg *m, const struct sip_source *src)
{
	enum sip_method km = m->method == SIP_ACK || m->method == SIP_CANCEL ? SIP_INVITE : m->method;
	struct sip_span next_route;
	struct fwd_grant g;
	enum fwd_verdict v;
	struct stx *t;
	char key[512];
	unsigned int ours;
	uint64_t lh;
	bool in_dialog;

	if (stx_key(m, km, key, sizeof(key)))
		return;
	if (m->method == SIP_CANCEL) {
		handle_cancel(p, m, src, key);
		return;
	}
	/* Inside a dialog ksipd holds with a paged member (its BYE): answered here. */
	if (naddr_tag(m, SIP_HDR_TO).len && page_member_request(p, m, src))
		return;
	lh = loop_hash(m);
	ours = our_routes(p, m, &next_route);
	if (m->method == SIP_ACK) {
		if (focus_owns(p, m)) {
			p->env.focus->request(p->env.focus_arg, m, src, NULL, NULL);
			return;
		}
		t = stx_find(p->txn, key);
		if (t && t->state != STX_ACCEPTED) {
			stx_ack(p->txn, t);		/* ACK of our own non-2xx answer: hop by hop */
			return;
		}
		if (!t && sip_reply_tag_is_ours(m)) {
			/* The ACK of an answer we sent statelessly (a 407, a 503): absorbed. */
			STAT_INC(p->st, retransmissions);
			return;
		}
		/* ACK of a 2xx: end to end, in a dialog of ours only; never answered. */
		if (authorize_forwarding(p, m, src, next_route, &g) == FWD_IN_DIALOG) {
			if (!g.call || !g.call->page ||
			    !page_dialog_request(p, g.call, g.from, m, src))
				route_onward(p, m, src, NULL, ours, next_route, lh, &g);
		}
		else
			STAT_INC(p->st, relay_denied);
		return;
	}
	t = stx_find(p->txn, key);
	if (t) {
		stx_retransmission(p->txn, t);
		return;
	}
	/* In a dialog of the conference focus: ksipd is the far end, nothing is forwarded. */
	if (focus_owns(p, m)) {
		if (!within_caps(p, m, src, true))
			return;
		t = stx_open(p, m, src, key);
		if (!t) {
			reply_busy(p, m, src, "Out of memory");
			return;
		}
		p->env.focus->request(p->env.focus_arg, m, src, t, NULL);
		return;
	}
	/* Who may make us forward it (proxy/authorize.c); a refusal leaves no state behind. */
	v = authorize_forwarding(p, m, src, next_route, &g);
	if (v == FWD_NO_DIALOG || v == FWD_FOREIGN) {
		STAT_INC(p->st, relay_denied);
		reply_stateless(p, m, src, v == FWD_FOREIGN ? 403 : 481,
				v == FWD_FOREIGN ? FWD_FOREIGN_REASON : NULL);
		return;
	}
	in_dialog = v == FWD_IN_DIALOG;
	/* A page whose callee hung up: ksipd is the far end of the caller's dialog (page.h). */
	if (in_dialog && g.call && g.call->page && page_dialog_request(p, g.call, g.from, m, src))
		return;
	if (!verify_request(p, m, src, v, lh) || !within_caps(p, m, src, in_dialog))
		return;
	/* Verified and within the caps: from here on ksipd keeps state for the request. */
	t = stx_open(p, m, src, key);
	if (!t) {
		reply_busy(p, m, src, "Out of memory");
		return;
	}
	if (m->method == SIP_INVITE)
		stx_reply(p->txn, t, 100, NULL, NULL);
	if (v == FWD_IN_DIALOG || v == FWD_AUTHENTICATE_FOREIGN)
		route_onward(p, m, src, t, ours, next_route, lh, &g);
	else
		route_initial(p, m, t, ours, lh);
}

/* --- responses ---------------------------------------------------------- */

/* The response as the caller gets it: our Via gone, SDP pointing at the relay. */
static bool prepare_upstream(struct proxy *p, struct resp_ctx *rc, const struct sip_msg *m)
{
	struct call *c = rc->stx->method == SIP_INVITE ? rc->call : NULL;
	enum leg requester = LEG_CALLER;
	bool rewrite = false;
	char *sdp = NULL;
	long sdp_len = 0;
	struct sip_span body;

	if (has_sdp(m)) {
		/* In-dialog (re-INVITE, UPDATE, PRACK): the dialog's tags name the call. */
		if (!c)
			c = call_find(p, m, &requester);
		rewrite = c != NULL;
	}
	if (rewrite) {
		sdp = malloc(SIP_OUT_MAX);
		sdp_len = !sdp ? -1 : carries_offer_answer(rc->stx->method) ?
			  call_sdp(p, c, other_leg(requester), m, sdp, SIP_OUT_MAX) : 0;
	}
	/* An SDP the relay could not take goes on empty, never raw: raw gives the answerer away. */
	body = (struct sip_span){ sdp ? sdp : "", (uint32_t)(sdp_len > 0 ? sdp_len : 0) };
	build_forward_response(&p->out, m, rewrite ? &body : NULL);
	free(sdp);
	return !p->out.overflow;
}

static int response_class_rank(int code)
{
	/* §16.7 step 6: 6xx first, then the lowest class; 5xx last. */
	if (code >= 600)
		return 0;
	return code / 100;
}

/* A branch's final outcome (§16.7): pass a 2xx on at once, else keep the best until all end. */
static void branch_final(struct proxy *p, struct resp_ctx *rc, struct branch *b, int code,
			 const struct sip_msg *m)
{
	struct stx *t = rc->stx;

	if (b->timer_c_fired && code == 487) {
		/* Our own CANCEL after Timer C: to the caller this is a time-out, not a cancel. */
		code = 408;
		m = NULL;
	}
	if (rc->pending)
		rc->pending--;
	if (code < 300) {
		/* A paging group keeps every answer: the first is the caller's, the rest ksipd's. */
		if (m && rc->call && rc->call->page && t->state != STX_PROCEEDING) {
			page_member_answered(p, rc->call, b, m);
			return;
		}
		if (!m || !prepare_upstream(p, rc, m))
			return;
		if (rc->call && t->method == SIP_INVITE && t->state == STX_PROCEEDING)
			call_answered(p, rc->call, m, &b->dst, b->transport);
		stx_send_final(p->txn, t, code, p->out.buf, p->out.len);
		STAT_INC(p->st, responses_forwarded);
		/* §16.7 step 10: a 2xx to INVITE cancels every other branch (not a page's). */
		if (!rc->call || !rc->call->page)
			stx_cancel_branches(p->txn, t, b);
		return;
	}
	if (t->state != STX_PROCEEDING)
		return;
	if (!rc->best_code || response_class_rank(code) < response_class_rank(rc->best_code)) {
		rc->best_code = code;
		free(rc->best);
		rc->best = NULL;
		rc->best_len = 0;
		if (m && prepare_upstream(p, rc, m)) {
			rc->best = malloc(p->out.len);
			if (rc->best) {
				memcpy(rc->best, p->out.buf, p->out.len);
				rc->best_len = (uint32_t)p->out.len;
			}
		}
	}
	if (code >= 600)
		stx_cancel_branches(p->txn, t, NULL);
	if (rc->pending)
		return;
	/* Every branch is done: the best answer goes upstream (487 after a CANCEL). */
	if (rc->cancelled && (rc->best_code == 408 || !rc->best_len)) {
		stx_reply(p->txn, t, 487, NULL, NULL);
	} else if (rc->best_code == 503) {
		/* §16.7 step 6: a 503 would tell the caller that ksipd is overloaded. */
		stx_reply(p->txn, t, 500, "Next Hop Unavailable", NULL);
	} else if (rc->best_len) {
		stx_send_final(p->txn, t, rc->best_code, rc->best, rc->best_len);
		STAT_INC(p->st, responses_forwarded);
	} else {
		stx_reply(p->txn, t, rc->best_code, NULL, NULL);
	}
	if (rc->call)
		call_end(p, rc->call, "failed: %d", t->last_code);
}

/* What a branch of RC's server transaction reports (its handler, registered by fork_branch). */
static void branch_event(struct branch *b, enum branch_event ev, int code,
			 const struct sip_msg *m, void *arg)
{
	struct resp_ctx *rc = arg;
	struct proxy *p = rc->p;

	if (ev == BRANCH_FINAL) {
		branch_final(p, rc, b, code, m);
		return;
	}
	/* A paged member's 2xx again: our ACK was lost. */
	if (ev == BRANCH_2XX_AGAIN && rc->call && rc->call->page && page_2xx_again(p, rc->call, b, m))
		return;
	/* A provisional (101-199) or a retransmitted 2xx: pass it on. */
	if (!prepare_upstream(p, rc, m))
		return;
	if (ev == BRANCH_PROVISIONAL) {
		if (rc->call && rc->stx->method == SIP_INVITE) {
			call_provisional_timed(p, rc->call);
			call_early(rc->call, m, &b->dst, b->transport);
		}
		stx_send_provisional(p->txn, rc->stx, p->out.buf, p->out.len);
	} else {
		proxy_send(p, &rc->stx->src.local, &rc->stx->reply_dst, rc->stx->src.transport,
			   p->out.buf, p->out.len);
	}
	STAT_INC(p->st, responses_forwarded);
}

int proxy_originate(struct proxy *p, const struct sockaddr_storage *dst, enum ksip_transport tp,
		    uint64_t loophash, struct sip_request *r)
{
	char via[256], branch[64];

	txn_set_now(p->txn, p->now);	/* the control thread may enter here (ksipctl hangup) */
	txn_branch_id(p->txn, loophash, branch, sizeof(branch));
	if (our_via(p, NULL, dst, tp, branch, via, sizeof(via)))
		return -1;
	r->via = via;
	sip_build_request(&p->out, r);
	r->via = NULL;
	if (p->out.overflow ||
	    !branch_send(p->txn, NULL, r->method, branch, NULL, dst, tp, p->out.buf, p->out.len, NULL,
			 NULL))
		return -1;
	return 0;
}

int proxy_send_request(struct proxy *p, const struct sockaddr_storage *from,
		       const struct sockaddr_storage *dst, enum ksip_transport tp, uint64_t loophash,
		       struct sip_request *r)
{
	char via[256], branch[64];

	txn_branch_id(p->txn, loophash, branch, sizeof(branch));
	if (our_via(p, from, dst, tp, branch, via, sizeof(via)))
		return -1;
	r->via = via;
	sip_build_request(&p->out, r);
	r->via = NULL;
	if (p->out.overflow)
		return -1;
	proxy_send(p, from, dst, tp, p->out.buf, p->out.len);
	return 0;
}

void proxy_handle_msg(struct proxy *p, const struct sip_msg *m, const struct sip_source *src)
{
	p->now = now_ms();
	txn_set_now(p->txn, p->now);
	/* Responses reach here unchecked by dispatch.c: everything below relies on these. */
	if (!m->count[SIP_HDR_CALL_ID] || !m->count[SIP_HDR_VIA] || !m->count[SIP_HDR_CSEQ] ||
	    !m->count[SIP_HDR_FROM] || !m->count[SIP_HDR_TO])
		return;
	if (m->is_request) {
		on_request(p, m, src);
	} else {
		/* Its branch hears of it; a response no branch of ours sent is a stray. */
		STAT_INC(p->st, responses_received);
		if (!keepalive_response(p, m))
			txn_response(p->txn, m);
	}
}

void proxy_handle(struct proxy *p, const char *buf, size_t len, const struct sip_source *src)
{
	if (sip_parse(&p->in, buf, len) == SIP_PARSE_OK)
		proxy_handle_msg(p, &p->in, src);
}

int proxy_tick(struct proxy *p, int max)
{
	int wait;

	p->now = now_ms();
	txn_set_now(p->txn, p->now);
	wait = txn_tick(p->txn, max);
	wait = keepalive_tick(p, wait);
	timer_run(&p->timers, p->now, p);
	return timer_wait_ms(&p->timers, now_ms(), wait);
}

void proxy_batch_done(struct proxy *p)
{
	media_reap(p->media);
}
