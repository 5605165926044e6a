// SPDX-License-Identifier: GPL-2.0
/*
 * Helper for the kernel tests inside the VM. Subcommands:
 *   send SRC DST COUNT SIZE [PPS [STREAMS [PORTS]]]
 *                                      send COUNT datagrams of SIZE bytes from SRC to DST;
 *                                       payload = sequence number + a pattern; PPS paces
 *                                       them on a schedule (0: as fast as possible); STREAMS
 *                                       spreads them over DST's port + 2i, or over the
 *                                       comma-separated PORTS; with KTEST_TICK_MS, what is
 *                                       due goes out every that many ms; "sent N in S s"
 *   recv BIND COUNT TIMEOUT_MS [FROM]  receive until COUNT or timeout; verify payloads
 *                                       (and the sender address when FROM is given);
 *                                       prints "received N bad M"; with KTEST_NAP_MS, naps
 *                                       that long between reads instead of polling
 *   sendfile SRC DST FILE...           send each FILE as one datagram
 *   rawsend SRC DST COUNT SIZE MODE    like send, but each UDP header built here (raw socket,
 *                                       no offload); MODE: good, zero or bad (the checksum), pad
 *                                       (16 bytes past the UDP length), opts (IPv4 options)
 *   echo BIND TIMEOUT_MS               send every datagram back to its sender until timeout
 *   ping SRC DST COUNT SIZE            send COUNT datagrams from SRC to DST, one at a time, each
 *                                       answered on the same socket from DST; "received N bad M"
 *   tos BIND TIMEOUT_MS                print the TOS byte (IPv6: traffic class) of the first
 *                                       datagram received
 *   jsoncheck                          parse stdin as one JSON value (RFC 8259, strictly); print
 *                                       "json ok N" (N: elements of a top-level array) or
 *                                       "json bad at OFFSET"
 *   events TIMEOUT_MS                  print ksip multicast events until TIMEOUT_MS of silence
 *   soak FILE                          spin at SCHED_IDLE priority; on SIGUSR1 write
 *                                       "ITERATIONS NANOSECONDS" to FILE (cycle soaker: what
 *                                       other work on this CPU takes shows as lost iterations)
 *   asuser UID CMD...                  drop to UID/GID and exec CMD
 *   bulk N BASEPORT [TIMEOUT]          add N flows 10.99.0.1:BASEPORT+i -> 10.99.0.2 in one process
 *   nlbad SEED COUNT                   hostile generic netlink: prints TAP lines
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ksip/genl.h"
#include "uapi/linux/ksip.h"

static int bound_socket(const char *addr)
{
	struct sockaddr_storage ss;
	int fd, one = 1, buf = 64 << 20;

	if (ksip_parse_endpoint(addr, false, &ss)) {
		fprintf(stderr, "bad address %s\n", addr);
		exit(2);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/*
	 * Root in the VM: past rmem_max, so bursts are not lost in the sink, and
	 * past wmem_max, so a sender whose datagrams bench/rtp holds in a qdisc
	 * until the next 20 ms slot does not block.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, ksip_sockaddr_len(&ss))) {
		perror(addr);
		exit(2);
	}
	return fd;
}

/*
 * Test datagrams look like RTP (version 2, PCMA, sequence, timestamp, SSRC
 * "ksip") so that media relays which parse RTP, like rtpengine, take them;
 * after the 12-byte header: our 32-bit sequence number and a pattern.
 */
#define PKT_MIN 16
#define PKT_MAX 16384	/* the largest datagram ktest sends */

static void fill(char *p, size_t size, uint32_t seq)
{
	uint32_t ts = htonl(seq * 160), ssrc = htonl(0x6b736970);
	uint16_t s16 = htons((uint16_t)seq);

	p[0] = (char)0x80;
	p[1] = 8;
	memcpy(p + 2, &s16, 2);
	memcpy(p + 4, &ts, 4);
	memcpy(p + 8, &ssrc, 4);
	memcpy(p + 12, &seq, sizeof(seq));
	for (size_t i = PKT_MIN; i < size; i++)
		p[i] = (char)(seq * 7 + i);
}

static bool check(const char *p, size_t size, uint32_t *seq)
{
	if (size < PKT_MIN || (unsigned char)p[0] != 0x80 || p[1] != 8)
		return false;
	memcpy(seq, p + 12, sizeof(*seq));
	for (size_t i = PKT_MIN; i < size; i++)
		if (p[i] != (char)(*seq * 7 + i))
			return false;
	return true;
}

static int cmd_send(char **argv)
{
	struct sockaddr_storage dst;
	int fd = bound_socket(argv[0]);
	long count = atol(argv[2]), size = atol(argv[3]), pps = argv[4] ? atol(argv[4]) : 0;
	/*
	 * STREAMS > 1: packet i goes to stream i % STREAMS, like many RTP streams: DST's
	 * port + 2 * stream, or the stream's entry in PORTS (a relay's allocated ports).
	 */
	long streams = argv[4] && argv[5] ? atol(argv[5]) : 1;
	static uint16_t ports[4096];

	if (ksip_parse_endpoint(argv[1], false, &dst) || size < PKT_MIN || size > PKT_MAX ||
	    streams < 1 || streams > (long)(sizeof(ports) / sizeof(ports[0])))
		return 2;
	for (long k = 0; k < streams; k++)
		ports[k] = (uint16_t)(ksip_endpoint_port(&dst) + 2 * k);
	if (argv[4] && argv[5] && argv[6]) {
		char *p = argv[6];

		for (long k = 0; k < streams; k++) {
			char *end;
			long v = strtol(p, &end, 10);

			if (end == p || v < 1 || v > 65535 || (*end != ',' && *end))
				return 2;
			ports[k] = (uint16_t)v;
			p = *end ? end + 1 : end;
		}
	}
	struct timespec t0, now;
	double tick = getenv("KTEST_TICK_MS") ? atof(getenv("KTEST_TICK_MS")) / 1000 : 0;
	long sent = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < count;) {
		static char bufs[64][PKT_MAX];
		static struct sockaddr_storage to[64];
		struct mmsghdr mm[64];
		struct iovec iv[64];
		long upto = count;	/* packets [i, upto) may go now */
		int k, r;

		if (pps) {
			/*
			 * Packet j is due at t0 + j/PPS, or with a tick (KTEST_TICK_MS, like
			 * RTP's 20 ms packetization over many streams) at the first tick
			 * boundary after that. Whatever is due goes out in sendmmsg batches,
			 * so a sender that falls behind catches up instead of capping the
			 * rate; when early, sleep, never spin: bench/rtp counts the VM's
			 * CPU time, which spinning would fill.
			 */
			double t, wait;

			clock_gettime(CLOCK_MONOTONIC, &now);
			t = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
			if (tick > 0)
				t = tick * (double)(long)(t / tick);
			upto = (long)(t * (double)pps) + 1;
			if (upto <= i) {
				wait = tick > 0 ? t + tick : (double)i / (double)pps;
				clock_gettime(CLOCK_MONOTONIC, &now);
				wait -= (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
				if (wait > 0) {
					struct timespec ts = { (time_t)wait,
							       (long)((wait - (double)(time_t)wait) * 1e9) };

					nanosleep(&ts, NULL);
				}
				continue;
			}
			if (upto > count)
				upto = count;
		}
		for (k = 0; k < 64 && i + k < upto; k++) {
			to[k] = dst;
			ksip_endpoint_set_port(&to[k], ports[(i + k) % streams]);
			fill(bufs[k], (size_t)size, (uint32_t)(i + k));
			iv[k] = (struct iovec){ bufs[k], (size_t)size };
			mm[k].msg_hdr = (struct msghdr){ .msg_name = &to[k],
							 .msg_namelen = ksip_sockaddr_len(&to[k]),
							 .msg_iov = &iv[k], .msg_iovlen = 1 };
		}
		r = sendmmsg(fd, mm, (unsigned int)k, 0);
		if (r > 0)
			sent += r;
		i += r > 0 ? r : 1;	/* a datagram the stack refused is skipped, not retried */
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "sent %ld in %.3f s\n", sent,
		(double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

static int cmd_sendfile(char **argv)
{
	struct sockaddr_storage dst;
	int fd = bound_socket(argv[0]);
	char buf[65536];

	if (ksip_parse_endpoint(argv[1], false, &dst))
		return 2;
	for (char **f = argv + 2; *f; f++) {
		FILE *fp = fopen(*f, "rb");
		size_t n;

		if (!fp) {
			perror(*f);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&dst, ksip_sockaddr_len(&dst)) < 0)
			perror("sendto");
	}
	return 0;
}

/* The Internet checksum of BUF (RFC 1071) added to SUM, unfolded. */
static uint32_t sum16(const void *buf, size_t n, uint32_t sum)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

/*
 * The UDP checksum of DGRAM (header with check 0, then payload) from SRC to
 * DST, as it goes on the wire (0 means "none" in IPv4, so it is sent 0xffff).
 */
static uint16_t udp_csum(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
			 const void *dgram, size_t len)
{
	uint32_t sum = 17 + (uint32_t)len;	/* protocol and length: the same in both families */

	if (src->ss_family == AF_INET6) {
		sum = sum16(&((const struct sockaddr_in6 *)src)->sin6_addr, 16, sum);
		sum = sum16(&((const struct sockaddr_in6 *)dst)->sin6_addr, 16, sum);
	} else {
		sum = sum16(&((const struct sockaddr_in *)src)->sin_addr, 4, sum);
		sum = sum16(&((const struct sockaddr_in *)dst)->sin_addr, 4, sum);
	}
	sum = sum16(dgram, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return htons(sum ? (uint16_t)sum : 0xffff);
}

/*
 * rawsend SRC DST COUNT SIZE good|zero|bad|pad|opts: UDP datagrams whose
 * checksum is set here, never by the kernel or a device, so the receiver's
 * stack verifies what the relay made of it. pad: 16 bytes of IP payload
 * after the UDP datagram; opts: 4 bytes of IPv4 options (NOPs); both with a
 * good checksum.
 */
static int cmd_rawsend(char **argv)
{
	struct sockaddr_storage src, dst, bind_to;
	long count = atol(argv[2]), size = atol(argv[3]);
	const char *mode = argv[4];
	static unsigned char pkt[8 + PKT_MAX + 16];
	uint16_t ulen = (uint16_t)(8 + size);
	int fd;

	if (ksip_parse_endpoint(argv[0], false, &src) || ksip_parse_endpoint(argv[1], false, &dst) ||
	    src.ss_family != dst.ss_family || size < PKT_MIN || size > PKT_MAX ||
	    (strcmp(mode, "good") && strcmp(mode, "zero") && strcmp(mode, "bad") &&
	     strcmp(mode, "pad") && strcmp(mode, "opts")))
		return 2;
	fd = socket(src.ss_family, SOCK_RAW, IPPROTO_UDP);
	bind_to = src;
	ksip_endpoint_set_port(&bind_to, 0);	/* a raw socket's "port" is its protocol */
	if (fd < 0 || bind(fd, (struct sockaddr *)&bind_to, ksip_sockaddr_len(&bind_to))) {
		perror("rawsend");
		return 2;
	}
	if (!strcmp(mode, "opts")) {
		static const unsigned char nops[4] = { 1, 1, 1, 0 };	/* NOP NOP NOP EOL */

		if (src.ss_family != AF_INET ||
		    setsockopt(fd, IPPROTO_IP, IP_OPTIONS, nops, sizeof(nops))) {
			perror("IP_OPTIONS");
			return 2;
		}
	}
	for (long i = 0; i < count; i++) {
		uint16_t sport = htons(ksip_endpoint_port(&src)), dport = htons(ksip_endpoint_port(&dst));
		uint16_t len = htons(ulen), check = 0;
		struct sockaddr_storage to = dst;

		memcpy(pkt, &sport, 2);
		memcpy(pkt + 2, &dport, 2);
		memcpy(pkt + 4, &len, 2);
		memcpy(pkt + 6, &check, 2);
		fill((char *)pkt + 8, (size_t)size, (uint32_t)i);
		if (strcmp(mode, "zero"))
			check = udp_csum(&src, &dst, pkt, ulen);
		if (!strcmp(mode, "bad"))
			check = check == htons(0x1234) ? htons(0x4321) : htons(0x1234);
		memcpy(pkt + 6, &check, 2);
		ksip_endpoint_set_port(&to, 0);
		if (!strcmp(mode, "pad"))
			memset(pkt + ulen, 0xee, 16);
		if (sendto(fd, pkt, ulen + (strcmp(mode, "pad") ? 0 : 16), 0, (struct sockaddr *)&to,
			   ksip_sockaddr_len(&to)) < 0)
			perror("sendto");
	}
	return 0;
}

static int cmd_recv(char **argv)
{
	int fd = bound_socket(argv[0]);
	long count = atol(argv[1]), timeout = atol(argv[2]), got = 0, bad = 0;
	long nap_ms = getenv("KTEST_NAP_MS") ? atol(getenv("KTEST_NAP_MS")) : 0, napped_ms = 0;
	struct sockaddr_storage want;
	bool check_from = argv[3] != NULL;
	char from_s[64];

	if (check_from && ksip_parse_endpoint(argv[3], false, &want))
		return 2;
	while (got + bad < count) {
		static char bufs[32][8192];
		static struct sockaddr_storage froms[32];
		struct mmsghdr mm[32];
		struct iovec iv[32];
		struct pollfd p = { fd, POLLIN, 0 };
		int k;

		/*
		 * With KTEST_NAP_MS, nap instead of blocking in poll(): datagrams queue up
		 * and are read in batches, so a sink sharing a CPU with the sender is not
		 * woken per datagram (bench/rtp).
		 */
		if (!nap_ms && poll(&p, 1, (int)timeout) <= 0)
			break;
		for (int j = 0; j < 32; j++) {
			iv[j] = (struct iovec){ bufs[j], sizeof(bufs[j]) };
			mm[j].msg_hdr = (struct msghdr){ .msg_name = &froms[j],
							 .msg_namelen = sizeof(froms[j]),
							 .msg_iov = &iv[j], .msg_iovlen = 1 };
		}
		k = recvmmsg(fd, mm, 32, MSG_DONTWAIT, NULL);
		if (k <= 0 && nap_ms) {
			struct timespec ts = { nap_ms / 1000, (nap_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
			napped_ms += nap_ms;
			if (napped_ms >= timeout)
				break;
			continue;
		}
		if (k <= 0)
			continue;
		napped_ms = 0;
		for (int j = 0; j < k; j++) {
			uint32_t seq;

			if (mm[j].msg_len < 4)
				continue;
			ksip_format_endpoint(&froms[j], from_s, sizeof(from_s));
			if (!check(bufs[j], mm[j].msg_len, &seq) ||
			    (check_from && strcmp(from_s, argv[3]))) {
				if (!bad)
					fprintf(stderr, "recv: bad datagram from %s (want %s)\n", from_s,
						check_from ? argv[3] : "any");
				bad++;
			} else {
				got++;
			}
		}
	}
	printf("received %ld bad %ld\n", got, bad);
	return 0;
}

static int cmd_echo(char **argv)
{
	int fd = bound_socket(argv[0]);
	long timeout = atol(argv[1]);
	char buf[2048];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, (int)timeout) <= 0)
			return 0;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n > 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static int cmd_ping(char **argv)
{
	struct sockaddr_storage dst;
	int fd = bound_socket(argv[0]);
	long count = atol(argv[2]), size = atol(argv[3]), got = 0, bad = 0;
	char buf[2048], from_s[64];

	if (ksip_parse_endpoint(argv[1], false, &dst) || size < PKT_MIN || size > (long)sizeof(buf))
		return 2;
	for (long i = 0; i < count; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		uint32_t seq;
		ssize_t n;

		fill(buf, (size_t)size, (uint32_t)i);
		sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&dst, ksip_sockaddr_len(&dst));
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		ksip_format_endpoint(&from, from_s, sizeof(from_s));
		if (n == size && check(buf, (size_t)n, &seq) && seq == (uint32_t)i &&
		    !strcmp(from_s, argv[1]))
			got++;
		else
			bad++;
	}
	printf("received %ld bad %ld\n", got, bad);
	return 0;
}

/*
 * ng ADDR MESSAGE: one request of rtpengine's ng control protocol (a cookie,
 * a space, a bencoded dictionary) over UDP; prints the answer's dictionary.
 * bench/rtp drives rtpengine's daemon with it to compare its kernel module.
 */
static int cmd_ng(char **argv)
{
	struct sockaddr_storage dst;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char out[8192], in[8192];
	struct pollfd p = { fd, POLLIN, 0 };
	/* rtpengine caches answers by cookie: every request needs its own. */
	int n = snprintf(out, sizeof(out), "k%08d %s", (int)getpid() % 100000000, argv[1]);
	ssize_t r;

	if (fd < 0 || ksip_parse_endpoint(argv[0], false, &dst) || n <= 0 || (size_t)n >= sizeof(out))
		return 2;
	sendto(fd, out, (size_t)n, 0, (struct sockaddr *)&dst, ksip_sockaddr_len(&dst));
	if (poll(&p, 1, 5000) <= 0) {
		fprintf(stderr, "ng: no answer\n");
		return 1;
	}
	r = recv(fd, in, sizeof(in) - 1, 0);
	if (r < 10)
		return 1;
	in[r] = 0;
	printf("%s\n", in + 10);	/* after the cookie and its space */
	return 0;
}

static int cmd_tos(char **argv)
{
	int fd = bound_socket(argv[0]), one = 1;
	char buf[2048], ctl[256];
	struct pollfd p = { fd, POLLIN, 0 };
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };

	setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one));	/* fails on IPv4 */
	if (poll(&p, 1, atoi(argv[1])) <= 0 || recvmsg(fd, &mh, 0) < 0) {
		printf("tos none\n");
		return 0;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
			printf("tos %u\n", *(unsigned char *)CMSG_DATA(c));
			return 0;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
			int tclass;

			memcpy(&tclass, CMSG_DATA(c), sizeof(tclass));
			printf("tos %d\n", tclass);
			return 0;
		}
	}
	printf("tos unknown\n");
	return 0;
}

/* --- a strict JSON parser (RFC 8259), to check what ksipctl --json prints ------ */

struct json {
	const char *p, *start;
	int depth;
};

static bool json_value(struct json *j);

static void json_ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool json_string(struct json *j)
{
	if (*j->p++ != '"')
		return false;
	while (*j->p != '"') {
		unsigned char c = (unsigned char)*j->p++;

		if (c < 0x20)
			return false;	/* also the end of the input */
		if (c != '\\')
			continue;
		c = (unsigned char)*j->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, j->p++)
				if (!strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
					return false;
		} else if (!c || !strchr("\"\\/bfnrt", c)) {
			return false;
		}
	}
	j->p++;
	return true;
}

static bool json_digits(struct json *j)
{
	const char *s = j->p;

	while (*j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool json_number(struct json *j)
{
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (!json_digits(j))
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!json_digits(j))
			return false;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!json_digits(j))
			return false;
	}
	return true;
}

/* Members of an object (KEYED) or elements of an array up to CLOSE; their count in *N. */
static bool json_members(struct json *j, bool keyed, char close, long *n)
{
	j->p++;
	json_ws(j);
	if (*j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		json_ws(j);
		if (keyed) {
			if (!json_string(j))
				return false;
			json_ws(j);
			if (*j->p++ != ':')
				return false;
		}
		if (!json_value(j))
			return false;
		(*n)++;
		json_ws(j);
		if (*j->p == close) {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static bool json_value(struct json *j)
{
	long n = 0;
	bool ok;

	json_ws(j);
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > 64)
			return false;
		ok = json_members(j, *j->p == '{', *j->p == '{' ? '}' : ']', &n);
		j->depth--;
		return ok;
	case '"':
		return json_string(j);
	case 't':
		return !strncmp(j->p, "true", 4) && (j->p += 4);
	case 'f':
		return !strncmp(j->p, "false", 5) && (j->p += 5);
	case 'n':
		return !strncmp(j->p, "null", 4) && (j->p += 4);
	default:
		return json_number(j);
	}
}

static int cmd_jsoncheck(void)
{
	static char in[1 << 20];
	size_t len = fread(in, 1, sizeof(in) - 1, stdin);
	struct json j = { in, in, 0 };
	long n = 0;
	bool ok;

	in[len] = 0;
	json_ws(&j);
	if (*j.p == '[')
		ok = json_members(&j, false, ']', &n);
	else
		ok = json_value(&j);
	json_ws(&j);
	if (!ok || *j.p || strlen(in) != len) {
		printf("json bad at %ld\n", (long)(j.p - j.start));
		return 1;
	}
	printf("json ok %ld\n", n);
	return 0;
}

static int print_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[KSIP_ATTR_MAX + 1], *fl[KSIP_FLOW_ATTR_MAX + 1];
	struct ksip_flow_spec f = { 0 };
	char local[64], lat[64] = "-";

	(void)arg;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KSIP_ATTR_MAX, NULL) || !tb[KSIP_ATTR_EVENT] ||
	    !tb[KSIP_ATTR_FLOW] || nla_parse_nested(fl, KSIP_FLOW_ATTR_MAX, tb[KSIP_ATTR_FLOW], NULL))
		return NL_SKIP;
	(void)f;
	if (fl[KSIP_FLOW_ATTR_LOCAL]) {
		struct nlattr *ad[KSIP_ADDR_ATTR_MAX + 1];
		struct in_addr a4;

		nla_parse_nested(ad, KSIP_ADDR_ATTR_MAX, fl[KSIP_FLOW_ATTR_LOCAL], NULL);
		if (ad[KSIP_ADDR_ATTR_IPV4] && ad[KSIP_ADDR_ATTR_PORT]) {
			memcpy(&a4, nla_data(ad[KSIP_ADDR_ATTR_IPV4]), 4);
			snprintf(local, sizeof(local), "%s:%u", inet_ntoa(a4),
				 nla_get_u16(ad[KSIP_ADDR_ATTR_PORT]));
		} else {
			snprintf(local, sizeof(local), "v6");
		}
	}
	if (fl[KSIP_FLOW_ATTR_LATCHED]) {
		struct nlattr *ad[KSIP_ADDR_ATTR_MAX + 1];
		struct in_addr a4;

		nla_parse_nested(ad, KSIP_ADDR_ATTR_MAX, fl[KSIP_FLOW_ATTR_LATCHED], NULL);
		if (ad[KSIP_ADDR_ATTR_IPV4] && ad[KSIP_ADDR_ATTR_PORT]) {
			memcpy(&a4, nla_data(ad[KSIP_ADDR_ATTR_IPV4]), 4);
			snprintf(lat, sizeof(lat), "%s:%u", inet_ntoa(a4),
				 nla_get_u16(ad[KSIP_ADDR_ATTR_PORT]));
		}
	}
	printf("%s %s %s\n", nla_get_u32(tb[KSIP_ATTR_EVENT]) == KSIP_EVENT_LATCHED ? "latched" : "idle",
	       local, lat);
	fflush(stdout);
	return NL_OK;
}

static int cmd_events(char **argv)
{
	struct nl_sock *sk = nl_socket_alloc();
	int grp;

	genl_connect(sk);
	grp = genl_ctrl_resolve_grp(sk, KSIP_GENL_NAME, KSIP_GENL_MCGRP_EVENTS);
	if (grp < 0 || nl_socket_add_membership(sk, grp)) {
		fprintf(stderr, "events: cannot join the group\n");
		return 2;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, print_event, NULL);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { nl_socket_get_fd(sk), POLLIN, 0 };

		if (poll(&p, 1, atoi(argv[0])) <= 0)
			break;
		nl_recvmsgs_default(sk);
	}
	nl_socket_free(sk);
	return 0;
}

static volatile sig_atomic_t soak_report;

static void soak_signal(int sig)
{
	(void)sig;
	soak_report = 1;
}

static __attribute__((noreturn)) void cmd_soak(char **argv)
{
	struct sched_param sp = { 0 };
	unsigned long long n = 0;
	struct timespec t0, now;

	if (sched_setscheduler(0, SCHED_IDLE, &sp))
		perror("SCHED_IDLE");
	signal(SIGUSR1, soak_signal);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (int i = 0; i < 1000; i++)
			__asm__ volatile("" ::: "memory");
		n++;
		if (soak_report) {
			FILE *f = fopen(argv[0], "w");

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (f) {
				fprintf(f, "%llu %lld\n", n, (long long)(now.tv_sec - t0.tv_sec) * 1000000000LL +
					(now.tv_nsec - t0.tv_nsec));
				fclose(f);
			}
			soak_report = 0;
		}
	}
}

static int cmd_asuser(char **argv)
{
	uid_t uid = (uid_t)atoi(argv[0]);

	if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
		perror("asuser");
		return 2;
	}
	execv(argv[1], argv + 1);
	perror(argv[1]);
	return 2;
}

static int cmd_bulk(char **argv)
{
	char err[KSIP_GENL_ERRLEN];
	struct ksip_genl *g = ksip_genl_open(err, sizeof(err));
	long n = atol(argv[0]), base = atol(argv[1]), ok = 0;
	struct ksip_flow_spec f = { 0 };

	if (!g) {
		fprintf(stderr, "bulk: %s\n", err);
		return 2;
	}
	ksip_parse_endpoint("10.99.0.1:1", false, &f.local);
	ksip_parse_endpoint("10.99.0.1:1", false, &f.source);
	ksip_parse_endpoint("10.99.0.2:9", false, &f.peer);
	f.timeout = argv[2] ? (uint32_t)atol(argv[2]) : 0;
	for (long i = 0; i < n; i++) {
		((struct sockaddr_in *)&f.local)->sin_port = htons((uint16_t)(base + i % 60000));
		((struct sockaddr_in *)&f.local)->sin_addr.s_addr = htonl(0x0a630001 + (uint32_t)(i / 60000));
		if (ksip_genl_flow_add(g, &f, err, sizeof(err)) == 0)
			ok++;
	}
	printf("added %ld\n", ok);
	ksip_genl_close(g);
	return ok == n ? 0 : 1;
}

/* --- hostile netlink --------------------------------------------------------- */

static int tap_n;

static void tap(bool ok, const char *what, const char *detail)
{
	printf("%sok %d - %s%s%s\n", ok ? "" : "not ", ++tap_n, what, detail ? ": " : "",
	       detail ? detail : "");
}

struct ack {
	int error;
	char msg[256];
};

static int ack_err(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct ack *a = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)e - 1;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int off = sizeof(*nlh) + sizeof(*e);

	(void)who;
	a->error = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += (int)e->msg.nlmsg_len - (int)sizeof(*nlh);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && (int)nlh->nlmsg_len > off &&
	    !nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off),
		       (int)nlh->nlmsg_len - off, NULL) && tb[NLMSGERR_ATTR_MSG])
		snprintf(a->msg, sizeof(a->msg), "%s", (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static int ack_ok(struct nl_msg *m, void *arg)
{
	(void)m;
	((struct ack *)arg)->error = 0;
	return NL_STOP;
}

static int ack_skip(struct nl_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	return NL_SKIP;
}

/* Send a raw request with the given attribute payload; return the error and extack. */
static struct ack raw_request(struct nl_sock *sk, int family, uint8_t cmd, const void *attrs,
			      size_t len, int flags)
{
	struct nl_msg *msg = nlmsg_alloc_size(len + 4096);
	struct ack a = { 1, "" };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	void *hdr = genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, (int)len,
				flags | NLM_F_ACK, cmd, KSIP_GENL_VERSION);

	if (len)
		memcpy(hdr, attrs, len);
	nl_cb_err(cb, NL_CB_CUSTOM, ack_err, &a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_ok, &a);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, ack_skip, &a);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, ack_ok, &a);
	if (nl_send_auto(sk, msg) >= 0)
		while (a.error > 0 && nl_recvmsgs(sk, cb) >= 0)
			;
	nlmsg_free(msg);
	nl_cb_put(cb);
	return a;
}

/* Build attributes into buf with libnl's helpers on a scratch message. */
struct attrs {
	struct nl_msg *m;
};

static size_t attrs_take(struct nl_msg *m, void *buf, size_t cap)
{
	struct nlmsghdr *h = nlmsg_hdr(m);
	size_t len = h->nlmsg_len - NLMSG_HDRLEN;

	if (len > cap)
		len = cap;
	memcpy(buf, nlmsg_data(h), len);
	nlmsg_free(m);
	return len;
}

/* A nested address attribute: "4" for 10.98.0.1, "6" for fd98::1, with PORT. */
static void put_addr(struct nl_msg *m, int type, char family, uint16_t port)
{
	struct nlattr *a = nla_nest_start(m, type);
	struct in6_addr a6 = { .s6_addr = { 0xfd, 0x98, [15] = 1 } };

	if (family == '4')
		nla_put_u32(m, KSIP_ADDR_ATTR_IPV4, htonl(0x0a620001));
	else
		nla_put(m, KSIP_ADDR_ATTR_IPV6, sizeof(a6), &a6);
	nla_put_u16(m, KSIP_ADDR_ATTR_PORT, port);
	nla_nest_end(m, a);
}

/* FLOW { LOCAL, SOURCE, PEER, [EXPECT] } with the families given as "4"/"6" characters. */
static size_t flow_attrs(void *buf, size_t cap, const char *fam, uint16_t port)
{
	struct nl_msg *m = nlmsg_alloc();
	struct nlattr *nest = nla_nest_start(m, KSIP_ATTR_FLOW);

	put_addr(m, KSIP_FLOW_ATTR_LOCAL, fam[0], port);
	put_addr(m, KSIP_FLOW_ATTR_SOURCE, fam[1], port);
	put_addr(m, KSIP_FLOW_ATTR_PEER, fam[2], port);
	if (fam[3]) {
		nla_put_u32(m, KSIP_FLOW_ATTR_FLAGS, KSIP_FLOW_F_EXPECT);
		put_addr(m, KSIP_FLOW_ATTR_EXPECT, fam[3], 0);
	}
	nla_nest_end(m, nest);
	return attrs_take(m, buf, cap);
}

/* Flows across address families: which combinations the kernel takes. */
static void nlbad_families(struct nl_sock *sk, int family)
{
	static const struct {
		const char *fam;	/* LOCAL SOURCE PEER [EXPECT] */
		int error;
		const char *msg, *what;
	} cases[] = {
		{ "466", 0, NULL, "LOCAL IPv4, SOURCE and PEER IPv6: accepted" },
		{ "644", 0, NULL, "LOCAL IPv6, SOURCE and PEER IPv4: accepted" },
		{ "4664", 0, NULL, "across families with EXPECT of LOCAL's family: accepted" },
		{ "464", -EAFNOSUPPORT, "SOURCE and PEER", "SOURCE IPv6, PEER IPv4: refused" },
		{ "446", -EAFNOSUPPORT, "SOURCE and PEER", "SOURCE IPv4, PEER IPv6: refused" },
		{ "4666", -EAFNOSUPPORT, "LOCAL's", "EXPECT of SOURCE's family, not LOCAL's: refused" },
		{ "6444", -EAFNOSUPPORT, "LOCAL's", "EXPECT IPv4 on a flow with an IPv6 LOCAL: refused" },
	};
	char buf[1024], what[400];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = flow_attrs(buf, sizeof(buf), cases[i].fam, (uint16_t)(39000 + i));
		struct ack a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, buf, len, 0);

		snprintf(what, sizeof(what), "%s (error %d, \"%s\")", cases[i].what, a.error, a.msg);
		tap(a.error == cases[i].error && (!cases[i].msg || strstr(a.msg, cases[i].msg)),
		    what, NULL);
		if (!a.error)	/* remove it: LOCAL alone names it */
			raw_request(sk, family, KSIP_CMD_FLOW_DEL, buf, len, 0);
	}
}

/*
 * Extra outputs (KSIP_CMD_FLOW_SET, OUTPUTS in FLOW_NEW): each hostile request gets its errno
 * and an extack naming the output, and leaves the flow's outputs as they were. The flow is
 * 10.98.0.1:39100 from :39101 to :39102; output i goes from :39110+i to :39200+i.
 */
struct out_spec {
	char fam;		/* '4', '6' */
	int source, peer;	/* ports; 0: leave the attribute out */
};

static void put_outputs(struct nl_msg *m, const struct out_spec *o, int n)
{
	struct nlattr *outs;

	/* libnl's nla_nest_end() drops a nest left empty: put the empty one by hand. */
	if (!n) {
		nla_put(m, KSIP_FLOW_ATTR_OUTPUTS | NLA_F_NESTED, 0, NULL);
		return;
	}
	outs = nla_nest_start(m, KSIP_FLOW_ATTR_OUTPUTS);

	for (int i = 0; i < n; i++) {
		struct nlattr *one = nla_nest_start(m, KSIP_OUTPUTS_ATTR_OUTPUT);

		if (o[i].source)
			put_addr(m, KSIP_OUTPUT_ATTR_SOURCE, o[i].fam, (uint16_t)o[i].source);
		if (o[i].peer)
			put_addr(m, KSIP_OUTPUT_ATTR_PEER, o[i].fam, (uint16_t)o[i].peer);
		nla_nest_end(m, one);
	}
	nla_nest_end(m, outs);
}

/* FLOW { LOCAL 10.98.0.1:39100 [whole flow] OUTPUTS {...} } */
static size_t set_attrs(void *buf, size_t cap, bool whole, const struct out_spec *o, int n)
{
	struct nl_msg *m = nlmsg_alloc();
	struct nlattr *nest = nla_nest_start(m, KSIP_ATTR_FLOW);

	put_addr(m, KSIP_FLOW_ATTR_LOCAL, '4', 39100);
	if (whole) {
		put_addr(m, KSIP_FLOW_ATTR_SOURCE, '4', 39101);
		put_addr(m, KSIP_FLOW_ATTR_PEER, '4', 39102);
	}
	put_outputs(m, o, n);
	nla_nest_end(m, nest);
	return attrs_take(m, buf, cap);
}

/* How many outputs the flow at 10.98.0.1:39100 has (libksip's parser), -1 if none such. */
static int outputs_now(struct ksip_genl *g, struct ksip_flow_spec *f)
{
	struct sockaddr_storage local;
	char err[KSIP_GENL_ERRLEN];

	ksip_parse_endpoint("10.98.0.1:39100", false, &local);
	return ksip_genl_flow_get(g, &local, f, err, sizeof(err)) ? -1 : (int)f->noutputs;
}

static void nlbad_outputs(struct nl_sock *sk, int family)
{
	static struct out_spec o[KSIP_FLOW_OUTPUTS_MAX + 1];
	static struct ksip_flow_spec f;
	static const struct {
		int n, index, source, peer;	/* output INDEX of N gets SOURCE and PEER */
		char fam;
		int error;
		const char *msg, *what;
	} cases[] = {
		{ 17, -1, 0, 0, '4', -E2BIG, "output 16: more than", "17 outputs: E2BIG" },
		{ 3, 2, 39112, 39201, '4', -EEXIST, "output 2: PEER is already an earlier output's",
		  "two outputs with one PEER: EEXIST" },
		{ 1, 0, 39110, 39102, '4', -EEXIST, "output 0: PEER is the flow's own PEER",
		  "an output to the flow's PEER: EEXIST" },
		{ 4, 3, 39113, 39100, '4', -ELOOP, "output 3: PEER is the flow's LOCAL",
		  "an output to the flow's LOCAL: ELOOP" },
		{ 2, 1, 39111, 39101, '4', -ELOOP, "output 1: PEER is the flow's SOURCE",
		  "an output to the flow's SOURCE: ELOOP" },
		{ 2, 1, 39111, 39201, '6', -EAFNOSUPPORT,
		  "output 1: SOURCE and PEER must be of LOCAL's address family",
		  "an IPv6 output on an IPv4 flow: EAFNOSUPPORT" },
		{ 5, 4, 39114, 0, '4', -EINVAL, "output 4: needs PEER", "an output without PEER: EINVAL" },
		{ 1, 0, 0, 39200, '4', -EINVAL, "output 0: needs SOURCE",
		  "an output without SOURCE: EINVAL" },
	};
	struct ksip_genl *g;
	char buf[8192], what[400], err[KSIP_GENL_ERRLEN];
	struct nlattr *nest, *outs, *one;
	struct nl_msg *m;
	struct ack a;
	size_t len;

	for (int i = 0; i <= KSIP_FLOW_OUTPUTS_MAX; i++)
		o[i] = (struct out_spec){ '4', 39110 + i, 39200 + i };
	g = ksip_genl_open(err, sizeof(err));
	if (!g) {
		tap(false, "libksip opens the family", err);
		return;
	}

	/* FLOW_NEW with too many outputs creates nothing; with two, the flow and its outputs. */
	len = set_attrs(buf, sizeof(buf), true, o, KSIP_FLOW_OUTPUTS_MAX + 1);
	a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, buf, len, 0);
	snprintf(what, sizeof(what), "FLOW_NEW with 17 outputs: E2BIG, no flow (error %d, \"%s\")",
		 a.error, a.msg);
	tap(a.error == -E2BIG && strstr(a.msg, "output 16") && outputs_now(g, &f) == -1, what, NULL);
	len = set_attrs(buf, sizeof(buf), true, o, 2);
	a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, buf, len, 0);
	tap(a.error == 0 && outputs_now(g, &f) == 2 &&
	    ksip_endpoint_port(&f.outputs[1].source) == 39111 &&
	    ksip_endpoint_port(&f.outputs[1].peer) == 39201 && f.outputs[1].packets == 0,
	    "FLOW_NEW with 2 outputs: the flow reports both, in order (libksip parses them)", a.msg);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct out_spec saved;
		int k = cases[i].index;

		if (k >= 0) {
			saved = o[k];
			o[k] = (struct out_spec){ cases[i].fam, cases[i].source, cases[i].peer };
		}
		len = set_attrs(buf, sizeof(buf), false, o, cases[i].n);
		if (k >= 0)
			o[k] = saved;
		a = raw_request(sk, family, KSIP_CMD_FLOW_SET, buf, len, 0);
		snprintf(what, sizeof(what), "FLOW_SET, %s, \"%s\"; the 2 outputs stay (error %d, \"%s\")",
			 cases[i].what, cases[i].msg, a.error, a.msg);
		tap(a.error == cases[i].error && strstr(a.msg, cases[i].msg) &&
		    outputs_now(g, &f) == 2, what, NULL);
	}

	/* Garbage inside the nests: the policy refuses it, with a message. */
	for (int shape = 0; shape < 5; shape++) {
		static const char *const shapes[] = {
			"OUTPUTS as a u32", "OUTPUT as a u32", "unknown attribute 9 in OUTPUT",
			"read-only PACKETS in OUTPUT", "unknown attribute 5 in OUTPUTS",
		};

		m = nlmsg_alloc();
		nest = nla_nest_start(m, KSIP_ATTR_FLOW);
		put_addr(m, KSIP_FLOW_ATTR_LOCAL, '4', 39100);
		if (shape == 0) {
			nla_put_u32(m, KSIP_FLOW_ATTR_OUTPUTS, 1);
		} else {
			outs = nla_nest_start(m, KSIP_FLOW_ATTR_OUTPUTS);
			if (shape == 1)
				nla_put_u32(m, KSIP_OUTPUTS_ATTR_OUTPUT, 1);
			if (shape == 4)
				nla_put_u32(m, 5, 1);
			if (shape == 2 || shape == 3) {
				one = nla_nest_start(m, KSIP_OUTPUTS_ATTR_OUTPUT);
				put_addr(m, KSIP_OUTPUT_ATTR_SOURCE, '4', 39110);
				put_addr(m, KSIP_OUTPUT_ATTR_PEER, '4', 39200);
				if (shape == 2)
					nla_put_u32(m, 9, 1);
				else
					nla_put_u64(m, KSIP_OUTPUT_ATTR_PACKETS, 5);
				nla_nest_end(m, one);
			}
			nla_nest_end(m, outs);
		}
		nla_nest_end(m, nest);
		len = attrs_take(m, buf, sizeof(buf));
		a = raw_request(sk, family, KSIP_CMD_FLOW_SET, buf, len, 0);
		snprintf(what, sizeof(what), "FLOW_SET with %s: EINVAL with a message (\"%s\")",
			 shapes[shape], a.msg);
		tap(a.error == -EINVAL && a.msg[0] && outputs_now(g, &f) == 2, what, NULL);
	}

	len = set_attrs(buf, sizeof(buf), true, o, 2);
	a = raw_request(sk, family, KSIP_CMD_FLOW_SET, buf, len, 0);
	tap(a.error == -EINVAL && strstr(a.msg, "only LOCAL and OUTPUTS"),
	    "FLOW_SET with SOURCE and PEER: EINVAL, only LOCAL and OUTPUTS", a.msg);
	m = nlmsg_alloc();
	nest = nla_nest_start(m, KSIP_ATTR_FLOW);
	put_addr(m, KSIP_FLOW_ATTR_LOCAL, '4', 39100);
	nla_nest_end(m, nest);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_FLOW_SET, buf, len, 0);
	tap(a.error == -EINVAL && strstr(a.msg, "needs OUTPUTS"), "FLOW_SET without OUTPUTS: EINVAL",
	    a.msg);

	/* The limit itself, then none, then a flow that does not exist. */
	len = set_attrs(buf, sizeof(buf), false, o, KSIP_FLOW_OUTPUTS_MAX);
	a = raw_request(sk, family, KSIP_CMD_FLOW_SET, buf, len, 0);
	tap(a.error == 0 && outputs_now(g, &f) == KSIP_FLOW_OUTPUTS_MAX &&
	    ksip_endpoint_port(&f.outputs[15].peer) == 39215,
	    "FLOW_SET with 16 outputs: accepted, all 16 reported", a.msg);
	len = set_attrs(buf, sizeof(buf), false, o, 0);
	a = raw_request(sk, family, KSIP_CMD_FLOW_SET, buf, len, 0);
	tap(a.error == 0 && outputs_now(g, &f) == 0, "FLOW_SET with an empty OUTPUTS: none left",
	    a.msg);
	raw_request(sk, family, KSIP_CMD_FLOW_DEL, buf, len, 0);
	a = raw_request(sk, family, KSIP_CMD_FLOW_SET, buf, len, 0);
	tap(a.error == -ENOENT && strstr(a.msg, "no flow"), "FLOW_SET on no flow: ENOENT", a.msg);
	ksip_genl_close(g);
}

static int cmd_nlbad(char **argv)
{
	unsigned int seed = (unsigned int)atoi(argv[0]);
	long count = atol(argv[1]), rejected = 0, no_msg = 0;
	struct nl_sock *sk = nl_socket_alloc();
	int family, one = 1;
	char buf[8192];
	struct nl_msg *m;
	struct nlattr *nest, *inner;
	struct ack a;
	size_t len;

	genl_connect(sk);
	setsockopt(nl_socket_get_fd(sk), 270 /* SOL_NETLINK */, NETLINK_EXT_ACK, &one, sizeof(one));
	family = genl_ctrl_resolve(sk, KSIP_GENL_NAME);
	if (family < 0) {
		tap(false, "resolve the ksip family", NULL);
		return 1;
	}

	a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, NULL, 0, 0);
	tap(a.error == -EINVAL && a.msg[0], "FLOW_NEW without FLOW: EINVAL with a message", a.msg);

	m = nlmsg_alloc();
	nla_put_u32(m, KSIP_ATTR_FLOW, 7);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, buf, len, 0);
	tap(a.error == -EINVAL && a.msg[0], "FLOW as u32 instead of nested: EINVAL with a message", a.msg);

	m = nlmsg_alloc();
	nest = nla_nest_start(m, KSIP_ATTR_FLOW);
	inner = nla_nest_start(m, KSIP_FLOW_ATTR_LOCAL);
	nla_put_u32(m, KSIP_ADDR_ATTR_IPV4, htonl(0x0a000001));
	nla_put_u16(m, KSIP_ADDR_ATTR_PORT, 1000);
	nla_nest_end(m, inner);
	nla_nest_end(m, nest);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, buf, len, 0);
	tap(a.error == -EINVAL && strstr(a.msg, "SOURCE"), "FLOW_NEW without SOURCE names it", a.msg);

	m = nlmsg_alloc();
	nest = nla_nest_start(m, KSIP_ATTR_FLOW);
	nla_put_u32(m, KSIP_FLOW_ATTR_FLAGS, 0x80000000u);
	nla_nest_end(m, nest);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, buf, len, 0);
	tap(a.error == -EINVAL && a.msg[0], "unknown flag bit rejected with a message", a.msg);

	m = nlmsg_alloc();
	nest = nla_nest_start(m, KSIP_ATTR_FLOW);
	nla_put_u32(m, KSIP_FLOW_ATTR_TIMEOUT, 0xffffffffu);
	nla_nest_end(m, nest);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, buf, len, 0);
	tap(a.error == -ERANGE || (a.error == -EINVAL && a.msg[0]), "huge TIMEOUT rejected", a.msg);

	m = nlmsg_alloc();
	nest = nla_nest_start(m, KSIP_ATTR_FLOW);
	nla_put_u64(m, KSIP_FLOW_ATTR_PACKETS, 5);
	nla_nest_end(m, nest);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_FLOW_NEW, buf, len, 0);
	tap(a.error == -EINVAL, "read-only PACKETS rejected", a.msg);

	m = nlmsg_alloc();
	nla_put_u32(m, 77, 1);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_STATS_GET, buf, len, 0);
	tap(a.error == -EINVAL, "unknown top-level attribute rejected (strict)", a.msg);

	/* The kernel's own limit on guarded ports (ksipctl checks it too, so test it here). */
	m = nlmsg_alloc();
	nest = nla_nest_start(m, KSIP_ATTR_GUARD);
	for (int i = 1; i <= KSIP_GUARD_MAX_PORTS + 1; i++)
		nla_put_u16(m, KSIP_GUARD_ATTR_PORT, (uint16_t)(6000 + i));
	nla_nest_end(m, nest);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_GUARD_SET, buf, len, 0);
	tap(a.error == -E2BIG && strstr(a.msg, "too many"), "17 guarded ports: E2BIG with a message", a.msg);

	m = nlmsg_alloc();
	nest = nla_nest_start(m, KSIP_ATTR_GUARD);
	nla_put_u16(m, KSIP_GUARD_ATTR_PORT, 0);
	nla_nest_end(m, nest);
	len = attrs_take(m, buf, sizeof(buf));
	a = raw_request(sk, family, KSIP_CMD_GUARD_SET, buf, len, 0);
	tap(a.error == -ERANGE && a.msg[0], "guarded port 0 rejected by policy (ERANGE)", a.msg);

	a = raw_request(sk, family, 99, NULL, 0, 0);
	tap(a.error == -EOPNOTSUPP, "unknown command: EOPNOTSUPP", a.msg);

	nlbad_families(sk, family);
	nlbad_outputs(sk, family);

	/* Attribute soup: random types, lengths and nesting. Every answer must be an error or ok. */
	srand(seed);
	for (long i = 0; i < count; i++) {
		size_t n = (size_t)(rand() % 512);
		uint8_t cmd = (uint8_t)(rand() % (KSIP_CMD_MAX + 2));

		for (size_t k = 0; k < n; k++)
			buf[k] = (char)rand();
		/* Mostly well-formed TLV headers so the parsers go deep. */
		for (size_t off = 0; off + 4 <= n;) {
			struct nlattr *na = (struct nlattr *)(buf + off);
			size_t room = n - off;

			na->nla_len = (uint16_t)(4 + rand() % (room > 64 ? 64 : room));
			na->nla_type = (uint16_t)((rand() % 16) | (rand() % 4 == 0 ? NLA_F_NESTED : 0));
			off += NLA_ALIGN(na->nla_len);
		}
		if (cmd == KSIP_CMD_FLOW_FLUSH)
			cmd = KSIP_CMD_STATS_GET;	/* keep the flows the soup creates countable */
		a = raw_request(sk, family, cmd, buf, n & ~3u, 0);
		if (a.error < 0)
			rejected++;
		if (a.error == -EINVAL && !a.msg[0])
			no_msg++;
	}
	snprintf(buf, sizeof(buf), "%ld of %ld rejected, %ld EINVAL without a message", rejected,
		 count, no_msg);
	tap(rejected > count / 2, "random attribute soup answered without a crash", buf);
	nl_socket_free(sk);
	printf("1..%d\n", tap_n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "send"))
		return cmd_send(argv + 2);
	if (argc >= 7 && !strcmp(argv[1], "rawsend"))
		return cmd_rawsend(argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "jsoncheck"))
		return cmd_jsoncheck();
	if (argc >= 5 && !strcmp(argv[1], "sendfile"))
		return cmd_sendfile(argv + 2);
	if (argc >= 5 && !strcmp(argv[1], "recv"))
		return cmd_recv(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "echo"))
		return cmd_echo(argv + 2);
	if (argc >= 6 && !strcmp(argv[1], "ping"))
		return cmd_ping(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "soak"))
		cmd_soak(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "ng"))
		return cmd_ng(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "tos"))
		return cmd_tos(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "events"))
		return cmd_events(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "asuser"))
		return cmd_asuser(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "bulk"))
		return cmd_bulk(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "nlbad"))
		return cmd_nlbad(argv + 2);
	fprintf(stderr, "usage: ktest send|recv|echo|asuser|bulk|nlbad|ng ...\n");
	return 2;
}
