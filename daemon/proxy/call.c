// SPDX-License-Identifier: GPL-2.0
#include "proxy/call.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/list.h"
#include "base/log.h"
#include "media/media.h"
#include "transport/netpath.h"
#include "proxy/page.h"
#include "proxy/proxy.h"
#include "proxy/tap.h"
#include "sip/build.h"
#include "sip/hdr.h"

/* Call start and end lines at info: a flood of calls writes a few a second (base/log.h). */
static struct log_limit call_log_budget = LOG_LIMIT_INIT;

#define CALL_INDEX(h) ((uint32_t)((h) ^ ((h) >> 32)) & (PROXY_TAB_SIZE - 1))
#define CALL_LINGER_MS 10000	/* an ended call stays in `ksipctl call list` this long */
/* The media is looked at every quarter of media_timeout (at least every second). */
static uint64_t check_interval(const struct proxy *p)
{
	uint64_t ms = (uint64_t)p->env.cfg->media_timeout * 250;

	return ms < 1000 ? 1000 : ms;
}

const char *call_state_name(enum call_state s)
{
	static const char *const names[] = { "trying", "early", "confirmed", "ended" };

	return names[s];
}

static uint64_t call_hash(struct sip_span callid, struct sip_span tag)
{
	return hash_bytes_seed(hash_bytes(callid.p, callid.len), tag.p, tag.len);
}

static struct sip_span uri_user(struct sip_span uri_s)
{
	struct sip_uri u;

	return sip_uri_parse(uri_s, &u) ? u.user : (struct sip_span){ "", 0 };
}

/* The stream that speaks for the call's media in logs and ksipctl: the first one open. */
static const struct media_stream *first_open(const struct call *c)
{
	for (int i = 0; i < c->nstreams; i++)
		if (c->s[i].open)
			return &c->s[i];
	return NULL;
}

/* Where the call's media goes, as logs and ksipctl say it. */
static const char *media_mode(const struct call *c)
{
	const struct media_stream *s = first_open(c);

	return !s ? "none" : s->kernel ? "kernel" : "userspace";
}

static const char *media_why(const struct call *c)
{
	const struct media_stream *s = first_open(c);

	return s && !s->kernel ? s->why_userspace : NULL;
}

static void unlink_call(struct proxy *p, struct call *c)
{
	struct call **pp = &p->call_tab[CALL_INDEX(c->hash)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	list_del(&c->node);
}

static void free_call(struct proxy *p, struct call *c)
{
	unlink_call(p, c);
	timer_cancel(&p->timers, &c->t_check);
	timer_cancel(&p->timers, &c->t_limit);
	timer_cancel(&p->timers, &c->t_free);
	for (int i = 0; i < c->nstreams; i++)
		media_close(p->media, &c->s[i]);
	tap_end(p, c);
	if (c->invite)
		c->invite->call = NULL;
	free(c->early);
	free(c->callid);
	free(c->caller_from);
	free(c->callee_to);
	free(c->contact[0]);
	free(c->contact[1]);
	page_call_free(p, c->page);
	if (c->state == CALL_ENDED) {
		list_del(&c->ended_node);
		p->nended--;
	}
	free(c);
	p->ncalls--;
	STAT_INC(p->st, calls_freed);
}

bool call_admit(struct proxy *p, uint32_t others)
{
	if (p->ncalls - p->nended + others >= p->max_calls)
		return false;
	if (p->ncalls + others >= p->max_calls && !list_empty(&p->ended)) {
		free_call(p, container_of(p->ended.next, struct call, ended_node));
		STAT_INC(p->st, calls_freed_early);
	}
	return true;
}

static void timer_free(struct timer *t, void *ctx)
{
	free_call(ctx, container_of(t, struct call, t_free));
}

static bool media_on_hold(const struct call *c)
{
	for (int i = 0; i < c->nstreams; i++)
		for (int leg = 0; leg < 2; leg++)
			if (c->s[i].open && c->s[i].dir[leg] != SDP_SENDRECV)
				return true;
	return false;
}

static void timer_limit(struct timer *t, void *ctx)
{
	call_hangup(ctx, container_of(t, struct call, t_limit), "maximum call duration");
}

static void timer_check(struct timer *t, void *ctx)
{
	struct proxy *p = ctx;
	struct call *c = container_of(t, struct call, t_check);
	uint32_t timeout = p->env.cfg->media_timeout;

	if (c->state != CALL_CONFIRMED)
		return;
	/* Polled, not called back per packet: media.h says why. */
	if (c->nstreams && !media_on_hold(c)) {
		uint64_t idle = UINT64_MAX, last;

		for (int i = 0; i < c->nstreams; i++) {
			uint64_t pk[2], id;

			media_counters(p->media, &c->s[i], pk, &id);
			if (id < idle)
				idle = id;
		}
		last = idle == UINT64_MAX ? 0 : p->now - idle;
		if (last > c->last_media_ms)
			c->last_media_ms = last;
		if (p->now - c->last_media_ms >= (uint64_t)timeout * 1000) {
			call_hangup(p, c, "media timeout");
			return;
		}
	}
	timer_arm(&p->timers, &c->t_check, p->now + check_interval(p));
}

/* Our media address facing PEER: media_address of its family, else what the route selects. */
int relay_address_toward(const struct proxy *p, const struct sockaddr_storage *peer,
				struct sockaddr_storage *local)
{
	const struct sockaddr_storage *conf = &p->env.cfg->media_addr[peer->ss_family == AF_INET6];

	if (conf->ss_family) {
		*local = *conf;
		return 0;
	}
	return netpath_local_toward(peer, local);
}

struct call *call_new(struct proxy *p, const struct sip_msg *invite,
		      const struct sockaddr_storage *caller_sig, enum ksip_transport caller_tp,
		      const struct sockaddr_storage *callee_sig, enum ksip_transport callee_tp)
{
	struct call *c = calloc(1, sizeof(*c));
	const struct sip_hdr *cid = sip_hdr_first(invite, SIP_HDR_CALL_ID);
	const struct sip_hdr *from = sip_hdr_first(invite, SIP_HDR_FROM);
	struct sip_naddr na;
	struct sip_span tag = naddr_tag(invite, SIP_HDR_FROM);

	if (!c)
		return NULL;
	c->callid = span_dup(cid->value);
	c->caller_from = span_dup(from->value);
	c->contact[LEG_CALLER] = span_dup(contact_uri(invite));
	if (!c->callid || !c->caller_from || !c->contact[LEG_CALLER])
		goto fail;
	span_copy(c->caller_tag, sizeof(c->caller_tag), tag);
	if (sip_naddr_parse(from->value, &na))
		span_copy(c->caller_user, sizeof(c->caller_user), uri_user(na.uri));
	span_copy(c->callee_user, sizeof(c->callee_user), uri_user(invite->ruri));
	c->sig[LEG_CALLER] = *caller_sig;
	c->sig[LEG_CALLEE] = *callee_sig;
	c->sig_tp[LEG_CALLER] = caller_tp;
	c->sig_tp[LEG_CALLEE] = callee_tp;
	if (relay_address_toward(p, caller_sig, &c->relay_ip[LEG_CALLER]) ||
	    relay_address_toward(p, callee_sig, &c->relay_ip[LEG_CALLEE]))
		goto fail;
	c->cseq[LEG_CALLER] = cseq_number(invite, NULL);
	c->created = time(NULL);
	c->invite_us = stats_now_us();
	c->id = call_id_make(p->index, ++p->seq);
	/* Unique enough per leg and call (RFC 4566 suggests an NTP time; any number will do). */
	for (int leg = 0; leg < 2; leg++) {
		c->origin[leg].sess_id = ((uint64_t)c->created << 20 ^ c->id << 1 ^ (uint64_t)leg) &
					 INT64_MAX;
		c->origin[leg].version = 1;
	}
	c->hash = call_hash(cid->value, tag);
	c->hnext = p->call_tab[CALL_INDEX(c->hash)];
	p->call_tab[CALL_INDEX(c->hash)] = c;
	list_add(&c->node, &p->calls);
	timer_init(&c->t_check, timer_check);
	timer_init(&c->t_limit, timer_limit);
	timer_init(&c->t_free, timer_free);
	p->ncalls++;
	STAT_INC(p->st, calls_created);
	c->created_ms = p->now;
	log_limited(&call_log_budget, LOG_LVL_INFO, "call %" PRIu64 " started: %s -> %s, Call-ID %s",
		    c->id, c->caller_user, c->callee_user, c->callid);
	return c;
fail:
	free(c->callid);
	free(c->caller_from);
	free(c->contact[LEG_CALLER]);
	free(c);
	return NULL;
}

struct call *call_lookup(struct proxy *p, struct sip_span callid, struct sip_span tag)
{
	uint64_t h = call_hash(callid, tag);

	for (struct call *c = p->call_tab[CALL_INDEX(h)]; c; c = c->hnext)
		if (c->hash == h && strlen(c->caller_tag) == tag.len &&
		    !memcmp(c->caller_tag, tag.p, tag.len) && strlen(c->callid) == callid.len &&
		    !memcmp(c->callid, callid.p, callid.len))
			return c;
	return NULL;
}

static bool tag_is(const char *tag, struct sip_span s)
{
	return s.len && strlen(tag) == s.len && !memcmp(tag, s.p, s.len);
}

/* The early dialog of C with callee tag TAG, or NULL (only before the answer). */
static const struct call_early_dlg *early_dialog(const struct call *c, struct sip_span tag)
{
	if (c->state != CALL_TRYING && c->state != CALL_EARLY)
		return NULL;
	for (int i = 0; i < c->nearly; i++)
		if (tag_is(c->early[i].tag, tag))
			return &c->early[i];
	return NULL;
}

static bool callee_tag_matches(const struct call *c, struct sip_span tag)
{
	return tag_is(c->callee_tag, tag) || early_dialog(c, tag);
}

struct call *call_find(struct proxy *p, const struct sip_msg *m, enum leg *from)
{
	struct sip_span callid = sip_hdr_first(m, SIP_HDR_CALL_ID)->value;
	struct sip_span ft = naddr_tag(m, SIP_HDR_FROM), tt = naddr_tag(m, SIP_HDR_TO);
	struct call *c = call_lookup(p, callid, ft);

	/* Knowing the Call-ID and one tag (both travel in clear) is not enough. */
	if (c && callee_tag_matches(c, tt)) {
		*from = LEG_CALLER;
		return c;
	}
	c = call_lookup(p, callid, tt);
	if (c && callee_tag_matches(c, ft)) {
		*from = LEG_CALLEE;
		return c;
	}
	return NULL;
}

void call_route(const struct call *c, enum leg from, const struct sip_msg *m,
		struct sockaddr_storage *dst, enum ksip_transport *tp)
{
	const struct call_early_dlg *e;

	/* A forked INVITE's early dialog lives at the phone whose branch created it. */
	if (from == LEG_CALLER && (e = early_dialog(c, naddr_tag(m, SIP_HDR_TO))) &&
	    !tag_is(c->callee_tag, naddr_tag(m, SIP_HDR_TO))) {
		*dst = e->sig;
		*tp = e->sig_tp;
		return;
	}
	*dst = c->sig[other_leg(from)];
	*tp = c->sig_tp[other_leg(from)];
}

/*
 * Stream I as leg FROM's SDP describes it in MD: a relay port pair while
 * its port is not 0 (a stream set to port 0 is refused or disabled: its
 * ports go back). -1 when no pair is free.
 */
static int stream_from_sdp(struct proxy *p, struct call *c, int i, enum leg from,
			   const struct sdp_media *md)
{
	struct media_stream *s = &c->s[i];

	if (i >= c->nstreams)
		c->nstreams = i + 1;
	if (!md->port) {
		media_close(p->media, s);
		tap_stream_closed(p, c, i);
		s->remote_known[from] = false;
		s->dir[from] = md->dir;
		return 0;
	}
	if (!s->open && media_open(p->media, s, c->relay_ip)) {
		log_warn("call %" PRIu64 ": no free relay port pair", c->id);
		return -1;
	}
	s->dir[from] = md->dir;
	s->remote[from] = md->addr;
	s->remote_rtcp[from] = md->rtcp_mux ? md->port : md->rtcp_port;
	s->remote_known[from] = true;
	media_update(p->media, s);
	tap_stream_opened(p, c, i);
	return 0;
}

/* Write the SDP for leg TO; its o= version grows when that SDP differs from the last one. */
static long write_sdp(struct call *c, enum leg to, struct sip_span body,
		      const struct sdp_session *sess, struct sdp_relay *relay, char *out, size_t cap)
{
	struct call_origin *o = &c->origin[to];
	uint64_t h;
	long n;

	relay->sess_id = o->sess_id;
	relay->sess_version = o->version;
	n = sdp_rewrite(body, sess, relay, out, cap);
	if (n < 0)
		return n;
	h = sdp_hash_without_origin(out, (size_t)n);
	if (o->sent && h != o->hash) {
		relay->sess_version = ++o->version;
		n = sdp_rewrite(body, sess, relay, out, cap);
		if (n < 0)
			return n;
	}
	o->hash = h;
	o->sent = true;
	return n;
}

/*
 * A leg whose media is of another family than its signalling (a dual-stack
 * phone registered over IPv4 offering IPv6 media) gets the relay address of
 * its media's family, as long as no stream is open yet, i.e. in the first
 * offer of the call: afterwards the other leg already holds our address.
 */
static void follow_media_family(const struct proxy *p, struct call *c, enum leg from,
				const struct sdp_session *sess)
{
	const struct sdp_media *md = NULL;
	struct sockaddr_storage local;

	for (int i = 0; i < sess->nmedia && !md; i++)
		if (sess->media[i].port)
			md = &sess->media[i];
	if (!md || md->addr.ss_family == c->relay_ip[from].ss_family)
		return;
	if (first_open(c) || relay_address_toward(p, &md->addr, &local)) {
		log_warn("call %" PRIu64 ": the %s's media is %s but the relay faces it over %s: "
			 "media to it may not flow", c->id, from == LEG_CALLER ? "caller" : "callee",
			 md->addr.ss_family == AF_INET6 ? "IPv6" : "IPv4",
			 c->relay_ip[from].ss_family == AF_INET6 ? "IPv6" : "IPv4");
		return;
	}
	c->relay_ip[from] = local;
	log_info("call %" PRIu64 ": the %s's media is %s: the relay faces it with that family", c->id,
		 from == LEG_CALLER ? "caller" : "callee", md->addr.ss_family == AF_INET6 ? "IPv6" : "IPv4");
}

long call_sdp(struct proxy *p, struct call *c, enum leg from, const struct sip_msg *m,
	      char *out, size_t cap)
{
	struct sdp_session sess;
	struct sdp_relay relay;
	enum leg to = other_leg(from);
	const char *why;
	long n;

	if (c->state == CALL_ENDED)
		return 0;
	if (sdp_parse(m->body, &sess, &why)) {
		log_info("call %" PRIu64 ": unusable SDP from the %s: %s", c->id,
			 from == LEG_CALLER ? "caller" : "callee", why);
		c->sdp_error = why;
		return -1;
	}
	follow_media_family(p, c, from, &sess);
	memset(&relay, 0, sizeof(relay));
	relay.addr = c->relay_ip[to];
	relay.keep_ice = p->env.cfg->ice_pass;
	for (int i = 0; i < sess.nmedia; i++) {
		if (stream_from_sdp(p, c, i, from, &sess.media[i])) {
			c->sdp_error = "No free relay ports";
			return -1;
		}
		relay.rtp_port[i] = c->s[i].relay_port[to];
	}
	n = write_sdp(c, to, m->body, &sess, &relay, out, cap);
	if (n < 0) {
		log_warn("call %" PRIu64 ": rewritten SDP does not fit", c->id);
		c->sdp_error = "SDP too large";
	}
	return n;
}

void call_provisional_timed(struct proxy *p, struct call *c)
{
	if (c->provisional_timed || c->state == CALL_ENDED || c->state == CALL_CONFIRMED)
		return;
	c->provisional_timed = true;
	stats_observe(p->st, KSIP_HIST_CALL_PROVISIONAL, stats_now_us() - c->invite_us);
}

void call_early(struct call *c, const struct sip_msg *resp,
		const struct sockaddr_storage *callee_sig, enum ksip_transport callee_tp)
{
	struct sip_span tag = naddr_tag(resp, SIP_HDR_TO);
	struct call_early_dlg *e;

	if ((c->state != CALL_TRYING && c->state != CALL_EARLY) || !tag.len ||
	    tag.len >= sizeof(e->tag))
		return;
	c->state = CALL_EARLY;
	if (early_dialog(c, tag) || c->nearly >= CALL_EARLY_MAX)
		return;
	if (!c->early) {
		c->early = calloc(CALL_EARLY_MAX, sizeof(*c->early));
		if (!c->early)
			return;	/* that early dialog is then vouched for by its signed Route only */
	}
	e = &c->early[c->nearly++];
	span_copy(e->tag, sizeof(e->tag), tag);
	e->sig = *callee_sig;
	e->sig_tp = callee_tp;
}

void call_answered(struct proxy *p, struct call *c, const struct sip_msg *resp,
		   const struct sockaddr_storage *callee_sig, enum ksip_transport callee_tp)
{
	if (c->state == CALL_ENDED || c->state == CALL_CONFIRMED)
		return;
	span_copy(c->callee_tag, sizeof(c->callee_tag), naddr_tag(resp, SIP_HDR_TO));
	free(c->callee_to);
	free(c->contact[LEG_CALLEE]);
	c->callee_to = span_dup(sip_hdr_first(resp, SIP_HDR_TO)->value);
	c->contact[LEG_CALLEE] = span_dup(contact_uri(resp));
	c->sig[LEG_CALLEE] = *callee_sig;
	c->sig_tp[LEG_CALLEE] = callee_tp;
	c->state = CALL_CONFIRMED;
	/* One dialog now (§13.2.2.4): the early ones are no longer matched (early_dialog()). */
	free(c->early);
	c->early = NULL;
	c->nearly = 0;
	c->answered_ms = c->last_media_ms = p->now;
	if (p->env.cfg->media_timeout)
		timer_arm(&p->timers, &c->t_check, p->now + check_interval(p));
	if (p->env.cfg->max_call_duration)
		timer_arm(&p->timers, &c->t_limit,
			  p->now + (uint64_t)p->env.cfg->max_call_duration * 1000);
	STAT_INC(p->st, calls_answered);
	STAT_INC(p->st, calls_answered_by_media[!c->nstreams ? KSIP_STATS_MEDIA_NONE :
			 c->s[0].kernel ? KSIP_STATS_MEDIA_KERNEL : KSIP_STATS_MEDIA_USERSPACE]);
	stats_observe(p->st, KSIP_HIST_CALL_ANSWER, stats_now_us() - c->invite_us);
	log_limited(&call_log_budget, LOG_LVL_INFO, "call %" PRIu64 " answered: %s -> %s (media %s%s%s)",
		    c->id, c->caller_user, c->callee_user, media_mode(c), media_why(c) ? ": " : "",
		    media_why(c) ? media_why(c) : "");
	if (c->page)
		log_info("call %" PRIu64 ": the page's first answer is from %s", c->id,
			 c->contact[LEG_CALLEE] ? c->contact[LEG_CALLEE] : "?");
}

void call_request_seen(struct call *c, enum leg from, const struct sip_msg *m)
{
	uint32_t n = cseq_number(m, NULL);

	if (n > c->cseq[from])
		c->cseq[from] = n;
}

void call_end(struct proxy *p, struct call *c, const char *fmt, ...)
{
	va_list ap;

	if (c->state == CALL_ENDED)
		return;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	call_packets(p, c, c->final_packets);
	if (c->page)
		page_call_end(p, c);
	for (int i = 0; i < c->nstreams; i++)
		media_close(p->media, &c->s[i]);
	if (c->page)
		page_ports_release(p, c->page);
	tap_end(p, c);
	c->state = CALL_ENDED;
	list_add_tail(&c->ended_node, &p->ended);
	p->nended++;
	c->ended_ms = p->now;
	timer_cancel(&p->timers, &c->t_check);
	timer_cancel(&p->timers, &c->t_limit);
	timer_arm(&p->timers, &c->t_free, p->now + CALL_LINGER_MS);
	STAT_INC(p->st, calls_ended);
	if (c->answered_ms)
		log_limited(&call_log_budget, LOG_LVL_INFO,
			    "call %" PRIu64 " ended (%s -> %s) after %" PRIu64 ".%03" PRIu64 " s of talk: %s",
			    c->id, c->caller_user, c->callee_user, (p->now - c->answered_ms) / 1000,
			    (p->now - c->answered_ms) % 1000, c->reason);
	else
		log_limited(&call_log_budget, LOG_LVL_INFO,
			    "call %" PRIu64 " ended (%s -> %s) unanswered after %" PRIu64 ".%03" PRIu64 " s: %s",
			    c->id, c->caller_user, c->callee_user, (p->now - c->created_ms) / 1000,
			    (p->now - c->created_ms) % 1000, c->reason);
}

/* A BYE from us to leg TO, inside the dialog (§15.1.1). */
static void send_bye(struct proxy *p, struct call *c, enum leg to, const char *reason)
{
	enum leg from = other_leg(to);
	struct sip_request r = {
		.method = SIP_BYE,
		.ruri = c->contact[to],
		.from = to == LEG_CALLEE ? c->caller_from : c->callee_to,
		.to = to == LEG_CALLEE ? c->callee_to : c->caller_from,
		.callid = c->callid,
		.cseq = c->cseq[from] + 1,
		.reason = reason,
	};

	if (!r.from || !r.to || !r.ruri || !r.ruri[0])
		return;
	if (to == LEG_CALLEE && c->page && c->page->callee_gone)
		return;		/* it hung up already; the members get theirs from page_call_end() */
	if (!proxy_originate(p, &c->sig[to], c->sig_tp[to], c->hash, &r))
		c->cseq[from]++;
}

void call_hangup(struct proxy *p, struct call *c, const char *reason)
{
	if (c->state == CALL_ENDED)
		return;
	if (c->state == CALL_CONFIRMED) {
		send_bye(p, c, LEG_CALLEE, reason);
		send_bye(p, c, LEG_CALLER, reason);
	} else if (c->invite) {
		/* Not answered yet: cancel the branches; the caller gets 487. */
		proxy_cancel(p, c->invite);
	}
	call_end(p, c, "%s", reason);
}

/* Linear: only ksipctl looks calls up by id. */
static struct call *call_by_id(struct proxy *p, uint64_t id)
{
	struct call *c;

	list_for_each_entry(c, &p->calls, node)
		if (c->id == id)
			return c;
	return NULL;
}

void call_packets(struct proxy *p, struct call *c, uint64_t pkts[2])
{
	if (c->state == CALL_ENDED) {
		pkts[0] = c->final_packets[0];
		pkts[1] = c->final_packets[1];
		return;
	}
	pkts[0] = pkts[1] = 0;
	for (int i = 0; i < c->nstreams; i++) {
		uint64_t pk[2], idle;

		media_counters(p->media, &c->s[i], pk, &idle);
		pkts[0] += pk[0];
		pkts[1] += pk[1];
	}
}

void call_free_all(struct proxy *p)
{
	struct call *c, *n;

	list_for_each_entry_safe(c, n, &p->calls, node)
		free_call(p, c);
}

/* --- for the control thread (call_info.h): the caller holds the worker's lock --- */

static void call_info_fill(struct proxy *p, const struct call *c, struct call_info *ci)
{
	uint64_t ref = c->state == CALL_ENDED ? c->ended_ms : p->now;

	memset(ci, 0, sizeof(*ci));
	ci->id = c->id;
	ci->state = c->state;
	snprintf(ci->caller, sizeof(ci->caller), "%s", c->caller_user);
	snprintf(ci->callee, sizeof(ci->callee), "%s", c->callee_user);
	snprintf(ci->reason, sizeof(ci->reason), "%s", c->reason);
	ci->callid = c->callid ? c->callid : "";
	ci->media = media_mode(c);
	ci->media_why = media_why(c);
	ci->created = c->created;
	ci->duration = c->answered_ms && ref > c->answered_ms ?
		       (unsigned long)((ref - c->answered_ms) / 1000) : 0;
	ci->nstreams = c->nstreams;
	if (c->state == CALL_ENDED) {
		ci->pkts[0] = c->final_packets[0];
		ci->pkts[1] = c->final_packets[1];
	}
	for (int i = 0; i < c->nstreams; i++) {
		const struct media_stream *s = &c->s[i];
		uint64_t pk[2];

		for (int leg = 0; leg < 2; leg++) {
			ci->s[i].ip[leg] = s->relay_ip[leg];
			ci->s[i].port[leg] = s->relay_port[leg];
		}
		ci->s[i].open = s->open;
		if (c->state == CALL_ENDED)
			continue;
		ci->nflows += media_stream_flows(s, pk, &ci->flow[ci->nflows]);
		ci->pkts[0] += pk[0];
		ci->pkts[1] += pk[1];
	}
	tap_info(c, ci);
}

void proxy_calls_snapshot(struct proxy *p, call_info_fn fn, void *arg)
{
	struct call_info ci;
	struct call *c;

	p->now = now_ms();
	list_for_each_entry(c, &p->calls, node) {
		call_info_fill(p, c, &ci);
		fn(arg, &ci);
	}
}

int proxy_call_hangup(struct proxy *p, uint64_t id, const char *reason)
{
	struct call *c;

	p->now = now_ms();
	c = call_by_id(p, id);
	if (!c || c->state == CALL_ENDED)
		return -1;
	call_hangup(p, c, reason);
	return 0;
}

int proxy_call_tap(struct proxy *p, uint64_t id, const struct sockaddr_storage *to, char *err,
		   size_t errlen)
{
	struct call *c;

	p->now = now_ms();
	c = call_by_id(p, id);
	if (!c) {
		snprintf(err, errlen, "no call %" PRIu64, id);
		return -1;
	}
	return tap_add(p, c, to, err, errlen);
}

int proxy_call_untap(struct proxy *p, uint64_t id, const struct sockaddr_storage *to)
{
	struct call *c;

	p->now = now_ms();
	c = call_by_id(p, id);
	return c ? tap_del(p, c, to) : -1;
}

int call_set_outputs(struct proxy *p, struct call *c, int i)
{
	for (int leg = 0; leg < 2; leg++) {
		struct media_output o[PAGE_LEGS_MAX + CALL_TAPS_MAX];
		unsigned int n = c->page ? page_outputs_of(c, i, leg, o) : 0;

		n += tap_outputs_of(c, i, leg, o + n);
		if (n > MEDIA_OUTPUTS_MAX) {
			log_warn("call %" PRIu64 ": stream %d: %u outputs for the %s, %d copied",
				 c->id, i, n, leg == LEG_CALLER ? "caller" : "callee", MEDIA_OUTPUTS_MAX);
			n = MEDIA_OUTPUTS_MAX;
		}
		if (media_set_outputs(p->media, &c->s[i], leg, o, n))
			return -1;
	}
	return 0;
}
