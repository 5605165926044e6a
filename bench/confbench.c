// SPDX-License-Identifier: GPL-2.0
/*
 * confbench: what mixing costs, per member and per core.
 *
 * ROOMS rooms of SIZE members, each member fed by a synthetic phone: one
 * sender thread sends every member a 20 ms RTP packet per tick over
 * loopback (TALKERS members per room a sine tone, the others µ-law
 * silence; half of the rooms' members A-law). The rooms' mixer threads
 * are measured by their own CPU clock (CLOCK_THREAD_CPUTIME_ID, kept by
 * the mixer as mixer_room_info().cpu_ns), so the senders' cost does not
 * count. Prints one line:
 *
 *   members rooms size talkers ticks us_per_tick us_per_member_tick members_per_core overruns rx_ok
 *
 * us_per_tick is the CPU all rooms' threads used per 20 ms tick;
 * members_per_core = members * 20 ms / us_per_tick: how many members one
 * core could mix at real time at this cost. Member ports: 48000-48998 on
 * 127.0.0.1, then the same ports on 127.0.0.2, ...; phones on 127.0.1.1.
 *
 * rx_ok: the share of the packets sent that the members' jitter buffers
 * took (1.000: none missed).
 *
 * usage: confbench ROOMS [SIZE=5] [TALKERS=SIZE] [SECONDS=5]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mixer/g711.h"
#include "mixer/mixer.h"
#include "mixer/rtp.h"

#define PORT_BASE 48000
#define PORTS_PER_ADDR 500	/* members per loopback address: ports 48000-48998 */
#define LOOP 50			/* frames of tone precomputed: 1 s, whole periods of every tone */

struct phone {
	int fd;
	struct sockaddr_in to;
	bool alaw, talks;
	uint16_t seq;
	uint32_t ts, ssrc;
	unsigned int freq;
};

static struct phone *phones;
static unsigned int nphones;
static volatile int running = 1;
static volatile unsigned int frames_sent;
static uint8_t tone[2][8][LOOP][MIXER_FRAME];	/* [alaw][member index][frame] */

static struct sockaddr_in member_addr(unsigned int i)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK + i / PORTS_PER_ADDR);
	a.sin_port = htons((uint16_t)(PORT_BASE + 2 * (i % PORTS_PER_ADDR)));
	return a;
}

static void add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

/* Every phone sends one packet per 20 ms; what the mixer sends back is left to overflow. */
static void *sender(void *arg)
{
	struct timespec next;
	unsigned int frame = 0;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (running) {
		for (unsigned int i = 0; i < nphones; i++) {
			struct phone *p = &phones[i];
			uint8_t pkt[RTP_HEADER_LEN + MIXER_FRAME];

			rtp_write_header(pkt, p->alaw ? 8 : 0, false, p->seq++, p->ts, p->ssrc);
			p->ts += MIXER_FRAME;
			if (p->talks)
				memcpy(pkt + RTP_HEADER_LEN, tone[p->alaw][p->freq][frame % LOOP], MIXER_FRAME);
			else
				memset(pkt + RTP_HEADER_LEN, p->alaw ? G711_ALAW_SILENCE : G711_ULAW_SILENCE,
				       MIXER_FRAME);
			sendto(p->fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&p->to, sizeof(p->to));
		}
		frame++;
		frames_sent = frame;
		add_ns(&next, MIXER_TICK_MS * 1000000L);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return NULL;
}

static void room_totals(struct mixer_room **rooms, unsigned int n, uint64_t *ticks, uint64_t *cpu,
			uint64_t *overruns)
{
	*ticks = *cpu = *overruns = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct mixer_room_info info;

		mixer_room_info(rooms[i], &info);
		*ticks += info.ticks;
		*cpu += info.cpu_ns;
		*overruns += info.overruns;
	}
}

int main(int argc, char **argv)
{
	unsigned int nrooms = argc > 1 ? (unsigned int)atoi(argv[1]) : 1;
	unsigned int size = argc > 2 ? (unsigned int)atoi(argv[2]) : 5;
	unsigned int talkers = argc > 3 ? (unsigned int)atoi(argv[3]) : size;
	unsigned int secs = argc > 4 ? (unsigned int)atoi(argv[4]) : 5;
	struct mixer_room **rooms;
	struct rlimit rl;
	uint64_t t0, c0, o0, t1, c1, o1, rx = 0, expect = 0;
	pthread_t th;
	double per_tick;

	if (!nrooms || !size || size > 8 || talkers > size || !secs) {
		fprintf(stderr, "usage: confbench ROOMS [SIZE=5 (1-8)] [TALKERS=SIZE] [SECONDS=5]\n");
		return 2;
	}
	/* Three descriptors per member (its RTP and RTCP ports, its phone). */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);

	for (int law = 0; law < 2; law++)
		for (unsigned int k = 0; k < 8; k++)
			for (int f = 0; f < LOOP; f++) {
				int16_t s[MIXER_FRAME];

				/* 300 + 100 k Hz: whole periods in 1 s, so the loop has no click. */
				for (int i = 0; i < MIXER_FRAME; i++)
					s[i] = (int16_t)lrint(4000 * sin(2 * M_PI * (300 + 100 * k) *
									 (f * MIXER_FRAME + i) / MIXER_RATE));
				g711_encode(law, s, tone[law][k][f], MIXER_FRAME);
			}

	nphones = nrooms * size;
	phones = calloc(nphones, sizeof(*phones));
	rooms = calloc(nrooms, sizeof(*rooms));
	if (!phones || !rooms)
		return 1;
	for (unsigned int r = 0; r < nrooms; r++) {
		char name[32];

		snprintf(name, sizeof(name), "bench%u", r);
		rooms[r] = mixer_room_new(name, size);
		for (unsigned int k = 0; k < size; k++) {
			unsigned int i = r * size + k;
			struct phone *p = &phones[i];
			struct sockaddr_in any = { .sin_family = AF_INET };
			socklen_t len = sizeof(any);
			int small = 4096;
			struct mixer_member_params mp = { .dtmf_pt = -1, .admitted = true };

			p->alaw = k % 2;
			p->talks = k < talkers;
			p->freq = k;
			p->ssrc = 0x5000 + i;
			p->to = member_addr(i);
			p->fd = socket(AF_INET, SOCK_DGRAM, 0);
			/* Phones on their own address: their ephemeral ports cannot take a member's. */
			any.sin_addr.s_addr = htonl(0x7f000101);	/* 127.0.1.1 */
			/* What the mixer sends back is not read: let the kernel drop it early. */
			setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
			if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
			    getsockname(p->fd, (struct sockaddr *)&any, &len) < 0) {
				perror("phone socket");
				return 1;
			}
			mp.codec = p->alaw ? MIXER_PCMA : MIXER_PCMU;
			mp.pt = p->alaw ? 8 : 0;
			memcpy(&mp.local, &p->to, sizeof(p->to));
			memcpy(&mp.remote, &any, sizeof(any));
			if (mixer_member_add(rooms[r], &mp) < 0) {
				fprintf(stderr, "member %u: %s\n", i, strerror(errno));
				return 1;
			}
		}
	}
	pthread_create(&th, NULL, sender, NULL);
	sleep(1);	/* jitter buffers fill, threads settle */
	room_totals(rooms, nrooms, &t0, &c0, &o0);
	sleep(secs);
	room_totals(rooms, nrooms, &t1, &c1, &o1);
	running = 0;
	pthread_join(th, NULL);

	for (unsigned int r = 0; r < nrooms; r++) {
		struct mixer_member_stats st[8];
		size_t n = mixer_room_stats(rooms[r], st, 8);

		for (size_t k = 0; k < n; k++)
			rx += st[k].rx_packets;
	}
	expect = (uint64_t)frames_sent * nphones;
	per_tick = t1 > t0 ? (double)(c1 - c0) / ((double)(t1 - t0) / nrooms) / 1000.0 : 0;
	printf("members %u rooms %u size %u talkers %u ticks %llu us_per_tick %.1f us_per_member_tick %.3f "
	       "members_per_core %.0f overruns %llu rx_ok %.3f\n",
	       nphones, nrooms, size, talkers, (unsigned long long)((t1 - t0) / nrooms), per_tick,
	       per_tick / nphones, per_tick > 0 ? nphones * (MIXER_TICK_MS * 1000.0) / per_tick : 0,
	       (unsigned long long)(o1 - o0), expect ? (double)rx / (double)expect : 0);
	for (unsigned int r = 0; r < nrooms; r++)
		mixer_room_free(rooms[r]);
	for (unsigned int i = 0; i < nphones; i++)
		close(phones[i].fd);
	free(phones);
	free(rooms);
	return 0;
}
