// SPDX-License-Identifier: GPL-2.0
/*
 * sipflood: a bounded SIP request flood for the attacker tests
 * (tests/security/). Rates SIPp cannot reach: sendmmsg batches of
 * INVITE or REGISTER requests, each with its own Call-ID, branch and From
 * tag.
 *
 *   sipflood --target IP:PORT [--method INVITE|REGISTER] [--user U] [--domain D]
 *            [--count N] [--seconds S] [--rate R] [--spoof CIDR | --source IP]
 *            [--count-replies IFNAME] [--linger S]
 *
 * --spoof CIDR sends from random addresses of CIDR (IPv4, raw socket with
 * IP_HDRINCL): only inside a network namespace the test created, whose
 * routes bring the victims' answers back to it. --count-replies counts the
 * UDP datagrams from the target arriving on IFNAME (a packet socket, so it
 * sees answers addressed to the spoofed sources too) during the flood and
 * for --linger seconds after. Stops at --count requests or --seconds,
 * whichever comes first. Prints one line: sent=N seconds=S rate=R replies=N.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MSG_MAX 1400

struct opts {
	struct sockaddr_in target;
	const char *method, *user, *domain, *reply_if;
	uint64_t count;
	double seconds, rate, linger;
	uint32_t spoof_net, spoof_mask;	/* host order; mask 0: no spoofing */
	struct in_addr source;
};

static atomic_uint_fast64_t replies;
static atomic_bool counting = true;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: fast, and random enough for ids nobody must guess. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545F4914F6CDD1DULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sipflood --target IP:PORT [--method INVITE|REGISTER] [--user U] [--domain D]\n"
		"                [--count N] [--seconds S] [--rate R] [--spoof CIDR | --source IP]\n"
		"                [--count-replies IFNAME] [--linger S]\n");
	exit(2);
}

static void parse_target(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		usage();
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		usage();
}

static void parse_cidr(const char *s, struct opts *o)
{
	char host[64];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	int bits;

	if (!slash || (size_t)(slash - s) >= sizeof(host))
		usage();
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = 0;
	bits = atoi(slash + 1);
	if (inet_pton(AF_INET, host, &a) != 1 || bits < 8 || bits > 30)
		usage();
	o->spoof_mask = ~0u << (32 - bits);
	o->spoof_net = ntohl(a.s_addr) & o->spoof_mask;
}

/* One request from SRC:SPORT into BUF; returns its length. */
static int build_request(const struct opts *o, char *buf, size_t len, struct in_addr src,
			 uint16_t sport)
{
	char ip[INET_ADDRSTRLEN];
	bool reg = !strcmp(o->method, "REGISTER");
	uint64_t branch = rnd(), tag = rnd(), cid = rnd();

	inet_ntop(AF_INET, &src, ip, sizeof(ip));
	return snprintf(buf, len,
			"%s sip:%s%s%s SIP/2.0\r\n"
			"Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK%016" PRIx64 ";rport\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:%s@%s>;tag=%016" PRIx64 "\r\n"
			"To: <sip:%s@%s>\r\n"
			"Call-ID: %016" PRIx64 "@flood\r\n"
			"CSeq: 1 %s\r\n"
			"Contact: <sip:%s@%s:%u>\r\n"
			"User-Agent: sipflood\r\n"
			"Content-Length: 0\r\n\r\n",
			o->method, reg ? "" : o->user, reg ? "" : "@", o->domain, ip, sport, branch,
			reg ? o->user : "flood", o->domain, tag, o->user, o->domain, cid, o->method,
			reg ? o->user : "flood", ip, sport);
}

static uint16_t ip_checksum(const void *p, size_t len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Counts UDP datagrams from the target seen on the interface (first fragments only). */
static void *count_replies(void *arg)
{
	const struct opts *o = arg;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	unsigned char pkt[2048];
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));

	int rcvbuf = 64 << 20;

	sll.sll_ifindex = (int)if_nametoindex(o->reply_if);
	/* Room for bursts of answers: a count that misses some would flatter the target. */
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("sipflood: packet socket");
		exit(1);
	}
	while (atomic_load(&counting)) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < (ssize_t)(sizeof(struct iphdr) + sizeof(struct udphdr)) ||
		    from.sll_pkttype == PACKET_OUTGOING) {
			continue;
		} else {
			const struct iphdr *ip = (const void *)pkt;
			const struct udphdr *udp = (const void *)(pkt + ip->ihl * 4);

			if (ip->protocol != IPPROTO_UDP || ip->saddr != o->target.sin_addr.s_addr ||
			    (ntohs(ip->frag_off) & IP_OFFMASK) ||
			    (ssize_t)(ip->ihl * 4 + sizeof(*udp)) > n || udp->source != o->target.sin_port)
				continue;
			atomic_fetch_add(&replies, 1);
		}
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", 1, 0, 't' }, { "method", 1, 0, 'm' }, { "user", 1, 0, 'u' },
		{ "domain", 1, 0, 'd' }, { "count", 1, 0, 'n' }, { "seconds", 1, 0, 's' },
		{ "rate", 1, 0, 'r' }, { "spoof", 1, 0, 'S' }, { "source", 1, 0, 'a' },
		{ "count-replies", 1, 0, 'c' }, { "linger", 1, 0, 'l' }, { 0 },
	};
	struct opts o = { .method = "INVITE", .user = "bob", .count = 100000, .seconds = 60,
			  .rate = 0, .linger = 2 };
	static char bufs[BATCH][sizeof(struct iphdr) + sizeof(struct udphdr) + MSG_MAX];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	char domain[INET_ADDRSTRLEN];
	pthread_t counter;
	uint64_t sent = 0;
	double t0, elapsed;
	int fd, c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': parse_target(optarg, &o.target); break;
		case 'm': o.method = optarg; break;
		case 'u': o.user = optarg; break;
		case 'd': o.domain = optarg; break;
		case 'n': o.count = strtoull(optarg, NULL, 10); break;
		case 's': o.seconds = atof(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'S': parse_cidr(optarg, &o); break;
		case 'a': if (inet_pton(AF_INET, optarg, &o.source) != 1) usage(); break;
		case 'c': o.reply_if = optarg; break;
		case 'l': o.linger = atof(optarg); break;
		default: usage();
		}
	}
	if (!o.target.sin_port || (strcmp(o.method, "INVITE") && strcmp(o.method, "REGISTER")))
		usage();
	if (!o.domain) {
		inet_ntop(AF_INET, &o.target.sin_addr, domain, sizeof(domain));
		o.domain = domain;
	}
	if (getrandom(&rnd_state, sizeof(rnd_state), 0) != sizeof(rnd_state) || !rnd_state)
		rnd_state = (uint64_t)time(NULL) | 1;

	if (o.spoof_mask) {
		fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);	/* implies IP_HDRINCL */
	} else {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr = o.source };

			if (bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0) {
				perror("sipflood: bind");
				return 1;
			}
		}
	}
	if (fd < 0) {
		perror("sipflood: socket");
		return 1;
	}
	if (o.reply_if && pthread_create(&counter, NULL, count_replies, &o)) {
		fprintf(stderr, "sipflood: cannot start the reply counter\n");
		return 1;
	}
	if (o.reply_if)
		usleep(100000);	/* the packet socket is bound before the first request leaves */

	t0 = now_s();
	while (sent < o.count && (elapsed = now_s() - t0) < o.seconds) {
		int n = 0, r;

		/* Paced: never ahead of RATE requests per second since the start. */
		if (o.rate > 0 && (double)sent > o.rate * elapsed) {
			usleep(1000);
			continue;
		}
		for (; n < BATCH && sent + (uint64_t)n < o.count; n++) {
			char *p = bufs[n];
			struct in_addr src = o.source;
			uint16_t sport = 5060;
			size_t hdr = 0;
			int len;

			if (o.spoof_mask) {
				src.s_addr = htonl(o.spoof_net |
						   ((uint32_t)rnd() & ~o.spoof_mask & ~1u) | 2);
				sport = (uint16_t)(1024 + rnd() % 60000);
				hdr = sizeof(struct iphdr) + sizeof(struct udphdr);
			}
			len = build_request(&o, p + hdr, MSG_MAX, src, sport);
			if (len <= 0 || len >= MSG_MAX)
				return 1;
			if (o.spoof_mask) {
				struct iphdr *ip = (struct iphdr *)p;
				struct udphdr *udp = (struct udphdr *)(p + sizeof(*ip));

				memset(ip, 0, sizeof(*ip));
				ip->version = 4;
				ip->ihl = 5;
				ip->ttl = 64;
				ip->protocol = IPPROTO_UDP;
				ip->tot_len = htons((uint16_t)(hdr + (size_t)len));
				ip->saddr = src.s_addr;
				ip->daddr = o.target.sin_addr.s_addr;
				ip->check = ip_checksum(ip, sizeof(*ip));
				udp->source = htons(sport);
				udp->dest = o.target.sin_port;
				udp->len = htons((uint16_t)(sizeof(*udp) + (size_t)len));
				udp->check = 0;	/* optional over IPv4 */
			}
			iov[n] = (struct iovec){ p, hdr + (size_t)len };
			mm[n] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &o.target, .msg_namelen = sizeof(o.target),
				.msg_iov = &iov[n], .msg_iovlen = 1 } };
		}
		r = sendmmsg(fd, mm, (unsigned int)n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EPERM) {
				usleep(200);
				continue;
			}
			perror("sipflood: sendmmsg");
			return 1;
		}
		sent += (uint64_t)r;
	}
	elapsed = now_s() - t0;
	if (o.reply_if) {
		usleep((useconds_t)(o.linger * 1e6));
		atomic_store(&counting, false);
		pthread_join(counter, NULL);
	}
	printf("sent=%" PRIu64 " seconds=%.2f rate=%.0f replies=%" PRIu64 "\n", sent, elapsed,
	       elapsed > 0 ? (double)sent / elapsed : 0.0, (uint64_t)atomic_load(&replies));
	close(fd);
	return 0;
}
