/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Workers: one thread per core, each with its own SO_REUSEPORT socket for
 * every listen address (UDP and TCP) and its own epoll set, so the kernel
 * spreads clients over workers and no socket is shared between threads.
 * A TCP connection stays with the worker that accepted it.
 */
#ifndef KSIP_WORKER_H
#define KSIP_WORKER_H

#include <pthread.h>

#include "ksipd.h"
#include "base/stats.h"

struct txn_cache;
struct tcp_conn;
struct listen_refs;
struct proxy;
struct inbox_msg;
struct sip_msg;
struct sip_source;

struct worker {
	struct ksipd *d;
	int id;
	pthread_t thread;
	int epfd;
	int stop_fd;			/* eventfd: wakes the loop to exit */
	struct listen_refs *listeners;	/* listening sockets and their epoll refs */
	struct txn_cache *txc;
	struct tcp_conn *conns;		/* doubly linked list of open connections */
	unsigned int nconns;
	struct proxy *proxy;		/* calls whose Call-ID hashes to this worker */
	/* Messages other workers received for our calls (see proxy.h). */
	pthread_mutex_t inbox_lock;
	struct inbox_msg *inbox_head, *inbox_tail;
	int inbox_fd;			/* eventfd */
	uint64_t conn_seq;		/* TCP connection ids (see conn_map.h) */
	struct ksip_stats stats;
};

/*
 * Send on the TCP connection from PEER, whichever worker owns it (the
 * bytes are queued to that worker). False when there is none.
 */
bool worker_tcp_send(struct ksipd *d, const struct sockaddr_storage *peer, const char *buf,
		     size_t len);

/* Give a proxy message to the worker that owns its Call-ID (maybe W itself). */
void worker_to_proxy(struct worker *w, const struct sip_msg *m, const char *buf, size_t len,
		     const struct sip_source *src);

/* Create sockets for every listen address; -1 with a logged error. */
struct worker *worker_new(struct ksipd *d, int id);
int worker_start(struct worker *w);
void worker_stop(struct worker *w);	/* signal, join, close everything */
void worker_free(struct worker *w);

#endif
