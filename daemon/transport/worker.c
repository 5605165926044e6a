// SPDX-License-Identifier: GPL-2.0
#include "transport/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/list.h"
#include "base/log.h"
#include "ksip/endpoint.h"
#include "transport/conn_map.h"

#define UDP_BATCH 32
#define UDP_BUF 16384		/* larger datagrams arrive truncated and are dropped */
#define UDP_ROUNDS 8		/* batches per wake-up before looking at other sockets */
#define TCP_RBUF_MAX (SIP_MAX_MESSAGE + 4096)
#define TCP_WBUF_MAX (256 * 1024)
#define EV_BATCH 64

struct inbox_msg {
	struct inbox_msg *next;
	uint64_t conn_id;		/* 0: a handed-off message; else bytes for that connection */
	struct sip_source src;
	size_t len;
	char data[];
};

struct tcp_conn {
	struct ev_handler ev;		/* ev.fd < 0 once closed */
	struct worker *w;
	struct list_head node;		/* in w->conns, then w->dead_conns once closed */
	uint64_t id;
	struct sip_source peer;
	time_t last_active;
	size_t rlen, wlen;
	char *rbuf;
	char *wbuf;
};

struct listener {
	struct ev_handler ev;
	struct worker *w;
};

struct udp_batch {
	struct mmsghdr in[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	char buf[UDP_BATCH][UDP_BUF];
	struct mmsghdr out[UDP_BATCH];
	struct iovec oiov[UDP_BATCH];
	struct sip_out reply[UDP_BATCH];
};

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
	struct listener listeners[MAX_LISTEN];
	int nlisteners;
	int udp_fd[2];			/* send sockets: [0] IPv4, [1] IPv6 (-1 when none) */
	uint16_t udp_port[2], tcp_port[2];
	struct list_head conns;		/* open TCP connections */
	struct list_head dead_conns;	/* closed during this epoll batch, freed after it */
	unsigned int nconns;
	uint64_t conn_seq;		/* TCP connection ids (see conn_map.h) */
	struct udp_batch *udp;		/* scratch for udp_drain() */
	struct sip_out *tcp_reply;	/* scratch for conn_consume() */
	struct ksip_stats stats;
};

struct transport {
	const struct ksip_config *cfg;
	const struct transport_ops *ops;
	int nworkers;
	struct worker **workers;
};

static int fam_index(int family)
{
	return family == AF_INET6;
}

static int make_socket(const struct listen_addr *l)
{
	int type = l->transport == KSIP_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(l->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, bufsz = 4 * 1024 * 1024;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_DGRAM)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* --- inbox --------------------------------------------------------------- */

/* Queue a message for worker O; false when out of memory (like a lost datagram). */
static bool inbox_post(struct worker *o, uint64_t conn_id, const char *buf, size_t len,
		       const struct sip_source *src)
{
	struct inbox_msg *im = malloc(sizeof(*im) + len);
	uint64_t one = 1;
	bool wake;

	if (!im)
		return false;
	im->next = NULL;
	im->conn_id = conn_id;
	if (src)
		im->src = *src;
	im->len = len;
	memcpy(im->data, buf, len);
	pthread_mutex_lock(&o->inbox_lock);
	wake = !o->inbox_head;
	if (o->inbox_tail)
		o->inbox_tail->next = im;
	else
		o->inbox_head = im;
	o->inbox_tail = im;
	pthread_mutex_unlock(&o->inbox_lock);
	if (wake && write(o->inbox.fd, &one, sizeof(one)) != sizeof(one))
		log_debug("worker %d: inbox wake-up failed", o->id);
	return true;
}

void transport_handoff(struct worker *w, int to, const struct sip_msg *m, const char *buf,
		       size_t len, const struct sip_source *src)
{
	const struct transport_ops *ops = w->t->ops;
	struct worker *o;

	if (to < 0 || to >= w->t->nworkers || !ops->on_handoff)
		return;
	o = w->t->workers[to];
	if (o == w) {
		/* Ours, and we hold our lock: no copy and no second parse. */
		ops->on_handoff(w->arg, w, m, buf, len, src);
		return;
	}
	if (inbox_post(o, 0, buf, len, src))
		STAT_INC(&w->stats, handoffs);
}

static void tcp_send_queued(struct worker *w, uint64_t id, const char *buf, size_t len);

/* Under w->lock. */
static void inbox_drain(void *arg, uint32_t events)
{
	struct worker *w = arg;
	const struct transport_ops *ops = w->t->ops;
	struct inbox_msg *im, *next;
	uint64_t n;

	(void)events;
	if (read(w->inbox.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->inbox_lock);
	im = w->inbox_head;
	w->inbox_head = w->inbox_tail = NULL;
	pthread_mutex_unlock(&w->inbox_lock);
	for (; im; im = next) {
		next = im->next;
		if (im->conn_id)
			tcp_send_queued(w, im->conn_id, im->data, im->len);
		else if (ops->on_handoff)
			ops->on_handoff(w->arg, w, NULL, im->data, im->len, &im->src);
		free(im);
	}
}

/* --- sending ------------------------------------------------------------- */

bool transport_send(struct worker *w, const struct sockaddr_storage *dst,
		    enum ksip_transport tp, const char *buf, size_t len)
{
	if (tp == KSIP_TCP) {
		struct conn_ref ref;

		/* Always through the inbox, even to ourselves: the caller may be another thread. */
		if (conn_map_find(dst, &ref) && ref.worker >= 0 && ref.worker < w->t->nworkers &&
		    inbox_post(w->t->workers[ref.worker], ref.id, buf, len, NULL))
			return true;
	} else {
		int fd = w->udp_fd[fam_index(dst->ss_family)];
		socklen_t sl = dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
							    sizeof(struct sockaddr_in);

		if (fd >= 0 && sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)dst, sl) >= 0)
			return true;
	}
	STAT_INC(&w->stats, send_errors);
	return false;
}

/* --- UDP ----------------------------------------------------------------- */

/* Under w->lock: receive in batches, answer each batch with one sendmmsg(). */
static void udp_readable(void *arg, uint32_t events)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	const struct transport_ops *ops = w->t->ops;
	struct udp_batch *b = w->udp;
	int fd = l->ev.fd;

	(void)events;
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n, nout = 0;

		for (int i = 0; i < UDP_BATCH; i++) {
			b->iov[i] = (struct iovec){ b->buf[i], UDP_BUF };
			b->in[i].msg_hdr = (struct msghdr){
				.msg_name = &b->from[i],
				.msg_namelen = sizeof(b->from[i]),
				.msg_iov = &b->iov[i],
				.msg_iovlen = 1,
			};
		}
		n = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct sip_source src;
			size_t len = b->in[i].msg_len;
			struct sip_out *o = &b->reply[nout];

			if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				STAT_INC(&w->stats, garbage);
				continue;
			}
			/* A bare CRLF keepalive over UDP needs no answer (RFC 5626 uses STUN there). */
			if (len <= 4 && strspn(b->buf[i], "\r\n") >= len) {
				STAT_INC(&w->stats, keepalives);
				continue;
			}
			memcpy(&src.addr, &b->from[i], sizeof(src.addr));
			src.addrlen = b->in[i].msg_hdr.msg_namelen;
			src.transport = KSIP_UDP;
			o->len = 0;
			if (!ops->on_message(w->arg, w, b->buf[i], len, &src, o))
				continue;
			b->oiov[nout] = (struct iovec){ o->buf, o->len };
			b->out[nout].msg_hdr = (struct msghdr){
				.msg_name = &o->dst,
				.msg_namelen = o->dstlen,
				.msg_iov = &b->oiov[nout],
				.msg_iovlen = 1,
			};
			nout++;
		}
		for (int sent = 0; sent < nout;) {
			int r = sendmmsg(fd, b->out + sent, (unsigned int)(nout - sent), MSG_DONTWAIT);

			if (r <= 0) {
				/* UDP: a full socket buffer drops the answer; the client retransmits. */
				break;
			}
			sent += r;
		}
		if (n < UDP_BATCH)
			return;
	}
}

/* --- TCP ----------------------------------------------------------------- */

/*
 * Unlink C and close its socket. Its memory waits on dead_conns until the
 * epoll batch is over: an event for it may be among those still to handle.
 */
static void conn_close(struct worker *w, struct tcp_conn *c)
{
	ev_del(w->epfd, &c->ev);
	close(c->ev.fd);
	c->ev.fd = -1;
	list_del(&c->node);
	list_add(&c->node, &w->dead_conns);
	w->nconns--;
	conn_map_del(&c->peer.addr, c->id);
	STAT_INC(&w->stats, tcp_closed);
}

static void conns_reap(struct worker *w)
{
	struct tcp_conn *c, *next;

	list_for_each_entry_safe(c, next, &w->dead_conns, node) {
		list_del(&c->node);
		free(c->rbuf);
		free(c->wbuf);
		free(c);
	}
}

static void conn_event(void *arg, uint32_t events);

static void tcp_accept(void *arg, uint32_t events)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	const struct ksip_config *cfg = w->t->cfg;

	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->ev.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tcp_conn *c;
		int one = 1;

		if (fd < 0)
			return;
		if (w->nconns >= cfg->tcp_max_connections / (unsigned int)w->t->nworkers + 1) {
			STAT_INC(&w->stats, tcp_errors);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || !(c->rbuf = malloc(TCP_RBUF_MAX))) {
			free(c);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->w = w;
		if (ev_add(w->epfd, &c->ev, fd, conn_event, c, EPOLLIN | EPOLLRDHUP)) {
			free(c->rbuf);
			free(c);
			close(fd);
			continue;
		}
		memcpy(&c->peer.addr, &ss, sizeof(ss));
		c->peer.addrlen = sl;
		c->peer.transport = KSIP_TCP;
		c->last_active = time(NULL);
		list_add(&c->node, &w->conns);
		w->nconns++;
		c->id = ++w->conn_seq;
		conn_map_add(&ss, w->id, c->id);
		STAT_INC(&w->stats, tcp_accepted);
	}
}

/* Queue or send bytes; returns -1 when the connection must be closed. */
static int conn_write(struct worker *w, struct tcp_conn *c, const char *p, size_t n)
{
	ssize_t r = 0;

	if (!c->wlen) {
		r = send(c->ev.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && errno != EAGAIN)
			return -1;
		if (r < 0)
			r = 0;
		if ((size_t)r == n)
			return 0;
	}
	if (c->wlen + n - (size_t)r > TCP_WBUF_MAX)
		return -1;	/* the peer does not read: give up on it */
	if (!c->wbuf && !(c->wbuf = malloc(TCP_WBUF_MAX)))
		return -1;
	memcpy(c->wbuf + c->wlen, p + r, n - (size_t)r);
	c->wlen += n - (size_t)r;
	ev_mod(w->epfd, &c->ev, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	return 0;
}

static void tcp_send_queued(struct worker *w, uint64_t id, const char *buf, size_t len)
{
	struct tcp_conn *c;

	/* Linear: a worker holds at most tcp_max_connections / workers connections. */
	list_for_each_entry(c, &w->conns, node) {
		if (c->id != id)
			continue;
		if (conn_write(w, c, buf, len))
			conn_close(w, c);
		return;
	}
	STAT_INC(&w->stats, send_errors);	/* closed in the meantime */
}

static int conn_flush(struct worker *w, struct tcp_conn *c)
{
	ssize_t r = send(c->ev.fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (r < 0)
		return errno == EAGAIN ? 0 : -1;
	memmove(c->wbuf, c->wbuf + r, c->wlen - (size_t)r);
	c->wlen -= (size_t)r;
	if (!c->wlen)
		ev_mod(w->epfd, &c->ev, EPOLLIN | EPOLLRDHUP);
	return 0;
}

/* Consume complete messages and keepalives from the read buffer. */
static int conn_consume(struct worker *w, struct tcp_conn *c)
{
	const struct transport_ops *ops = w->t->ops;
	struct sip_out *o = w->tcp_reply;
	size_t pos = 0;

	while (pos < c->rlen) {
		const char *p = c->rbuf + pos;
		size_t left = c->rlen - pos;
		long n;

		/* RFC 5626 §4.4.1: CRLFCRLF is a ping, answered with CRLF. */
		if (left >= 4 && !memcmp(p, "\r\n\r\n", 4)) {
			STAT_INC(&w->stats, keepalives);
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
		o->len = 0;
		if (ops->on_message(w->arg, w, p, (size_t)n, &c->peer, o) &&
		    conn_write(w, c, o->buf, o->len))
			return -1;
		pos += (size_t)n;
	}
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	return 0;
}

static void conn_readable(struct worker *w, struct tcp_conn *c)
{
	for (int i = 0; i < 16; i++) {
		ssize_t r;

		if (c->rlen == TCP_RBUF_MAX) {
			STAT_INC(&w->stats, parse_errors);
			conn_close(w, c);
			return;
		}
		r = recv(c->ev.fd, c->rbuf + c->rlen, TCP_RBUF_MAX - c->rlen, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(w, c);
			return;
		}
		if (r < 0)
			return;
		c->rlen += (size_t)r;
		c->last_active = time(NULL);
		if (conn_consume(w, c)) {
			conn_close(w, c);
			return;
		}
	}
}

/* Under w->lock. */
static void conn_event(void *arg, uint32_t events)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;

	if (c->ev.fd < 0)
		return;		/* closed earlier in this epoll batch */
	if (events & EPOLLOUT && conn_flush(w, c)) {
		conn_close(w, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		conn_readable(w, c);
}

static void tcp_sweep_idle(struct worker *w, time_t now)
{
	struct tcp_conn *c, *next;

	list_for_each_entry_safe(c, next, &w->conns, node)
		if (now - c->last_active > (time_t)w->t->cfg->tcp_idle_timeout)
			conn_close(w, c);
}

/* --- loop ---------------------------------------------------------------- */

static void stop_event(void *arg, uint32_t events)
{
	struct worker *w = arg;

	(void)events;
	w->running = false;
}

/* Between two handlers: let a thread waiting in worker_lock() in. */
static void worker_yield(struct worker *w)
{
	if (!atomic_load_explicit(&w->lock_waiters, memory_order_relaxed))
		return;
	pthread_mutex_unlock(&w->lock);
	/* Until it holds the lock: a mutex does not queue, so relocking at once could win. */
	while (atomic_load(&w->lock_waiters))
		sched_yield();
	pthread_mutex_lock(&w->lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct transport_ops *ops = w->t->ops;
	struct epoll_event ev[EV_BATCH];
	time_t last_sweep = time(NULL);

	pthread_mutex_lock(&w->lock);
	while (w->running) {
		int wait = ops->tick ? ops->tick(w->arg, w, 1000) : 1000;
		int n;
		time_t now;

		pthread_mutex_unlock(&w->lock);
		n = epoll_wait(w->epfd, ev, EV_BATCH, wait);
		pthread_mutex_lock(&w->lock);
		for (int i = 0; i < n; i++) {
			ev_dispatch(&ev[i]);
			worker_yield(w);
		}
		if (ops->after_batch)
			ops->after_batch(w->arg, w);
		now = time(NULL);
		if (now != last_sweep) {
			tcp_sweep_idle(w, now);
			last_sweep = now;
		}
		conns_reap(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void worker_lock(struct worker *w)
{
	atomic_fetch_add(&w->lock_waiters, 1);
	pthread_mutex_lock(&w->lock);
	atomic_fetch_sub(&w->lock_waiters, 1);
}

void worker_unlock(struct worker *w)
{
	pthread_mutex_unlock(&w->lock);
}

/* --- set-up and teardown ------------------------------------------------- */

static void worker_free(struct worker *w)
{
	struct tcp_conn *c, *next;

	if (!w)
		return;
	while (w->inbox_head) {
		struct inbox_msg *im = w->inbox_head;

		w->inbox_head = im->next;
		free(im);
	}
	list_for_each_entry_safe(c, next, &w->conns, node)
		conn_close(w, c);
	conns_reap(w);
	for (int i = 0; i < w->nlisteners; i++)
		close(w->listeners[i].ev.fd);
	if (w->inbox.fd >= 0)
		close(w->inbox.fd);
	if (w->stop.fd >= 0)
		close(w->stop.fd);
	if (w->epfd >= 0)
		close(w->epfd);
	pthread_mutex_destroy(&w->inbox_lock);
	pthread_mutex_destroy(&w->lock);
	free(w->udp);
	free(w->tcp_reply);
	free(w);
}

static int worker_listen(struct worker *w, const struct listen_addr *l)
{
	struct listener *li = &w->listeners[w->nlisteners];
	bool udp = l->transport == KSIP_UDP;
	int fam = fam_index(l->addr.ss_family);
	uint16_t port = ksip_endpoint_port(&l->addr);
	char addr[64];
	int fd = make_socket(l);

	ksip_format_endpoint(&l->addr, addr, sizeof(addr));
	if (fd < 0) {
		log_err("cannot listen on %s %s: %s", udp ? "udp" : "tcp", addr, strerror(errno));
		return -1;
	}
	li->w = w;
	if (ev_add(w->epfd, &li->ev, fd, udp ? udp_readable : tcp_accept, li, EPOLLIN)) {
		log_err("worker %d: epoll: %s", w->id, strerror(errno));
		close(fd);
		return -1;
	}
	w->nlisteners++;
	/* The first address of a family is the one we send from and write into Via. */
	if (udp && w->udp_fd[fam] < 0) {
		w->udp_fd[fam] = fd;
		w->udp_port[fam] = port;
	} else if (!udp && !w->tcp_port[fam]) {
		w->tcp_port[fam] = port;
	}
	if (w->id == 0)
		log_info("listening on %s %s", udp ? "udp" : "tcp", addr);
	return 0;
}

static struct worker *worker_new(struct transport *t, int id)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->t = t;
	w->id = id;
	w->running = true;
	w->stop.fd = w->inbox.fd = -1;
	w->udp_fd[0] = w->udp_fd[1] = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->inbox_lock, NULL);
	list_init(&w->conns);
	list_init(&w->dead_conns);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->udp = malloc(sizeof(*w->udp));
	w->tcp_reply = malloc(sizeof(*w->tcp_reply));
	if (w->epfd < 0 || !w->udp || !w->tcp_reply)
		goto fail;
	if (ev_add(w->epfd, &w->stop, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), stop_event, w,
		   EPOLLIN) ||
	    ev_add(w->epfd, &w->inbox, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), inbox_drain, w,
		   EPOLLIN))
		goto fail;
	for (int i = 0; i < t->cfg->nlisten; i++)
		if (worker_listen(w, &t->cfg->listen[i]))
			goto fail;
	return w;
fail:
	worker_free(w);
	return NULL;
}

struct transport *transport_new(const struct ksip_config *cfg, int nworkers,
				const struct transport_ops *ops)
{
	struct transport *t = calloc(1, sizeof(*t));

	if (!t || nworkers < 1 || !ops->on_message) {
		free(t);
		return NULL;
	}
	t->cfg = cfg;
	t->ops = ops;
	t->workers = calloc((size_t)nworkers, sizeof(*t->workers));
	if (!t->workers) {
		free(t);
		return NULL;
	}
	for (int i = 0; i < nworkers; i++) {
		t->workers[i] = worker_new(t, i);
		if (!t->workers[i]) {
			transport_free(t);
			return NULL;
		}
		t->nworkers++;
	}
	return t;
}

int transport_start(struct transport *t)
{
	for (int i = 0; i < t->nworkers; i++) {
		struct worker *w = t->workers[i];
		int err = pthread_create(&w->thread, NULL, worker_main, w);

		if (err) {
			log_err("worker %d: cannot start its thread: %s", i, strerror(err));
			transport_stop(t);
			return -1;
		}
		w->started = true;
	}
	return 0;
}

void transport_stop(struct transport *t)
{
	uint64_t one = 1;

	for (int i = 0; i < t->nworkers; i++) {
		struct worker *w = t->workers[i];

		if (!w->started)
			continue;
		if (write(w->stop.fd, &one, sizeof(one)) != sizeof(one))
			log_warn("worker %d: cannot signal stop", w->id);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void transport_free(struct transport *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nworkers; i++)
		worker_free(t->workers[i]);
	free(t->workers);
	free(t);
}

int transport_nworkers(const struct transport *t)
{
	return t->nworkers;
}

struct worker *transport_worker(const struct transport *t, int index)
{
	return index >= 0 && index < t->nworkers ? t->workers[index] : NULL;
}

void worker_attach(struct worker *w, void *arg)
{
	w->arg = arg;
}

int worker_index(const struct worker *w)
{
	return w->id;
}

int worker_epfd(const struct worker *w)
{
	return w->epfd;
}

struct ksip_stats *worker_stats(struct worker *w)
{
	return &w->stats;
}

uint16_t worker_port(const struct worker *w, int family, enum ksip_transport tp)
{
	int fam = fam_index(family);

	return tp == KSIP_TCP ? w->tcp_port[fam] : w->udp_port[fam];
}
