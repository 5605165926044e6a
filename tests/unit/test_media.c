// SPDX-License-Identifier: GPL-2.0
/*
 * media/ on its own, userspace relay on loopback:
 *
 *   phone A (leg 0) ---> relay_port[0] [ksipd relay] relay_port[1] <--- phone B (leg 1)
 *
 * Streams open and close, a datagram crosses each way, a stranger is not
 * relayed once A is latched, ports go back to the pool, an exhausted pool
 * (or a port some other program holds) makes media_open fail without a leak.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/stats.h"
#include "ksip/endpoint.h"
#include "media/media.h"
#include "media/port_pool.h"
#include "tap.h"

static struct sockaddr_storage loopback(uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return ss;
}

/* A phone: a UDP socket on loopback; its address in *ADDR. */
static int phone(struct sockaddr_storage *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*addr);

	*addr = loopback(0);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(struct sockaddr_in)) ||
	    getsockname(fd, (struct sockaddr *)addr, &len))
		return -1;
	return fd;
}

static void send_to_port(int fd, uint16_t port, const char *msg)
{
	struct sockaddr_storage to = loopback(port);

	sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(struct sockaddr_in));
}

/* Run the worker's side: one epoll batch dispatched, then media_reap(). */
static int run_batch(int epfd, struct media *m)
{
	struct epoll_event ev[16];
	int n = epoll_wait(epfd, ev, 16, 200);

	for (int i = 0; i < n; i++)
		ev_dispatch(&ev[i]);
	media_reap(m);
	return n;
}

/* What FD received within a short while, NUL-terminated; "" if nothing. */
static const char *received(int fd, char *buf, size_t cap)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	buf[0] = 0;
	if (poll(&p, 1, 200) <= 0)
		return buf;
	n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/*
 * An even base below the ephemeral ports (32768 up), where the phones'
 * sockets land, and spread by pid so parallel runs rarely meet.
 */
static uint16_t range_base(void)
{
	return (uint16_t)(22000 + (getpid() % 1000) * 8);
}

int main(void)
{
	struct ksip_config cfg = { 0 };
	struct ksip_stats st = { 0 };
	struct media_env env = { 0 };
	struct media_stream s1, s2, s3;
	struct media_flow_ref flows[2];
	struct sockaddr_storage relay_ip[2] = { loopback(0), loopback(0) }, a_addr, b_addr, c_addr;
	uint64_t pk[2], idle;
	char buf[64];
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	int a = phone(&a_addr), b = phone(&b_addr), c = phone(&c_addr);
	uint16_t base = range_base();
	struct media *m;

	ok(epfd >= 0 && a >= 0 && b >= 0 && c >= 0, "epoll set and three phones on loopback");
	cfg.rtp_port_min = base;
	cfg.rtp_port_max = (uint16_t)(base + 7);	/* 4 pairs: 2 streams */
	env.cfg = &cfg;
	env.ports = port_pool_new(cfg.rtp_port_min, cfg.rtp_port_max);
	env.kernel = false;
	m = media_new(&env, &st, epfd, 0);
	ok(m && env.ports && port_pool_size(env.ports) == 4, "userspace media over a pool of 4 pairs");

	ok(!media_open(m, &s1, relay_ip) && s1.open && !s1.kernel, "stream 1 opens in userspace");
	ok(!media_open(m, &s2, relay_ip) && s2.open, "stream 2 opens");
	ok(port_pool_in_use(env.ports) == 4, "each stream holds a pair per leg");
	ok(media_open(m, &s3, relay_ip) == -1 && !s3.open && port_pool_in_use(env.ports) == 4,
	   "exhausted pool: stream 3 fails and holds nothing");

	/* A's SDP, then B's: the relay knows where each leg wants RTP. */
	s1.remote[0] = a_addr;
	s1.remote_rtcp[0] = (uint16_t)(ntohs(((struct sockaddr_in *)&a_addr)->sin_port) + 1);
	s1.remote_known[0] = true;
	s1.remote[1] = b_addr;
	s1.remote_rtcp[1] = (uint16_t)(ntohs(((struct sockaddr_in *)&b_addr)->sin_port) + 1);
	s1.remote_known[1] = true;
	media_update(m, &s1);

	send_to_port(a, s1.relay_port[0], "rtp from A");
	ok(run_batch(epfd, m) == 1, "the relay socket facing A is readable (ev_handler entry)");
	ok(!strcmp(received(b, buf, sizeof(buf)), "rtp from A"), "A's datagram reaches B");
	send_to_port(b, s1.relay_port[1], "rtp from B");
	run_batch(epfd, m);
	ok(!strcmp(received(a, buf, sizeof(buf)), "rtp from B"), "B's datagram reaches A");

	/* Hostile: a stranger sends to the port A latched. */
	send_to_port(c, s1.relay_port[0], "intruder");
	run_batch(epfd, m);
	ok(!received(b, buf, sizeof(buf))[0], "a stranger's datagram is not relayed once A latched");

	media_counters(m, &s1, pk, &idle);
	ok(pk[0] == 1 && pk[1] == 1 && idle < 5000, "counters: one packet from each leg, just now");
	ok(media_stream_flows(&s1, pk, flows) == 0 && pk[0] == 1 && pk[1] == 1,
	   "userspace streams have no kernel flow to read later; their counts come along");
	media_counters(m, &s2, pk, &idle);
	ok(pk[0] == 0 && pk[1] == 0 && idle == UINT64_MAX, "an idle stream counts nothing");

	/* Closed while its event is pending in the batch: the memory stays until media_reap(). */
	send_to_port(a, s2.relay_port[0], "late");
	{
		struct epoll_event ev[16];
		int n = epoll_wait(epfd, ev, 16, 200);

		media_close(m, &s2);
		for (int i = 0; i < n; i++)
			ev_dispatch(&ev[i]);
		media_reap(m);
		ok(n == 1 && !s2.open, "an event for a stream closed in the same batch is harmless");
	}
	media_close(m, &s2);
	ok(port_pool_in_use(env.ports) == 2, "closing twice releases the ports once");
	media_close(m, &s1);
	media_reap(m);
	ok(port_pool_in_use(env.ports) == 0, "every port is back in the pool");
	ok(st.relay_streams_opened == 2 && st.relay_streams_closed == 2, "stream counters");

	/* Hostile: another program holds the RTP port of one pair; open skips it or fails clean. */
	{
		struct sockaddr_storage busy = loopback((uint16_t)(base + 2));
		int squat = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int opened = 0;

		ok(squat >= 0 && !bind(squat, (struct sockaddr *)&busy, sizeof(struct sockaddr_in)),
		   "a stranger binds port %u of the range", base + 2);
		for (int i = 0; i < 2; i++) {
			struct media_stream *s = i ? &s2 : &s1;

			if (!media_open(m, s, relay_ip))
				opened++;
		}
		ok(opened == 1 && port_pool_in_use(env.ports) == 2,
		   "three usable pairs: one stream opens, the second fails without leaking a pair");
		media_close(m, &s1);
		media_close(m, &s2);
		media_reap(m);
		ok(port_pool_in_use(env.ports) == 0, "all ports back after the squatter's round");
		close(squat);
	}

	media_free(m);
	port_pool_free(env.ports);
	close(a);
	close(b);
	close(c);
	close(epfd);
	return tap_done();
}
