// SPDX-License-Identifier: GPL-2.0
/*
 * media_set_outputs() in userspace, on loopback (issue 17: taps, paging):
 *
 *   phone A --> relay_port[0] [relay] relay_port[1] <-- phone B
 *                      \--- copies from FROM[leg] (+1 RTCP) ---> collector C
 *
 * The rules an output list keeps (media_outputs_check, shared with
 * ksip.ko's KSIP_CMD_FLOW_SET), copies of each leg's RTP and RTCP with
 * payload and source checked, the phones' own traffic and counters
 * untouched, counters per output and in the stats, outputs replaced,
 * removed, refused all or nothing, and gone with the stream.
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

static int udp_on(uint16_t port, struct sockaddr_storage *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*addr);

	*addr = loopback(port);
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

static void run_batch(int epfd)
{
	struct epoll_event ev[16];
	int n = epoll_wait(epfd, ev, 16, 200);

	for (int i = 0; i < n; i++)
		ev_dispatch(&ev[i]);
}

/* What FD received within a short while (""), and from which port. */
static const char *received(int fd, char *buf, size_t cap, uint16_t *from_port)
{
	struct pollfd p = { fd, POLLIN, 0 };
	struct sockaddr_in from = { 0 };
	socklen_t flen = sizeof(from);
	ssize_t n;

	buf[0] = 0;
	*from_port = 0;
	if (poll(&p, 1, 200) <= 0)
		return buf;
	n = recvfrom(fd, buf, cap - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	buf[n > 0 ? n : 0] = 0;
	*from_port = ntohs(from.sin_port);
	return buf;
}

static struct media_output output(uint16_t from, const struct sockaddr_storage *to, uint16_t rtcp)
{
	struct media_output o = { .from = loopback(from), .to = *to, .to_rtcp = rtcp };

	return o;
}

static void rules(void)
{
	struct media_stream s = { 0 };
	struct media_output o[MEDIA_OUTPUTS_MAX + 1];
	struct sockaddr_storage c = loopback(47990), b = loopback(47500), v6 = { 0 };
	unsigned int bad;

	s.open = true;
	s.relay_ip[0] = s.relay_ip[1] = loopback(0);
	s.relay_port[0] = 47100;
	s.relay_port[1] = 47102;
	s.remote[1] = b;		/* where leg 0's packets go */
	s.remote_rtcp[1] = 47501;
	s.remote_known[1] = true;
	v6.ss_family = AF_INET6;
	((struct sockaddr_in6 *)&v6)->sin6_port = htons(47990);

	for (unsigned int i = 0; i <= MEDIA_OUTPUTS_MAX; i++) {
		struct sockaddr_storage to = loopback((uint16_t)(47700 + 2 * i));

		o[i] = output((uint16_t)(47200 + 2 * i), &to, (uint16_t)(47701 + 2 * i));
	}
	ok(!media_outputs_check(&s, 0, o, MEDIA_OUTPUTS_MAX, &bad), "%d distinct outputs are taken",
	   MEDIA_OUTPUTS_MAX);
	ok(!media_outputs_check(&s, 1, o, 0, &bad), "no outputs at all is a valid list");
	ok(media_outputs_check(&s, 0, o, MEDIA_OUTPUTS_MAX + 1, &bad) == -E2BIG,
	   "%d outputs: E2BIG", MEDIA_OUTPUTS_MAX + 1);
	ok(media_outputs_check(&s, 2, o, 1, &bad) == -EINVAL, "leg 2: EINVAL");

	o[1].to = v6;
	ok(media_outputs_check(&s, 0, o, 2, &bad) == -EAFNOSUPPORT && bad == 1,
	   "an IPv6 output on an IPv4 leg: EAFNOSUPPORT, index 1");
	o[1] = output(47202, &c, 0);
	ok(media_outputs_check(&s, 0, o, 2, &bad) == -EINVAL && bad == 1, "RTCP port 0: EINVAL");
	o[1] = output(65535, &c, 47991);
	ok(media_outputs_check(&s, 0, o, 2, &bad) == -EINVAL, "FROM 65535 has no RTCP port: EINVAL");
	o[1] = output(47202, &o[0].to, 47991);
	ok(media_outputs_check(&s, 0, o, 2, &bad) == -EEXIST && bad == 1,
	   "two outputs with one TO: EEXIST, index 1");
	o[1] = output(47202, &c, o[0].to_rtcp);
	ok(media_outputs_check(&s, 0, o, 2, &bad) == -EEXIST, "two outputs with one RTCP TO: EEXIST");
	o[1] = output(47200, &c, 47991);
	ok(media_outputs_check(&s, 0, o, 2, &bad) == -EEXIST, "two outputs with one FROM: EEXIST");
	o[1] = output(47202, &b, 47991);
	ok(media_outputs_check(&s, 0, o, 2, &bad) == -EEXIST,
	   "an output to the phone the leg's packets go to anyway: EEXIST");
	ok(!media_outputs_check(&s, 1, o, 2, &bad),
	   "the same output on the other leg (whose packets go elsewhere) is taken");
	for (int leg = 0; leg < 2; leg++)
		for (int k = 0; k < 2; k++) {
			struct sockaddr_storage r = loopback((uint16_t)(s.relay_port[leg] + k));

			o[1] = output(47202, &r, 47991);
			ok(media_outputs_check(&s, 0, o, 2, &bad) == -ELOOP && bad == 1,
			   "an output to our relay port %u: ELOOP", s.relay_port[leg] + k);
		}
	{
		struct sockaddr_storage own = loopback(47201);

		o[1] = output(47202, &own, 47991);
		ok(media_outputs_check(&s, 0, o, 2, &bad) == -ELOOP,
		   "an output to another output's RTCP socket: ELOOP");
	}
}

int main(void)
{
	struct ksip_config cfg = { 0 };
	struct ksip_stats st = { 0 };
	struct media_env env = { 0 };
	struct media_stream s;
	struct sockaddr_storage relay_ip[2] = { loopback(0), loopback(0) }, a_addr, b_addr, c_addr,
				c2_addr, ignore;
	struct media_output o[2];
	uint16_t from[2], port, base = (uint16_t)(47000 + (getpid() % 50) * 16);
	uint64_t pk[2], idle, sent, errors;
	char buf[64];
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	int a = udp_on(0, &a_addr), b = udp_on(0, &b_addr), c = udp_on(0, &c_addr);
	int c_rtcp = udp_on((uint16_t)(ksip_endpoint_port(&c_addr) + 1), &ignore);
	int c2 = udp_on(0, &c2_addr);
	struct media *m;

	rules();

	ok(epfd >= 0 && a >= 0 && b >= 0 && c >= 0 && c2 >= 0,
	   "epoll set, phones A and B, collectors C and C2 on loopback");
	if (c_rtcp < 0)
		diag("collector RTCP port taken: RTCP copies are not checked");
	cfg.rtp_port_min = base;
	cfg.rtp_port_max = (uint16_t)(base + 15);
	env.cfg = &cfg;
	env.ports = port_pool_new(cfg.rtp_port_min, cfg.rtp_port_max);
	m = media_new(&env, &st, epfd, 0);
	ok(m && !media_open(m, &s, relay_ip) && !s.kernel, "a userspace stream opens");
	s.remote[0] = a_addr;
	s.remote_rtcp[0] = (uint16_t)(ksip_endpoint_port(&a_addr) + 1);
	s.remote[1] = b_addr;
	s.remote_rtcp[1] = (uint16_t)(ksip_endpoint_port(&b_addr) + 1);
	s.remote_known[0] = s.remote_known[1] = true;
	media_update(m, &s);

	ok(!port_pool_get(env.ports, &from[0]) && !port_pool_get(env.ports, &from[1]),
	   "the caller takes a port pair per leg for the copies");
	for (int leg = 0; leg < 2; leg++) {
		o[leg] = output(from[leg], &c_addr, (uint16_t)(ksip_endpoint_port(&c_addr) + 1));
		ok(!media_set_outputs(m, &s, leg, &o[leg], 1), "leg %d gets collector C as output", leg);
	}

	send_to_port(a, s.relay_port[0], "rtp A1");
	run_batch(epfd);
	ok(!strcmp(received(b, buf, sizeof(buf), &port), "rtp A1"), "B gets A's packet as before");
	ok(!strcmp(received(c, buf, sizeof(buf), &port), "rtp A1") && port == from[0],
	   "C gets a copy of it from leg 0's FROM port %u", from[0]);
	send_to_port(b, s.relay_port[1], "rtp B1");
	run_batch(epfd);
	ok(!strcmp(received(a, buf, sizeof(buf), &port), "rtp B1"), "A gets B's packet as before");
	ok(!strcmp(received(c, buf, sizeof(buf), &port), "rtp B1") && port == from[1],
	   "C gets a copy of it from leg 1's FROM port %u", from[1]);
	if (c_rtcp >= 0) {
		send_to_port(a, (uint16_t)(s.relay_port[0] + 1), "rtcp A");
		run_batch(epfd);
		ok(!strcmp(received(c_rtcp, buf, sizeof(buf), &port), "rtcp A") && port == from[0] + 1,
		   "A's RTCP is copied to C's port + 1, from FROM + 1");
		received(c, buf, sizeof(buf), &port);
		ok(!buf[0], "and not to C's RTP port");
	}
	media_counters(m, &s, pk, &idle);
	ok(pk[0] == (c_rtcp >= 0 ? 2 : 1) && pk[1] == 1, "the stream's own counters count only the phones");
	media_output_counters(&s, 0, 0, &sent, &errors);
	ok(sent == (c_rtcp >= 0 ? 2 : 1) && !errors, "leg 0's output counts its copies");
	ok(st.relay_fanout_sent == (c_rtcp >= 0 ? 3u : 2u) && !st.relay_fanout_errors,
	   "relay_fanout_sent counts every copy");

	/* A second output on leg 0; the first keeps its socket and counters. */
	{
		struct media_output two[2] = { o[0], output((uint16_t)(from[0] + 4), &c2_addr, 1) };

		ok(port_pool_reserve(env.ports, (uint16_t)(from[0] + 4)) ||
		   port_pool_get(env.ports, &port), "a third pair for C2");
		ok(!media_set_outputs(m, &s, 0, two, 2), "leg 0 now has C and C2");
		send_to_port(a, s.relay_port[0], "rtp A2");
		run_batch(epfd);
		received(b, buf, sizeof(buf), &port);
		ok(!strcmp(received(c, buf, sizeof(buf), &port), "rtp A2") &&
		   !strcmp(received(c2, buf, sizeof(buf), &port), "rtp A2"),
		   "both collectors get the copy");
		media_output_counters(&s, 0, 0, &sent, &errors);
		ok(sent == (c_rtcp >= 0 ? 3 : 2), "C's output kept its counter across the replacement");
	}

	/* Hostile: a FROM port another program holds; the old outputs stay as they were. */
	{
		struct sockaddr_storage held;
		int squat = udp_on((uint16_t)(base + 14), &held);
		struct media_output bad = output((uint16_t)(base + 14), &c2_addr, 1);

		ok(squat >= 0 && media_set_outputs(m, &s, 1, &bad, 1) == -1 && errno == EADDRINUSE,
		   "an output whose FROM port is taken: EADDRINUSE");
		send_to_port(b, s.relay_port[1], "rtp B2");
		run_batch(epfd);
		received(a, buf, sizeof(buf), &port);
		ok(!strcmp(received(c, buf, sizeof(buf), &port), "rtp B2") && port == from[1],
		   "leg 1 still copies to C, from its old FROM");
		close(squat);
	}

	/* Hostile: a collector that is gone (ICMP port unreachable) costs the call nothing. */
	close(c2);
	for (int i = 0; i < 3; i++) {
		send_to_port(a, s.relay_port[0], "rtp A3");
		run_batch(epfd);
		ok(!strcmp(received(b, buf, sizeof(buf), &port), "rtp A3"),
		   "B still gets A's packet %d with C2 gone", i);
		received(c, buf, sizeof(buf), &port);
	}
	media_output_counters(&s, 0, 1, &sent, &errors);
	ok(errors >= 1 && st.relay_fanout_errors == errors, "the refused copies are counted as errors");

	/* Removed: nothing more reaches the collector. */
	ok(!media_set_outputs(m, &s, 0, NULL, 0) && !media_set_outputs(m, &s, 1, NULL, 0),
	   "outputs removed from both legs");
	send_to_port(a, s.relay_port[0], "rtp A4");
	send_to_port(b, s.relay_port[1], "rtp B4");
	run_batch(epfd);
	run_batch(epfd);
	ok(!strcmp(received(b, buf, sizeof(buf), &port), "rtp A4") &&
	   !strcmp(received(a, buf, sizeof(buf), &port), "rtp B4"), "the phones still talk");
	ok(!received(c, buf, sizeof(buf), &port)[0], "and C gets no copy");

	/* Gone with the stream: the FROM ports are free to bind again. */
	ok(!media_set_outputs(m, &s, 0, &o[0], 1), "leg 0 copied again");
	media_close(m, &s);
	media_reap(m);
	{
		struct sockaddr_storage again;
		int fd = udp_on(from[0], &again);

		ok(fd >= 0, "after media_close() the output's FROM port %u can be bound again", from[0]);
		if (fd >= 0)
			close(fd);
	}
	ok(media_set_outputs(m, &s, 0, &o[0], 1) == -1 && errno == ENOENT,
	   "outputs on a closed stream: ENOENT");

	media_free(m);
	port_pool_free(env.ports);
	close(a);
	close(b);
	close(c);
	if (c_rtcp >= 0)
		close(c_rtcp);
	close(epfd);
	return tap_done();
}
