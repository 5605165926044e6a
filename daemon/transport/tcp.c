// SPDX-License-Identifier: GPL-2.0
/*
 * TCP: connections phones open to us, framed into messages (RFC 3261
 * §18.3), with RFC 5626 keepalives. A connection stays with the worker
 * that accepted it; conn_map.h finds it from any thread.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/conn_map.h"
#include "transport/worker_priv.h"

#define TCP_RBUF_MAX (SIP_MAX_MESSAGE + 4096)
#define TCP_WBUF_MAX (256 * 1024)

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

static void conn_event(void *arg, uint32_t events);

void tcp_accept(void *arg, uint32_t events)
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

void tcp_send_queued(struct worker *w, uint64_t id, const char *buf, size_t len)
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

void tcp_sweep_idle(struct worker *w, time_t now)
{
	struct tcp_conn *c, *next;

	list_for_each_entry_safe(c, next, &w->conns, node)
		if (now - c->last_active > (time_t)w->t->cfg->tcp_idle_timeout)
			conn_close(w, c);
}

void tcp_close_all(struct worker *w)
{
	struct tcp_conn *c, *next;

	list_for_each_entry_safe(c, next, &w->conns, node)
		conn_close(w, c);
	tcp_reap(w);
}
