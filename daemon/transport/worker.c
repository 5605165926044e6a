// SPDX-License-Identifier: GPL-2.0
/* The workers: threads, their loop and lock, the inbox between them, sending. */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "ksip/endpoint.h"
#include "transport/conn_map.h"
#include "transport/netpath.h"
#include "transport/tls.h"
#include "transport/worker_priv.h"

#define EV_BATCH 64

struct inbox_msg {
	struct inbox_msg *next;
	uint64_t conn_id;		/* 0: a handed-off message; else bytes for that connection */
	struct sip_source src;
	size_t len;
	char data[];
};

static int fam_index(int family)
{
	return family == AF_INET6;
}

static bool ip_is_any(const struct sockaddr_storage *ss)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (ss->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &any6, sizeof(any6));
	return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
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
	/* A wildcard UDP socket learns which of our addresses each datagram was sent to. */
	if (type == SOCK_DGRAM && ip_is_any(&l->addr)) {
		if (l->addr.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
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

/*
 * Queue a message for worker O; false when out of memory (like a lost
 * datagram) or when O's inbox holds inbox_max messages already: a flood
 * handed over by other workers must not grow memory (issue 12). FROM, the
 * posting worker (its lock held), counts the drop.
 */
static bool inbox_post(struct worker *from, struct worker *o, uint64_t conn_id, const char *buf,
		       size_t len, const struct sip_source *src)
{
	struct inbox_msg *im;
	uint64_t one = 1;
	bool wake;

	if (atomic_load_explicit(&o->inbox_len, memory_order_relaxed) >= o->t->cfg->inbox_max) {
		STAT_INC(&from->stats, inbox_dropped);
		return false;
	}
	im = malloc(sizeof(*im) + len);
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
	atomic_fetch_add_explicit(&o->inbox_len, 1, memory_order_relaxed);
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
	if (inbox_post(w, o, 0, buf, len, src))
		STAT_INC(&w->stats, handoffs);
}

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
	atomic_store_explicit(&w->inbox_len, 0, memory_order_relaxed);
	pthread_mutex_unlock(&w->inbox_lock);
	for (; im; im = next) {
		next = im->next;
		if (im->conn_id == INBOX_CONNECT_FAILED) {
			if (ops->on_connect_failed)
				ops->on_connect_failed(w->arg, w, &im->src.addr);
		} else if (im->conn_id) {
			tcp_send_queued(w, im->conn_id, im->data, im->len);
		} else if (ops->on_handoff) {
			ops->on_handoff(w->arg, w, NULL, im->data, im->len, &im->src);
		}
		free(im);
	}
}

/* --- sending ------------------------------------------------------------- */

/*
 * The listener of transport TP that owns local address IP (issue 14,
 * several listen addresses): the one bound to IP itself, else a wildcard
 * one of its family (the kernel then writes IP as the source, being the
 * address the route picks), else the first of the family. Sending from the
 * first socket of a family whatever the peer broke phones on a second
 * address: a packet from address A to a phone on B's network carries
 * source A, which that network may not route back.
 */
static const struct listener *listener_for(const struct worker *w, const struct sockaddr_storage *ip,
					   enum ksip_transport tp)
{
	const struct listener *wild = NULL, *first = NULL;

	for (int i = 0; i < w->nlisteners; i++) {
		const struct listener *l = &w->listeners[i];

		if (l->at->transport != tp || l->at->addr.ss_family != ip->ss_family)
			continue;
		if (ksip_endpoint_same_ip(&l->at->addr, ip))
			return l;
		if (!wild && ip_is_any(&l->at->addr))
			wild = l;
		if (!first)
			first = l;
	}
	return wild ? wild : first;
}

/*
 * The UDP or TCP listener that owns FROM (one of our addresses, with its
 * port): bound to it exactly, else a wildcard one of that port (FROM comes
 * from a datagram's IP_PKTINFO, a binding made from one, or a Route entry
 * the proxy found local). NULL when none.
 */
static const struct listener *listener_at(const struct worker *w, const struct sockaddr_storage *from,
					  enum ksip_transport tp)
{
	const struct listener *wild = NULL;

	if (!from || !from->ss_family)
		return NULL;
	for (int i = 0; i < w->nlisteners; i++) {
		const struct listener *l = &w->listeners[i];

		if (l->at->transport != tp || l->at->addr.ss_family != from->ss_family ||
		    ksip_endpoint_port(&l->at->addr) != ksip_endpoint_port(from))
			continue;
		if (!l->wildcard && ksip_endpoint_same_ip(&l->at->addr, from))
			return l;
		if (l->wildcard && !wild && !ip_is_any(from))
			wild = l;
	}
	return wild;
}

int transport_local(struct worker *w, const struct sockaddr_storage *from,
		    const struct sockaddr_storage *dst, enum ksip_transport tp,
		    struct sockaddr_storage *local)
{
	const struct listener *l;

	if (from && from->ss_family == dst->ss_family &&
	    (listener_at(w, from, tp) ||
	     (ksip_transport_stream(tp) && conn_map_find(dst, &(struct conn_ref){ 0 })))) {
		*local = *from;
		return 0;
	}
	if (netpath_local_toward(dst, local))
		return -1;
	l = listener_for(w, local, tp);
	if (!l && ksip_transport_stream(tp))
		l = listener_for(w, local, KSIP_UDP);	/* a TCP peer with no TCP listener of ours */
	if (!l)
		return -1;
	ksip_endpoint_set_port(local, ksip_endpoint_port(&l->at->addr));
	return 0;
}

bool transport_send(struct worker *w, const struct sockaddr_storage *from,
		    const struct sockaddr_storage *dst, enum ksip_transport tp,
		    const char *buf, size_t len)
{
	if (ksip_transport_stream(tp)) {
		struct conn_ref ref;

		/* Always through the inbox, even to ourselves: the caller may be another thread. */
		if (conn_map_find(dst, &ref) && ref.worker >= 0 && ref.worker < w->t->nworkers &&
		    inbox_post(w, w->t->workers[ref.worker], ref.id, buf, len, NULL))
			return true;
	} else {
		struct sockaddr_storage local;
		const struct listener *l = NULL;
		int fd = w->udp_fd[fam_index(dst->ss_family)];
		socklen_t sl = dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
							    sizeof(struct sockaddr_in);

		/*
		 * From FROM when it is one of our sockets (the address the peer
		 * registered to or wrote to), else from the socket of the address
		 * the route to DST leaves by: what our Via says either way.
		 */
		if (from && from->ss_family == dst->ss_family)
			l = listener_at(w, from, KSIP_UDP);
		if (l && l->wildcard) {
			/* A wildcard socket: name the source, or the route would choose it. */
			char cbuf[UDP_CMSG];
			struct iovec iov = { (void *)buf, len };
			struct msghdr mh = {
				.msg_name = (void *)dst, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1,
				.msg_control = cbuf,
				.msg_controllen = udp_source_cmsg(l, from, cbuf, sizeof(cbuf)),
			};

			if (sendmsg(l->ev.fd, &mh, MSG_DONTWAIT) >= 0)
				return true;
			STAT_INC(&w->stats, send_errors);
			return false;
		}
		if (!l && !netpath_local_toward(dst, &local))
			l = listener_for(w, &local, KSIP_UDP);
		if (l)
			fd = l->ev.fd;
		if (fd >= 0 && sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)dst, sl) >= 0)
			return true;
	}
	STAT_INC(&w->stats, send_errors);
	return false;
}

enum transport_connect_result transport_connect(struct worker *w,
						const struct sockaddr_storage *from,
						const struct sockaddr_storage *dst, enum ksip_transport tp)
{
	struct sockaddr_storage local;

	if (conn_map_find(dst, &(struct conn_ref){ 0 }))
		return TRANSPORT_CONNECT_OK;	/* open, or a connect to it in progress: queue on it */
	if (transport_local(w, from, dst, tp, &local)) {
		STAT_INC(&w->stats, tcp_connect_failed);
		return TRANSPORT_CONNECT_FAILED;
	}
	return tcp_connect(w, &local, dst, tp);
}

void transport_connect_failed(struct worker *w, const struct sockaddr_storage *dst)
{
	const struct transport_ops *ops = w->t->ops;
	struct sip_source src = { 0 };

	src.addr = *dst;
	for (int i = 0; i < w->t->nworkers; i++) {
		struct worker *o = w->t->workers[i];

		if (o == w) {
			if (ops->on_connect_failed)
				ops->on_connect_failed(w->arg, w, dst);
		} else {
			/* Another worker may have queued on it; at worst (inbox full) its branch times out. */
			inbox_post(w, o, INBOX_CONNECT_FAILED, "", 0, &src);
		}
	}
}

bool worker_listens_on(const struct worker *w, const struct sockaddr_storage *addr)
{
	uint16_t port = ksip_endpoint_port(addr);

	for (int i = 0; i < w->nlisteners; i++) {
		const struct listen_addr *a = w->listeners[i].at;

		if (a->addr.ss_family == addr->ss_family && ksip_endpoint_port(&a->addr) == port &&
		    (ip_is_any(&a->addr) || ksip_endpoint_same_ip(&a->addr, addr)))
			return true;
	}
	return false;
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

		wait = tcp_accept_resume(w, wait);
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
		tcp_reap(w);
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
	if (!w)
		return;
	while (w->inbox_head) {
		struct inbox_msg *im = w->inbox_head;

		w->inbox_head = im->next;
		free(im);
	}
	tcp_close_all(w);
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
		log_err("cannot listen on %s %s: %s", ksip_transport_name(l->transport), addr,
			strerror(errno));
		return -1;
	}
	li->w = w;
	li->at = l;
	li->wildcard = ip_is_any(&l->addr);
	if (ev_add(w->epfd, &li->ev, fd, udp ? udp_readable : tcp_accept, li, EPOLLIN)) {
		log_err("worker %d: epoll: %s", w->id, strerror(errno));
		close(fd);
		return -1;
	}
	w->nlisteners++;
	/* The first of a family: where a peer with no route of its own is sent from. */
	if (udp && w->udp_fd[fam] < 0) {
		w->udp_fd[fam] = fd;
		w->udp_port[fam] = port;
	} else if (l->transport == KSIP_TCP && !w->tcp_port[fam]) {
		w->tcp_port[fam] = port;
	} else if (l->transport == KSIP_TLS && !w->tls_port[fam]) {
		w->tls_port[fam] = port;
	}
	if (w->id == 0)
		log_info("listening on %s %s", ksip_transport_name(l->transport), addr);
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
	pthread_mutex_init(&t->tls_lock, NULL);
	t->tcp_max = cfg->tcp_max_connections;	/* or sized at transport_start() */
	for (int i = 0; i < cfg->nlisten; i++) {
		if (cfg->listen[i].transport != KSIP_TLS)
			continue;
		/* One context for every worker and TLS listener: made once, read-only after. */
		t->tls_ctx = tls_ctx_new(cfg, t->tls_path, sizeof(t->tls_path));
		if (!t->tls_ctx) {
			free(t);
			return NULL;
		}
		break;
	}
	t->tls_client_ctx = tls_client_ctx_new(cfg);
	t->workers = calloc((size_t)nworkers, sizeof(*t->workers));
	if (!t->tls_client_ctx || !t->workers) {
		tls_ctx_free(t->tls_ctx);
		tls_ctx_free(t->tls_client_ctx);
		free(t->workers);
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
	tcp_size(t);
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
	tls_ctx_free(t->tls_ctx);
	tls_ctx_free(t->tls_client_ctx);
	pthread_mutex_destroy(&t->tls_lock);
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

bool transport_tls_info(struct transport *t, struct transport_tls_info *out)
{
	pthread_mutex_lock(&t->tls_lock);
	if (!t->tls_ctx) {
		pthread_mutex_unlock(&t->tls_lock);
		return false;
	}
	snprintf(out->path, sizeof(out->path), "%s", t->tls_path);
	tls_ctx_describe(t->tls_ctx, out->subject, sizeof(out->subject), out->not_after,
			 sizeof(out->not_after), out->fingerprint, sizeof(out->fingerprint));
	pthread_mutex_unlock(&t->tls_lock);
	return true;
}

int transport_tls_reload(struct transport *t, const struct ksip_config *cfg)
{
	char path[sizeof(t->tls_path)];
	SSL_CTX *ctx, *old;

	if (!t->tls_ctx)
		return 0;	/* no TLS listener: nothing to reload (set once, before the workers ran) */
	ctx = tls_ctx_new(cfg, path, sizeof(path));
	if (!ctx)
		return -1;
	pthread_mutex_lock(&t->tls_lock);
	old = t->tls_ctx;
	t->tls_ctx = ctx;
	memcpy(t->tls_path, path, sizeof(path));
	pthread_mutex_unlock(&t->tls_lock);
	/* Open connections hold references of their own: they keep the old certificate until they close. */
	tls_ctx_free(old);
	return 0;
}

uint16_t worker_port(const struct worker *w, int family, enum ksip_transport tp)
{
	int fam = fam_index(family);

	return tp == KSIP_TLS ? w->tls_port[fam] : tp == KSIP_TCP ? w->tcp_port[fam] : w->udp_port[fam];
}
