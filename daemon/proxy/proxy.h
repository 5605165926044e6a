/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stateful proxy (RFC 3261 §16): every message of a call is handled by
 * the worker that owns its Call-ID (hash of Call-ID modulo workers), so a
 * call's transactions, dialog and media live on one thread without locks
 * on the hot path. A worker that receives another worker's message passes
 * it on through that worker's inbox. The lock below is taken by the owner
 * while it works and by the control thread to read or hang up calls.
 */
#ifndef KSIP_PROXY_H
#define KSIP_PROXY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "base/stats.h"
#include "base/timer.h"
#include "sip/msg.h"
#include "sip/reply.h"

struct stx;
struct call;
struct media;
struct user_table;
struct location;
struct ksipd;
struct txn_layer;
struct sip_request;

#define PROXY_TAB_BITS 14
#define PROXY_TAB_SIZE (1u << PROXY_TAB_BITS)

/* What the proxy uses of the daemon, filled by the top when it makes a worker's proxy. */
struct proxy_env {
	const struct ksip_config *cfg;
	struct user_table *users;
	struct location *loc;
	int nworkers;
	/*
	 * An opaque handle for the calls whose layers still take the whole
	 * daemon: auth_check()/auth_add_challenge(), media_new() and
	 * worker_tcp_send(). proxy/ never looks inside it.
	 */
	struct ksipd *d;
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
	pthread_mutex_t lock;
	struct ksip_stats *st;
	struct txn_layer *txn;		/* this worker's transactions */
	struct timer_heap timers;	/* the calls' timers */
	uint64_t now;			/* ms, refreshed per event */
	uint64_t seq;			/* call identifiers */
	int udp_fd[2];			/* send sockets: [0] IPv4, [1] IPv6 (-1 when none) */
	uint16_t udp_port[2];
	uint16_t tcp_port[2];		/* our TCP listen port per family (0: none) */
	struct call *call_tab[PROXY_TAB_SIZE];
	struct call *calls;		/* list of all calls, for ksipctl */
	struct media *media;
	struct sip_out out;		/* scratch for messages being built */
	struct sip_msg in;		/* a handed-over message, parsed again here */
};

struct proxy *proxy_new(const struct proxy_env *env, int index, struct ksip_stats *st, int epfd);
void proxy_free(struct proxy *p);
/* Our UDP socket for FAMILY (the worker's listening socket). */
void proxy_set_socket(struct proxy *p, int family, int fd, uint16_t port);
void proxy_set_tcp_port(struct proxy *p, int family, uint16_t port);

/* Does this message belong to the proxy (rather than the registrar or a local answer)? */
bool proxy_wants(const struct sip_msg *m);
/* Which of NWORKERS workers owns M's Call-ID. */
int proxy_owner(int nworkers, const struct sip_msg *m);

/* Handle one message; the caller holds p->lock. */
void proxy_handle(struct proxy *p, const char *buf, size_t len, const struct sip_source *src);
/* The same for a message the caller parsed already (it stays valid during the call). */
void proxy_handle_msg(struct proxy *p, const struct sip_msg *m, const struct sip_source *src);
/*
 * Fire due timers, the transactions' then the calls'; returns ms until the
 * next (at most MAX). Takes the lock.
 */
int proxy_tick(struct proxy *p, int max);

/* Send one message to DST: over UDP, or on the TCP connection DST opened. */
void proxy_send(struct proxy *p, const struct sockaddr_storage *dst, enum ksip_transport tp,
		const char *buf, size_t len);

/* §16.10: the request is cancelled; CANCEL its pending branches (the caller gets 487). */
void proxy_cancel(struct proxy *p, struct resp_ctx *rc);
/*
 * Send a request ksipd originates (a BYE on hang-up) to DST as its own
 * client transaction: R gets our Via with a branch carrying LOOPHASH.
 * Returns -1 when DST is unroutable or the request does not fit.
 */
int proxy_originate(struct proxy *p, const struct sockaddr_storage *dst, enum ksip_transport tp,
		    uint64_t loophash, struct sip_request *r);

#endif
