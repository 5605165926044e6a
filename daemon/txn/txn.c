// SPDX-License-Identifier: GPL-2.0
#include "txn/txn.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/log.h"
#include "proxy/proxy.h"
#include "sip/build.h"
#include "sip/hdr.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define TAB_INDEX(h) ((uint32_t)((h) ^ ((h) >> 32)) & (PROXY_TAB_SIZE - 1))

static bool bytes_set(struct bytes *b, const char *p, size_t len)
{
	char *n = malloc(len ? len : 1);

	if (!n)
		return false;
	memcpy(n, p, len);
	free(b->p);
	b->p = n;
	b->len = (uint32_t)len;
	return true;
}

static void bytes_free(struct bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

static uint64_t t1(struct proxy *p)
{
	return p->d->cfg.t1_ms;
}

/* --- server transactions ------------------------------------------------ */

int stx_key(const struct sip_msg *m, enum sip_method method, char *out, size_t len)
{
	struct sip_via via;
	int n;

	if (!top_via(m, &via))
		return -1;
	/* §17.2.3: branch plus sent-by plus method, ACK and CANCEL folded onto INVITE by the caller. */
	n = snprintf(out, len, SPAN_FMT "|" SPAN_FMT ":%u|%s", SPAN_ARG(via.branch),
		     SPAN_ARG(via.host), via.port, sip_method_name(method));
	return n > 0 && (size_t)n < len ? 0 : -1;
}

struct stx *stx_find(struct proxy *p, const char *key)
{
	uint64_t h = hash_bytes(key, strlen(key));

	for (struct stx *t = p->stx_tab[TAB_INDEX(h)]; t; t = t->hnext)
		if (t->hash == h && !strcmp(t->key, key))
			return t;
	return NULL;
}

static void stx_unlink(struct proxy *p, struct stx *t)
{
	struct stx **pp = &p->stx_tab[TAB_INDEX(t->hash)];

	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = t->hnext;
}

static void stx_free(struct proxy *p, struct stx *t)
{
	stx_unlink(p, t);
	timer_cancel(&p->timers, &t->t_retx);
	timer_cancel(&p->timers, &t->t_end);
	/* Branches outlive their server transaction (Timer D/K): they just lose their parent. */
	for (struct branch *b = t->branches; b; b = b->sibling)
		b->stx = NULL;
	proxy_stx_freed(p, t);
	bytes_free(&t->request);
	bytes_free(&t->last);
	bytes_free(&t->best);
	free(t->key);
	free(t);
	STAT_INC(p->st, stx_freed);
}

static void stx_timer_end(struct timer *tm, void *ctx)
{
	stx_free(ctx, container_of(tm, struct stx, t_end));
}

static void stx_timer_retx(struct timer *tm, void *ctx)
{
	struct proxy *p = ctx;
	struct stx *t = container_of(tm, struct stx, t_retx);

	/* Timer G: resend the non-2xx final answer, doubling up to T2. */
	proxy_send(p, &t->reply_dst, t->src.transport, t->last.p, t->last.len);
	STAT_INC(p->st, retransmissions_sent);
	t->retx_ms = t->retx_ms * 2 < p->d->cfg.t2_ms ? t->retx_ms * 2 : p->d->cfg.t2_ms;
	timer_arm(&p->timers, &t->t_retx, p->now + t->retx_ms);
}

struct stx *stx_new(struct proxy *p, const struct sip_msg *m, const struct sip_source *src,
		    const char *key)
{
	struct stx *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->key = strdup(key);
	if (!t->key || !bytes_set(&t->request, m->buf, m->len)) {
		free(t->key);
		free(t);
		return NULL;
	}
	t->hash = hash_bytes(key, strlen(key));
	t->method = m->method;
	t->src = *src;
	sip_response_destination(m, src, &t->reply_dst, &t->reply_dstlen);
	timer_init(&t->t_retx, stx_timer_retx);
	timer_init(&t->t_end, stx_timer_end);
	t->hnext = p->stx_tab[TAB_INDEX(t->hash)];
	p->stx_tab[TAB_INDEX(t->hash)] = t;
	/* Until an answer is sent, a transaction may not outlive Timer C plus a margin. */
	timer_arm(&p->timers, &t->t_end, p->now + (uint64_t)p->d->cfg.timer_c * 1000 + 64 * t1(p));
	STAT_INC(p->st, stx_created);
	return t;
}

void stx_send_provisional(struct proxy *p, struct stx *t, const char *buf, size_t len)
{
	if (t->state != STX_PROCEEDING)
		return;
	bytes_set(&t->last, buf, len);
	proxy_send(p, &t->reply_dst, t->src.transport, buf, len);
}

void stx_send_final(struct proxy *p, struct stx *t, int code, const char *buf, size_t len)
{
	if (t->state != STX_PROCEEDING) {
		/* RFC 6026: further 2xx to an INVITE are passed on; nothing else is. */
		if (t->state == STX_ACCEPTED && code < 300)
			proxy_send(p, &t->reply_dst, t->src.transport, buf, len);
		return;
	}
	bytes_set(&t->last, buf, len);
	t->last_code = code;
	proxy_send(p, &t->reply_dst, t->src.transport, buf, len);
	if (t->method == SIP_INVITE && code >= 300) {
		t->state = STX_COMPLETED;
		if (t->src.transport == KSIP_UDP) {
			t->retx_ms = (uint32_t)t1(p);
			timer_arm(&p->timers, &t->t_retx, p->now + t->retx_ms);
		}
		timer_arm(&p->timers, &t->t_end, p->now + 64 * t1(p));	/* H */
	} else if (t->method == SIP_INVITE) {
		t->state = STX_ACCEPTED;
		timer_arm(&p->timers, &t->t_end, p->now + 64 * t1(p));	/* L */
	} else {
		t->state = STX_COMPLETED;
		timer_arm(&p->timers, &t->t_end,
			  p->now + (t->src.transport == KSIP_UDP ? 64 * t1(p) : 0));	/* J */
	}
}

void stx_reply(struct proxy *p, struct stx *t, int code, const char *reason, const char *extra)
{
	struct sip_msg m;
	struct sip_out *o = &p->out;

	if (sip_parse(&m, t->request.p, t->request.len) != SIP_PARSE_OK)
		return;
	sip_reply_start(o, &m, &t->src, code, reason);
	if (extra)
		out_str(o, extra);
	sip_reply_finish(o);
	if (o->overflow)
		return;
	if (code >= 100 && code < 700)
		STAT_INC(p->st, responses_sent[code]);
	if (code < 200)
		stx_send_provisional(p, t, o->buf, o->len);
	else
		stx_send_final(p, t, code, o->buf, o->len);
}

void stx_ack(struct proxy *p, struct stx *t)
{
	if (t->state != STX_COMPLETED)
		return;
	t->state = STX_CONFIRMED;
	timer_cancel(&p->timers, &t->t_retx);
	/* Timer I: absorb ACK retransmissions for T4 (0 on reliable transports). */
	timer_arm(&p->timers, &t->t_end,
		  p->now + (t->src.transport == KSIP_UDP ? p->d->cfg.t4_ms : 0));
}

void stx_retransmission(struct proxy *p, struct stx *t)
{
	STAT_INC(p->st, retransmissions);
	if (t->last.len && t->state != STX_ACCEPTED)
		proxy_send(p, &t->reply_dst, t->src.transport, t->last.p, t->last.len);
}

/* --- client transactions (branches) ------------------------------------- */

struct branch *branch_find(struct proxy *p, const char *id)
{
	uint64_t h = hash_bytes(id, strlen(id));

	for (struct branch *b = p->br_tab[TAB_INDEX(h)]; b; b = b->hnext)
		if (b->hash == h && !strcmp(b->id, id))
			return b;
	return NULL;
}

static void branch_free(struct proxy *p, struct branch *b)
{
	struct branch **pp = &p->br_tab[TAB_INDEX(b->hash)];

	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
	if (b->stx) {
		for (pp = &b->stx->branches; *pp && *pp != b; pp = &(*pp)->sibling)
			;
		if (*pp)
			*pp = b->sibling;
	}
	timer_cancel(&p->timers, &b->t_retx);
	timer_cancel(&p->timers, &b->t_timeout);
	timer_cancel(&p->timers, &b->t_c);
	timer_cancel(&p->timers, &b->t_end);
	timer_cancel(&p->timers, &b->t_cancel);
	bytes_free(&b->request);
	bytes_free(&b->ack);
	bytes_free(&b->cancel);
	free(b);
	STAT_INC(p->st, branches_freed);
}

/* A final outcome for the branch: tell the proxy core, then linger for retransmissions. */
static void branch_finish(struct proxy *p, struct branch *b, int code, const struct sip_msg *m,
			  uint64_t linger_ms)
{
	b->code = code;
	timer_cancel(&p->timers, &b->t_retx);
	timer_cancel(&p->timers, &b->t_timeout);
	timer_cancel(&p->timers, &b->t_c);
	if (!b->cancel.len)
		timer_cancel(&p->timers, &b->t_cancel);
	proxy_branch_final(p, b, code, m);
	timer_arm(&p->timers, &b->t_end, p->now + linger_ms);
}

static void branch_timer_end(struct timer *tm, void *ctx)
{
	branch_free(ctx, container_of(tm, struct branch, t_end));
}

static void branch_timer_retx(struct timer *tm, void *ctx)
{
	struct proxy *p = ctx;
	struct branch *b = container_of(tm, struct branch, t_retx);

	proxy_send(p, &b->dst, b->transport, b->request.p, b->request.len);
	STAT_INC(p->st, retransmissions_sent);
	/* Timer A doubles without limit; Timer E is capped at T2 (§17.1.2.2). */
	b->retx_ms *= 2;
	if (b->method != SIP_INVITE && b->retx_ms > p->d->cfg.t2_ms)
		b->retx_ms = p->d->cfg.t2_ms;
	timer_arm(&p->timers, &b->t_retx, p->now + b->retx_ms);
}

static void branch_timer_timeout(struct timer *tm, void *ctx)
{
	struct proxy *p = ctx;
	struct branch *b = container_of(tm, struct branch, t_timeout);

	/* Timer B or F: no final answer. The branch counts as a 408 (§16.7 step 2). */
	branch_finish(p, b, 408, NULL, 0);
}

static void send_cancel(struct proxy *p, struct branch *b)
{
	struct sip_msg req;

	if (b->cancel.len || sip_parse(&req, b->request.p, b->request.len) != SIP_PARSE_OK)
		return;
	build_cancel(&p->out, &req);
	if (p->out.overflow || !bytes_set(&b->cancel, p->out.buf, p->out.len))
		return;
	proxy_send(p, &b->dst, b->transport, b->cancel.p, b->cancel.len);
	b->cancel_retx_ms = (uint32_t)t1(p);
	b->cancel_deadline = p->now + 64 * t1(p);
	timer_arm(&p->timers, &b->t_cancel, p->now + b->cancel_retx_ms);
	STAT_INC(p->st, cancels_sent);
}

static void branch_timer_cancel(struct timer *tm, void *ctx)
{
	struct proxy *p = ctx;
	struct branch *b = container_of(tm, struct branch, t_cancel);

	if (p->now >= b->cancel_deadline) {
		/* §16.10: a CANCEL never answered ends the branch as if timed out. */
		if (!b->code)
			branch_finish(p, b, 408, NULL, 0);
		return;
	}
	proxy_send(p, &b->dst, b->transport, b->cancel.p, b->cancel.len);
	b->cancel_retx_ms = b->cancel_retx_ms * 2 < p->d->cfg.t2_ms ? b->cancel_retx_ms * 2 :
				p->d->cfg.t2_ms;
	timer_arm(&p->timers, &b->t_cancel, p->now + b->cancel_retx_ms);
}

static void branch_timer_c(struct timer *tm, void *ctx)
{
	struct proxy *p = ctx;
	struct branch *b = container_of(tm, struct branch, t_c);

	/* §16.8: ringing too long is cancelled; never answered at all is a 408. */
	b->timer_c_fired = true;
	if (b->provisional)
		branch_cancel(p, b);
	else
		branch_finish(p, b, 408, NULL, 0);
}

struct branch *branch_send(struct proxy *p, struct stx *t, enum sip_method method,
			   const char *id, const struct sockaddr_storage *dst,
			   enum ksip_transport tp, const char *buf, size_t len)
{
	struct branch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (!bytes_set(&b->request, buf, len)) {
		free(b);
		return NULL;
	}
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->hash = hash_bytes(b->id, strlen(b->id));
	b->stx = t;
	b->method = method;
	b->dst = *dst;
	b->transport = tp;
	b->dstlen = dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						 sizeof(struct sockaddr_in);
	timer_init(&b->t_retx, branch_timer_retx);
	timer_init(&b->t_timeout, branch_timer_timeout);
	timer_init(&b->t_c, branch_timer_c);
	timer_init(&b->t_end, branch_timer_end);
	timer_init(&b->t_cancel, branch_timer_cancel);
	b->hnext = p->br_tab[TAB_INDEX(b->hash)];
	p->br_tab[TAB_INDEX(b->hash)] = b;
	if (t) {
		b->sibling = t->branches;
		t->branches = b;
		t->pending++;
	}
	STAT_INC(p->st, branches_created);
	proxy_send(p, dst, tp, buf, len);
	b->retx_ms = (uint32_t)t1(p);
	/* Timers A and E retransmit over UDP only: TCP does its own (§17.1.1.2). */
	if (tp == KSIP_UDP)
		timer_arm(&p->timers, &b->t_retx, p->now + b->retx_ms);
	timer_arm(&p->timers, &b->t_timeout, p->now + 64 * t1(p));
	if (method == SIP_INVITE)
		timer_arm(&p->timers, &b->t_c, p->now + (uint64_t)p->d->cfg.timer_c * 1000);
	return b;
}

void branch_cancel(struct proxy *p, struct branch *b)
{
	if (b->method != SIP_INVITE || b->code)
		return;
	if (b->provisional)
		send_cancel(p, b);
	else
		b->cancel_pending = true;
}

void branch_cancel_answered(struct proxy *p, struct branch *b)
{
	/* The 200 to our CANCEL: stop resending it. The INVITE's own 487 follows. */
	timer_cancel(&p->timers, &b->t_cancel);
}

bool branch_response(struct proxy *p, struct branch *b, const struct sip_msg *m)
{
	int code = m->status;

	if (b->code) {
		/* Already final: a retransmitted non-2xx gets our ACK again; 2xx pass (RFC 6026). */
		if (b->method == SIP_INVITE && code >= 300 && b->ack.len)
			proxy_send(p, &b->dst, b->transport, b->ack.p, b->ack.len);
		return b->method == SIP_INVITE && code >= 200 && code < 300 && b->code < 300;
	}
	if (code < 200) {
		if (b->state == BR_CALLING) {
			b->state = BR_PROCEEDING;
			/* Provisional: stop Timer A/B; Timer E continues at T2 for non-INVITE. */
			if (b->method == SIP_INVITE) {
				timer_cancel(&p->timers, &b->t_retx);
				timer_cancel(&p->timers, &b->t_timeout);
			} else {
				b->retx_ms = p->d->cfg.t2_ms;
			}
		}
		b->provisional = true;
		if (b->method == SIP_INVITE && code > 100)
			timer_arm(&p->timers, &b->t_c, p->now + (uint64_t)p->d->cfg.timer_c * 1000);
		if (b->cancel_pending) {
			b->cancel_pending = false;
			send_cancel(p, b);
		}
		return code > 100;
	}
	if (b->method == SIP_INVITE && code >= 300) {
		struct sip_msg req;

		if (sip_parse(&req, b->request.p, b->request.len) == SIP_PARSE_OK) {
			build_ack(&p->out, &req, m);
			if (!p->out.overflow && bytes_set(&b->ack, p->out.buf, p->out.len))
				proxy_send(p, &b->dst, b->transport, b->ack.p, b->ack.len);
		}
		b->state = BR_COMPLETED;
		branch_finish(p, b, code, m, 64 * t1(p));	/* D: 32 s at the default T1 */
	} else if (b->method == SIP_INVITE) {
		b->state = BR_ACCEPTED;
		branch_finish(p, b, code, m, 64 * t1(p));	/* M */
	} else {
		b->state = BR_COMPLETED;
		branch_finish(p, b, code, m, p->d->cfg.t4_ms);	/* K */
	}
	return false;	/* the final answer went to the proxy core already */
}

void txn_free_all(struct proxy *p)
{
	for (uint32_t i = 0; i < PROXY_TAB_SIZE; i++) {
		while (p->stx_tab[i])
			stx_free(p, p->stx_tab[i]);
		while (p->br_tab[i])
			branch_free(p, p->br_tab[i]);
	}
}
