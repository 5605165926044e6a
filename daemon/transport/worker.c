// SPDX-License-Identifier: GPL-2.0
#include "transport/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/conn_map.h"
#include "base/evloop.h"
#include "ksip/endpoint.h"
#include "base/log.h"
#include "media/media.h"
#include "proxy/proxy.h"
#include "dispatch.h"
#include "sip/msg.h"
#include "txn/cache.h"

#define UDP_BATCH 32
#define UDP_BUF 16384		/* larger datagrams arrive truncated and are dropped */
#define UDP_ROUNDS 8		/* batches per wake-up before looking at other sockets */
#define TCP_RBUF_MAX (SIP_MAX_MESSAGE + 4096)
#define TCP_WBUF_MAX (256 * 1024)
#define TXN_SLOTS 65536

struct inbox_msg {
	struct inbox_msg *next;
	uint64_t conn_id;		/* 0: a SIP message to handle; else bytes for that connection */
	struct sip_source src;
	size_t len;
	char data[];
};

struct tcp_conn {
	struct ep_ref ref;
	uint64_t id;
	struct tcp_conn *prev, *next;
	struct sip_source peer;
	time_t last_active;
	size_t rlen, wlen;
	char *rbuf;
	char *wbuf;
};

/* Listening sockets keep their ep_ref next to the fd array. */
struct listen_refs {
	struct ep_ref stop;
	struct ep_ref inbox;
	struct ep_ref ref[MAX_LISTEN];
};

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

static int ep_add(struct worker *w, int fd, struct ep_ref *ref, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ref };

	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct worker *worker_new(struct ksipd *d, int id)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct listen_refs *refs = calloc(1, sizeof(*refs));

	if (!w || !refs) {
		free(w);
		free(refs);
		return NULL;
	}
	w->d = d;
	w->id = id;
	w->listeners = refs;
	w->epfd = w->stop_fd = w->inbox_fd = -1;
	pthread_mutex_init(&w->inbox_lock, NULL);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->inbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->txc = txn_cache_new(TXN_SLOTS);
	if (w->epfd < 0 || w->stop_fd < 0 || w->inbox_fd < 0 || !w->txc)
		goto fail;
	w->proxy = proxy_new(&(struct proxy_env){ .cfg = &d->cfg, .users = d->users, .loc = d->loc,
						  .nworkers = d->nworkers, .d = d },
			     id, &w->stats, w->epfd);
	if (!w->proxy)
		goto fail;
	refs->stop = (struct ep_ref){ EP_STOP, w->stop_fd };
	ep_add(w, w->stop_fd, &refs->stop, EPOLLIN);
	refs->inbox = (struct ep_ref){ EP_INBOX, w->inbox_fd };
	ep_add(w, w->inbox_fd, &refs->inbox, EPOLLIN);
	for (int i = 0; i < d->cfg.nlisten; i++) {
		const struct listen_addr *l = &d->cfg.listen[i];
		char addr[64];
		int fd = make_socket(l);

		ksip_format_endpoint(&l->addr, addr, sizeof(addr));
		if (fd < 0) {
			log_err("cannot listen on %s %s: %s", l->transport == KSIP_UDP ? "udp" : "tcp",
				addr, strerror(errno));
			goto fail;
		}
		refs->ref[i] = (struct ep_ref){ l->transport == KSIP_UDP ? EP_UDP : EP_TCP_LISTEN, fd };
		ep_add(w, fd, &refs->ref[i], EPOLLIN);
		if (l->transport == KSIP_UDP)
			proxy_set_socket(w->proxy, l->addr.ss_family, fd, ksip_endpoint_port(&l->addr));
		else
			proxy_set_tcp_port(w->proxy, l->addr.ss_family, ksip_endpoint_port(&l->addr));
		if (id == 0)
			log_info("listening on %s %s", l->transport == KSIP_UDP ? "udp" : "tcp", addr);
	}
	return w;
fail:
	worker_free(w);
	return NULL;
}

/* --- UDP ----------------------------------------------------------------- */

struct udp_batch {
	struct mmsghdr in[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	char buf[UDP_BATCH][UDP_BUF];
	struct mmsghdr out[UDP_BATCH];
	struct iovec oiov[UDP_BATCH];
	struct sip_out reply[UDP_BATCH];
};

/* --- proxy hand-off --------------------------------------------------------- */

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
	if (wake && write(o->inbox_fd, &one, sizeof(one)) != sizeof(one))
		log_debug("worker %d: inbox wake-up failed", o->id);
	return true;
}

void worker_to_proxy(struct worker *w, const struct sip_msg *m, const char *buf, size_t len,
		     const struct sip_source *src)
{
	struct worker *o = w->d->workers[proxy_owner(w->d->nworkers, m)];

	if (o == w) {
		/* Ours: no copy and no second parse. */
		pthread_mutex_lock(&w->proxy->lock);
		proxy_handle_msg(w->proxy, m, src);
		pthread_mutex_unlock(&w->proxy->lock);
		return;
	}
	if (inbox_post(o, 0, buf, len, src))
		STAT_INC(&w->stats, handoffs);
}

bool worker_tcp_send(struct ksipd *d, const struct sockaddr_storage *peer, const char *buf,
		     size_t len)
{
	struct conn_ref ref;

	/* Always through the inbox, even to ourselves: the caller may be the control thread. */
	return conn_map_find(peer, &ref) && ref.worker < d->nworkers &&
	       inbox_post(d->workers[ref.worker], ref.id, buf, len, NULL);
}

static void tcp_send_queued(struct worker *w, uint64_t id, const char *buf, size_t len);

static void inbox_drain(struct worker *w)
{
	struct inbox_msg *im, *next;
	uint64_t n;

	if (read(w->inbox_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->inbox_lock);
	im = w->inbox_head;
	w->inbox_head = w->inbox_tail = NULL;
	pthread_mutex_unlock(&w->inbox_lock);
	for (; im; im = next) {
		next = im->next;
		if (im->conn_id) {
			tcp_send_queued(w, im->conn_id, im->data, im->len);
		} else {
			pthread_mutex_lock(&w->proxy->lock);
			proxy_handle(w->proxy, im->data, im->len, &im->src);
			pthread_mutex_unlock(&w->proxy->lock);
		}
		free(im);
	}
}

static void udp_drain(struct worker *w, int fd, struct udp_batch *b)
{
	struct sip_ctx ctx = { w->d, &w->stats, w->txc, time(NULL), w };

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
			if (!sip_process(&ctx, b->buf[i], len, &src, o))
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

static void conn_close(struct worker *w, struct tcp_conn *c)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->ref.fd, NULL);
	close(c->ref.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	conn_map_del(&c->peer.addr, c->id);
	STAT_INC(&w->stats, tcp_closed);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

static void tcp_accept(struct worker *w, int lfd)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tcp_conn *c;
		int one = 1;

		if (fd < 0)
			return;
		if (w->nconns >= w->d->cfg.tcp_max_connections / (unsigned int)w->d->nworkers + 1) {
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
		c->ref = (struct ep_ref){ EP_TCP_CONN, fd };
		memcpy(&c->peer.addr, &ss, sizeof(ss));
		c->peer.addrlen = sl;
		c->peer.transport = KSIP_TCP;
		c->last_active = time(NULL);
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		w->nconns++;
		c->id = ++w->conn_seq;
		conn_map_add(&ss, w->id, c->id);
		STAT_INC(&w->stats, tcp_accepted);
		ep_add(w, fd, &c->ref, EPOLLIN | EPOLLRDHUP);
	}
}

/* Queue or send bytes; returns -1 when the connection must be closed. */
static int conn_write(struct worker *w, struct tcp_conn *c, const char *p, size_t n)
{
	ssize_t r = 0;

	if (!c->wlen) {
		r = send(c->ref.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
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
	{
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP,
					  .data.ptr = &c->ref };

		epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->ref.fd, &ev);
	}
	return 0;
}

static void tcp_send_queued(struct worker *w, uint64_t id, const char *buf, size_t len)
{
	/* Linear: a worker holds at most tcp_max_connections / workers connections. */
	for (struct tcp_conn *c = w->conns; c; c = c->next) {
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
	ssize_t r = send(c->ref.fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (r < 0)
		return errno == EAGAIN ? 0 : -1;
	memmove(c->wbuf, c->wbuf + r, c->wlen - (size_t)r);
	c->wlen -= (size_t)r;
	if (!c->wlen) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = &c->ref };

		epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->ref.fd, &ev);
	}
	return 0;
}

/* Consume complete messages and keepalives from the read buffer. */
static int conn_consume(struct worker *w, struct tcp_conn *c, struct sip_out *o)
{
	struct sip_ctx ctx = { w->d, &w->stats, w->txc, time(NULL), w };
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
		if (sip_process(&ctx, p, (size_t)n, &c->peer, o) && conn_write(w, c, o->buf, o->len))
			return -1;
		pos += (size_t)n;
	}
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	return 0;
}

static void tcp_readable(struct worker *w, struct tcp_conn *c, struct sip_out *o)
{
	for (int i = 0; i < 16; i++) {
		ssize_t r;

		if (c->rlen == TCP_RBUF_MAX) {
			STAT_INC(&w->stats, parse_errors);
			conn_close(w, c);
			return;
		}
		r = recv(c->ref.fd, c->rbuf + c->rlen, TCP_RBUF_MAX - c->rlen, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(w, c);
			return;
		}
		if (r < 0)
			return;
		c->rlen += (size_t)r;
		c->last_active = time(NULL);
		if (conn_consume(w, c, o)) {
			conn_close(w, c);
			return;
		}
	}
}

static void tcp_sweep_idle(struct worker *w, time_t now)
{
	struct tcp_conn *c = w->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (now - c->last_active > (time_t)w->d->cfg.tcp_idle_timeout)
			conn_close(w, c);
	}
}

/* --- loop ---------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct udp_batch *b = malloc(sizeof(*b));
	struct sip_out *o = malloc(sizeof(*o));
	struct epoll_event ev[64];
	time_t last_sweep = time(NULL);
	bool running = true;

	if (!b || !o) {
		log_err("worker %d: out of memory", w->id);
		free(b);
		free(o);
		return NULL;
	}
	while (running) {
		int n = epoll_wait(w->epfd, ev, 64, proxy_tick(w->proxy, 1000));
		time_t now;

		for (int i = 0; i < n; i++) {
			struct ep_ref *ref = ev[i].data.ptr;

			switch (ref->kind) {
			case EP_UDP:
				udp_drain(w, ref->fd, b);
				break;
			case EP_TCP_LISTEN:
				tcp_accept(w, ref->fd);
				break;
			case EP_TCP_CONN: {
				struct tcp_conn *c = (struct tcp_conn *)ref;

				if (ev[i].events & EPOLLOUT && conn_flush(w, c)) {
					conn_close(w, c);
					break;
				}
				if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					tcp_readable(w, c, o);
				break;
			}
			case EP_INBOX:
				inbox_drain(w);
				break;
			case EP_RELAY:
				pthread_mutex_lock(&w->proxy->lock);
				media_readable(w->proxy->media, ref);
				pthread_mutex_unlock(&w->proxy->lock);
				break;
			case EP_STOP:
				running = false;
				break;
			}
		}
		pthread_mutex_lock(&w->proxy->lock);
		media_reap(w->proxy->media);
		pthread_mutex_unlock(&w->proxy->lock);
		now = time(NULL);
		if (now != last_sweep) {
			tcp_sweep_idle(w, now);
			last_sweep = now;
		}
	}
	free(b);
	free(o);
	return NULL;
}

int worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w);
}

void worker_stop(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("worker %d: cannot signal stop", w->id);
	pthread_join(w->thread, NULL);
}

void worker_free(struct worker *w)
{
	struct listen_refs *refs;

	if (!w)
		return;
	refs = w->listeners;
	proxy_free(w->proxy);
	while (w->inbox_head) {
		struct inbox_msg *im = w->inbox_head;

		w->inbox_head = im->next;
		free(im);
	}
	if (w->inbox_fd >= 0)
		close(w->inbox_fd);
	while (w->conns)
		conn_close(w, w->conns);
	for (int i = 0; refs && i < w->d->cfg.nlisten; i++)
		if (refs->ref[i].fd > 0)
			close(refs->ref[i].fd);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	txn_cache_free(w->txc);
	free(refs);
	free(w);
}
