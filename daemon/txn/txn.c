// SPDX-License-Identifier: GPL-2.0
#include "txn/txn.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "ksip/endpoint.h"
#include "sip/build.h"
#include "sip/hdr.h"

#define BRANCH_PREFIX "z9hG4bKks"
#define TXN_TAB_BITS 14
#define TXN_TAB_SIZE (1u << TXN_TAB_BITS)
#define TAB_INDEX(h) ((uint32_t)((h) ^ ((h) >> 32)) & (TXN_TAB_SIZE - 1))

struct txn_layer {
	struct txn_env env;
	uint64_t now;			/* ms, from txn_set_now() */
	uint64_t seq;			/* branch ids */
	struct timer_heap timers;
	uint32_t nstx, nbranches;	/* held, within env.max_stx and env.max_branches */
	/* Those that only wait out a timer for retransmissions, oldest first (see txn_env). */
	struct list_head stx_done, br_done;
	uint32_t nstx_done, nbr_done;
	struct sip_out out;		/* scratch for ACK, CANCEL and local answers */
	struct list_head stx_tab[TXN_TAB_SIZE];	/* struct stx.hlink, keyed by stx_key() */
	struct list_head br_tab[TXN_TAB_SIZE];	/* struct branch.hlink, keyed by branch id */
};

static bool buf_set(struct txn_buf *b, const char *p, size_t len)
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

static void buf_free(struct txn_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

static void tx(struct txn_layer *tl, const struct sockaddr_storage *from,
	       const struct sockaddr_storage *dst, enum ksip_transport tp, const char *buf, size_t len)
{
	tl->env.send(tl->env.send_arg, from, dst, tp, buf, len);
}

static uint64_t t1(const struct txn_layer *tl)
{
	return tl->env.timers.t1_ms;
}

/* Doubling with a ceiling of T2 (Timers E and G, CANCEL retransmissions). */
static uint32_t double_to_t2(const struct txn_layer *tl, uint32_t ms)
{
	return ms * 2 < tl->env.timers.t2_ms ? ms * 2 : tl->env.timers.t2_ms;
}

static void arm(struct txn_layer *tl, struct timer *t, uint64_t in_ms)
{
	timer_arm(&tl->timers, t, tl->now + in_ms);
}

/* --- the layer ---------------------------------------------------------- */

struct txn_layer *txn_layer_new(const struct txn_env *env)
{
	struct txn_layer *tl = calloc(1, sizeof(*tl));

	if (!tl)
		return NULL;
	tl->env = *env;
	list_init(&tl->stx_done);
	list_init(&tl->br_done);
	for (uint32_t i = 0; i < TXN_TAB_SIZE; i++) {
		list_init(&tl->stx_tab[i]);
		list_init(&tl->br_tab[i]);
	}
	return tl;
}

void txn_set_now(struct txn_layer *tl, uint64_t now)
{
	tl->now = now;
}

uint64_t txn_now(const struct txn_layer *tl)
{
	return tl->now;
}

int txn_tick(struct txn_layer *tl, int max)
{
	timer_run(&tl->timers, tl->now, tl);
	return timer_wait_ms(&tl->timers, tl->now, max);
}

uint32_t txn_stx_count(const struct txn_layer *tl)
{
	return tl->nstx;
}

uint32_t txn_branch_count(const struct txn_layer *tl)
{
	return tl->nbranches;
}

bool txn_stx_full(const struct txn_layer *tl)
{
	return tl->env.max_stx && tl->nstx - tl->nstx_done >= tl->env.max_stx;
}

bool txn_branches_full(const struct txn_layer *tl, uint32_t n)
{
	return tl->env.max_branches && tl->nbranches - tl->nbr_done + n > tl->env.max_branches;
}

/* --- branch ids --------------------------------------------------------- */

/* Keyed with the process's MAC key, so only this process can make a branch it trusts. */
static uint64_t branch_mac(const char *id, size_t len)
{
	return hash_mac(0, id, len);
}

void txn_branch_id(struct txn_layer *tl, uint64_t loophash, char *out, size_t len)
{
	int n = snprintf(out, len, BRANCH_PREFIX "%016" PRIx64 ".%x.%" PRIx64, loophash,
			 tl->env.instance, ++tl->seq);

	if (n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, ".%016" PRIx64, branch_mac(out, (size_t)n));
}

void txn_branch_id_ack(uint64_t loophash, struct sip_span their_branch, char *out, size_t len)
{
	snprintf(out, len, BRANCH_PREFIX "%016" PRIx64 ".a",
		 hash_bytes_seed(loophash, their_branch.p, their_branch.len));
}

bool txn_branch_is_ours(struct sip_span branch)
{
	const char *dot;
	char mac[17];

	if (branch.len < sizeof(BRANCH_PREFIX) + 17 ||
	    memcmp(branch.p, BRANCH_PREFIX, sizeof(BRANCH_PREFIX) - 1))
		return false;
	dot = branch.p + branch.len - 17;
	if (*dot != '.')
		return false;
	snprintf(mac, sizeof(mac), "%016" PRIx64, branch_mac(branch.p, (size_t)(dot - branch.p)));
	return !memcmp(dot + 1, mac, 16);
}

bool txn_branch_has_loophash(struct sip_span branch, uint64_t loophash)
{
	char want[32];
	int n = snprintf(want, sizeof(want), BRANCH_PREFIX "%016" PRIx64 ".", loophash);

	return branch.len > (uint32_t)n && !memcmp(branch.p, want, (size_t)n);
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

struct stx *stx_find(struct txn_layer *tl, const char *key)
{
	uint64_t h = hash_bytes(key, strlen(key));
	struct stx *t;

	list_for_each_entry(t, &tl->stx_tab[TAB_INDEX(h)], hlink)
		if (t->hash == h && !strcmp(t->key, key))
			return t;
	return NULL;
}

static void stx_free(struct txn_layer *tl, struct stx *t)
{
	struct branch *b, *n;

	if (t->is_done) {
		list_del(&t->done);
		tl->nstx_done--;
	}
	list_del(&t->hlink);
	timer_cancel(&tl->timers, &t->t_retx);
	timer_cancel(&tl->timers, &t->t_end);
	/*
	 * Branches outlive their server transaction (Timer D/K) but have no
	 * one left to report to: their handler was the transaction's TU.
	 */
	list_for_each_entry_safe(b, n, &t->branches, sibling) {
		list_del(&b->sibling);
		b->stx = NULL;
		b->resph = NULL;
		b->arg = NULL;
	}
	if (t->freed_h)
		t->freed_h(t, t->arg);
	buf_free(&t->request);
	buf_free(&t->last);
	free(t->key);
	free(t);
	tl->nstx--;
	STAT_INC(tl->env.st, stx_freed);
}

static void stx_timer_end(struct timer *tm, void *ctx)
{
	stx_free(ctx, container_of(tm, struct stx, t_end));
}

static void stx_timer_retx(struct timer *tm, void *ctx)
{
	struct txn_layer *tl = ctx;
	struct stx *t = container_of(tm, struct stx, t_retx);

	/* Timer G: resend the non-2xx final answer, doubling up to T2. */
	tx(tl, &t->src.local, &t->reply_dst, t->src.transport, t->last.p, t->last.len);
	STAT_INC(tl->env.st, retransmissions_sent);
	t->retx_ms = double_to_t2(tl, t->retx_ms);
	arm(tl, &t->t_retx, t->retx_ms);
}

/*
 * The oldest answered transaction that only waits, among the first few: one
 * whose request still has a pending branch (a page's members still ringing
 * after the first answer) keeps collecting their answers and is skipped.
 */
static struct stx *stx_oldest_waiting(struct txn_layer *tl)
{
	struct stx *t;
	int looked = 0;

	list_for_each_entry(t, &tl->stx_done, done) {
		const struct branch *b;
		bool pending = false;

		list_for_each_entry(b, &t->branches, sibling)
			pending |= !b->code;
		if (!pending)
			return t;
		if (++looked == 8)
			break;
	}
	return NULL;
}

struct stx *stx_new(struct txn_layer *tl, const struct sip_msg *m, const struct sip_source *src,
		    const char *key, stx_freed_h fh, void *arg)
{
	struct stx *t;

	if (txn_stx_full(tl))
		return NULL;
	/* Full with answered ones that only wait: the oldest makes room (txn_env). */
	if (tl->env.max_stx && tl->nstx >= tl->env.max_stx) {
		struct stx *old = stx_oldest_waiting(tl);

		if (!old)
			return NULL;
		stx_free(tl, old);
		STAT_INC(tl->env.st, txn_done_early);
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key = strdup(key);
	if (!t->key || !buf_set(&t->request, m->buf, m->len)) {
		free(t->key);
		free(t);
		return NULL;
	}
	t->hash = hash_bytes(key, strlen(key));
	t->method = m->method;
	t->src = *src;
	t->freed_h = fh;
	t->arg = arg;
	list_init(&t->branches);
	sip_response_destination(m, src, &t->reply_dst, &t->reply_dstlen);
	timer_init(&t->t_retx, stx_timer_retx);
	timer_init(&t->t_end, stx_timer_end);
	list_add(&t->hlink, &tl->stx_tab[TAB_INDEX(t->hash)]);
	/* Until an answer is sent, a transaction may not outlive Timer C plus a margin. */
	arm(tl, &t->t_end, tl->env.timers.timer_c_ms + 64 * t1(tl));
	tl->nstx++;
	STAT_INC(tl->env.st, stx_created);
	return t;
}

void stx_send_provisional(struct txn_layer *tl, struct stx *t, const char *buf, size_t len)
{
	if (t->state != STX_PROCEEDING)
		return;
	buf_set(&t->last, buf, len);
	tx(tl, &t->src.local, &t->reply_dst, t->src.transport, buf, len);
}

void stx_send_final(struct txn_layer *tl, struct stx *t, int code, const char *buf, size_t len)
{
	if (t->state != STX_PROCEEDING) {
		/* RFC 6026: further 2xx to an INVITE are passed on; nothing else is. */
		if (t->state == STX_ACCEPTED && code < 300)
			tx(tl, &t->src.local, &t->reply_dst, t->src.transport, buf, len);
		return;
	}
	buf_set(&t->last, buf, len);
	t->last_code = code;
	tx(tl, &t->src.local, &t->reply_dst, t->src.transport, buf, len);
	t->is_done = true;
	list_add_tail(&t->done, &tl->stx_done);
	tl->nstx_done++;
	/* Only the answer is needed to absorb retransmissions (issue 12: no more local answers). */
	buf_free(&t->request);
	if (t->method == SIP_INVITE && code >= 300) {
		t->state = STX_COMPLETED;
		if (t->src.transport == KSIP_UDP) {
			t->retx_ms = (uint32_t)t1(tl);
			arm(tl, &t->t_retx, t->retx_ms);
		}
		arm(tl, &t->t_end, 64 * t1(tl));	/* H */
	} else if (t->method == SIP_INVITE) {
		t->state = STX_ACCEPTED;
		arm(tl, &t->t_end, 64 * t1(tl));	/* L */
	} else {
		t->state = STX_COMPLETED;
		arm(tl, &t->t_end, t->src.transport == KSIP_UDP ? 64 * t1(tl) : 0);	/* J */
	}
}

void stx_reply(struct txn_layer *tl, struct stx *t, int code, const char *reason,
	       const char *extra)
{
	struct sip_msg m;
	struct sip_out *o = &tl->out;

	if (t->state != STX_PROCEEDING || !t->request.len)
		return;
	if (sip_parse(&m, t->request.p, t->request.len) != SIP_PARSE_OK)
		return;
	sip_reply_start(o, &m, &t->src, code, reason);
	if (extra)
		out_str(o, extra);
	sip_reply_finish(o);
	if (o->overflow)
		return;
	if (code >= 100 && code < 700)
		STAT_INC(tl->env.st, responses_sent[code]);
	if (code < 200)
		stx_send_provisional(tl, t, o->buf, o->len);
	else
		stx_send_final(tl, t, code, o->buf, o->len);
}

void stx_ack(struct txn_layer *tl, struct stx *t)
{
	if (t->state != STX_COMPLETED)
		return;
	t->state = STX_CONFIRMED;
	timer_cancel(&tl->timers, &t->t_retx);
	/* Timer I: absorb ACK retransmissions for T4 (0 on reliable transports). */
	arm(tl, &t->t_end, t->src.transport == KSIP_UDP ? tl->env.timers.t4_ms : 0);
}

void stx_retransmission(struct txn_layer *tl, struct stx *t)
{
	STAT_INC(tl->env.st, retransmissions);
	if (t->last.len && t->state != STX_ACCEPTED)
		tx(tl, &t->src.local, &t->reply_dst, t->src.transport, t->last.p, t->last.len);
}

void stx_cancel_branches(struct txn_layer *tl, struct stx *t, const struct branch *except)
{
	struct branch *b;

	list_for_each_entry(b, &t->branches, sibling)
		if (b != except)
			branch_cancel(tl, b);
}

/* --- client transactions (branches) ------------------------------------- */

static struct branch *branch_find(struct txn_layer *tl, const char *id)
{
	uint64_t h = hash_bytes(id, strlen(id));
	struct branch *b;

	list_for_each_entry(b, &tl->br_tab[TAB_INDEX(h)], hlink)
		if (b->hash == h && !strcmp(b->id, id))
			return b;
	return NULL;
}

static void branch_free(struct txn_layer *tl, struct branch *b)
{
	if (b->is_done) {
		list_del(&b->done);
		tl->nbr_done--;
	}
	list_del(&b->hlink);
	list_del(&b->sibling);
	timer_cancel(&tl->timers, &b->t_retx);
	timer_cancel(&tl->timers, &b->t_timeout);
	timer_cancel(&tl->timers, &b->t_c);
	timer_cancel(&tl->timers, &b->t_end);
	timer_cancel(&tl->timers, &b->t_cancel);
	buf_free(&b->request);
	buf_free(&b->ack);
	buf_free(&b->cancel);
	free(b);
	tl->nbranches--;
	STAT_INC(tl->env.st, branches_freed);
}

static void report(struct branch *b, enum branch_event ev, int code, const struct sip_msg *m)
{
	if (b->resph)
		b->resph(b, ev, code, m, b->arg);
}

/* A final outcome for the branch: tell the TU, then linger for retransmissions. */
static void branch_finish(struct txn_layer *tl, struct branch *b, int code,
			  const struct sip_msg *m, uint64_t linger_ms)
{
	b->code = code;
	timer_cancel(&tl->timers, &b->t_retx);
	timer_cancel(&tl->timers, &b->t_timeout);
	timer_cancel(&tl->timers, &b->t_c);
	if (!b->cancel.len)
		timer_cancel(&tl->timers, &b->t_cancel);
	report(b, BRANCH_FINAL, code, m);
	arm(tl, &b->t_end, linger_ms);
	/* Only now: while it reports, the TU may send (branch_send()) and must not free it. */
	if (!b->is_done) {
		b->is_done = true;
		list_add_tail(&b->done, &tl->br_done);
		tl->nbr_done++;
	}
}

static void branch_timer_end(struct timer *tm, void *ctx)
{
	branch_free(ctx, container_of(tm, struct branch, t_end));
}

static void branch_timer_retx(struct timer *tm, void *ctx)
{
	struct txn_layer *tl = ctx;
	struct branch *b = container_of(tm, struct branch, t_retx);

	tx(tl, &b->from, &b->dst, b->transport, b->request.p, b->request.len);
	STAT_INC(tl->env.st, retransmissions_sent);
	/* Timer A doubles without limit; Timer E is capped at T2 (§17.1.2.2). */
	if (b->method == SIP_INVITE)
		b->retx_ms *= 2;
	else
		b->retx_ms = double_to_t2(tl, b->retx_ms);
	arm(tl, &b->t_retx, b->retx_ms);
}

static void branch_timer_timeout(struct timer *tm, void *ctx)
{
	/* Timer B or F: no final answer. The branch counts as a 408 (§16.7 step 2). */
	branch_finish(ctx, container_of(tm, struct branch, t_timeout), 408, NULL, 0);
}

static void send_cancel(struct txn_layer *tl, struct branch *b)
{
	struct sip_msg req;

	if (b->cancel.len || sip_parse(&req, b->request.p, b->request.len) != SIP_PARSE_OK)
		return;
	build_cancel(&tl->out, &req);
	if (tl->out.overflow || !buf_set(&b->cancel, tl->out.buf, tl->out.len))
		return;
	tx(tl, &b->from, &b->dst, b->transport, b->cancel.p, b->cancel.len);
	b->cancel_retx_ms = (uint32_t)t1(tl);
	b->cancel_deadline = tl->now + 64 * t1(tl);
	arm(tl, &b->t_cancel, b->cancel_retx_ms);
	STAT_INC(tl->env.st, cancels_sent);
}

static void branch_timer_cancel(struct timer *tm, void *ctx)
{
	struct txn_layer *tl = ctx;
	struct branch *b = container_of(tm, struct branch, t_cancel);

	if (tl->now >= b->cancel_deadline) {
		/* §16.10: a CANCEL never answered ends the branch as if timed out. */
		if (!b->code)
			branch_finish(tl, b, 408, NULL, 0);
		return;
	}
	tx(tl, &b->from, &b->dst, b->transport, b->cancel.p, b->cancel.len);
	b->cancel_retx_ms = double_to_t2(tl, b->cancel_retx_ms);
	arm(tl, &b->t_cancel, b->cancel_retx_ms);
}

static void branch_timer_c(struct timer *tm, void *ctx)
{
	struct txn_layer *tl = ctx;
	struct branch *b = container_of(tm, struct branch, t_c);

	/* §16.8: ringing too long is cancelled; never answered at all is a 408. */
	b->timer_c_fired = true;
	if (b->provisional)
		branch_cancel(tl, b);
	else
		branch_finish(tl, b, 408, NULL, 0);
}

struct branch *branch_send(struct txn_layer *tl, struct stx *t, enum sip_method method,
			   const char *id, const struct sockaddr_storage *from,
			   const struct sockaddr_storage *dst, enum ksip_transport tp,
			   const char *buf, size_t len, branch_resp_h resph, void *arg)
{
	struct branch *b;

	if (txn_branches_full(tl, 1))
		return NULL;
	/* Full with final ones that only wait: the oldest makes room (txn_env). */
	if (tl->env.max_branches && tl->nbranches >= tl->env.max_branches && tl->nbr_done) {
		branch_free(tl, container_of(tl->br_done.next, struct branch, done));
		STAT_INC(tl->env.st, txn_done_early);
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (!buf_set(&b->request, buf, len)) {
		free(b);
		return NULL;
	}
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->hash = hash_bytes(b->id, strlen(b->id));
	b->stx = t;
	b->method = method;
	b->dst = *dst;
	b->transport = tp;
	if (from)
		b->from = *from;	/* else zero (calloc): family 0 */
	b->dstlen = dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						 sizeof(struct sockaddr_in);
	b->resph = resph;
	b->arg = arg;
	timer_init(&b->t_retx, branch_timer_retx);
	timer_init(&b->t_timeout, branch_timer_timeout);
	timer_init(&b->t_c, branch_timer_c);
	timer_init(&b->t_end, branch_timer_end);
	timer_init(&b->t_cancel, branch_timer_cancel);
	list_add(&b->hlink, &tl->br_tab[TAB_INDEX(b->hash)]);
	tl->nbranches++;
	if (t)
		list_add(&b->sibling, &t->branches);
	else
		list_init(&b->sibling);
	STAT_INC(tl->env.st, branches_created);
	tx(tl, &b->from, dst, tp, buf, len);
	b->retx_ms = (uint32_t)t1(tl);
	/* Timers A and E retransmit over UDP only: TCP does its own (§17.1.1.2). */
	if (tp == KSIP_UDP)
		arm(tl, &b->t_retx, b->retx_ms);
	arm(tl, &b->t_timeout, 64 * t1(tl));
	if (method == SIP_INVITE)
		arm(tl, &b->t_c, tl->env.timers.timer_c_ms);
	return b;
}

unsigned int txn_transport_error(struct txn_layer *tl, const struct sockaddr_storage *dst,
				 enum ksip_transport tp)
{
	unsigned int n = 0;

	/* Every bucket: rare (a failed connect), and bounded by the table's size. */
	for (uint32_t i = 0; i < TXN_TAB_SIZE; i++) {
		struct branch *b, *next;

		list_for_each_entry_safe(b, next, &tl->br_tab[i], hlink) {
			if (b->code || b->provisional || b->transport != tp ||
			    !ksip_endpoint_equal(&b->dst, dst))
				continue;
			branch_finish(tl, b, 503, NULL, 0);
			n++;
		}
	}
	return n;
}

void branch_cancel(struct txn_layer *tl, struct branch *b)
{
	if (b->method != SIP_INVITE || b->code)
		return;
	if (b->provisional)
		send_cancel(tl, b);
	else
		b->cancel_pending = true;
}

static void branch_response(struct txn_layer *tl, struct branch *b, const struct sip_msg *m)
{
	int code = m->status;

	if (b->code) {
		/* Already final: a retransmitted non-2xx gets our ACK again; 2xx pass (RFC 6026). */
		if (b->method == SIP_INVITE && code >= 300 && b->ack.len)
			tx(tl, &b->from, &b->dst, b->transport, b->ack.p, b->ack.len);
		if (b->method == SIP_INVITE && code >= 200 && code < 300 && b->code < 300)
			report(b, BRANCH_2XX_AGAIN, code, m);
		return;
	}
	if (code < 200) {
		if (b->state == BR_CALLING) {
			b->state = BR_PROCEEDING;
			/* Provisional: stop Timer A/B; Timer E continues at T2 for non-INVITE. */
			if (b->method == SIP_INVITE) {
				timer_cancel(&tl->timers, &b->t_retx);
				timer_cancel(&tl->timers, &b->t_timeout);
			} else {
				b->retx_ms = tl->env.timers.t2_ms;
			}
		}
		b->provisional = true;
		if (b->method == SIP_INVITE && code > 100)
			arm(tl, &b->t_c, tl->env.timers.timer_c_ms);
		if (b->cancel_pending) {
			b->cancel_pending = false;
			send_cancel(tl, b);
		}
		if (code > 100)
			report(b, BRANCH_PROVISIONAL, code, m);
		return;
	}
	if (b->method == SIP_INVITE && code >= 300) {
		struct sip_msg req;

		if (sip_parse(&req, b->request.p, b->request.len) == SIP_PARSE_OK) {
			build_ack(&tl->out, &req, m);
			if (!tl->out.overflow && buf_set(&b->ack, tl->out.buf, tl->out.len))
				tx(tl, &b->from, &b->dst, b->transport, b->ack.p, b->ack.len);
		}
		b->state = BR_COMPLETED;
		branch_finish(tl, b, code, m, 64 * t1(tl));	/* D: 32 s at the default T1 */
	} else if (b->method == SIP_INVITE) {
		b->state = BR_ACCEPTED;
		branch_finish(tl, b, code, m, 64 * t1(tl));	/* M */
	} else {
		b->state = BR_COMPLETED;
		branch_finish(tl, b, code, m, tl->env.timers.t4_ms);	/* K */
	}
}

bool txn_response(struct txn_layer *tl, const struct sip_msg *m)
{
	struct sip_via via;
	struct sip_span method;
	struct branch *b;
	char id[64];

	if (!top_via(m, &via) || via.branch.len >= sizeof(id) || m->status < 100)
		goto stray;
	memcpy(id, via.branch.p, via.branch.len);
	id[via.branch.len] = 0;
	b = branch_find(tl, id);
	if (!b)
		goto stray;
	cseq_number(m, &method);
	if (span_eq(method, "CANCEL")) {
		/* The answer to our CANCEL: stop resending it. The INVITE's own 487 follows. */
		if (b->method == SIP_INVITE)
			timer_cancel(&tl->timers, &b->t_cancel);
		return true;
	}
	branch_response(tl, b, m);
	return true;
stray:
	STAT_INC(tl->env.st, responses_stray);
	return false;
}

void txn_layer_free(struct txn_layer *tl)
{
	if (!tl)
		return;
	for (uint32_t i = 0; i < TXN_TAB_SIZE; i++) {
		while (!list_empty(&tl->stx_tab[i]))
			stx_free(tl, list_first_entry(&tl->stx_tab[i], struct stx, hlink));
		while (!list_empty(&tl->br_tab[i]))
			branch_free(tl, list_first_entry(&tl->br_tab[i], struct branch, hlink));
	}
	timer_heap_free(&tl->timers);
	free(tl);
}
