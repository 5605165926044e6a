// SPDX-License-Identifier: GPL-2.0
/*
 * TCP: connections phones open to us, framed into messages (RFC 3261
 * §18.3), with RFC 5626 keepalives. A connection stays with the worker
 * that accepted it; conn_map.h finds it from any thread.
 *
 * ksipd opens one itself only when the layer above asks (transport_connect():
 * a request too large for UDP, §18.1.1). Non-blocking: what is sent meanwhile
 * waits in the write queue; once up it is one more connection like the
 * others. A connect holds a descriptor and a slot of tcp_max_connections,
 * and at most TCP_CONNECTS_MAX are in progress at a time, each for at most
 * TCP_CONNECT_TIMEOUT_MS: a contact that black-holes SYNs costs that, no more.
 *
 * What a connection may cost is bounded (docs/security.md, "Connections"):
 * tcp_max_connections over all workers and tcp_max_per_source per address
 * (counted in conn_map.c); a message must be whole tcp_header_timeout
 * after its first byte (slowloris); a connection without a binding is
 * closed after tcp_unauth_idle_timeout of silence, one with a binding
 * (transport_conn_keep()) after tcp_idle_timeout; a peer that does not read
 * is dropped at tcp_write_queue_max. Out of descriptors, a listener leaves
 * the epoll set for TCP_ACCEPT_BACKOFF_MS instead of waking it in a loop.
 *
 * TLS (a listener of transport tls) is the same connection with an SSL of
 * tls.c living in it: the handshake is driven by epoll like the rest, must
 * be over tcp_header_timeout after the accept (a handshake never finished
 * is a slowloris too), counts against the same caps, and then bytes go
 * through SSL_read and SSL_write into the same framing and write queue.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "ksip/endpoint.h"
#include "transport/conn_map.h"
#include "transport/fdlimit.h"
#include "transport/netpath.h"
#include "transport/tls.h"
#include "transport/worker_priv.h"

#define TCP_RBUF_MIN 2048			/* what an idle connection holds */
#define TCP_RBUF_MAX (SIP_MAX_MESSAGE + 4096)	/* a whole message and the next one's start */
#define TCP_ACCEPT_BACKOFF_MS 250		/* EMFILE: a listener's pause */
#define TCP_EMFILE_LOG_MS 10000			/* EMFILE: at most one warning per this */

struct tcp_conn {
	struct ev_handler ev;		/* ev.fd < 0 once closed */
	struct worker *w;
	struct list_head node;		/* in w->conns, then w->dead_conns once closed */
	uint64_t id;
	struct sip_source peer;
	time_t last_active;		/* last message (or, with a binding, last byte) */
	time_t msg_started;		/* first byte of the message not yet whole; 0: none */
	time_t bound_until;		/* a binding rides on it until then (transport_conn_keep()) */
	uint64_t connect_deadline_ms;	/* ours, still connecting: fails then (now_ms()); else 0 */
	struct sockaddr_storage alias;	/* TLS: its RFC 5923 alias in conn_map (family 0: none) */
	size_t rlen, rcap, wlen, wcap;
	char *rbuf;
	char *wbuf;
	SSL *ssl;			/* TLS: its state; NULL over plain TCP */
	bool handshaking;		/* TLS: the handshake is not over (msg_started is its start) */
	bool read_wants_write;		/* TLS: SSL_read waits for the socket to be writable */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Unlink C and close its socket. Its memory waits on dead_conns until the
 * epoll batch is over: an event for it may be among those still to handle.
 */
static void conn_close(struct worker *w, struct tcp_conn *c)
{
	ev_del(w->epfd, &c->ev);
	tls_conn_free(c->ssl);
	c->ssl = NULL;
	close(c->ev.fd);
	c->ev.fd = -1;
	list_del(&c->node);
	list_add(&c->node, &w->dead_conns);
	w->nconns--;
	atomic_fetch_sub(&w->t->tcp_open, 1);
	if (c->connect_deadline_ms) {
		c->connect_deadline_ms = 0;
		w->nconnecting--;
		atomic_fetch_sub(&w->t->tcp_connecting, 1);
	}
	conn_map_del(&c->peer.addr, c->id);
	if (c->alias.ss_family)
		conn_map_del(&c->alias, c->id);
	STAT_INC(&w->stats, tcp_closed);
}

void tcp_reap(struct worker *w)
{
	struct tcp_conn *c, *next;

	list_for_each_entry_safe(c, next, &w->dead_conns, node) {
		list_del(&c->node);
		free(c->rbuf);
		free(c->wbuf);
		free(c);
	}
}

/* Make room for NEED bytes in *BUF (capacity *CAP), growing by doubling up to MAX. */
static int buf_reserve(char **buf, size_t *cap, size_t need, size_t max, size_t min)
{
	size_t n = *cap ? *cap : min;
	char *p;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -1;
	while (n < need)
		n *= 2;
	if (n > max)
		n = max;
	p = realloc(*buf, n);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

/*
 * Out of descriptors (or of socket memory): accept() would fail again at
 * once, and the listening socket, level-triggered, would wake us forever.
 * Leave the epoll set for a while; tcp_accept_resume() puts it back. What
 * waits meanwhile stays in the kernel's backlog.
 */
static void accept_pause(struct listener *l, int err)
{
	struct worker *w = l->w;
	struct transport *t = w->t;
	uint64_t now = now_ms();
	uint_fast64_t last = atomic_load(&t->emfile_logged_ms);

	ev_del(w->epfd, &l->ev);
	l->paused_until_ms = now + TCP_ACCEPT_BACKOFF_MS;
	STAT_INC(&w->stats, tcp_accept_emfile);
	/* Once per interval over all workers: a log line per pause would be a flood of its own. */
	if (now - last >= TCP_EMFILE_LOG_MS &&
	    atomic_compare_exchange_strong(&t->emfile_logged_ms, &last, now)) {
		unsigned int more = atomic_exchange(&t->emfile_unlogged, 0);

		log_warn("tcp: accept: %s with %u connections open: not accepting for %d ms at a "
			 "time (%u more pauses since the last warning; see tcp_max_connections)",
			 strerror(err), atomic_load(&t->tcp_open), TCP_ACCEPT_BACKOFF_MS, more);
	} else {
		atomic_fetch_add(&t->emfile_unlogged, 1);
	}
}

int tcp_accept_resume(struct worker *w, int wait_ms)
{
	uint64_t now = 0;

	for (int i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];
		uint64_t left;

		if (!l->paused_until_ms)
			continue;
		if (!now)
			now = now_ms();
		if (now >= l->paused_until_ms) {
			l->paused_until_ms = 0;
			if (!ev_add(w->epfd, &l->ev, l->ev.fd, tcp_accept, l, EPOLLIN))
				continue;
			l->paused_until_ms = now + TCP_ACCEPT_BACKOFF_MS;	/* try again later */
		}
		left = l->paused_until_ms - now;
		if (left < (uint64_t)wait_ms)
			wait_ms = (int)left;
	}
	return wait_ms;
}

/*
 * tcp_max_connections = 0: TCP gets what the descriptor limit leaves once
 * everything long-lived is open, which is now (fdlimit.h).
 */
void tcp_size(struct transport *t)
{
	const struct ksip_config *cfg = t->cfg;
	uint64_t nofile = fdlimit_current();
	unsigned int in_use = fdlimit_in_use();
	unsigned int ports = (unsigned int)cfg->rtp_port_max - cfg->rtp_port_min + 1;

	if (cfg->tcp_max_connections) {
		t->tcp_max = cfg->tcp_max_connections;
		if (t->tcp_max + (uint64_t)in_use + FDLIMIT_SLACK > nofile)
			log_warn("tcp_max_connections %u is more than the descriptor limit %llu "
				 "leaves (%u open): accept() will meet EMFILE first",
				 t->tcp_max, (unsigned long long)nofile, in_use);
	} else {
		t->tcp_max = fdlimit_tcp_cap(nofile, in_use, ports);
	}
	log_info("tcp: at most %u connections, %u per source (descriptor limit %llu, %u open, "
		 "relay ports %u)", t->tcp_max, cfg->tcp_max_per_source,
		 (unsigned long long)nofile, in_use, ports);
}

static void conn_event(void *arg, uint32_t events);
static void connect_fail(struct worker *w, struct tcp_conn *c, bool timed_out);
static void connect_up(struct worker *w, struct tcp_conn *c);

/* Take FD from SS on as a connection of W, or say why not (the caller closes FD). */
static bool conn_admit(struct worker *w, int fd, const struct sockaddr_storage *ss, socklen_t sl,
		       enum ksip_transport tp)
{
	struct transport *t = w->t;
	struct tcp_conn *c;
	enum conn_map_result r;
	int one = 1;

	/* Over all workers: one shared count, so no worker's share sits idle while another is full. */
	if (atomic_fetch_add(&t->tcp_open, 1) >= t->tcp_max) {
		atomic_fetch_sub(&t->tcp_open, 1);
		STAT_INC(&w->stats, tcp_errors);
		return false;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		atomic_fetch_sub(&t->tcp_open, 1);
		STAT_INC(&w->stats, tcp_errors);
		return false;
	}
	c->w = w;
	c->id = ++w->conn_seq;
	memcpy(&c->peer.addr, ss, sizeof(*ss));
	c->peer.addrlen = sl;
	c->peer.transport = tp;
	if (tp == KSIP_TLS) {
		/* The SSL holds a reference to the context: a reload may swap it at any time. */
		pthread_mutex_lock(&t->tls_lock);
		c->ssl = tls_conn_new(t->tls_ctx, fd);
		pthread_mutex_unlock(&t->tls_lock);
		if (!c->ssl) {
			atomic_fetch_sub(&t->tcp_open, 1);
			STAT_INC(&w->stats, tcp_errors);
			free(c);
			return false;
		}
		c->handshaking = true;
		c->msg_started = time(NULL);	/* the handshake's deadline: tcp_header_timeout */
	}
	{
		socklen_t ll = sizeof(c->peer.local);

		/* Our end of it, exact even on a wildcard listener. */
		if (getsockname(fd, (struct sockaddr *)&c->peer.local, &ll))
			c->peer.local.ss_family = 0;
	}
	c->last_active = time(NULL);
	r = conn_map_add(ss, w->id, c->id, c, t->cfg->tcp_max_per_source);
	if (r != CONN_MAP_OK) {
		atomic_fetch_sub(&t->tcp_open, 1);
		if (r == CONN_MAP_SOURCE_FULL)
			STAT_INC(&w->stats, tcp_refused_source);
		else
			STAT_INC(&w->stats, tcp_errors);
		tls_conn_free(c->ssl);
		free(c);
		return false;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ev_add(w->epfd, &c->ev, fd, conn_event, c, EPOLLIN | EPOLLRDHUP)) {
		conn_map_del(ss, c->id);
		atomic_fetch_sub(&t->tcp_open, 1);
		STAT_INC(&w->stats, tcp_errors);
		tls_conn_free(c->ssl);
		free(c);
		return false;
	}
	list_add(&c->node, &w->conns);
	w->nconns++;
	STAT_INC(&w->stats, tcp_accepted);
	return true;
}

void tcp_accept(void *arg, uint32_t events)
{
	struct listener *l = arg;
	struct worker *w = l->w;

	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->ev.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(l, errno);
			return;
		}
		/* Over a cap: closed at once, before it costs more than this accept(). */
		if (!conn_admit(w, fd, &ss, sl, l->at->transport))
			close(fd);
	}
}

/* Undo what tcp_connect() counted before it gave up. */
static enum transport_connect_result connect_refused(struct worker *w, bool open_counted)
{
	atomic_fetch_sub(&w->t->tcp_connecting, 1);
	if (open_counted)
		atomic_fetch_sub(&w->t->tcp_open, 1);
	STAT_INC(&w->stats, tcp_connect_refused);
	return TRANSPORT_CONNECT_BUSY;
}

enum transport_connect_result tcp_connect(struct worker *w, const struct sockaddr_storage *local,
					  const struct sockaddr_storage *dst, enum ksip_transport tp)
{
	struct transport *t = w->t;
	unsigned int share = (TCP_CONNECTS_MAX + (unsigned int)t->nworkers - 1) /
			     (unsigned int)t->nworkers;
	socklen_t sl = dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						    sizeof(struct sockaddr_in);
	struct sockaddr_storage src = *local;
	enum conn_map_result r;
	struct tcp_conn *c;
	int fd, one = 1;
	bool connecting;

	/* Each worker its share, and all of them the total: no worker starves the others. */
	if (w->nconnecting >= share) {
		STAT_INC(&w->stats, tcp_connect_refused);
		return TRANSPORT_CONNECT_BUSY;
	}
	if (atomic_fetch_add(&t->tcp_connecting, 1) >= TCP_CONNECTS_MAX)
		return connect_refused(w, false);
	/* A connection of ours is one of tcp_max_connections like any accepted one. */
	if (atomic_fetch_add(&t->tcp_open, 1) >= t->tcp_max)
		return connect_refused(w, true);
	c = calloc(1, sizeof(*c));
	fd = c ? socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
	if (fd < 0) {
		free(c);
		return connect_refused(w, true);	/* out of memory or of descriptors */
	}
	/* From our address towards DST (what Via says); the port is the kernel's, chosen at connect(). */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ksip_endpoint_set_port(&src, 0);
	if (bind(fd, (const struct sockaddr *)&src, sl))
		log_debug("tcp: connect: cannot bind our address: %s", strerror(errno));
	connecting = connect(fd, (const struct sockaddr *)dst, sl) != 0;
	if (connecting && errno != EINPROGRESS) {
		/* Refused at once (loopback answers a SYN to a closed port before connect() returns). */
		close(fd);
		free(c);
		atomic_fetch_sub(&t->tcp_connecting, 1);
		atomic_fetch_sub(&t->tcp_open, 1);
		STAT_INC(&w->stats, tcp_connect_failed);
		return TRANSPORT_CONNECT_FAILED;
	}
	c->w = w;
	c->id = ++w->conn_seq;
	c->peer.addr = *dst;
	c->peer.addrlen = sl;
	c->peer.transport = tp;
	c->peer.local = *local;	/* our address with our listening port: what we tell peers */
	if (tp == KSIP_TLS) {
		/* Up once the TLS handshake is over too: connect_done() starts it, same deadline. */
		c->ssl = tls_conn_new_client(t->tls_client_ctx, fd);
		if (!c->ssl) {
			close(fd);
			free(c);
			return connect_refused(w, true);
		}
	}
	c->last_active = time(NULL);
	/* At most one connection per destination: another worker's may have won the race. */
	r = conn_map_add_new(dst, w->id, c->id, c, t->cfg->tcp_max_per_source);
	if (r != CONN_MAP_OK) {
		tls_conn_free(c->ssl);
		close(fd);
		free(c);
		atomic_fetch_sub(&t->tcp_connecting, 1);
		atomic_fetch_sub(&t->tcp_open, 1);
		if (r == CONN_MAP_EXISTS)
			return TRANSPORT_CONNECT_OK;
		if (r == CONN_MAP_SOURCE_FULL)
			STAT_INC(&w->stats, tcp_refused_source);
		else
			STAT_INC(&w->stats, tcp_errors);
		return TRANSPORT_CONNECT_BUSY;
	}
	if (ev_add(w->epfd, &c->ev, fd, conn_event, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP)) {
		conn_map_del(dst, c->id);
		tls_conn_free(c->ssl);
		close(fd);
		free(c);
		atomic_fetch_sub(&t->tcp_connecting, 1);
		atomic_fetch_sub(&t->tcp_open, 1);
		STAT_INC(&w->stats, tcp_errors);
		return TRANSPORT_CONNECT_BUSY;
	}
	if (connecting || c->ssl) {	/* TLS: not up before its handshake, even on loopback */
		c->connect_deadline_ms = now_ms() + TCP_CONNECT_TIMEOUT_MS;
		w->nconnecting++;
	} else {
		atomic_fetch_sub(&t->tcp_connecting, 1);	/* up at once */
	}
	list_add(&c->node, &w->conns);
	w->nconns++;
	STAT_INC(&w->stats, tcp_connects);
	return TRANSPORT_CONNECT_OK;
}

bool transport_conn_keep(struct worker *w, const struct sockaddr_storage *peer, time_t until)
{
	struct conn_ref ref;
	struct tcp_conn *c;

	/* Only W closes its connections, under its lock, which we hold: REF.conn is alive. */
	if (!conn_map_find(peer, &ref) || ref.worker != w->id || !ref.conn)
		return false;
	c = ref.conn;
	c->bound_until = until;
	return true;
}

bool transport_conn_alias(struct worker *w, const struct sockaddr_storage *peer,
			  const struct sockaddr_storage *alias)
{
	struct conn_ref ref;
	struct tcp_conn *c;

	if (!conn_map_find(peer, &ref) || ref.worker != w->id || !ref.conn)
		return false;
	c = ref.conn;
	/*
	 * RFC 5923 wants the alias authorised by the peer's certificate;
	 * phones have none. What a phone can prove is its address: a TLS
	 * connection from it, so a port on that address only, never another
	 * host's (§10: an alias is no way to capture another's requests).
	 */
	if (!c->ssl || c->handshaking || !ksip_endpoint_same_ip(peer, alias) ||
	    ksip_endpoint_port(alias) == ksip_endpoint_port(peer))
		return false;
	if (c->alias.ss_family) {
		if (ksip_endpoint_port(&c->alias) == ksip_endpoint_port(alias))
			return true;	/* said again: already so */
		conn_map_del(&c->alias, c->id);	/* one per connection: the newest */
		c->alias.ss_family = 0;
	}
	if (conn_map_add_alias(alias, w->id, c->id, c) != CONN_MAP_OK)
		return false;
	c->alias = *alias;
	return true;
}

/*
 * send() or, over TLS, SSL_write(): the same answers. What waits after a
 * blocked SSL_write() stays first in the write queue, and the queue is what
 * the next SSL_write() is given: OpenSSL's rule for a retry holds.
 */
static ssize_t conn_send(struct tcp_conn *c, const char *p, size_t n)
{
	bool want_write = false;

	if (!c->ssl)
		return send(c->ev.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	return tls_write(c->ssl, p, n, &want_write);	/* waits for EPOLLOUT, which a queue asks */
}

/* The events C waits for: readable always; writable while something waits to go out. */
static void conn_watch(struct worker *w, struct tcp_conn *c, bool out)
{
	ev_mod(w->epfd, &c->ev, EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0));
}

/* Queue or send bytes; returns -1 when the connection must be closed. */
static int conn_write(struct worker *w, struct tcp_conn *c, const char *p, size_t n)
{
	size_t max = w->t->cfg->tcp_write_queue_max;
	ssize_t r = 0;

	/* Still connecting, or still in its TLS handshake: queue it. */
	if (!c->wlen && !c->connect_deadline_ms && !c->handshaking) {
		r = conn_send(c, p, n);
		if (r < 0 && errno != EAGAIN)
			return -1;
		if (r < 0)
			r = 0;
		if ((size_t)r == n)
			return 0;
	}
	if (c->wlen + n - (size_t)r > max) {
		STAT_INC(&w->stats, tcp_write_overflows);
		return -1;	/* the peer does not read: give up on it */
	}
	if (buf_reserve(&c->wbuf, &c->wcap, c->wlen + n - (size_t)r, max, SIP_OUT_MAX))
		return -1;
	memcpy(c->wbuf + c->wlen, p + r, n - (size_t)r);
	c->wlen += n - (size_t)r;
	ev_mod(w->epfd, &c->ev, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	return 0;
}

void tcp_send_queued(struct worker *w, uint64_t id, const char *buf, size_t len)
{
	struct tcp_conn *c;

	/* Linear: a worker holds at most tcp_max_connections connections. */
	list_for_each_entry(c, &w->conns, node) {
		if (c->id != id)
			continue;
		if (!conn_write(w, c, buf, len))
			return;
		if (c->connect_deadline_ms)
			connect_fail(w, c, false);	/* too much queued on a connect: its requests fail now */
		else
			conn_close(w, c);
		return;
	}
	STAT_INC(&w->stats, send_errors);	/* closed in the meantime */
}

static int conn_flush(struct worker *w, struct tcp_conn *c)
{
	ssize_t r = conn_send(c, c->wbuf, c->wlen);

	if (r < 0)
		return errno == EAGAIN ? 0 : -1;
	memmove(c->wbuf, c->wbuf + r, c->wlen - (size_t)r);
	c->wlen -= (size_t)r;
	if (!c->wlen)
		conn_watch(w, c, c->read_wants_write);
	return 0;
}

/* Nothing but the start of a ping (CR and LF) waits in the read buffer. */
static bool only_crlf(const struct tcp_conn *c)
{
	for (size_t i = 0; i < c->rlen; i++)
		if (c->rbuf[i] != '\r' && c->rbuf[i] != '\n')
			return false;
	return true;
}

/* Consume complete messages and keepalives from the read buffer. */
static int conn_consume(struct worker *w, struct tcp_conn *c, time_t now)
{
	const struct transport_ops *ops = w->t->ops;
	struct sip_out *o = w->tcp_reply;
	size_t pos = 0;
	bool whole = false;

	while (pos < c->rlen) {
		const char *p = c->rbuf + pos;
		size_t left = c->rlen - pos;
		long n;

		/* RFC 5626 §4.4.1: CRLFCRLF is a ping, answered with CRLF. */
		if (left >= 4 && !memcmp(p, "\r\n\r\n", 4)) {
			STAT_INC(&w->stats, keepalives);
			/* It keeps a flow with a binding alive (RFC 5626), not just any connection. */
			if (c->bound_until > now)
				c->last_active = now;
			if (conn_write(w, c, "\r\n", 2))
				return -1;
			pos += 4;
			continue;
		}
		if (p[0] == '\r' || p[0] == '\n') {
			if (left < 4 && !strncmp(p, "\r\n\r\n", left))
				break;	/* maybe the start of a ping */
			pos++;		/* a lone CRLF (a pong, or padding) */
			continue;
		}
		n = sip_stream_frame(p, left);
		if (n < 0) {
			/* No Content-Length or an endless header: the stream cannot be resynced. */
			STAT_INC(&w->stats, parse_errors);
			return -1;
		}
		if (n == 0)
			break;
		whole = true;
		c->last_active = now;
		o->len = 0;
		if (ops->on_message(w->arg, w, p, (size_t)n, &c->peer, o) &&
		    conn_write(w, c, o->buf, o->len))
			return -1;
		pos += (size_t)n;
	}
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	/* What is left is a message begun: its clock starts with its first byte, now. */
	if (whole || only_crlf(c))
		c->msg_started = 0;
	if (!c->msg_started && !only_crlf(c))
		c->msg_started = now;
	return 0;
}

/* recv() or, over TLS, SSL_read(): the same answers. */
static ssize_t conn_recv(struct worker *w, struct tcp_conn *c, char *p, size_t n)
{
	bool want_write = false;
	ssize_t r;

	if (!c->ssl)
		return recv(c->ev.fd, p, n, MSG_DONTWAIT);
	r = tls_read(c->ssl, p, n, &want_write);
	if (want_write != c->read_wants_write) {
		c->read_wants_write = want_write;
		conn_watch(w, c, want_write || c->wlen);
	}
	return r;
}

static void conn_readable(struct worker *w, struct tcp_conn *c)
{
	/* Over TLS, on while OpenSSL holds decrypted bytes: epoll will not announce them again. */
	for (int i = 0; i < 16 || (c->ssl && tls_pending(c->ssl)); i++) {
		ssize_t r;

		if (c->rlen == c->rcap &&
		    buf_reserve(&c->rbuf, &c->rcap, c->rlen + 1, TCP_RBUF_MAX, TCP_RBUF_MIN)) {
			STAT_INC(&w->stats, parse_errors);	/* or out of memory */
			conn_close(w, c);
			return;
		}
		r = conn_recv(w, c, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(w, c);
			return;
		}
		if (r < 0)
			return;
		c->rlen += (size_t)r;
		if (conn_consume(w, c, time(NULL))) {
			conn_close(w, c);
			return;
		}
	}
}

/* A connect of ours failed: refused, reset, unroutable, or timed out. */
static void connect_fail(struct worker *w, struct tcp_conn *c, bool timed_out)
{
	struct sockaddr_storage dst = c->peer.addr;

	if (timed_out)
		STAT_INC(&w->stats, tcp_connect_timeouts);
	else
		STAT_INC(&w->stats, tcp_connect_failed);
	conn_close(w, c);	/* out of conn_map first: the next request may try again */
	transport_connect_failed(w, &dst);
}

/* A connect of ours is up: no longer one of those in progress. */
static void connect_up(struct worker *w, struct tcp_conn *c)
{
	c->connect_deadline_ms = 0;
	w->nconnecting--;
	atomic_fetch_sub(&w->t->tcp_connecting, 1);
	c->last_active = time(NULL);
}

/*
 * The TCP handshake of C ended (writable, or an error): true when it is up.
 * Over TLS, the TLS handshake starts now (c->handshaking), under the same
 * deadline: the connection is up when that one is over (conn_handshake()).
 */
static bool connect_done(struct worker *w, struct tcp_conn *c)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(c->ev.fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		connect_fail(w, c, false);
		return false;
	}
	if (c->ssl) {
		c->handshaking = true;
		return true;
	}
	connect_up(w, c);
	if (!c->wlen)
		ev_mod(w->epfd, &c->ev, EPOLLIN | EPOLLRDHUP);
	return true;
}

/*
 * One step of C's TLS handshake, the socket being ready. Once it is over,
 * what the peer sent along with its last flight may already wait in
 * OpenSSL: it is read at once.
 */
static void conn_handshake(struct worker *w, struct tcp_conn *c)
{
	switch (tls_handshake(c->ssl)) {
	case TLS_STEP_WANT_READ:
		conn_watch(w, c, false);
		return;
	case TLS_STEP_WANT_WRITE:
		conn_watch(w, c, true);
		return;
	case TLS_STEP_FAILED:
		STAT_INC(&w->stats, tls_handshake_failed);
		if (c->connect_deadline_ms)
			connect_fail(w, c, false);	/* ours: what was queued on it fails now */
		else
			conn_close(w, c);
		return;
	case TLS_STEP_DONE:
		break;
	}
	STAT_INC(&w->stats, tls_handshakes);
	if (c->connect_deadline_ms)
		connect_up(w, c);
	c->handshaking = false;
	c->msg_started = 0;
	c->last_active = time(NULL);
	conn_watch(w, c, c->wlen);
	conn_readable(w, c);
}

/* Under w->lock. */
static void conn_event(void *arg, uint32_t events)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;

	if (c->ev.fd < 0)
		return;		/* closed earlier in this epoll batch */
	if (c->connect_deadline_ms && !c->handshaking) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (!connect_done(w, c))
			return;
	}
	if (c->handshaking) {
		conn_handshake(w, c);
		return;
	}
	/* SSL_read waited to write (TLS 1.3 post-handshake messages): read again now. */
	if (events & EPOLLOUT && c->read_wants_write)
		events |= EPOLLIN;
	/* Writable: send what waits (for a connection just up, what was queued meanwhile). */
	if (events & EPOLLOUT && c->wlen && conn_flush(w, c)) {
		conn_close(w, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		conn_readable(w, c);
}

void tcp_sweep_idle(struct worker *w, time_t now)
{
	const struct ksip_config *cfg = w->t->cfg;
	time_t unauth = cfg->tcp_unauth_idle_timeout < cfg->tcp_idle_timeout ?
			cfg->tcp_unauth_idle_timeout : cfg->tcp_idle_timeout;
	struct tcp_conn *c, *next;
	uint64_t ms = w->nconnecting ? now_ms() : 0;

	list_for_each_entry_safe(c, next, &w->conns, node) {
		time_t idle = c->bound_until > now ? (time_t)cfg->tcp_idle_timeout : unauth;

		if (c->connect_deadline_ms) {
			/* Checked once a second: a connect fails within a second after its deadline. */
			if (ms >= c->connect_deadline_ms)
				connect_fail(w, c, true);
		} else if (c->msg_started && now - c->msg_started > (time_t)cfg->tcp_header_timeout) {
			if (c->handshaking)
				STAT_INC(&w->stats, tls_handshake_timeouts);
			else
				STAT_INC(&w->stats, tcp_header_timeouts);
			conn_close(w, c);
		} else if (now - c->last_active > idle) {
			STAT_INC(&w->stats, tcp_idle_closed);
			conn_close(w, c);
		}
	}
}

void tcp_close_all(struct worker *w)
{
	struct tcp_conn *c, *next;

	list_for_each_entry_safe(c, next, &w->conns, node)
		conn_close(w, c);
	tcp_reap(w);
}
