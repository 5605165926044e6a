// SPDX-License-Identifier: GPL-2.0
/*
 * transport/ on its own (linked with base and sip only): two workers on a
 * loopback port, driven by a fake layer above that echoes, hands messages
 * over and counts what it is called with.
 *
 *   test thread --UDP/TCP--> 127.0.0.1:PORT (2 workers, SO_REUSEPORT)
 *                                 | on_message / on_handoff / tick / after_batch
 *                                 v
 *                            struct seen (below)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "tap.h"
#include "transport/conn_map.h"
#include "transport/fdlimit.h"
#include "transport/worker.h"
#include "transport/worker_priv.h"	/* TCP_CONNECTS_MAX */

static struct seen {
	pthread_mutex_t lock;
	int messages, tcp_messages;
	char last[256];
	int handoffs_inbox, handoffs_direct, handoff_wrong;
	pthread_t direct_thread, message_thread;
	atomic_int ticks, batches;
	int worker_args_ok;
	int keeps_ok;			/* transport_conn_keep() said yes for a KEEP message */
	int connect_failed;		/* on_connect_failed() calls, over both workers */
	struct sockaddr_storage last_local;	/* our address the last message came in on */
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER, .worker_args_ok = 1 };

static struct sip_msg parsed;	/* stands for the message a SELF hand-off passes on */

static bool on_message(void *arg, struct worker *w, const char *buf, size_t len,
		       const struct sip_source *src, struct sip_out *reply)
{
	pthread_mutex_lock(&seen.lock);
	seen.messages++;
	seen.tcp_messages += src->transport == KSIP_TCP;
	snprintf(seen.last, sizeof(seen.last), "%.*s", (int)len, buf);
	seen.message_thread = pthread_self();
	seen.last_local = src->local;
	if ((intptr_t)arg != worker_index(w))
		seen.worker_args_ok = 0;
	pthread_mutex_unlock(&seen.lock);
	if (len >= 4 && !memcmp(buf, "KEEP", 4)) {
		/* What dispatch.c does after a 200 to a REGISTER over TCP. */
		bool kept = transport_conn_keep(w, &src->addr, time(NULL) + 60);

		pthread_mutex_lock(&seen.lock);
		seen.keeps_ok += kept;
		pthread_mutex_unlock(&seen.lock);
	}
	if (len >= 4 && (!memcmp(buf, "ECHO", 4) || !memcmp(buf, "KEEP", 4))) {
		reply->dst = src->addr;
		reply->dstlen = src->addrlen;
		memcpy(reply->buf, "pong", 4);
		reply->len = 4;
		return true;
	}
	if (len >= 5 && !memcmp(buf, "OTHER", 5))
		transport_handoff(w, 1 - worker_index(w), &parsed, buf, len, src);
	else if (len >= 4 && !memcmp(buf, "SELF", 4))
		transport_handoff(w, worker_index(w), &parsed, buf, len, src);
	else if (len >= 3 && !memcmp(buf, "BAD", 3))
		transport_handoff(w, 7, &parsed, buf, len, src);
	return false;
}

static void on_handoff(void *arg, struct worker *w, const struct sip_msg *m, const char *buf,
		       size_t len, const struct sip_source *src)
{
	(void)arg;
	(void)w;
	pthread_mutex_lock(&seen.lock);
	if (m == &parsed && len >= 4 && !memcmp(buf, "SELF", 4)) {
		seen.handoffs_direct++;
		seen.direct_thread = pthread_self();
	} else if (!m && len >= 5 && !memcmp(buf, "OTHER", 5) && src->transport == KSIP_UDP) {
		seen.handoffs_inbox++;
	} else {
		seen.handoff_wrong++;
	}
	pthread_mutex_unlock(&seen.lock);
}

static int tick(void *arg, struct worker *w, int max_ms)
{
	(void)arg;
	(void)w;
	atomic_fetch_add(&seen.ticks, 1);
	return max_ms < 50 ? max_ms : 50;
}

static void after_batch(void *arg, struct worker *w)
{
	(void)arg;
	(void)w;
	atomic_fetch_add(&seen.batches, 1);
}

static void on_connect_failed(void *arg, struct worker *w, const struct sockaddr_storage *dst)
{
	(void)arg;
	(void)w;
	(void)dst;
	pthread_mutex_lock(&seen.lock);
	seen.connect_failed++;
	pthread_mutex_unlock(&seen.lock);
}

static const struct transport_ops ops = {
	.on_message = on_message,
	.on_handoff = on_handoff,
	.tick = tick,
	.after_batch = after_batch,
	.on_connect_failed = on_connect_failed,
};

static int count(int *field)
{
	int v;

	pthread_mutex_lock(&seen.lock);
	v = *field;
	pthread_mutex_unlock(&seen.lock);
	return v;
}

/* Poll FIELD for up to a second until it reaches WANT. */
static bool wait_count(int *field, int want)
{
	for (int i = 0; i < 100; i++) {
		if (count(field) >= want)
			return true;
		usleep(10000);
	}
	return false;
}

static ssize_t recv_wait(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1)
		return -1;
	return recv(fd, buf, len, 0);
}

/* A port free on 127.0.0.1 for both UDP and TCP. */
static int free_port(void)
{
	for (int port = 20000 + (int)(time(NULL) % 20000), n = 0; n < 200; n++, port++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		bool free_ = !bind(u, (void *)&a, sizeof(a)) && !bind(t, (void *)&a, sizeof(a));

		close(u);
		close(t);
		if (free_)
			return port;
	}
	return -1;
}

static uint64_t stat_sum(struct transport *t, size_t offset)
{
	uint64_t sum = 0;

	for (int i = 0; i < transport_nworkers(t); i++)
		sum += *(uint64_t *)((char *)worker_stats(transport_worker(t, i)) + offset);
	return sum;
}
#define STAT_SUM(t, field) stat_sum(t, offsetof(struct ksip_stats, field))

/* A TCP connection to SRV from the loopback address FROM (127.0.0.x). */
static int tcp_from(const struct sockaddr_in *srv, const char *from)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, from, &a.sin_addr);
	if (bind(fd, (void *)&a, sizeof(a)) || connect(fd, (const void *)srv, sizeof(*srv))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Seconds until the peer closes FD (EOF or reset), or -1 if not within MAX_MS. */
static double closed_after(int fd, int max_ms)
{
	struct timespec t0, t1;
	char buf[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = max_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, left) != 1)
			return -1;
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
}


/*
 * Several listen addresses (issue 14): a request leaves from the address it
 * is given when that is one of ours, else from the route's; Via says which.
 */
static void two_addresses(void)
{
	struct ksip_config cfg2 = { 0 };
	struct sockaddr_storage a2 = { 0 }, bogus = { 0 }, local, peer;
	struct sockaddr_in *p4 = (struct sockaddr_in *)&peer, from;
	socklen_t fl = sizeof(from), pl = sizeof(peer);
	struct transport *t2;
	struct worker *w;
	char listen[96], buf[64];
	int p1 = free_port(), p2 = p1 + 1, u;

	snprintf(listen, sizeof(listen), "udp:127.0.0.1:%d udp:127.0.0.2:%d", p1, p2);
	config_defaults(&cfg2);
	ok(!config_parse_listen(&cfg2, listen), "listen on %s", listen);
	t2 = transport_new(&cfg2, 1, &ops);
	ok(t2 != NULL, "one worker with both");
	if (!t2)
		return;
	w = transport_worker(t2, 0);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&peer, 0, sizeof(peer));
	p4->sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.3", &p4->sin_addr);
	bind(u, (void *)&peer, sizeof(*p4));
	getsockname(u, (void *)&peer, &pl);
	((struct sockaddr_in *)&a2)->sin_family = AF_INET;
	((struct sockaddr_in *)&a2)->sin_port = htons((uint16_t)p2);
	inet_pton(AF_INET, "127.0.0.2", &((struct sockaddr_in *)&a2)->sin_addr);
	bogus = a2;
	((struct sockaddr_in *)&bogus)->sin_port = htons((uint16_t)(p2 + 7));

	ok(!transport_local(w, &a2, &peer, KSIP_UDP, &local) &&
	   !memcmp(&local, &a2, sizeof(struct sockaddr_in)),
	   "transport_local: the second address when the peer registered to it");
	ok(!transport_local(w, &bogus, &peer, KSIP_UDP, &local) &&
	   ntohs(((struct sockaddr_in *)&local)->sin_port) == p1,
	   "an address that is no listener of ours is not believed: the route's (port %d)", p1);
	ok(transport_send(w, &a2, &peer, KSIP_UDP, "two", 3) &&
	   recvfrom(u, buf, sizeof(buf), 0, (void *)&from, &fl) == 3 &&
	   from.sin_addr.s_addr == htonl(0x7f000002) && ntohs(from.sin_port) == p2,
	   "transport_send from the second address leaves by its socket (127.0.0.2:%d)", p2);
	fl = sizeof(from);
	ok(transport_send(w, NULL, &peer, KSIP_UDP, "one", 3) &&
	   recvfrom(u, buf, sizeof(buf), 0, (void *)&from, &fl) == 3 &&
	   from.sin_addr.s_addr == htonl(0x7f000001) && ntohs(from.sin_port) == p1,
	   "without one, by the socket of the route's address (127.0.0.1:%d)", p1);
	ok(worker_listens_on(w, &a2) && !worker_listens_on(w, &bogus),
	   "worker_listens_on: address and port together");
	close(u);
	transport_free(t2);
}

/*
 * The same on a wildcard socket (0.0.0.0): each datagram's own address
 * (IP_PKTINFO) is its local, its answer leaves from it, and so does a
 * request given that address.
 */
static void wildcard_address(void)
{
	struct ksip_config cfg3 = { 0 };
	struct sockaddr_storage a2 = { 0 }, peer = { 0 };
	struct sockaddr_in *p4 = (struct sockaddr_in *)&peer, srv2 = { .sin_family = AF_INET }, from;
	socklen_t fl = sizeof(from), pl = sizeof(peer);
	struct transport *t3;
	char listen[64], buf[64];
	int p3 = free_port(), u;
	ssize_t n;

	snprintf(listen, sizeof(listen), "udp:0.0.0.0:%d", p3);
	config_defaults(&cfg3);
	ok(!config_parse_listen(&cfg3, listen), "listen on %s", listen);
	t3 = transport_new(&cfg3, 1, &ops);
	if (!t3) {
		ok(0, "a transport on the wildcard address");
		return;
	}
	worker_attach(transport_worker(t3, 0), (void *)(intptr_t)0);
	ok(!transport_start(t3), "its worker starts");
	u = socket(AF_INET, SOCK_DGRAM, 0);
	p4->sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.3", &p4->sin_addr);
	bind(u, (void *)&peer, sizeof(*p4));
	getsockname(u, (void *)&peer, &pl);
	srv2.sin_port = htons((uint16_t)p3);
	inet_pton(AF_INET, "127.0.0.2", &srv2.sin_addr);
	sendto(u, "ECHO two", 8, 0, (void *)&srv2, sizeof(srv2));
	n = recv_wait(u, buf, sizeof(buf));
	(void)n;
	fl = sizeof(from);
	sendto(u, "ECHO two", 8, 0, (void *)&srv2, sizeof(srv2));
	n = recvfrom(u, buf, sizeof(buf), 0, (void *)&from, &fl);
	pthread_mutex_lock(&seen.lock);
	a2 = seen.last_local;
	pthread_mutex_unlock(&seen.lock);
	ok(a2.ss_family == AF_INET &&
	   ((struct sockaddr_in *)&a2)->sin_addr.s_addr == htonl(0x7f000002) &&
	   ntohs(((struct sockaddr_in *)&a2)->sin_port) == p3,
	   "a datagram to 127.0.0.2 on the wildcard socket: its local is 127.0.0.2:%d", p3);
	ok(n == 4 && from.sin_addr.s_addr == htonl(0x7f000002) && ntohs(from.sin_port) == p3,
	   "its answer leaves from 127.0.0.2, not the route's 127.0.0.1");
	worker_lock(transport_worker(t3, 0));
	fl = sizeof(from);
	ok(transport_send(transport_worker(t3, 0), &a2, &peer, KSIP_UDP, "req", 3),
	   "a request from 127.0.0.2 on the wildcard socket is sent");
	worker_unlock(transport_worker(t3, 0));
	n = recvfrom(u, buf, sizeof(buf), 0, (void *)&from, &fl);
	ok(n == 3 && from.sin_addr.s_addr == htonl(0x7f000002), "and leaves from 127.0.0.2");
	close(u);
	transport_stop(t3);
	transport_free(t3);
}

/* main() has a local named listen. */
static int start_listening(int fd)
{
	return listen(fd, 4);
}

/* A listener that takes one connection into its accept queue, then drops SYNs. */
static int listen_backlog0(int fd)
{
	return listen(fd, 0);
}

/* Poll FIELD for up to MS until it reaches WANT. */
static bool wait_count_ms(int *field, int want, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (count(field) >= want)
			return true;
		usleep(10000);
	}
	return count(field) >= want;
}

int main(void)
{
	static const char tcp_msg[] = "ECHO sip:a SIP/2.0\r\nContent-Length: 4\r\n\r\nbody";
	struct ksip_config cfg = { 0 };
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	struct transport *t;
	char listen[64], buf[32768];
	int port = free_port(), u, c, g;
	uint64_t garbage, send_errors;
	ssize_t n;

	ok(port > 0, "a free loopback port");
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	config_defaults(&cfg);
	ok(!config_parse_listen(&cfg, listen), "listen on %s (UDP and TCP)", listen);
	/* Short, so the TCP limits below are seen at work within seconds. */
	cfg.tcp_header_timeout = 1;
	cfg.tcp_unauth_idle_timeout = 2;
	cfg.tcp_max_per_source = 3;
	srv.sin_port = htons((uint16_t)port);

	t = transport_new(&cfg, 2, &ops);
	ok(t && transport_nworkers(t) == 2, "two workers");
	if (!t)
		return tap_done();
	ok(!transport_worker(t, 2) && !transport_worker(t, -1), "no worker beyond the range");
	ok(worker_port(transport_worker(t, 1), AF_INET, KSIP_UDP) == port &&
	   worker_port(transport_worker(t, 1), AF_INET, KSIP_TCP) == port &&
	   !worker_port(transport_worker(t, 1), AF_INET6, KSIP_UDP), "each worker knows its ports");
	for (int i = 0; i < 2; i++)
		worker_attach(transport_worker(t, i), (void *)(intptr_t)i);
	ok(!transport_start(t), "the workers start");

	/* UDP: a message up, its answer back from the batch. */
	u = socket(AF_INET, SOCK_DGRAM, 0);
	connect(u, (void *)&srv, sizeof(srv));
	send(u, "ECHO udp", 8, 0);
	n = recv_wait(u, buf, sizeof(buf));
	ok(n == 4 && !memcmp(buf, "pong", 4), "UDP: on_message's answer comes back");
	ok(!strcmp(seen.last, "ECHO udp") && seen.worker_args_ok,
	   "on_message gets the bytes and its worker's argument");
	for (int i = 0; i < 100 && !atomic_load(&seen.batches); i++)
		usleep(10000);	/* the answer leaves before the batch is over */
	ok(atomic_load(&seen.ticks) > 0 && atomic_load(&seen.batches) > 0,
	   "tick and after_batch run");

	/* Hand-offs: to the other worker through its inbox, to itself directly. */
	send(u, "OTHER", 5, 0);
	ok(wait_count(&seen.handoffs_inbox, 1), "a hand-off to another worker arrives, re-read");
	send(u, "SELF", 4, 0);
	ok(wait_count(&seen.handoffs_direct, 1) &&
	   pthread_equal(seen.direct_thread, seen.message_thread),
	   "a hand-off to itself passes the parsed message on the same thread");
	send(u, "BAD", 3, 0);
	ok(wait_count(&seen.messages, 4), "the hand-off to a worker that does not exist ...");
	ok(count(&seen.handoff_wrong) == 0, "... is dropped");

	/* transport_send() over UDP, by another thread holding the worker. */
	getsockname(u, (void *)&peer, &pl);
	worker_lock(transport_worker(t, 0));
	ok(transport_send(transport_worker(t, 0), NULL, &peer, KSIP_UDP, "hi", 2),
	   "UDP send from the worker's socket");
	worker_unlock(transport_worker(t, 0));
	n = recv_wait(u, buf, sizeof(buf));
	ok(n == 2 && !memcmp(buf, "hi", 2), "it arrives");

	/* Hostile: a datagram longer than the receive buffer is dropped, not cut. */
	garbage = STAT_SUM(t, garbage);
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "ECHO", 4);
	send(u, buf, 20000, 0);
	n = recv_wait(u, buf, sizeof(buf));
	ok(n < 0 && STAT_SUM(t, garbage) == garbage + 1, "an oversize datagram is dropped");

	/* worker_lock() holds the worker off. */
	worker_lock(transport_worker(t, 0));
	worker_lock(transport_worker(t, 1));
	send(u, "ECHO locked", 11, 0);
	usleep(200000);
	ok(strcmp(seen.last, "ECHO locked"), "nothing runs while both workers are held");
	worker_unlock(transport_worker(t, 1));
	worker_unlock(transport_worker(t, 0));
	n = recv_wait(u, buf, sizeof(buf));
	ok(n == 4 && !strcmp(seen.last, "ECHO locked"), "and it runs once they are let go");
	close(u);

	/* TCP: a ping, then a message in two pieces: pong, then the answer. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	ok(!connect(c, (void *)&srv, sizeof(srv)), "TCP connect");
	send(c, "\r\n\r\n", 4, 0);
	n = recv_wait(c, buf, 2);
	ok(n == 2 && !memcmp(buf, "\r\n", 2), "TCP: CRLFCRLF is answered with CRLF");
	send(c, tcp_msg, 20, 0);
	usleep(50000);
	send(c, tcp_msg + 20, sizeof(tcp_msg) - 1 - 20, 0);
	n = recv_wait(c, buf, sizeof(buf));
	ok(n == 4 && !memcmp(buf, "pong", 4), "TCP: a framed message's answer on its connection");
	ok(!strcmp(seen.last, tcp_msg) && count(&seen.tcp_messages) == 1,
	   "on_message gets exactly one framed message");

	/* transport_send() over TCP finds the peer's connection. */
	pl = sizeof(peer);
	getsockname(c, (void *)&peer, &pl);
	worker_lock(transport_worker(t, 1));
	ok(transport_send(transport_worker(t, 1), NULL, &peer, KSIP_TCP, "push", 4),
	   "TCP send to a connected peer");
	worker_unlock(transport_worker(t, 1));
	n = recv_wait(c, buf, sizeof(buf));
	ok(n == 4 && !memcmp(buf, "push", 4), "it arrives on the peer's connection");
	send_errors = STAT_SUM(t, send_errors);
	((struct sockaddr_in *)&peer)->sin_port ^= 1;
	worker_lock(transport_worker(t, 0));
	ok(!transport_send(transport_worker(t, 0), NULL, &peer, KSIP_TCP, "push", 4) &&
	   STAT_SUM(t, send_errors) == send_errors + 1,
	   "TCP send to a peer without a connection fails and is counted");
	worker_unlock(transport_worker(t, 0));

	/* Hostile: a stream that cannot be framed is closed. */
	g = socket(AF_INET, SOCK_STREAM, 0);
	connect(g, (void *)&srv, sizeof(srv));
	send(g, "GARBAGE sip:a SIP/2.0\r\nX: y\r\n\r\n", 31, 0);
	n = recv_wait(g, buf, sizeof(buf));
	ok(n == 0, "a TCP stream without Content-Length is closed");
	close(g);
	close(c);

	/* The descriptor arithmetic (fdlimit.h): slack, media at most half of what is spare. */
	ok(fdlimit_tcp_cap(64, 23, 16384) == 13 && fdlimit_tcp_cap(1024, 30, 16384) == 489 &&
	   fdlimit_tcp_cap(1 << 20, 100, 16384) == FDLIMIT_TCP_AUTO_MAX &&
	   fdlimit_tcp_cap(40, 30, 16384) == 1 && fdlimit_tcp_cap(1024, 30, 100) == 878,
	   "the TCP cap from the descriptor limit");

	/* Hostile: one source past tcp_max_per_source (3); another source is not affected. */
	{
		int s[4], other, refused = 0;
		struct sockaddr_in a = { .sin_family = AF_INET };
		uint64_t before = STAT_SUM(t, tcp_refused_source);

		for (int i = 0; i < 4; i++)
			s[i] = tcp_from(&srv, "127.0.0.7");
		for (int i = 0; i < 4; i++)
			refused += closed_after(s[i], 300) >= 0;
		inet_pton(AF_INET, "127.0.0.7", &a.sin_addr);
		ok(refused == 1 && conn_map_source_count((struct sockaddr_storage *)&a) == 3 &&
		   STAT_SUM(t, tcp_refused_source) == before + 1,
		   "the 4th connection from one address is closed at once, and counted");
		other = tcp_from(&srv, "127.0.0.8");
		send(other, tcp_msg, sizeof(tcp_msg) - 1, 0);
		n = recv_wait(other, buf, sizeof(buf));
		ok(n == 4, "another address still connects and is served");
		for (int i = 0; i < 4; i++)
			close(s[i]);
		close(other);
	}

	/* Hostile: a message that never ends, beside an idle connection and a kept one. */
	{
		static const char keep[] = "KEEP sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n";
		int slow = tcp_from(&srv, "127.0.0.9"), idle = tcp_from(&srv, "127.0.0.9");
		int kept = tcp_from(&srv, "127.0.0.9");
		double slow_t, idle_t;

		send(idle, tcp_msg, sizeof(tcp_msg) - 1, 0);
		send(kept, keep, sizeof(keep) - 1, 0);
		ok(recv_wait(idle, buf, sizeof(buf)) == 4 && recv_wait(kept, buf, sizeof(buf)) == 4 &&
		   count(&seen.keeps_ok) == 1, "transport_conn_keep() finds the connection a message came on");
		send(slow, "ECHO sip:a SIP/2.0\r\nContent-Le", 30, 0);
		slow_t = closed_after(slow, 4000);
		ok(slow_t >= 0.5 && slow_t < 3.5 && STAT_SUM(t, tcp_header_timeouts) == 1,
		   "a message not whole after tcp_header_timeout (1 s) closes its connection (%.1f s)",
		   slow_t);
		idle_t = closed_after(idle, 4000);
		ok(idle_t >= 0 && STAT_SUM(t, tcp_idle_closed) >= 1,
		   "a silent connection without a binding closes after tcp_unauth_idle_timeout (2 s)");
		send(kept, tcp_msg, sizeof(tcp_msg) - 1, 0);
		ok(recv_wait(kept, buf, sizeof(buf)) == 4, "the kept one is still open and served");
		close(slow);
		close(idle);
		close(kept);
	}
	worker_lock(transport_worker(t, 0));
	ok(!transport_conn_keep(transport_worker(t, 0), &peer, 1), "no keeping a connection that is not there");
	worker_unlock(transport_worker(t, 0));

	/* A connection of ours (§18.1.1): queued until up, then sent; one per destination. */
	{
		static const char big[] = "ECHO sip:b SIP/2.0\r\nContent-Length: 4\r\n\r\nbody";
		struct sockaddr_storage dst = { 0 }, closed_dst;
		struct worker *w0 = transport_worker(t, 0), *w1 = transport_worker(t, 1);
		int l = socket(AF_INET, SOCK_STREAM, 0), cl = socket(AF_INET, SOCK_STREAM, 0), a;
		socklen_t dl = sizeof(dst);
		uint64_t before = STAT_SUM(t, tcp_connects);
		enum transport_connect_result r1, r2, r3;
		bool sent;

		((struct sockaddr_in *)&dst)->sin_family = AF_INET;
		((struct sockaddr_in *)&dst)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(l, (struct sockaddr *)&dst, sizeof(struct sockaddr_in));
		start_listening(l);
		getsockname(l, (struct sockaddr *)&dst, &dl);
		worker_lock(w0);
		r1 = transport_connect(w0, NULL, &dst, KSIP_TCP);
		sent = transport_send(w0, NULL, &dst, KSIP_TCP, big, sizeof(big) - 1);
		worker_unlock(w0);
		worker_lock(w1);
		r2 = transport_connect(w1, NULL, &dst, KSIP_TCP);
		worker_unlock(w1);
		ok(r1 == TRANSPORT_CONNECT_OK && sent && r2 == TRANSPORT_CONNECT_OK &&
		   STAT_SUM(t, tcp_connects) == before + 1,
		   "transport_connect(): one connection to a destination, the second worker's call reuses it");
		a = accept(l, NULL, NULL);
		n = a >= 0 ? recv_wait(a, buf, sizeof(buf)) : -1;
		ok(n == (ssize_t)sizeof(big) - 1 && !memcmp(buf, big, (size_t)n),
		   "what was sent while it connected arrives once it is up");
		send(a, big, sizeof(big) - 1, 0);
		ok(recv_wait(a, buf, sizeof(buf)) == 4 && !memcmp(buf, "pong", 4),
		   "then it is an ordinary connection: a message over it is framed and answered");
		close(a);
		/* A port bound but not listening: loopback refuses it before connect() returns, or soon. */
		dl = sizeof(closed_dst);
		bind(cl, (struct sockaddr *)&((struct sockaddr_in){ .sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK) }), sizeof(struct sockaddr_in));
		getsockname(cl, (struct sockaddr *)&closed_dst, &dl);
		worker_lock(w0);
		r3 = transport_connect(w0, NULL, &closed_dst, KSIP_TCP);
		worker_unlock(w0);
		ok(r3 == TRANSPORT_CONNECT_FAILED ||
		   (r3 == TRANSPORT_CONNECT_OK && wait_count(&seen.connect_failed, 2)),
		   "a refused connect fails: at once, or reported to both workers (%d)", r3);
		ok(STAT_SUM(t, tcp_connect_failed) == 1 && STAT_SUM(t, tcp_connects) <= before + 2,
		   "counted in tcp_connect_failed");
		close(cl);
		close(l);
	}

	/*
	 * Hostile: contacts that black-hole SYNs (listeners whose accept queue is
	 * full: Linux drops further SYNs). A worker starts its share of
	 * TCP_CONNECTS_MAX and no more; each fails at TCP_CONNECT_TIMEOUT_MS.
	 */
	{
		enum { SHARE = TCP_CONNECTS_MAX / 2 };
		struct worker *w0 = transport_worker(t, 0);
		int holes[SHARE + 1], fills[SHARE + 1], busy = 0, okc = 0;
		struct sockaddr_storage hd[SHARE + 1];
		uint64_t refused = STAT_SUM(t, tcp_connect_refused);
		int failed_before = count(&seen.connect_failed), timeouts;
		bool reported;

		for (int i = 0; i <= SHARE; i++) {
			struct sockaddr_in *a = (struct sockaddr_in *)&hd[i];
			socklen_t al = sizeof(hd[i]);
			char ip[32];

			/* Each from an address of its own: tcp_max_per_source (3) counts destinations too. */
			snprintf(ip, sizeof(ip), "127.0.1.%d", 10 + i);
			memset(&hd[i], 0, sizeof(hd[i]));
			a->sin_family = AF_INET;
			inet_pton(AF_INET, ip, &a->sin_addr);
			holes[i] = socket(AF_INET, SOCK_STREAM, 0);
			bind(holes[i], (struct sockaddr *)a, sizeof(*a));
			listen_backlog0(holes[i]);
			getsockname(holes[i], (struct sockaddr *)&hd[i], &al);
			fills[i] = socket(AF_INET, SOCK_STREAM, 0);
			connect(fills[i], (struct sockaddr *)&hd[i], sizeof(*a));
		}
		worker_lock(w0);
		for (int i = 0; i <= SHARE; i++) {
			enum transport_connect_result r = transport_connect(w0, NULL, &hd[i], KSIP_TCP);

			okc += r == TRANSPORT_CONNECT_OK;
			busy += r == TRANSPORT_CONNECT_BUSY;
		}
		worker_unlock(w0);
		ok(okc == SHARE && busy == 1 && STAT_SUM(t, tcp_connect_refused) == refused + 1,
		   "black holes: a worker starts its share of connects (%d), the next is refused (%d)",
		   okc, busy);
		reported = wait_count_ms(&seen.connect_failed, failed_before + 2 * SHARE, 5000);
		timeouts = (int)STAT_SUM(t, tcp_connect_timeouts);
		ok(reported && timeouts == SHARE,
		   "each fails at the connect timeout, reported to both workers (%d timeouts)", timeouts);
		for (int i = 0; i <= SHARE; i++) {
			close(fills[i]);
			close(holes[i]);
		}
	}

	transport_stop(t);
	transport_free(t);
	ok(conn_map_size() == 0, "every connection is forgotten once the transport is freed");

	/* IPv6: a source is a /64 (a host has a whole one), so its addresses share one count. */
	{
		struct sockaddr_storage a6[3];
		static const char *addrs[] = { "2001:db8:0:1::1", "2001:db8:0:1:ffff::2",
					       "2001:db8:0:2::1" };

		for (int i = 0; i < 3; i++) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a6[i];

			memset(&a6[i], 0, sizeof(a6[i]));
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(5060);
			inet_pton(AF_INET6, addrs[i], &s6->sin6_addr);
		}
		ok(conn_map_add(&a6[0], 0, 1, NULL, 1) == CONN_MAP_OK &&
		   conn_map_add(&a6[1], 0, 2, NULL, 1) == CONN_MAP_SOURCE_FULL &&
		   conn_map_add(&a6[2], 0, 3, NULL, 1) == CONN_MAP_OK,
		   "IPv6: per-source cap of 1: another address of the /64 refused, another /64 not");
		conn_map_del(&a6[0], 1);
		conn_map_del(&a6[2], 3);
		ok(conn_map_size() == 0 && conn_map_source_count(&a6[1]) == 0,
		   "and both tables are empty once they close");
	}
	/* RFC 5923 aliases: a second name of a connection, no second connection of its source. */
	{
		struct sockaddr_storage a[3];

		for (int i = 0; i < 3; i++) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&a[i];

			memset(&a[i], 0, sizeof(a[i]));
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)(40000 + i));
			s4->sin_addr.s_addr = htonl(0x7f000001);
		}
		ok(conn_map_add(&a[0], 0, 1, NULL, 2) == CONN_MAP_OK &&
		   conn_map_add_alias(&a[1], 0, 1, NULL) == CONN_MAP_OK &&
		   conn_map_source_count(&a[0]) == 1 && conn_map_add(&a[2], 0, 2, NULL, 2) == CONN_MAP_OK,
		   "an alias is found but not counted against the source's cap");
		ok(conn_map_add_alias(&a[2], 0, 1, NULL) == CONN_MAP_EXISTS &&
		   conn_map_add_alias(&a[0], 0, 2, NULL) == CONN_MAP_EXISTS,
		   "an alias never names another connection's address");
		conn_map_del(&a[1], 1);
		conn_map_del(&a[0], 1);
		conn_map_del(&a[2], 2);
		ok(conn_map_size() == 0 && conn_map_source_count(&a[0]) == 0,
		   "connections and alias deleted: both tables are empty");
	}
	two_addresses();
	wildcard_address();
	return tap_done();
}
