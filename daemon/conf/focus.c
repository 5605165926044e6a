// SPDX-License-Identifier: GPL-2.0
#include "conf/focus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/hash.h"
#include "base/list.h"
#include "base/log.h"
#include "base/stats.h"
#include "conf/conf.h"
#include "conf/offer.h"
#include "ksip/endpoint.h"
#include "media/port_pool.h"
#include "proxy/call.h"
#include "registrar/auth.h"
#include "sip/build.h"
#include "sip/hdr.h"
#include "store/record.h"
#include "transport/netpath.h"
#include "transport/worker.h"
#include "txn/txn.h"

#define FOCUS_BUCKETS 1024
#define FOCUS_ALLOW "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO\r\n"
#define SDP_CAP 2048
#define FOCUS_PORT_TRIES 4	/* relay port pairs tried when one is bound by someone else */

/* One member: the dialog ksipd holds as the room's UA, and its place in the mixer. */
struct member {
	struct member *hnext;		/* chain in focus.tab */
	struct list_head node;		/* focus.members */
	uint64_t hash;			/* Call-ID and the member's tag */
	char *callid;
	char tag[64];			/* the member's (From) tag */
	char our_tag[17];		/* ours: the To tag of our answers */
	char *member_from;		/* its From value: the To of our BYE */
	char *focus_to;			/* its To value with our tag: the From of our BYE */
	char *contact;			/* its Contact URI: our BYE's Request-URI */
	struct sip_source src;		/* where the INVITE came from: BYEs and the shield */
	uint32_t cseq_in, cseq_out;
	char room[ROOM_NAME_MAX];
	char user[CONF_USER_MAX];
	struct conf_room *cr;
	int mid;			/* the mixer's member id */
	uint16_t rtp_port;		/* from the relay port pool */
	struct sockaddr_storage relay_ip;
	enum mixer_codec codec;
	uint64_t sess_id, sess_ver;
	char *sdp;			/* the answer it has */
	size_t sdp_len;
	/* The 2xx (initial or re-INVITE), retransmitted over UDP until the ACK (§13.3.1.4). */
	char *ok;
	size_t ok_len;
	struct sockaddr_storage ok_dst;
	uint32_t retx_ms;
	uint64_t retx_until;
	bool acked;
	/* PIN entry */
	bool admitted;
	char pin[ROOM_PIN_MAX + 1];
	char entry[ROOM_PIN_MAX + 1];
	size_t nentry;
	bool entry_overflow;
	int wrong;
	uint64_t pin_deadline;
	enum sdp_dir dir;		/* as its last offer said: on hold it may send nothing */
	uint64_t rx_seen;		/* packets from it at the last media check */
	uint64_t rx_since;		/* when that count last grew */
	struct timer t_retx;
	struct timer t_poll;
	struct timer t_media;		/* media_timeout: a member that went silent is hung up */
};

struct focus {
	struct conf *cf;
	struct proxy *p;
	uint32_t nmembers;
	struct list_head members;
	struct member *tab[FOCUS_BUCKETS];
};

static struct log_limit focus_log = LOG_LIMIT_INIT;

static uint64_t member_hash(struct sip_span callid, struct sip_span tag)
{
	return hash_bytes_seed(hash_bytes(callid.p, callid.len), tag.p, tag.len);
}

static bool has_sdp(const struct sip_msg *m)
{
	const struct sip_hdr *ct = sip_hdr_first(m, SIP_HDR_CONTENT_TYPE);

	return m->body.len && ct && ct->value.len >= 15 &&
	       !strncasecmp(ct->value.p, "application/sdp", 15);
}

/* The member of M's Call-ID and From tag, and (ANY_TO false) of its To tag. */
static struct member *member_lookup(struct focus *f, const struct sip_msg *m, bool any_to)
{
	const struct sip_hdr *cid = sip_hdr_first(m, SIP_HDR_CALL_ID);
	struct sip_span ft = naddr_tag(m, SIP_HDR_FROM), tt = naddr_tag(m, SIP_HDR_TO);
	uint64_t h;

	if (!cid || !ft.len || (!tt.len && !any_to))
		return NULL;
	h = member_hash(cid->value, ft);
	for (struct member *x = f->tab[h % FOCUS_BUCKETS]; x; x = x->hnext)
		if (x->hash == h && strlen(x->callid) == cid->value.len &&
		    !memcmp(x->callid, cid->value.p, cid->value.len) && strlen(x->tag) == ft.len &&
		    !memcmp(x->tag, ft.p, ft.len) &&
		    (any_to || (tt.len == strlen(x->our_tag) && !memcmp(x->our_tag, tt.p, tt.len))))
			return x;
	return NULL;
}

static struct member *member_find(struct focus *f, const struct sip_msg *m)
{
	return member_lookup(f, m, false);
}

/* The member leaves: mixer, relay ports, dialog. No BYE here. */
static void member_end(struct focus *f, struct member *x, const char *why)
{
	struct proxy *p = f->p;
	struct member **pp = &f->tab[x->hash % FOCUS_BUCKETS];

	log_limited(&focus_log, LOG_LVL_INFO, "room %s: %s left (%s)", x->room, x->user, why);
	timer_cancel(&p->timers, &x->t_retx);
	timer_cancel(&p->timers, &x->t_poll);
	timer_cancel(&p->timers, &x->t_media);
	if (x->cr)
		conf_leave(f->cf, x->cr, x->mid);
	if (x->rtp_port)
		port_pool_put(p->env.media->ports, x->rtp_port);
	while (*pp && *pp != x)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = x->hnext;
	list_del(&x->node);
	f->nmembers--;
	free(x->callid);
	free(x->member_from);
	free(x->focus_to);
	free(x->contact);
	free(x->sdp);
	free(x->ok);
	explicit_bzero(x->pin, sizeof(x->pin));
	explicit_bzero(x->entry, sizeof(x->entry));
	free(x);
}

/* Our BYE to the member (§15.1.1), then it leaves. */
static void member_hangup(struct focus *f, struct member *x, const char *reason)
{
	struct sip_request r = {
		.method = SIP_BYE,
		.ruri = x->contact,
		.from = x->focus_to,
		.to = x->member_from,
		.callid = x->callid,
		.cseq = ++x->cseq_out,
		.reason = reason,
	};

	if (x->contact[0] && proxy_originate(f->p, &x->src.addr, x->src.transport, x->hash, &r))
		log_limited(&focus_log, LOG_LVL_INFO, "room %s: no BYE could be sent to %s", x->room,
			    x->user);
	member_end(f, x, reason);
}

/* --- the 2xx and its retransmissions ------------------------------------ */

static void timer_retx(struct timer *t, void *ctx)
{
	struct proxy *p = ctx;
	struct member *x = container_of(t, struct member, t_retx);
	struct focus *f = p->env.focus_arg;

	if (x->acked)
		return;
	if (p->now >= x->retx_until) {
		/* §13.3.1.4: no ACK after 64*T1: the dialog is confirmed and ended with a BYE. */
		member_hangup(f, x, "no ACK");
		return;
	}
	proxy_send(p, &x->src.local, &x->ok_dst, x->src.transport, x->ok, x->ok_len);
	x->retx_ms = x->retx_ms * 2 < p->env.cfg->t2_ms ? x->retx_ms * 2 : p->env.cfg->t2_ms;
	timer_arm(&p->timers, &x->t_retx, p->now + x->retx_ms);
}

/* "<sip:ROOM@HOST:PORT;transport=..>;isfocus": where the member reaches the focus (RFC 4579). */
static void write_contact(struct focus *f, struct sip_out *o, const struct member *x)
{
	struct sockaddr_storage local;
	char host[INET6_ADDRSTRLEN + 2];
	enum ksip_transport tp = x->src.transport;

	if (transport_local(f->p->w, &x->src.local, &x->src.addr, tp, &local))
		local = x->src.local;
	netpath_host_str(&local, host, sizeof(host));
	out_printf(o, "Contact: <sip:%s@%s:%u%s>;isfocus\r\n", x->room, host,
		   ksip_endpoint_port(&local),
		   tp == KSIP_TLS ? ";transport=tls" : tp == KSIP_TCP ? ";transport=tcp" : "");
}

/*
 * Answer T (an INVITE or re-INVITE of X) with 200 and X's SDP, kept for
 * retransmission. False when it does not fit (a 500 went instead).
 */
static bool send_ok(struct focus *f, struct member *x, const struct sip_msg *m, struct stx *t)
{
	struct proxy *p = f->p;
	struct sip_out *o = &p->out;
	char *copy;

	sip_reply_start(o, m, &t->src, 200, NULL);
	/* §12.1.1: the Record-Route of the request goes back in the 2xx. */
	for (int i = 0; i < m->nhdrs; i++)
		if (m->hdrs[i].id == SIP_HDR_RECORD_ROUTE) {
			out_str(o, "Record-Route: ");
			out_span(o, m->hdrs[i].value);
			out_str(o, "\r\n");
		}
	write_contact(f, o, x);
	out_str(o, FOCUS_ALLOW "Supported: \r\n");
	sip_reply_finish_body(o, "application/sdp", x->sdp, x->sdp_len);
	if (o->overflow) {
		stx_reply(p->txn, t, 500, "Answer Too Large", NULL);
		return false;
	}
	copy = malloc(o->len);
	if (copy) {
		memcpy(copy, o->buf, o->len);
		free(x->ok);
		x->ok = copy;
		x->ok_len = o->len;
		x->ok_dst = t->reply_dst;
	}
	STAT_INC(p->st, responses_sent[200]);
	stx_send_final(p->txn, t, 200, o->buf, o->len);
	x->acked = false;
	if (x->ok && t->src.transport == KSIP_UDP) {
		x->retx_ms = p->env.cfg->t1_ms;
		x->retx_until = p->now + 64ull * p->env.cfg->t1_ms;
		timer_arm(&p->timers, &x->t_retx, p->now + x->retx_ms);
	}
	return true;
}

/* --- PIN ---------------------------------------------------------------- */

/* A wrong PIN is a failed authentication of the member's source (docs/security.md). */
static void pin_wrong(struct focus *f, struct member *x)
{
	const struct auth *a = f->p->env.auth;

	x->wrong++;
	if (a && a->on_failure)
		a->on_failure(a->failure_arg, f->p->st, &x->src, x->user, time(NULL));
	log_limited(&focus_log, LOG_LVL_INFO, "room %s: %s keyed a wrong PIN (%d of %d)", x->room,
		    x->user, x->wrong, FOCUS_PIN_TRIES);
}

/* One DTMF digit of X's PIN entry. False when X is gone (hung up). */
static bool pin_digit(struct focus *f, struct member *x, char d)
{
	if (x->admitted)
		return true;
	if (d == '*') {		/* start again */
		x->nentry = 0;
		x->entry_overflow = false;
		return true;
	}
	if (d != '#') {
		if (x->nentry < ROOM_PIN_MAX)
			x->entry[x->nentry++] = d;
		else
			x->entry_overflow = true;
		return true;
	}
	x->entry[x->nentry] = 0;
	if (!x->entry_overflow && !strcmp(x->entry, x->pin)) {
		x->admitted = true;
		conf_admit(f->cf, x->cr, x->mid);
		timer_cancel(&f->p->timers, &x->t_poll);
		log_limited(&focus_log, LOG_LVL_INFO, "room %s: %s admitted", x->room, x->user);
	} else {
		pin_wrong(f, x);
	}
	x->nentry = 0;
	x->entry_overflow = false;
	if (!x->admitted && x->wrong >= FOCUS_PIN_TRIES) {
		member_hangup(f, x, "wrong PIN");
		return false;
	}
	return true;
}

static void timer_poll(struct timer *t, void *ctx)
{
	struct proxy *p = ctx;
	struct member *x = container_of(t, struct member, t_poll);
	struct focus *f = p->env.focus_arg;
	char d[32];
	size_t n;

	if (x->admitted)
		return;
	n = conf_digits(f->cf, x->cr, x->mid, d, sizeof(d));
	for (size_t i = 0; i < n; i++)
		if (!pin_digit(f, x, d[i]))
			return;
	if (x->admitted)
		return;
	if (p->now >= x->pin_deadline) {
		member_hangup(f, x, "PIN timeout");
		return;
	}
	timer_arm(&p->timers, &x->t_poll, p->now + FOCUS_POLL_MS);
}

/* --- media time-out ----------------------------------------------------- */

/* As for calls (proxy/call.c): every quarter of media_timeout, at least every second. */
static uint64_t media_check_ms(const struct proxy *p)
{
	uint64_t ms = (uint64_t)p->env.cfg->media_timeout * 250;

	return ms < 1000 ? 1000 : ms;
}

/*
 * A phone that vanished without a BYE would hold its place in the room
 * forever: nothing received for media_timeout seconds ends it (a member
 * sends 50 packets a second, silence included, unless on hold).
 */
static void timer_media(struct timer *t, void *ctx)
{
	struct proxy *p = ctx;
	struct member *x = container_of(t, struct member, t_media);
	struct focus *f = p->env.focus_arg;
	uint64_t rx = conf_member_rx(f->cf, x->cr, x->mid);

	if (rx != x->rx_seen || x->dir == SDP_INACTIVE || x->dir == SDP_RECVONLY) {
		x->rx_seen = rx;
		x->rx_since = p->now;
	} else if (p->now - x->rx_since >= (uint64_t)p->env.cfg->media_timeout * 1000) {
		member_hangup(f, x, "media timeout");
		return;
	}
	timer_arm(&p->timers, &x->t_media, p->now + media_check_ms(p));
}

/* --- initial INVITE ----------------------------------------------------- */

static int join_errno_code(int err, const char **why)
{
	switch (err) {
	case ENOENT:
		*why = "No Such Room";
		return 404;
	case ENOSPC:
		*why = "Room Full";
		return 486;
	default:
		*why = "Cannot Join Room";
		return 503;
	}
}

/* Fill X from the INVITE M: dialog identifiers, who it is. False when out of memory. */
static bool member_dialog(struct member *x, const struct sip_msg *m, const struct sip_source *src)
{
	const struct sip_hdr *cid = sip_hdr_first(m, SIP_HDR_CALL_ID);
	const struct sip_hdr *from = sip_hdr_first(m, SIP_HDR_FROM);
	const struct sip_hdr *to = sip_hdr_first(m, SIP_HDR_TO);
	const struct sip_hdr *ct = sip_hdr_first(m, SIP_HDR_CONTACT);
	struct sip_naddr na;
	struct sip_uri u;
	size_t tolen;

	x->callid = span_dup(cid->value);
	x->member_from = span_dup(from->value);
	span_copy(x->tag, sizeof(x->tag), naddr_tag(m, SIP_HDR_FROM));
	sip_reply_tag(m, x->our_tag);
	tolen = to->value.len + sizeof(";tag=") + sizeof(x->our_tag);
	x->focus_to = malloc(tolen);
	if (x->focus_to)
		snprintf(x->focus_to, tolen, "%.*s;tag=%s", (int)to->value.len, to->value.p,
			 x->our_tag);
	x->contact = NULL;
	if (ct) {
		struct sip_span rest = ct->value, elem;

		if (sip_list_next(&rest, &elem) && sip_naddr_parse(elem, &na))
			x->contact = span_dup(na.uri);
	}
	if (!x->contact)
		x->contact = strdup("");
	if (sip_naddr_parse(from->value, &na) && sip_uri_parse(na.uri, &u))
		span_copy(x->user, sizeof(x->user), u.user);
	x->src = *src;
	x->cseq_in = cseq_number(m, NULL);
	x->hash = member_hash(cid->value, naddr_tag(m, SIP_HDR_FROM));
	return x->callid && x->member_from && x->focus_to && x->contact;
}

static void invite_room(struct focus *f, const struct sip_msg *m, const struct sip_source *src,
			struct stx *t, const char *room)
{
	struct proxy *p = f->p;
	struct mixer_member_params mp = { 0 };
	struct room_record rec;
	struct member *x;
	struct offer o;
	const char *why = NULL;
	char *sdp;
	long n;
	int code, err;

	if (!conf_room_config(f->cf, room, &rec)) {
		stx_reply(p->txn, t, 404, "No Such Room", NULL);
		return;
	}
	/* §8.2.2.2: a new INVITE of a dialog the focus holds already (one member per dialog). */
	if (member_lookup(f, m, true)) {
		stx_reply(p->txn, t, 482, "Merged Request", NULL);
		return;
	}
	if (!has_sdp(m)) {
		stx_reply(p->txn, t, 488, "Offer Required", NULL);
		return;
	}
	if (offer_read(m->body, -1, &o, &why)) {
		stx_reply(p->txn, t, 488, why, NULL);
		return;
	}
	/* Members are calls: they share max_calls with the proxy's (issue 12's caps). */
	if (!call_admit(p, f->nmembers)) {
		STAT_INC(p->st, cap_rejects);
		stx_reply(p->txn, t, 503, "Too Many Calls", PROXY_RETRY_AFTER_HDR);
		return;
	}
	x = calloc(1, sizeof(*x));
	sdp = malloc(SDP_CAP);
	if (!x || !sdp || !member_dialog(x, m, src)) {
		stx_reply(p->txn, t, 500, NULL, NULL);
		goto fail;
	}
	snprintf(x->room, sizeof(x->room), "%s", room);
	snprintf(x->pin, sizeof(x->pin), "%s", rec.pin);
	x->admitted = !rec.pin[0];
	timer_init(&x->t_retx, timer_retx);
	timer_init(&x->t_poll, timer_poll);
	timer_init(&x->t_media, timer_media);
	if (relay_address_toward(p, &src->addr, &x->relay_ip)) {
		stx_reply(p->txn, t, 503, "No Media Address", PROXY_RETRY_AFTER_HDR);
		goto fail;
	}
	mp.codec = o.codec;
	mp.pt = o.pt;
	mp.dtmf_pt = o.dtmf_pt;
	mp.remote = o.remote;
	mp.admitted = x->admitted;
	x->codec = o.codec;
	x->dir = o.dir;
	/* A pair some other process holds (EADDRINUSE) is skipped: the next one is tried. */
	err = 0;
	for (int tries = 0; tries < FOCUS_PORT_TRIES; tries++) {
		if (port_pool_get(p->env.media->ports, &x->rtp_port)) {
			x->rtp_port = 0;
			stx_reply(p->txn, t, 503, "No Relay Port", PROXY_RETRY_AFTER_HDR);
			goto fail;
		}
		mp.local = x->relay_ip;
		if (mp.local.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&mp.local)->sin6_port = htons(x->rtp_port);
		else
			((struct sockaddr_in *)&mp.local)->sin_port = htons(x->rtp_port);
		x->mid = conf_join(f->cf, room, x->user, p->index, &mp, &x->cr);
		err = x->mid < 0 ? errno : 0;
		if (x->mid >= 0 || err != EADDRINUSE)
			break;
		log_limited(&focus_log, LOG_LVL_INFO, "room %s: relay port %u in use elsewhere, skipped",
			    room, x->rtp_port);
		port_pool_put(p->env.media->ports, x->rtp_port);
		x->rtp_port = 0;
	}
	if (x->mid < 0) {
		code = join_errno_code(err, &why);
		log_limited(&focus_log, LOG_LVL_INFO, "room %s: %s cannot join: %s", room, x->user,
			    strerror(err));
		stx_reply(p->txn, t, code, why, code == 503 ? PROXY_RETRY_AFTER_HDR : NULL);
		x->cr = NULL;
		goto fail;
	}
	x->sess_id = hash_bytes(x->callid, strlen(x->callid)) & INT64_MAX;
	x->sess_ver = 1;
	n = offer_answer(&o, &x->relay_ip, x->rtp_port, x->sess_id, x->sess_ver, sdp, SDP_CAP);
	if (n < 0) {
		stx_reply(p->txn, t, 488, "Answer Too Large", NULL);
		goto fail_joined;
	}
	x->sdp = sdp;
	x->sdp_len = (size_t)n;
	sdp = NULL;
	x->hnext = f->tab[x->hash % FOCUS_BUCKETS];
	f->tab[x->hash % FOCUS_BUCKETS] = x;
	list_add(&x->node, &f->members);
	f->nmembers++;
	log_limited(&focus_log, LOG_LVL_INFO, "room %s: %s joined (%s%s)", room, x->user,
		    o.codec == MIXER_PCMA ? "PCMA" : "PCMU", x->admitted ? "" : ", PIN pending");
	if (!send_ok(f, x, m, t)) {
		member_end(f, x, "answer too large");
		return;
	}
	if (p->env.cfg->media_timeout) {
		x->rx_since = p->now;
		timer_arm(&p->timers, &x->t_media, p->now + media_check_ms(p));
	}
	if (!x->admitted) {
		x->pin_deadline = p->now + FOCUS_PIN_TIMEOUT_MS;
		timer_arm(&p->timers, &x->t_poll, p->now + FOCUS_POLL_MS);
	}
	return;
fail_joined:
	conf_leave(f->cf, x->cr, x->mid);
fail:
	if (x && x->rtp_port)
		port_pool_put(p->env.media->ports, x->rtp_port);
	if (x) {
		free(x->callid);
		free(x->member_from);
		free(x->focus_to);
		free(x->contact);
		free(x);
	}
	free(sdp);
}

/* --- in-dialog requests ------------------------------------------------- */

static void reinvite(struct focus *f, struct member *x, const struct sip_msg *m, struct stx *t)
{
	struct proxy *p = f->p;
	struct offer o;
	const char *why;
	char *sdp;
	long n;

	if (!has_sdp(m)) {
		/* An offerless re-INVITE: our SDP again as the offer; its answer comes in the ACK. */
		send_ok(f, x, m, t);
		return;
	}
	if (offer_read(m->body, (int)x->codec, &o, &why)) {
		stx_reply(p->txn, t, 488, why, NULL);
		return;
	}
	sdp = malloc(SDP_CAP);
	if (!sdp) {
		stx_reply(p->txn, t, 500, NULL, NULL);
		return;
	}
	n = offer_answer(&o, &x->relay_ip, x->rtp_port, x->sess_id, x->sess_ver, sdp, SDP_CAP);
	/* RFC 3264 §8: the version grows only when the SDP changes. */
	if (n >= 0 && ((size_t)n != x->sdp_len || memcmp(sdp, x->sdp, (size_t)n)))
		n = offer_answer(&o, &x->relay_ip, x->rtp_port, x->sess_id, ++x->sess_ver, sdp,
				 SDP_CAP);
	if (n < 0) {
		free(sdp);
		stx_reply(p->txn, t, 488, "Answer Too Large", NULL);
		return;
	}
	free(x->sdp);
	x->sdp = sdp;
	x->sdp_len = (size_t)n;
	conf_set_remote(f->cf, x->cr, x->mid, &o.remote);
	x->dir = o.dir;
	send_ok(f, x, m, t);
}

/* The digit of a DTMF INFO body (application/dtmf-relay "Signal=5", application/dtmf "5"). */
static int info_digit(const struct sip_msg *m, bool relay)
{
	struct sip_span b = m->body;
	const char *v = NULL;

	if (relay) {
		for (uint32_t i = 0; i + 7 <= b.len; i++)
			if (!strncasecmp(b.p + i, "Signal=", 7) && (i == 0 || b.p[i - 1] == '\n')) {
				v = b.p + i + 7;
				b.len -= i + 7;
				break;
			}
		if (!v)
			return -1;
	} else {
		v = b.p;
	}
	while (b.len && (*v == ' ' || *v == '\t')) {
		v++;
		b.len--;
	}
	if (!b.len || !strchr("0123456789*#ABCDabcd", *v) || !*v)
		return -1;
	/* One digit, then the end of the line or body. */
	if (b.len > 1 && !strchr("\r\n \t", v[1]))
		return -1;
	return *v >= 'a' ? *v - 'a' + 'A' : *v;
}

static void info(struct focus *f, struct member *x, const struct sip_msg *m, struct stx *t)
{
	const struct sip_hdr *ct = sip_hdr_first(m, SIP_HDR_CONTENT_TYPE);
	struct proxy *p = f->p;
	bool relay;
	int d;

	if (!m->body.len) {
		stx_reply(p->txn, t, 200, NULL, NULL);	/* a keepalive INFO */
		return;
	}
	if (m->body.len > FOCUS_INFO_MAX) {
		stx_reply(p->txn, t, 413, "INFO Body Too Large", NULL);
		return;
	}
	relay = ct && span_ieq(ct->value, "application/dtmf-relay");
	if (!relay && !(ct && span_ieq(ct->value, "application/dtmf"))) {
		stx_reply(p->txn, t, 415, NULL, "Accept: application/dtmf-relay, application/dtmf\r\n");
		return;
	}
	d = info_digit(m, relay);
	if (d < 0) {
		stx_reply(p->txn, t, 400, "Bad DTMF", NULL);
		return;
	}
	stx_reply(p->txn, t, 200, NULL, NULL);
	pin_digit(f, x, (char)d);	/* may hang up and free X */
}

static void in_dialog(struct focus *f, const struct sip_msg *m, struct stx *t)
{
	struct proxy *p = f->p;
	struct member *x = member_find(f, m);
	uint32_t cseq = cseq_number(m, NULL);

	if (!x) {	/* owns() said yes under the same lock: cannot happen */
		if (t)
			stx_reply(p->txn, t, 481, NULL, NULL);
		return;
	}
	if (m->method == SIP_ACK) {
		x->acked = true;
		timer_cancel(&p->timers, &x->t_retx);
		return;
	}
	/* §12.2.2: a lower CSeq than the last one is out of order. */
	if (cseq <= x->cseq_in) {
		stx_reply(p->txn, t, 500, "CSeq Out of Order", NULL);
		return;
	}
	x->cseq_in = cseq;
	switch (m->method) {
	case SIP_BYE:
		stx_reply(p->txn, t, 200, NULL, NULL);
		member_end(f, x, "BYE from member");
		break;
	case SIP_INVITE:
		reinvite(f, x, m, t);
		break;
	case SIP_INFO:
		info(f, x, m, t);
		break;
	case SIP_OPTIONS:
		stx_reply(p->txn, t, 200, NULL, FOCUS_ALLOW "Accept: application/sdp\r\n");
		break;
	default:
		stx_reply(p->txn, t, 405, NULL, FOCUS_ALLOW);
		break;
	}
}

/* --- the proxy's handlers ----------------------------------------------- */

static bool focus_is_room(void *arg, const char *user)
{
	struct focus *f = arg;

	return conf_is_room(f->cf, user);
}

static bool focus_owns(void *arg, const struct sip_msg *m)
{
	return member_find(arg, m) != NULL;
}

static void focus_request(void *arg, const struct sip_msg *m, const struct sip_source *src,
			  struct stx *t, const char *room)
{
	struct focus *f = arg;

	if (!room) {
		in_dialog(f, m, t);
		return;
	}
	if (m->method == SIP_INVITE)
		invite_room(f, m, src, t, room);
	else if (m->method == SIP_OPTIONS)
		stx_reply(f->p->txn, t, 200, NULL, FOCUS_ALLOW "Accept: application/sdp\r\n");
	else
		stx_reply(f->p->txn, t, 405, NULL, FOCUS_ALLOW);
}

const struct proxy_focus_ops focus_ops = {
	.is_room = focus_is_room,
	.owns = focus_owns,
	.request = focus_request,
};

struct focus *focus_new(struct conf *cf, struct proxy *p)
{
	struct focus *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->cf = cf;
	f->p = p;
	list_init(&f->members);
	return f;
}

void focus_free(struct focus *f)
{
	struct member *x, *n;

	if (!f)
		return;
	list_for_each_entry_safe(x, n, &f->members, node)
		member_end(f, x, "shutting down");
	free(f);
}

int focus_kick(struct focus *f, const char *room, const char *member, const char *reason)
{
	struct member *x, *n;
	int k = 0;

	f->p->now = now_ms();
	list_for_each_entry_safe(x, n, &f->members, node)
		if (!strcmp(x->room, room) && (!member || !strcmp(x->user, member))) {
			member_hangup(f, x, reason);
			k++;
		}
	return k;
}
