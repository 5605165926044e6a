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
 * that may follow it. Both live in their worker's tables and die on their
 * own timers; nothing here is shared between threads.
 */
#ifndef KSIP_TXN_H
#define KSIP_TXN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip/msg.h"
#include "sip/reply.h"
#include "base/timer.h"

struct proxy;
struct call;

struct bytes {
	char *p;
	uint32_t len;
};

enum stx_state { STX_PROCEEDING, STX_COMPLETED, STX_CONFIRMED, STX_ACCEPTED };
enum branch_state { BR_CALLING, BR_PROCEEDING, BR_COMPLETED, BR_ACCEPTED };

struct branch;

struct stx {
	struct stx *hnext;
	uint64_t hash;
	char *key;			/* top Via branch, sent-by and method */
	enum sip_method method;
	enum stx_state state;
	struct sip_source src;		/* where the request came from */
	struct sockaddr_storage reply_dst;	/* where its responses go */
	socklen_t reply_dstlen;
	struct bytes request;		/* the request as received */
	struct bytes last;		/* last response sent upstream */
	int last_code;
	struct branch *branches;
	unsigned int pending;		/* branches without a final response */
	struct bytes best;		/* best final response so far, ready to send */
	int best_code;
	bool cancelled;
	struct call *call;
	struct timer t_retx;		/* G */
	struct timer t_end;		/* H, I, J, or the Accepted wait */
	uint32_t retx_ms;
};

struct branch {
	struct branch *hnext;
	uint64_t hash;
	char id[64];			/* our Via branch parameter */
	struct stx *stx;		/* NULL for requests ksipd originates (BYE) */
	struct branch *sibling;
	enum sip_method method;
	enum branch_state state;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	enum ksip_transport transport;
	struct bytes request;		/* what we sent */
	struct bytes ack;		/* ACK of a non-2xx final answer, resent on retransmission */
	struct bytes cancel;
	int code;			/* final status, 0 while pending */
	bool provisional;
	bool cancel_pending;		/* cancel once a provisional arrives (§9.1) */
	bool timer_c_fired;		/* we cancelled it for ringing too long */
	struct timer t_retx;		/* A or E */
	struct timer t_timeout;		/* B or F */
	struct timer t_c;		/* C */
	struct timer t_end;		/* D, K, or the Accepted wait */
	struct timer t_cancel;		/* CANCEL retransmission */
	uint32_t retx_ms, cancel_retx_ms;
	uint64_t cancel_deadline;
};

/* The server transaction key of a request (an ACK or CANCEL maps to its INVITE's). */
int stx_key(const struct sip_msg *m, enum sip_method method, char *out, size_t len);

struct stx *stx_find(struct proxy *p, const char *key);
struct stx *stx_new(struct proxy *p, const struct sip_msg *m, const struct sip_source *src,
		    const char *key);
/* Send a provisional response upstream and remember it for retransmissions. */
void stx_send_provisional(struct proxy *p, struct stx *t, const char *buf, size_t len);
/* Send the final response and enter Completed (or Accepted for a 2xx to INVITE). */
void stx_send_final(struct proxy *p, struct stx *t, int code, const char *buf, size_t len);
/* A locally generated answer (§8.2.6) to the transaction's request. */
void stx_reply(struct proxy *p, struct stx *t, int code, const char *reason, const char *extra);
/* The ACK for our non-2xx final answer arrived. */
void stx_ack(struct proxy *p, struct stx *t);
/* A retransmitted request: send the last response again. */
void stx_retransmission(struct proxy *p, struct stx *t);

/* A new branch (already sent) for T, or NULL for ksipd's own requests. */
struct branch *branch_send(struct proxy *p, struct stx *t, enum sip_method method,
			   const char *id, const struct sockaddr_storage *dst,
			   enum ksip_transport tp, const char *buf, size_t len);
struct branch *branch_find(struct proxy *p, const char *id);
/* Cancel a pending INVITE branch now or once it rings (§9.1, §16.10). */
void branch_cancel(struct proxy *p, struct branch *b);
void branch_cancel_answered(struct proxy *p, struct branch *b);
/* Transaction-layer handling of a response; returns true when the TU should see it. */
bool branch_response(struct proxy *p, struct branch *b, const struct sip_msg *m);

void txn_free_all(struct proxy *p);

#endif
