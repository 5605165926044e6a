/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of transport/ share: the worker, the transport, and the
 * handlers each file adds to a worker's epoll set. Not for other layers.
 */
#ifndef KSIP_TRANSPORT_PRIV_H
#define KSIP_TRANSPORT_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "base/evloop.h"
#include "base/list.h"
#include "transport/worker.h"

#define UDP_BATCH 32
#define UDP_BUF 16384		/* larger datagrams arrive truncated and are dropped */
/* Room for one IP_PKTINFO or IPV6_PKTINFO control message (a wildcard socket's local address). */
#define UDP_CMSG 64

/* Connections ksipd opens (transport_connect()): how long a handshake may take, how many at once. */
#define TCP_CONNECT_TIMEOUT_MS 2000
#define TCP_CONNECTS_MAX 64		/* in progress over all workers; a worker gets its share */
/* inbox_msg.conn_id of a notice that a connect failed (never a connection id: those count up from 1). */
#define INBOX_CONNECT_FAILED UINT64_MAX

/* A listening socket, UDP, TCP or TLS. */
struct listener {
	struct ev_handler ev;
	struct worker *w;
	const struct listen_addr *at;	/* the configured address it is bound to */
	bool wildcard;			/* bound to 0.0.0.0 or [::]: our address differs per peer */
	/* TCP, out of descriptors: out of the epoll set until then (CLOCK_MONOTONIC ms); else 0. */
	uint64_t paused_until_ms;
};

struct udp_batch {
	struct mmsghdr in[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	char buf[UDP_BATCH][UDP_BUF];
	char cmsg[UDP_BATCH][UDP_CMSG];
	struct mmsghdr out[UDP_BATCH];
	struct iovec oiov[UDP_BATCH];
	char ocmsg[UDP_BATCH][UDP_CMSG];
	struct sip_out reply[UDP_BATCH];
};

struct inbox_msg;

struct worker {
	struct transport *t;
	int id;
	void *arg;			/* the layer above's, for every transport_ops call */
	pthread_t thread;
	bool started;
	bool running;			/* cleared by the stop eventfd, on the worker's thread */
	int epfd;
	/* Held by the worker except while it waits; see worker.h. */
	pthread_mutex_t lock;
	atomic_uint lock_waiters;	/* other threads blocked in worker_lock() */
	struct ev_handler stop;		/* eventfd: wakes the loop to exit */
	struct ev_handler inbox;	/* eventfd: the inbox has messages */
	/* Messages and TCP bytes other threads queued for this worker. */
	pthread_mutex_t inbox_lock;
	struct inbox_msg *inbox_head, *inbox_tail;
	atomic_uint inbox_len;		/* messages queued, at most cfg->inbox_max */
	struct listener listeners[MAX_LISTEN];
	int nlisteners;
	int udp_fd[2];			/* first UDP socket per family: [0] IPv4, [1] IPv6 (-1 when none) */
	uint16_t udp_port[2], tcp_port[2], tls_port[2];
	struct list_head conns;		/* open TCP connections */
	struct list_head dead_conns;	/* closed during this epoll batch, freed after it */
	unsigned int nconns;
	unsigned int nconnecting;	/* of them, ours still connecting */
	uint64_t conn_seq;		/* TCP connection ids (see conn_map.h) */
	struct udp_batch *udp;		/* scratch for udp_readable() */
	struct sip_out *tcp_reply;	/* scratch for conn_consume() */
	struct ksip_stats stats;
};

struct transport {
	const struct ksip_config *cfg;
	const struct transport_ops *ops;
	int nworkers;
	struct worker **workers;
	/* TCP connections: the cap in force (cfg's, or sized by transport_start()) and how many are open. */
	unsigned int tcp_max;
	atomic_uint tcp_open;
	atomic_uint tcp_connecting;	/* connects in progress over all workers (TCP_CONNECTS_MAX) */
	/* EMFILE: when it was last logged (CLOCK_MONOTONIC ms), and pauses since, over all workers. */
	atomic_uint_fast64_t emfile_logged_ms;
	atomic_uint emfile_unlogged;
	/* For TLS listeners (tls.h); NULL when there are none. Swapped by a reload: under tls_lock. */
	pthread_mutex_t tls_lock;
	struct ssl_ctx_st *tls_ctx;
	struct ssl_ctx_st *tls_client_ctx;	/* for TLS connections ksipd opens (made at start) */
	char tls_path[512];		/* its certificate file */
};

/* udp.c: a UDP socket is readable (a struct listener). Under w->lock. */
void udp_readable(void *arg, uint32_t events);
/*
 * udp.c: on a wildcard socket, the control message that makes a datagram
 * leave from our address FROM (IP_PKTINFO / IPV6_PKTINFO) into BUF; its
 * length, 0 when none is needed or FROM is not known.
 */
size_t udp_source_cmsg(const struct listener *l, const struct sockaddr_storage *from, char *buf,
		       size_t len);

/* tcp.c: the TCP cap in force, from tcp_max_connections or the descriptors left (fdlimit.h). */
void tcp_size(struct transport *t);

/* tcp.c, all under w->lock */
void tcp_accept(void *arg, uint32_t events);	/* a TCP listener is readable */
/*
 * Start a connect to DST, owned by W, from LOCAL's IP (any port); LOCAL,
 * with our TCP listening port, is what the connection says is our end
 * (transport_connect()).
 */
enum transport_connect_result tcp_connect(struct worker *w, const struct sockaddr_storage *local,
					  const struct sockaddr_storage *dst, enum ksip_transport tp);
/* worker.c: a connect W started failed; tell every worker (transport_ops.on_connect_failed). */
void transport_connect_failed(struct worker *w, const struct sockaddr_storage *dst);
/* Bytes another thread queued for connection ID (transport_send()). */
void tcp_send_queued(struct worker *w, uint64_t id, const char *buf, size_t len);
/* Close connections past tcp_header_timeout or their idle timeout. */
void tcp_sweep_idle(struct worker *w, time_t now);
/* Put paused listeners back whose back-off is over; returns WAIT_MS or less (until the next). */
int tcp_accept_resume(struct worker *w, int wait_ms);
/* Free the connections closed during the epoll batch that just ended. */
void tcp_reap(struct worker *w);
void tcp_close_all(struct worker *w);

#endif
