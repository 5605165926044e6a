/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Proxy transactions (RFC 3261 §17, with the Accepted states of RFC 6026).
 *
 * A server transaction (stx) is one request we took responsibility for;
 * it keeps the last response so a retransmitted request is answered again,
 * and retransmits a non-2xx final answer to an INVITE until the ACK comes
 * (Timer G/H/I). A branch is a client transaction: one copy of the request
 * sent to one target, retransmitted over UDP (Timer A/E) until answered or
 * timed out (Timer B/F), with Timer C for a ringing INVITE and the CANCEL
 * that may follow it.
 *
 * One struct txn_layer per worker holds both tables, the timer heap and the
 * clock; nothing here is shared between threads. The layer knows nothing of
 * who uses it: it writes through the send function it was given, and tells
 * the transaction user (TU) through the handler and argument each
 * transaction was created with. Its clock moves only when the owner calls
 * txn_set_now(), so a test can drive every timer.
 */
#ifndef KSIP_TXN_H
#define KSIP_TXN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/list.h"
#include "base/stats.h"
#include "base/timer.h"
#include "sip/msg.h"
#include "sip/reply.h"

struct txn_layer;
struct stx;
struct branch;

/* Timer values in ms (§17.1.1.1 and §16.6 step 11), taken from the configuration by the owner. */
struct txn_timers {
	uint32_t t1_ms, t2_ms, t4_ms;
	uint32_t timer_c_ms;
};

/*
 * Write one message to DST (a datagram, or on the stream DST opened), from
 * our address FROM when it is known (family 0: let the route choose).
 */
typedef void (*txn_send_h)(void *arg, const struct sockaddr_storage *from,
			   const struct sockaddr_storage *dst, enum ksip_transport tp,
			   const char *buf, size_t len);

struct txn_env {
	struct txn_timers timers;
	unsigned int instance;		/* goes into our branch ids: the worker index */
	/*
	 * Caps for this layer (0: none): stx_new() and branch_send() refuse
	 * beyond them. A transaction that has its final answer only waits out
	 * its timer (H, I, J, D, K, M: up to 32 s) for retransmissions; those
	 * are held within the caps but do not count against new ones: when
	 * they are what fills a cap, the oldest goes early, so a steady request
	 * rate is not limited to the cap per 32 s.
	 */
	uint32_t max_stx, max_branches;
	struct ksip_stats *st;		/* the owner's counters (one writer) */
	txn_send_h send;
	void *send_arg;
};

/* What a branch tells its TU. */
enum branch_event {
	BRANCH_PROVISIONAL,		/* 101-199 (a 100 stays here) */
	BRANCH_FINAL,			/* the final outcome; M is NULL for a 408 we made up */
	BRANCH_2XX_AGAIN,		/* another 2xx to an answered INVITE (RFC 6026) */
};

typedef void (*branch_resp_h)(struct branch *b, enum branch_event ev, int code,
			      const struct sip_msg *m, void *arg);
/* The server transaction is about to be freed: the TU drops its pointers to it. */
typedef void (*stx_freed_h)(struct stx *t, void *arg);

struct txn_buf {
	char *p;
	uint32_t len;
};

enum stx_state { STX_PROCEEDING, STX_COMPLETED, STX_CONFIRMED, STX_ACCEPTED };
enum branch_state { BR_CALLING, BR_PROCEEDING, BR_COMPLETED, BR_ACCEPTED };

/* The fields a TU may read; the layer alone writes them. */
struct stx {
	struct list_head hlink;		/* hash bucket */
	uint64_t hash;
	char *key;			/* top Via branch, sent-by and method */
	enum sip_method method;
	enum stx_state state;
	struct sip_source src;		/* where the request came from */
	struct sockaddr_storage reply_dst;	/* where its responses go */
	socklen_t reply_dstlen;
	struct txn_buf request;		/* the request as received, until the final answer */
	struct txn_buf last;		/* last response sent upstream */
	int last_code;
	struct list_head branches;	/* struct branch.sibling: the copies forwarded for it */
	stx_freed_h freed_h;
	void *arg;
	struct timer t_retx;		/* G */
	struct timer t_end;		/* H, I, J, or the Accepted wait */
	uint32_t retx_ms;
	struct list_head done;		/* in the layer's list once answered: it only waits */
	bool is_done;
};

struct branch {
	struct list_head hlink;
	uint64_t hash;
	char id[64];			/* our Via branch parameter */
	struct stx *stx;		/* NULL for ksipd's own requests (BYE), or once freed */
	struct list_head sibling;
	enum sip_method method;
	enum branch_state state;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	enum ksip_transport transport;
	struct sockaddr_storage from;	/* our address it is sent from (family 0: the route's) */
	struct txn_buf request;		/* what we sent */
	struct txn_buf ack;		/* ACK of a non-2xx final answer, resent on retransmission */
	struct txn_buf cancel;
	int code;			/* final status, 0 while pending */
	bool provisional;
	bool cancel_pending;		/* cancel once a provisional arrives (§9.1) */
	bool timer_c_fired;		/* we cancelled it for ringing too long */
	branch_resp_h resph;		/* NULL: nobody listens (own requests, freed stx) */
	void *arg;
	struct timer t_retx;		/* A or E */
	struct timer t_timeout;		/* B or F */
	struct timer t_c;		/* C */
	struct timer t_end;		/* D, K, or the Accepted wait */
	struct timer t_cancel;		/* CANCEL retransmission */
	uint32_t retx_ms, cancel_retx_ms;
	uint64_t cancel_deadline;
	struct list_head done;		/* in the layer's list once final and reported */
	bool is_done;
};

struct txn_layer *txn_layer_new(const struct txn_env *env);
/* Frees every transaction (their freed handlers run). */
void txn_layer_free(struct txn_layer *tl);
/* The clock, in monotonic ms: set by the owner before each event it hands in. */
void txn_set_now(struct txn_layer *tl, uint64_t now);
uint64_t txn_now(const struct txn_layer *tl);
/* Fire the timers due at the layer's clock; returns ms until the next one (at most MAX). */
int txn_tick(struct txn_layer *tl, int max);
/*
 * Transactions held now, and whether another would pass the layer's caps
 * (those that only wait for retransmissions give way: see txn_env).
 */
uint32_t txn_stx_count(const struct txn_layer *tl);
uint32_t txn_branch_count(const struct txn_layer *tl);
bool txn_stx_full(const struct txn_layer *tl);
/* Room for N more branches (a request forked to N targets). */
bool txn_branches_full(const struct txn_layer *tl, uint32_t n);

/* --- branch ids: z9hG4bKks<loop hash>.<instance>.<seq>.<MAC> ------------ */

/* A fresh branch id carrying LOOPHASH (§16.6 step 8), MACed so we know it later. */
void txn_branch_id(struct txn_layer *tl, uint64_t loophash, char *out, size_t len);
/* The branch of a stateless ACK of a 2xx: the same for each retransmission (§16.11). */
void txn_branch_id_ack(uint64_t loophash, struct sip_span their_branch, char *out, size_t len);
/* Did this process mint BRANCH (its MAC checks)? Where the Via points is for the caller. */
bool txn_branch_is_ours(struct sip_span branch);
/* Does BRANCH have the shape of ours with LOOPHASH (§16.3 step 4, loop detection)? */
bool txn_branch_has_loophash(struct sip_span branch, uint64_t loophash);

/* --- server transactions ------------------------------------------------ */

/* The server transaction key of a request (an ACK or CANCEL maps to its INVITE's). */
int stx_key(const struct sip_msg *m, enum sip_method method, char *out, size_t len);
struct stx *stx_find(struct txn_layer *tl, const char *key);
/*
 * FH (may be NULL) is called with ARG when the transaction is freed. NULL
 * when out of memory or at the max_stx cap: the caller answers statelessly.
 */
struct stx *stx_new(struct txn_layer *tl, const struct sip_msg *m, const struct sip_source *src,
		    const char *key, stx_freed_h fh, void *arg);
/* Send a provisional response upstream and remember it for retransmissions. */
void stx_send_provisional(struct txn_layer *tl, struct stx *t, const char *buf, size_t len);
/*
 * Send the final response and enter Completed (or Accepted for a 2xx to
 * INVITE). The stored request is freed: from here on the transaction only
 * absorbs retransmissions, with the response it keeps.
 */
void stx_send_final(struct txn_layer *tl, struct stx *t, int code, const char *buf, size_t len);
/* A locally generated answer (§8.2.6) to the transaction's request; none once final. */
void stx_reply(struct txn_layer *tl, struct stx *t, int code, const char *reason,
	       const char *extra);
/* The ACK for our non-2xx final answer arrived. */
void stx_ack(struct txn_layer *tl, struct stx *t);
/* A retransmitted request: send the last response again. */
void stx_retransmission(struct txn_layer *tl, struct stx *t);
/* Cancel every pending INVITE branch of T but EXCEPT (§9.1, §16.10). */
void stx_cancel_branches(struct txn_layer *tl, struct stx *t, const struct branch *except);

/* --- client transactions (branches) ------------------------------------- */

/*
 * Send BUF to DST as a new branch of T (NULL for ksipd's own requests),
 * from FROM (may be NULL: the route's address) and keep it until it ends. NULL (nothing sent) when out of memory or at the
 * max_branches cap. RESPH (may be NULL) hears of its responses with
 * ARG, until the branch ends or T is freed, whichever comes first.
 */
struct branch *branch_send(struct txn_layer *tl, struct stx *t, enum sip_method method,
			   const char *id, const struct sockaddr_storage *from,
			   const struct sockaddr_storage *dst, enum ksip_transport tp,
			   const char *buf, size_t len, branch_resp_h resph, void *arg);
/* Cancel a pending INVITE branch now or once it rings (§9.1, §16.10). */
void branch_cancel(struct txn_layer *tl, struct branch *b);
/*
 * The transport could not reach DST over TP (a connection to it failed):
 * every branch to it still waiting for its first response ends as a 503
 * (§8.1.3.1, §16.9), at once rather than at Timer B or F. Returns how many.
 */
unsigned int txn_transport_error(struct txn_layer *tl, const struct sockaddr_storage *dst,
				 enum ksip_transport tp);
/*
 * A response arrived: match it to its branch by the top Via (§17.1.3) and
 * run the branch's state machine. Returns false when no branch of ours
 * matches (a stray response).
 */
bool txn_response(struct txn_layer *tl, const struct sip_msg *m);

#endif
