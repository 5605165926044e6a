/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Workers: one thread per core, each with its own SO_REUSEPORT socket for
 * every listen address (UDP and TCP) and its own epoll set, so the kernel
 * spreads clients over workers and no socket is shared between threads.
 * A TCP connection stays with the worker that accepted it.
 *
 * The transport knows nothing of SIP beyond framing: it hands each message
 * up through struct transport_ops, with the argument the layer above
 * attached to that worker (worker_attach()).
 *
 * Locking: a worker holds its own mutex while it runs anything of the
 * layer above (every transport_ops callback, every epoll handler, the
 * inbox), and lets go of it only while it waits in epoll. Another thread
 * that touches what a worker owns (its calls, its relays) takes
 * worker_lock() first; the layer above takes no lock of its own.
 */
#ifndef KSIP_WORKER_H
#define KSIP_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "base/config.h"
#include "base/stats.h"
#include "sip/msg.h"
#include "sip/reply.h"

struct transport;
struct worker;

/*
 * What the layer above does with what a worker receives. Each callback runs
 * on worker W's thread with W's lock held; ARG is what worker_attach() gave W.
 */
struct transport_ops {
	/*
	 * One message from SRC: a datagram, or one framed message of a TCP
	 * stream. True when REPLY holds an answer for REPLY->dst: over UDP it
	 * goes out with the other answers of the same receive batch, over TCP
	 * on the connection it came in on.
	 */
	bool (*on_message)(void *arg, struct worker *w, const char *buf, size_t len,
			   const struct sip_source *src, struct sip_out *reply);
	/*
	 * A message given to W with transport_handoff(). M is the message
	 * already parsed when it was handed over on W's own thread (valid during
	 * the call); NULL when it came through the inbox and BUF must be parsed.
	 */
	void (*on_handoff)(void *arg, struct worker *w, const struct sip_msg *m, const char *buf,
			   size_t len, const struct sip_source *src);
	/* Before each wait: run what is due; returns ms until the next (at most MAX_MS). */
	int (*tick)(void *arg, struct worker *w, int max_ms);
	/* After each batch of epoll events: free what the batch's handlers may still have used. */
	void (*after_batch)(void *arg, struct worker *w);
	/*
	 * A connection ksipd opened to DST (transport_connect()) failed: refused,
	 * reset, or not up within TCP_CONNECT_TIMEOUT_MS. Whatever was queued on
	 * it is lost. Runs on every worker (any of them may have queued on it),
	 * so each can fail its own transactions towards DST (§16.9: a 503).
	 */
	void (*on_connect_failed)(void *arg, struct worker *w, const struct sockaddr_storage *dst);
};

/*
 * NWORKERS workers, each with its sockets bound to every listen address of
 * CFG (which must outlive the transport). NULL with a logged error.
 */
struct transport *transport_new(const struct ksip_config *cfg, int nworkers,
				const struct transport_ops *ops);
/*
 * Start every worker's thread (each needs its worker_attach() first); -1 if
 * one fails. Call it last: with tcp_max_connections = 0 it sizes the TCP cap
 * from the descriptors left then (transport/fdlimit.h).
 */
int transport_start(struct transport *t);
/* Signal every started worker and join it. The sockets stay until transport_free(). */
void transport_stop(struct transport *t);
void transport_free(struct transport *t);

int transport_nworkers(const struct transport *t);
struct worker *transport_worker(const struct transport *t, int index);

/*
 * Our address and port towards DST over TP: what a request to DST carries
 * in Via and Record-Route, and what transport_send() sends it from. FROM
 * when it is one of our listening addresses (exactly: address and port;
 * over TCP, when DST has a connection) -- the address DST registered to or
 * wrote to -- else the address the route to DST leaves by, with the port
 * of a listener bound to it. FROM may be NULL. -1 when DST is unroutable.
 */
int transport_local(struct worker *w, const struct sockaddr_storage *from,
		    const struct sockaddr_storage *dst, enum ksip_transport tp,
		    struct sockaddr_storage *local);
/* Is ADDR (an IP and port, one of this host's addresses) one W listens on? */
bool worker_listens_on(const struct worker *w, const struct sockaddr_storage *addr);

/*
 * Send BUF to DST. UDP: from the socket bound to FROM (may be NULL), else
 * the one bound to the address the route to DST leaves by, else a wildcard
 * one, else the first of DST's family: as transport_local() chose. TCP: on
 * the connection to DST (one DST opened, or one transport_connect() opened
 * or is still opening: then queued until it is up), through the inbox of
 * the worker that owns it, even W itself: W may be locked by another thread.
 * Callable from any thread that holds W's lock. False (and counted in
 * send_errors) when it could not be sent or queued.
 */
bool transport_send(struct worker *w, const struct sockaddr_storage *from,
		    const struct sockaddr_storage *dst, enum ksip_transport tp,
		    const char *buf, size_t len);

enum transport_connect_result {
	TRANSPORT_CONNECT_OK,		/* open, or being opened: transport_send() queues on it */
	TRANSPORT_CONNECT_BUSY,		/* a cap: connections, connects in progress, per source */
	TRANSPORT_CONNECT_FAILED,	/* DST refused at once, or is unroutable */
};

/*
 * A TCP connection of ours to DST (RFC 3261 §18.1.1: a request too large
 * for UDP), unless one to DST exists or is being opened already (at most
 * one connect per destination). Non-blocking: owned by W, from our address
 * towards DST (transport_local(), FROM as there), it carries what
 * transport_send() queues once the handshake completes, and then behaves
 * like an accepted connection (framing, idle timeouts, caps; it counts
 * against tcp_max_connections and tcp_max_per_source). Counted against
 * TCP_CONNECTS_MAX in progress at a time over all workers (and W's share of
 * it); a connect not up within TCP_CONNECT_TIMEOUT_MS fails, reported by
 * transport_ops.on_connect_failed. Callable from any thread holding W's lock.
 * TP KSIP_TLS: a TLS client connection, up once its handshake is over too,
 * within the same TCP_CONNECT_TIMEOUT_MS; the peer's certificate is checked
 * against tls_ca_file when set (its chain: ksip routes to addresses, not names).
 */
enum transport_connect_result transport_connect(struct worker *w,
						const struct sockaddr_storage *from,
						const struct sockaddr_storage *dst, enum ksip_transport tp);

/*
 * What only the layer above knows: the TCP connection from PEER carries a
 * registered binding until UNTIL (time(); 0: none any more). A connection
 * with a binding may stay silent for tcp_idle_timeout, one without for
 * tcp_unauth_idle_timeout only. Called on W's thread for a connection W
 * owns: from on_message() for a message that came over it. False when W
 * has no connection from PEER.
 */
bool transport_conn_keep(struct worker *w, const struct sockaddr_storage *peer, time_t until);

/*
 * RFC 5923: the TLS connection from PEER may carry requests to ALIAS (the
 * sent-by of a Via with the alias parameter), so ksipd opens no connection
 * of its own there. Only a port on PEER's own address (phones have no
 * certificate to authorise more), one alias per connection (the newest),
 * never one that names another connection. Called on W's thread, as
 * transport_conn_keep(). False when refused.
 */
bool transport_conn_alias(struct worker *w, const struct sockaddr_storage *peer,
			  const struct sockaddr_storage *alias);

/*
 * Give a message to worker TO (an index). On W's own thread and TO == W,
 * on_handoff() runs at once with M, no copy and no second parse; otherwise
 * BUF is copied to TO's inbox and on_handoff() gets M = NULL there.
 * Called from a transport_ops callback of W.
 */
void transport_handoff(struct worker *w, int to, const struct sip_msg *m, const char *buf,
		       size_t len, const struct sip_source *src);

/* The certificate TLS listeners present (`ksipctl tls show`); false when there is no TLS listener. */
struct transport_tls_info {
	char path[512];			/* its file */
	char subject[256];
	char not_after[64];		/* "YYYY-MM-DD HH:MM:SS UTC" */
	char fingerprint[100];		/* SHA-256, AA:BB:... */
};
bool transport_tls_info(struct transport *t, struct transport_tls_info *out);
/*
 * Load CFG's certificate and key anew (the self-signed pair when none is
 * configured) for the TLS connections accepted from now on; open ones keep
 * the one they started with, nothing is dropped. -1 (logged) when they do
 * not load: the certificate in use stays. Any thread.
 */
int transport_tls_reload(struct transport *t, const struct ksip_config *cfg);

/* What the layer above keeps for W: the ARG of its callbacks. Before transport_start(). */
void worker_attach(struct worker *w, void *arg);
int worker_index(const struct worker *w);
/* W's epoll set, for handlers the layer above adds (base/evloop.h); W's thread only. */
int worker_epfd(const struct worker *w);
/* W's counters: written by W (or a thread holding W's lock), read by anyone. */
struct ksip_stats *worker_stats(struct worker *w);
/* Our listening port for FAMILY and TP (0 when none). */
uint16_t worker_port(const struct worker *w, int family, enum ksip_transport tp);

/* For threads other than W's: hold W while touching what W owns. */
void worker_lock(struct worker *w);
void worker_unlock(struct worker *w);

#endif
