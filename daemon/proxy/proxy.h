/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stateful proxy (RFC 3261 §16): every message of a call is handled by
 * the worker that owns its Call-ID (hash of Call-ID modulo workers), so a
 * call's transactions, dialog and media live on one thread without locks
 * on the hot path. A worker that receives another worker's message passes
 * it on through that worker's inbox (transport_handoff()). The proxy takes
 * no lock: its worker runs it under the worker's lock, and the control
 * thread takes that lock (worker_lock()) to read or hang up calls.
 */
#ifndef KSIP_PROXY_H
#define KSIP_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "ksipd.h"
#include "base/list.h"
#include "sip/msg.h"
#include "sip/reply.h"
#include "base/stats.h"
#include "base/timer.h"

struct stx;
struct branch;
struct call;
struct media;
struct worker;

#define PROXY_TAB_BITS 14
#define PROXY_TAB_SIZE (1u << PROXY_TAB_BITS)

struct proxy {
	struct ksipd *d;
	int index;			/* worker index: owns Call-IDs hashing here */
	struct ksip_stats *st;
	struct timer_heap timers;
	uint64_t now;			/* ms, refreshed per event */
	uint64_t seq;			/* branch and call identifiers */
	struct worker *w;		/* sends through its sockets */
	uint16_t udp_port[2];		/* our UDP listen port per family: [0] IPv4, [1] IPv6 */
	uint16_t tcp_port[2];		/* our TCP listen port per family (0: none) */
	struct stx *stx_tab[PROXY_TAB_SIZE];
	struct branch *br_tab[PROXY_TAB_SIZE];
	struct call *call_tab[PROXY_TAB_SIZE];
	struct list_head calls;		/* every struct call of this worker (call.c) */
	struct media *media;
	struct sip_out out;		/* scratch for messages being built */
	struct sip_msg in;		/* a handed-over message, parsed again here */
};

struct proxy *proxy_new(struct ksipd *d, int index, struct ksip_stats *st, int epfd);
void proxy_free(struct proxy *p);
/* The worker P belongs to: P sends through it and writes its ports into Via. */
void proxy_set_worker(struct proxy *p, struct worker *w);

/* Does this message belong to the proxy (rather than the registrar or a local answer)? */
bool proxy_wants(const struct sip_msg *m);
/* Handle one message; on P's worker, under its lock. */
void proxy_handle(struct proxy *p, const char *buf, size_t len, const struct sip_source *src);
/* The same for a message the caller parsed already (it stays valid during the call). */
void proxy_handle_msg(struct proxy *p, const struct sip_msg *m, const struct sip_source *src);
/* Fire due timers; returns ms until the next (at most MAX). Under the worker's lock. */
int proxy_tick(struct proxy *p, int max);
/*
 * After each batch of epoll events, under the lock: free what the batch
 * closed (relay sockets whose events may still have been in the batch).
 */
void proxy_batch_done(struct proxy *p);

/* Send one message to DST: over UDP, or on the TCP connection DST opened (transport_send()). */
void proxy_send(struct proxy *p, const struct sockaddr_storage *dst, enum ksip_transport tp,
		const char *buf, size_t len);

/* Called by the transaction layer. */
void proxy_branch_final(struct proxy *p, struct branch *b, int code, const struct sip_msg *m);
void proxy_stx_freed(struct proxy *p, struct stx *t);

/* Our Via sent-by and branch for a request towards DST; -1 when unroutable. */
int proxy_via(struct proxy *p, const struct sockaddr_storage *dst, enum ksip_transport tp,
	      const char *branch, char *out, size_t len);
/* A fresh branch id carrying LOOPHASH (§16.6 step 8). */
void proxy_branch_id(struct proxy *p, uint64_t loophash, char *out, size_t len);

#endif
