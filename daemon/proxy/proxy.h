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

#include "base/config.h"
#include "base/list.h"
#include "base/stats.h"
#include "base/timer.h"
#include "sip/msg.h"
#include "sip/reply.h"

struct stx;
struct call;
struct media;
struct worker;
struct user_table;
struct page_table;
struct location;
struct auth;
struct media_env;
struct txn_layer;
struct sip_request;

#define PROXY_TAB_BITS 14
#define PROXY_TAB_SIZE (1u << PROXY_TAB_BITS)

/* Seconds a 503 at a cap asks the client to wait (§21.5.4, §20.33). */
#define PROXY_RETRY_AFTER 5
#define PROXY_RETRY_AFTER_HDR "Retry-After: 5\r\n"
_Static_assert(PROXY_RETRY_AFTER == 5, "PROXY_RETRY_AFTER_HDR says the same");

/*
 * The conference focus (conf/), where ksipd is the UA rather than a proxy:
 * the proxy reaches it only through these, with the argument the top gave
 * proxy_set_focus(). All run on the proxy's worker, under its lock.
 */
struct proxy_focus_ops {
	/* Does the Request-URI user USER name a conference room? */
	bool (*is_room)(void *arg, const char *user);
	/* Is M (a request with a To tag) in a dialog the focus holds? */
	bool (*owns)(void *arg, const struct sip_msg *m);
	/*
	 * Answer M: an initial INVITE (or other request) to room ROOM, or with
	 * ROOM NULL a request of one of the focus's dialogs. T is M's server
	 * transaction, NULL for an ACK.
	 */
	void (*request)(void *arg, const struct sip_msg *m, const struct sip_source *src,
			struct stx *t, const char *room);
};

/* What the proxy uses of the daemon, filled by the top when it makes a worker's proxy. */
struct proxy_env {
	const struct ksip_config *cfg;
	int nworkers;			/* each worker enforces its share of the caps */
	struct user_table *users;
	struct page_table *pages;	/* paging groups: INVITE to one forks to its members (page.c) */
	struct location *loc;
	const struct auth *auth;	/* digest challenges and checks (registrar/auth.h) */
	const struct media_env *media;	/* relay ports and whether ksip.ko forwards */
	const uint8_t *route_key;	/* ROUTE_KEY_LEN bytes: signs our Record-Route (authorize.h) */
	const struct proxy_focus_ops *focus;	/* the conference focus, or NULL */
	void *focus_arg;		/* set by proxy_set_focus() */
};

/*
 * The proxy's side of a server transaction (its handler argument): the
 * response context of §16.7 and, for an INVITE, its call.
 */
struct resp_ctx {
	struct proxy *p;
	struct stx *stx;
	struct call *call;
	unsigned int pending;		/* branches without a final response */
	char *best;			/* best final response so far, ready to send */
	uint32_t best_len;
	int best_code;
	bool cancelled;
};

struct proxy {
	struct proxy_env env;
	int index;			/* worker index: owns Call-IDs hashing here */
	struct ksip_stats *st;
	struct txn_layer *txn;		/* this worker's transactions */
	struct timer_heap timers;	/* the calls' timers */
	uint64_t now;			/* ms, refreshed per event */
	uint64_t seq;			/* call identifiers */
	struct worker *w;		/* sends through its sockets */
	struct call *call_tab[PROXY_TAB_SIZE];
	struct list_head calls;		/* every struct call of this worker (call.c) */
	uint32_t ncalls, max_calls;	/* held (call.c counts), this worker's share of max_calls */
	struct list_head ended;		/* ended calls still held, oldest first (call.c) */
	uint32_t nended;
	struct media *media;
	uint64_t ka_next_ms;		/* NAT keepalives (keepalive.c): when the next shard is due */
	unsigned int ka_slot;		/* and which shard that is */
	uint32_t ka_seq;
	struct sip_out out;		/* scratch for messages being built */
	struct sip_msg in;		/* a handed-over message, parsed again here */
};

struct proxy *proxy_new(const struct proxy_env *env, int index, struct ksip_stats *st, int epfd);
void proxy_free(struct proxy *p);
/* The worker P belongs to: P sends through its sockets and writes their addresses into Via. */
void proxy_set_worker(struct proxy *p, struct worker *w);

/* The conference focus's argument for P's env.focus handlers (made after P). */
void proxy_set_focus(struct proxy *p, void *arg);

/* Does this message belong to the proxy (rather than the registrar or a local answer)? */
bool proxy_wants(const struct sip_msg *m);
/* Handle one message; on P's worker, under its lock. */
void proxy_handle(struct proxy *p, const char *buf, size_t len, const struct sip_source *src);
/* The same for a message the caller parsed already (it stays valid during the call). */
void proxy_handle_msg(struct proxy *p, const struct sip_msg *m, const struct sip_source *src);
/*
 * Fire due timers, the transactions' then the calls'; returns ms until the
 * next (at most MAX). Under the worker's lock.
 */
int proxy_tick(struct proxy *p, int max);
/*
 * After each batch of epoll events, under the lock: free what the batch
 * closed (relay sockets whose events may still have been in the batch).
 */
void proxy_batch_done(struct proxy *p);

/*
 * Send one message to DST: over UDP from our address FROM (NULL or family
 * 0: the route's), or on the TCP connection DST opened (transport_send()).
 */
void proxy_send(struct proxy *p, const struct sockaddr_storage *from,
		const struct sockaddr_storage *dst, enum ksip_transport tp, const char *buf, size_t len);

/*
 * A TCP connection ksipd opened to DST failed (transport_ops.on_connect_failed):
 * P's branches still waiting on it end as 503s. On P's worker, under its lock.
 */
void proxy_connect_failed(struct proxy *p, const struct sockaddr_storage *dst);

/* Does URI name us (one of our addresses and listen ports)? For proxy/ files. */
bool proxy_uri_is_us(const struct proxy *p, struct sip_span uri);

/* §16.10: the request is cancelled; CANCEL its pending branches (the caller gets 487). */
void proxy_cancel(struct proxy *p, struct resp_ctx *rc);
/*
 * Send a request ksipd originates (a BYE on hang-up) to DST as its own
 * client transaction: R gets our Via with a branch carrying LOOPHASH.
 * Returns -1 when DST is unroutable or the request does not fit.
 */
int proxy_originate(struct proxy *p, const struct sockaddr_storage *dst, enum ksip_transport tp,
		    uint64_t loophash, struct sip_request *r);

/*
 * The same without a transaction: the ACK of a 2xx that ksipd itself
 * accepted (a paging group's later members, proxy/page.c), sent once per
 * 2xx it acknowledges, from FROM (may be NULL: the route's address).
 */
int proxy_send_request(struct proxy *p, const struct sockaddr_storage *from,
		       const struct sockaddr_storage *dst, enum ksip_transport tp, uint64_t loophash,
		       struct sip_request *r);

#endif
