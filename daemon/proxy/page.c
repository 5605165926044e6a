// SPDX-License-Identifier: GPL-2.0
/* Paging groups: fork to every member with auto-answer, keep every answer (page.h). */
#include "proxy/page.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "ksip/endpoint.h"
#include "media/port_pool.h"
#include "proxy/call.h"
#include "proxy/proxy.h"
#include "proxy/tap.h"
#include "sip/build.h"
#include "sip/hdr.h"
#include "sip/sdp.h"
#include "store/location.h"
#include "store/pages.h"
#include "transport/netpath.h"
#include "txn/txn.h"

bool page_lookup(struct proxy *p, const char *user, struct page_record *g)
{
	return p->env.pages && pages_get(p->env.pages, user, g);
}

void page_collect(struct proxy *p, const struct page_record *g,
		  void (*fn)(void *ctx, const struct binding_view *b), void *ctx)
{
	time_t now = time(NULL);

	/* A member with no registered phone is skipped: it has no contact to give. */
	for (unsigned int i = 0; i < g->n; i++)
		location_lookup(p->env.loc, g->member[i], now, fn, ctx);
}

void page_headers(const struct proxy *p, char *out, size_t len)
{
	snprintf(out, len, PAGE_CALL_INFO PAGE_ALERT_INFO, p->env.cfg->realm);
}

/* --- one offer per member ------------------------------------------------ */

int page_target_add(struct proxy *p, struct call *c, const struct sockaddr_storage *dst,
		    enum ksip_transport tp, uint16_t *port)
{
	struct page_call *pc = c->page;
	struct page_target *t;

	if (pc->stream < 0 || pc->ntgt >= PAGE_TARGETS_MAX ||
	    port_pool_get(p->env.media->ports, port))
		return -1;
	t = &pc->tgt[pc->ntgt++];
	t->dst = *dst;
	t->tp = tp;
	t->port = *port;
	return 0;
}

void page_target_sent(struct call *c, uint16_t port, const struct sockaddr_storage *dst,
		      enum ksip_transport tp)
{
	for (unsigned int i = 0; i < c->page->ntgt; i++)
		if (c->page->tgt[i].port == port) {
			c->page->tgt[i].dst = *dst;
			c->page->tgt[i].tp = tp;
		}
}

static bool put_bytes(char *out, size_t cap, size_t *o, const char *p, size_t n)
{
	if (*o + n > cap)
		return false;
	memcpy(out + *o, p, n);
	*o += n;
	return true;
}

long page_offer(const struct call *c, const char *sdp, long len, uint16_t port, char *out,
		size_t cap)
{
	uint16_t ours = c->s[c->page->stream].relay_port[LEG_CALLEE];
	int idx = -1;
	size_t o = 0;
	long i = 0;

	while (i < len) {
		const char *l = sdp + i, *eol = memchr(l, '\n', (size_t)(len - i));
		size_t n = eol ? (size_t)(eol - l) + 1 : (size_t)(len - i);
		char line[96];
		unsigned int v;
		int k, w;

		i += (long)n;
		if (n > 2 && l[0] == 'm' && l[1] == '=') {
			const char *sp = memchr(l, ' ', n), *sp2;

			idx++;
			sp2 = sp ? memchr(sp + 1, ' ', n - (size_t)(sp + 1 - l)) : NULL;
			if (!sp || !sp2)
				return -1;
			/* "m=audio PORT rest": our port for the paged stream, 0 for others. */
			w = snprintf(line, sizeof(line), "%u", idx == c->page->stream ? port : 0);
			if (!put_bytes(out, cap, &o, l, (size_t)(sp + 1 - l)) ||
			    !put_bytes(out, cap, &o, line, (size_t)w) ||
			    !put_bytes(out, cap, &o, sp2, n - (size_t)(sp2 - l)))
				return -1;
			continue;
		}
		/* a=rtcp: follows the RTP port (the same one under rtcp-mux). */
		if (idx == c->page->stream && n > 7 && !memcmp(l, "a=rtcp:", 7) &&
		    sscanf(l + 7, "%u%n", &v, &k) == 1 && (v == ours || v == ours + 1u)) {
			w = snprintf(line, sizeof(line), "a=rtcp:%u", v == ours ? port : port + 1u);
			if (!put_bytes(out, cap, &o, line, (size_t)w) ||
			    !put_bytes(out, cap, &o, l + 7 + k, n - 7 - (size_t)k))
				return -1;
			continue;
		}
		if (!put_bytes(out, cap, &o, l, n))
			return -1;
	}
	return (long)o;
}

/* --- members' dialogs ------------------------------------------------------- */

static bool tag_is(const char *tag, struct sip_span s)
{
	return s.len && strlen(tag) == s.len && !memcmp(tag, s.p, s.len);
}

/* The ACK of a member's 2xx M (§13.2.2.4): to its Contact, the INVITE's CSeq. */
static void ack_2xx(struct proxy *p, struct call *c, const struct branch *b,
		    const struct sip_msg *m)
{
	char *to = span_dup(sip_hdr_first(m, SIP_HDR_TO)->value);
	char *ruri = span_dup(contact_uri(m));
	struct sip_request r = {
		.method = SIP_ACK,
		.ruri = ruri,
		.from = c->caller_from,
		.to = to,
		.callid = c->callid,
		.cseq = cseq_number(m, NULL),
	};

	if (to && ruri && *ruri &&
	    proxy_send_request(p, b->from.ss_family ? &b->from : NULL, &b->dst, b->transport,
			       c->hash, &r))
		log_warn("call %" PRIu64 ": cannot ACK a paged member's answer", c->id);
	free(to);
	free(ruri);
}

static void bye_leg(struct proxy *p, struct call *c, struct page_leg *l, const char *reason)
{
	struct sip_request r = {
		.method = SIP_BYE,
		.ruri = l->contact,
		.from = c->caller_from,
		.to = l->to,
		.callid = c->callid,
		.cseq = ++c->page->cseq,
		.reason = reason,
	};

	l->live = false;
	if (!l->contact || !*l->contact || !l->to ||
	    proxy_originate(p, &l->sig, l->sig_tp, c->hash, &r))
		log_warn("call %" PRIu64 ": cannot send BYE to a paged member", c->id);
}

unsigned int page_outputs_of(const struct call *c, int i, int leg, struct media_output *o)
{
	const struct page_call *pc = c->page;
	const struct media_stream *s = &c->s[i];
	unsigned int n = 0;

	if (leg != LEG_CALLER || i != pc->stream || !s->open)
		return 0;
	for (unsigned int k = 0; k < pc->n; k++) {
		const struct page_leg *l = &pc->leg[k];

		if (!l->live || l->stream != i || !l->port)
			continue;
		memset(&o[n], 0, sizeof(o[n]));
		o[n].from = s->relay_ip[LEG_CALLEE];
		ksip_endpoint_set_port(&o[n].from, l->port);
		o[n].to = l->rtp;
		o[n].to_rtcp = l->rtcp;
		n++;
	}
	return n;
}

/*
 * The relay copies what the caller sends on the paged stream to every live
 * member of ksipd's, from the port pair that member was offered (with the
 * call's taps: call_set_outputs()).
 */
static void page_outputs(struct proxy *p, struct call *c)
{
	int k = c->page->stream;

	if (k >= 0 && c->s[k].open && call_set_outputs(p, c, k))
		log_warn("call %" PRIu64 ": stream %d: the relay refused the paged members' "
			 "copies: %m", c->id, k);
}

/*
 * The callee's place on the paged stream goes to the first member still
 * listening: the caller's packets go to it as the stream's own forwarding
 * (from the callee's relay port), its copies stop and its port pair goes
 * back. Streams the members never had (declined in their offers) close:
 * nobody is left to receive them. False when no member listens.
 */
static bool take_callee_place(struct proxy *p, struct call *c)
{
	struct page_call *pc = c->page;
	int k = pc->stream;
	struct page_leg *l = NULL;
	struct media_stream *s;
	uint16_t port;

	if (k < 0 || !c->s[k].open)
		return false;
	for (unsigned int i = 0; i < pc->n && !l; i++)
		if (pc->leg[i].live && !pc->leg[i].in_callee_place && pc->leg[i].stream == k &&
		    pc->leg[i].port)
			l = &pc->leg[i];
	if (!l)
		return false;
	for (unsigned int i = 0; i < pc->n; i++)
		pc->leg[i].in_callee_place = false;
	l->in_callee_place = true;
	/* Its output goes first: an output and the stream's peer may not share an address. */
	port = l->port;
	l->port = 0;
	page_outputs(p, c);
	port_pool_put(p->env.media->ports, port);
	s = &c->s[k];
	s->remote[LEG_CALLEE] = l->rtp;
	s->remote_rtcp[LEG_CALLEE] = l->rtcp;
	s->remote_known[LEG_CALLEE] = true;
	media_leg_moved(p->media, s, LEG_CALLEE);
	for (int i = 0; i < c->nstreams; i++)
		if (i != k)
			media_close(p->media, &c->s[i]);
	log_info("call %" PRIu64 ": paged member %s is in the callee's place", c->id,
		 l->contact ? l->contact : "?");
	return true;
}

/* A stateless answer to a request of a dialog ksipd is the far end of. */
static void answer_here(struct proxy *p, const struct sip_msg *m, const struct sip_source *src,
			int code)
{
	sip_reply_simple(&p->out, m, src, code, NULL);
	if (!p->out.overflow)
		proxy_send(p, &src->local, &p->out.dst, src->transport, p->out.buf, p->out.len);
}

/* Where member L wants the caller's audio: its answer's line for the paged stream. */
static void learn_media(const struct proxy *p, const struct call *c, struct page_leg *l,
			const struct sip_msg *m)
{
	int k = c->page->stream;
	struct sdp_session sess;
	const struct sdp_media *md;
	const char *why;
	char err[160];

	l->stream = -1;
	if (k < 0 || !m->body.len || sdp_parse(m->body, &sess, &why) || k >= sess.nmedia)
		return;
	md = &sess.media[k];
	if (!c->s[k].open || !md->port || !md->has_addr || md->dir == SDP_INACTIVE ||
	    md->dir == SDP_SENDONLY)
		return;
	/* A member's SDP is the network's word: no copies into ksipd's own ports (a loop). */
	if (!tap_dest_ok(p, &md->addr, err, sizeof(err))) {
		log_warn("call %" PRIu64 ": a paged member's media address is refused: %s", c->id,
			 err);
		return;
	}
	l->rtp = md->addr;
	l->rtcp = md->rtcp_mux ? md->port : md->rtcp_port;
	l->stream = k;
}

/* The port pair the branch to DST was offered, now L's. */
static void take_port(struct page_call *pc, struct page_leg *l, const struct branch *b)
{
	for (unsigned int i = 0; i < pc->ntgt; i++) {
		struct page_target *t = &pc->tgt[i];

		if (t->port && t->tp == b->transport && ksip_endpoint_same_ip(&t->dst, &b->dst) &&
		    ksip_endpoint_port(&t->dst) == ksip_endpoint_port(&b->dst)) {
			l->port = t->port;
			t->port = 0;
			return;
		}
	}
}

void page_member_answered(struct proxy *p, struct call *c, const struct branch *b,
			  const struct sip_msg *m)
{
	struct page_call *pc = c->page;
	struct sip_span tag = naddr_tag(m, SIP_HDR_TO);
	struct page_leg *l;
	uint32_t cseq = cseq_number(m, NULL);

	ack_2xx(p, c, b, m);
	if (cseq > pc->cseq)
		pc->cseq = cseq;
	if (!tag.len || tag.len >= sizeof(l->tag) || pc->n >= PAGE_LEGS_MAX ||
	    c->state == CALL_ENDED) {
		/* Nowhere to keep it (or the page is over): the member's dialog ends at once. */
		struct page_leg gone = { .sig = b->dst, .sig_tp = b->transport };

		gone.to = span_dup(sip_hdr_first(m, SIP_HDR_TO)->value);
		gone.contact = span_dup(contact_uri(m));
		bye_leg(p, c, &gone, c->state == CALL_ENDED ? "page ended" : "too many members");
		free(gone.to);
		free(gone.contact);
		return;
	}
	l = &pc->leg[pc->n];
	memset(l, 0, sizeof(*l));
	memcpy(l->tag, tag.p, tag.len);
	l->to = span_dup(sip_hdr_first(m, SIP_HDR_TO)->value);
	l->contact = span_dup(contact_uri(m));
	l->sig = b->dst;
	l->sig_tp = b->transport;
	if (!l->to || !l->contact) {
		bye_leg(p, c, l, "out of memory");
		free(l->to);
		free(l->contact);
		return;
	}
	pc->n++;
	l->live = true;
	learn_media(p, c, l, m);
	/* The copies leave from the port pair it was offered (the relay binds it: media.h). */
	take_port(pc, l, b);
	page_outputs(p, c);
	log_info("call %" PRIu64 ": paged member %u answered%s", c->id, pc->n,
		 l->port ? "" : " (nothing to send it)");
}

bool page_2xx_again(struct proxy *p, struct call *c, const struct branch *b,
		    const struct sip_msg *m)
{
	struct sip_span tag = naddr_tag(m, SIP_HDR_TO);

	/* The callee's is the caller's to acknowledge, end to end. */
	if (tag_is(c->callee_tag, tag))
		return false;
	ack_2xx(p, c, b, m);
	return true;
}

bool page_member_request(struct proxy *p, const struct sip_msg *m, const struct sip_source *src)
{
	struct sip_span tt = naddr_tag(m, SIP_HDR_TO), ft = naddr_tag(m, SIP_HDR_FROM);
	struct call *c;
	struct page_leg *l = NULL;
	int code = 200;

	if (!tt.len || !ft.len)
		return false;
	c = call_lookup(p, sip_hdr_first(m, SIP_HDR_CALL_ID)->value, tt);
	if (!c || !c->page)
		return false;
	for (unsigned int i = 0; i < c->page->n && !l; i++)
		if (tag_is(c->page->leg[i].tag, ft))
			l = &c->page->leg[i];
	/*
	 * Its tags travel in clear: the request must also come from where the
	 * member is, the address and port its INVITE went to (where it
	 * registered from, its own socket or its NAT's mapping of it).
	 */
	if (!l || !ksip_endpoint_same_ip(&src->addr, &l->sig) ||
	    ksip_endpoint_port(&src->addr) != ksip_endpoint_port(&l->sig))
		return false;
	if (m->method == SIP_ACK)
		return true;
	if (m->method == SIP_BYE) {
		if (l->live) {
			l->live = false;
			if (c->state != CALL_ENDED)
				page_outputs(p, c);
			/* Its output (the relay's socket on its port) is gone: so is the port. */
			if (l->port)
				port_pool_put(p->env.media->ports, l->port);
			l->port = 0;
			log_info("call %" PRIu64 ": a paged member hung up", c->id);
			if (l->in_callee_place && c->state != CALL_ENDED && !take_callee_place(p, c))
				call_hangup(p, c, "every paged member hung up");
			l->in_callee_place = false;
		}
	} else {
		code = 488;	/* one-way by design: nothing to renegotiate */
	}
	answer_here(p, m, src, code);
	return true;
}

bool page_dialog_request(struct proxy *p, struct call *c, enum leg from, const struct sip_msg *m,
			 const struct sip_source *src)
{
	struct page_call *pc = c->page;
	int code = 200;

	if (!pc->callee_gone) {
		/* The callee hangs up while others listen: the page goes on without it. */
		if (c->state != CALL_CONFIRMED || from != LEG_CALLEE || m->method != SIP_BYE ||
		    !take_callee_place(p, c))
			return false;
		pc->callee_gone = true;
		log_info("call %" PRIu64 ": the page's first answer hung up; the page goes on",
			 c->id);
	} else if (m->method == SIP_ACK) {
		return true;	/* of a non-2xx of ours: nothing to do */
	} else if (m->method == SIP_BYE) {
		code = 200;	/* also again, after the end: the 200 may have been lost */
	} else if (from == LEG_CALLEE || c->state == CALL_ENDED) {
		code = 481;	/* its dialog is over */
	} else {
		/* One-way by design: nothing to renegotiate, nobody to take anything else. */
		code = m->method == SIP_INVITE || m->method == SIP_UPDATE ? 488 : 480;
	}
	answer_here(p, m, src, code);
	if (from == LEG_CALLER && m->method == SIP_BYE)
		call_end(p, c, "BYE from caller");
	return true;
}

void page_call_end(struct proxy *p, struct call *c)
{
	struct page_call *pc = c->page;

	for (unsigned int i = 0; i < pc->n; i++)
		if (pc->leg[i].live)
			bye_leg(p, c, &pc->leg[i], "page ended");
	/* Members still ringing are not wanted any more. */
	if (c->invite)
		proxy_cancel(p, c->invite);
}

void page_ports_release(struct proxy *p, struct page_call *pc)
{
	for (unsigned int i = 0; i < pc->n; i++) {
		if (pc->leg[i].port)
			port_pool_put(p->env.media->ports, pc->leg[i].port);
		pc->leg[i].port = 0;
	}
	for (unsigned int i = 0; i < pc->ntgt; i++) {
		if (pc->tgt[i].port)
			port_pool_put(p->env.media->ports, pc->tgt[i].port);
		pc->tgt[i].port = 0;
	}
}

void page_call_free(struct proxy *p, struct page_call *pc)
{
	if (!pc)
		return;
	page_ports_release(p, pc);
	for (unsigned int i = 0; i < pc->n; i++) {
		free(pc->leg[i].to);
		free(pc->leg[i].contact);
	}
	free(pc);
}
