// SPDX-License-Identifier: GPL-2.0
/*
 * The mixer as its users see it: real rooms over loopback. Each client is
 * a UDP socket sending 20 ms RTP of its own sine tone (µ-law or A-law) to
 * its member port and decoding what comes back; a Goertzel filter then
 * says which tones a client hears.
 *
 *     client k (127.0.0.1:48500+k) --RTP--> member k (127.0.0.1:48000+2k)
 *                                  <--mix-- (everyone but k)
 *
 * Nothing here asserts timing: the clients pace themselves at 20 ms, the
 * assertions are about what was heard, and every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "mixer/g711.h"
#include "mixer/mixer.h"
#include "mixer/room_priv.h"
#include "mixer/rtp.h"

#define MIXER_PORT 48000	/* member k listens on MIXER_PORT + 2k (RTCP above) */
#define CLIENT_PORT 48500
#define MAX_CLIENTS 8
#define CAPTURE_TICKS 25	/* 500 ms analysed */
#define WARMUP_TICKS 15		/* 300 ms for the jitter buffers to fill and the mix to settle */
#define TONE_AMPLITUDE 4000
#define PRESENT 1500		/* a tone heard: its amplitude in the capture, about 4000 when whole */
#define ABSENT 300		/* a tone not heard */

enum mode { SEND_TONE, SEND_HUSH, SEND_NOTHING };

struct client {
	int fd, id;
	int port, member_port;
	bool alaw, ipv6;
	double freq;
	enum mode mode;
	uint16_t seq;
	uint32_t ts, ssrc, n;
	unsigned int sent;
	unsigned int gap_at;		/* at this many packets sent, skip 2 sequence numbers, then resend an old one */
	/* What it hears. */
	unsigned int packets;
	bool capture;
	int16_t heard[CAPTURE_TICKS * MIXER_FRAME];
	unsigned int nheard;
	unsigned int nonsilent_codes;	/* received payload bytes that are not the law's silence */
	bool bad_pt;
};

static struct client clients[MAX_CLIENTS];
/* An attacker sending FLOOD_PER_TICK datagrams a tick at FLOOD_TARGET's member port. */
static struct client *flood_from, *flood_target;
static int flood_per_tick;
static unsigned long flood_sent;

static struct sockaddr_storage loopback(int port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return ss;
}

/* ::1 when the client is IPv6. */
static struct sockaddr_storage loopback_of(const struct client *c, int port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	if (!c->ipv6)
		return loopback(port);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	sin6->sin6_addr = in6addr_loopback;
	return ss;
}

static socklen_t len_of(const struct client *c)
{
	return c->ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int client_open6(struct client *c, int k, double freq, bool alaw, enum mode mode, bool ipv6)
{
	struct sockaddr_storage me;

	memset(c, 0, sizeof(*c));
	c->ipv6 = ipv6;
	me = loopback_of(c, CLIENT_PORT + k);
	c->port = CLIENT_PORT + k;
	c->member_port = MIXER_PORT + 2 * k;
	c->freq = freq;
	c->alaw = alaw;
	c->mode = mode;
	c->ssrc = 0x1000 + (uint32_t)k;
	c->seq = (uint16_t)(65530 - k * 7);	/* wraps during the test */
	c->ts = 0xfffff000u + (uint32_t)k;	/* so does the timestamp */
	c->fd = socket(me.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&me, len_of(c)) < 0)
		return -1;
	return 0;
}

static int client_open(struct client *c, int k, double freq, bool alaw, enum mode mode)
{
	return client_open6(c, k, freq, alaw, mode, false);
}

static int member_add(struct mixer_room *r, struct client *c, bool admitted, int dtmf_pt)
{
	struct mixer_member_params p = {
		.codec = c->alaw ? MIXER_PCMA : MIXER_PCMU,
		.pt = c->alaw ? 8 : 0,
		.dtmf_pt = dtmf_pt,
		.local = loopback_of(c, c->member_port),
		.remote = loopback_of(c, c->port),
		.admitted = admitted,
	};

	c->id = mixer_member_add(r, &p);
	return c->id;
}

static void client_send_raw(struct client *c, const void *buf, size_t n)
{
	struct sockaddr_storage to = loopback_of(c, c->member_port);

	sendto(c->fd, buf, n, 0, (struct sockaddr *)&to, len_of(c));
}

static void client_send(struct client *c)
{
	uint8_t pkt[RTP_HEADER_LEN + MIXER_FRAME];
	int16_t s[MIXER_FRAME];

	for (int i = 0; i < MIXER_FRAME; i++, c->n++) {
		if (c->mode == SEND_TONE)
			s[i] = (int16_t)lrint(TONE_AMPLITUDE * sin(2 * M_PI * c->freq * c->n / MIXER_RATE));
		else	/* a quiet line: a few steps of noise, well below the silence level */
			s[i] = (int16_t)((int)(c->n * 2654435761u >> 27) - 16);
	}
	if (c->gap_at && c->sent == c->gap_at) {
		c->seq += 2;	/* two packets lost on the way */
		c->ts += 2 * MIXER_FRAME;
	}
	rtp_write_header(pkt, c->alaw ? 8 : 0, false, c->seq++, c->ts, c->ssrc);
	c->ts += MIXER_FRAME;
	g711_encode(c->alaw, s, pkt + RTP_HEADER_LEN, MIXER_FRAME);
	client_send_raw(c, pkt, sizeof(pkt));
	c->sent++;
	if (c->gap_at && c->sent == c->gap_at + 5) {
		/* One from 160 ms ago, long played: late. */
		rtp_write_header(pkt, c->alaw ? 8 : 0, false, (uint16_t)(c->seq - 8), c->ts - 8 * MIXER_FRAME,
				 c->ssrc);
		client_send_raw(c, pkt, sizeof(pkt));
		c->sent++;
	}
}

static void client_receive(struct client *c)
{
	uint8_t buf[1500];
	struct rtp_packet p;
	ssize_t n;

	while ((n = recv(c->fd, buf, sizeof(buf), 0)) > 0) {
		if (!rtp_parse(buf, (size_t)n, &p) || p.len != MIXER_FRAME)
			continue;
		c->packets++;
		if (p.pt != (c->alaw ? 8 : 0))
			c->bad_pt = true;
		if (!c->capture)
			continue;
		for (size_t i = 0; i < p.len; i++)
			if (p.payload[i] != (c->alaw ? G711_ALAW_SILENCE : G711_ULAW_SILENCE))
				c->nonsilent_codes++;
		if (c->nheard + MIXER_FRAME <= sizeof(c->heard) / sizeof(c->heard[0])) {
			g711_decode(c->alaw, p.payload, c->heard + c->nheard, MIXER_FRAME);
			c->nheard += MIXER_FRAME;
		}
	}
}

static void flood(void)
{
	uint8_t pkt[RTP_HEADER_LEN + MIXER_FRAME] = { 0 };

	for (int i = 0; i < flood_per_tick; i++) {
		/* Half look like the member's stream (its SSRC, PT, size), half are short junk. */
		rtp_write_header(pkt, 0, false, (uint16_t)(flood_sent * 7919), (uint32_t)flood_sent,
				 flood_target->ssrc);
		flood_from->member_port = flood_target->member_port;
		client_send_raw(flood_from, pkt, i % 2 ? sizeof(pkt) : 20);
		flood_sent++;
	}
}

/* TICKS of 20 ms: every active client sends one packet and reads what came back. */
static void run(int nclients, int ticks)
{
	struct timespec next, now;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int t = 0; t < ticks; t++) {
		if (flood_per_tick)
			flood();
		for (int k = 0; k < nclients; k++) {
			if (clients[k].fd >= 0 && clients[k].mode != SEND_NOTHING)
				client_send(&clients[k]);
			if (clients[k].fd >= 0)
				client_receive(&clients[k]);
		}
		next.tv_nsec += 20 * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec + 1)	/* the machine stalled: do not burst */
			next = now;
	}
}

/* Warm up, then capture CAPTURE_TICKS of what every client hears. */
static void listen_all(int nclients)
{
	run(nclients, WARMUP_TICKS);
	for (int k = 0; k < nclients; k++) {
		clients[k].capture = true;
		clients[k].nheard = 0;
		clients[k].nonsilent_codes = 0;
	}
	run(nclients, CAPTURE_TICKS);
	for (int k = 0; k < nclients; k++)
		clients[k].capture = false;
}

/* The amplitude of the FREQ component of C's capture (Goertzel). */
static double tone_level(const struct client *c, double freq)
{
	double w = 2 * M_PI * freq / MIXER_RATE, coeff = 2 * cos(w), s1 = 0, s2 = 0, power;

	if (!c->nheard)
		return 0;
	for (unsigned int i = 0; i < c->nheard; i++) {
		double s = c->heard[i] + coeff * s1 - s2;

		s2 = s1;
		s1 = s;
	}
	power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
	return 2 * sqrt(power > 0 ? power : 0) / c->nheard;
}

/*
 * Does client K hear exactly the tones of the clients in HEARD (a bit mask),
 * and none of the others of the first N (its own included)?
 */
static bool hears(int k, int n, unsigned int heard, const char *who)
{
	bool good = clients[k].nheard > 0;

	for (int j = 0; j < n; j++) {
		double lvl = tone_level(&clients[k], clients[j].freq);
		bool want = heard & (1u << j);

		if (want ? lvl < PRESENT : lvl > ABSENT) {
			diag("%s: client %d hears %.0f Hz at %.0f (want %s)", who, k, clients[j].freq, lvl,
			     want ? "present" : "absent");
			good = false;
		}
	}
	return good;
}

static bool stats_of(struct mixer_room *r, int id, struct mixer_member_stats *out)
{
	struct mixer_member_stats st[MAX_CLIENTS];
	size_t n = mixer_room_stats(r, st, MAX_CLIENTS);

	for (size_t i = 0; i < n; i++) {
		if (st[i].id == id) {
			*out = st[i];
			return true;
		}
	}
	return false;
}

/* Wait (bounded: 2 s) until the mixer has taken every packet member C sent. */
static bool settled(struct mixer_room *r, struct client *c, struct mixer_member_stats *st)
{
	for (int i = 0; i < 100; i++) {
		if (stats_of(r, c->id, st) && st->rx_packets + st->ignored >= c->sent)
			return true;
		usleep(20000);
	}
	return false;
}

static void close_all(void)
{
	for (int k = 0; k < MAX_CLIENTS; k++) {
		if (clients[k].fd >= 0)
			close(clients[k].fd);
		clients[k].fd = -1;
	}
}

static const double freqs[] = { 600, 800, 1000, 1200, 1400, 1800 };

static void three_members(void)
{
	struct mixer_room *r = mixer_room_new("three", 8);
	struct mixer_member_stats st;
	bool all = true, ok_stats = true;

	/* µ-law, A-law, µ-law. */
	for (int k = 0; k < 3; k++) {
		if (client_open(&clients[k], k, freqs[k], k == 1, SEND_TONE) < 0 ||
		    member_add(r, &clients[k], true, -1) < 0)
			all = false;
	}
	ok(all, "a room of 3 members on loopback ports");
	clients[2].gap_at = WARMUP_TICKS + 5;
	listen_all(3);
	for (int k = 0; k < 3; k++)
		ok(hears(k, 3, 7u & ~(1u << k), "3 members"),
		   "3 members: member %d (%s) hears the other two tones and not its own", k,
		   clients[k].alaw ? "A-law" : "µ-law");
	for (int k = 0; k < 3; k++) {
		if (!settled(r, &clients[k], &st) || st.rx_packets != clients[k].sent ||
		    st.lost != (k == 2 ? 2u : 0u) || st.late != (k == 2 ? 1u : 0u) || st.concealed > st.lost ||
		    !st.talking || st.tx_packets < clients[k].packets || !clients[k].packets ||
		    clients[k].bad_pt || st.codec != (clients[k].alaw ? MIXER_PCMA : MIXER_PCMU)) {
			diag("member %d: rx %llu of %u sent, lost %llu, late %llu, talking %d, tx %llu, got %u", k,
			     (unsigned long long)st.rx_packets, clients[k].sent, (unsigned long long)st.lost,
			     (unsigned long long)st.late, st.talking, (unsigned long long)st.tx_packets,
			     clients[k].packets);
			ok_stats = false;
		}
		if (k == 2)
			diag("member 2: lost %llu, concealed %llu, late %llu, jitter %u ms",
			     (unsigned long long)st.lost, (unsigned long long)st.concealed,
			     (unsigned long long)st.late, st.jitter_ms);
	}
	ok(ok_stats, "3 members: stats count every packet sent, all talking, packets sent back in the member's payload type; "
	   "lost 0, 0 and 2 (member 2 skipped two sequence numbers), late 1 for the old packet member 2 resent, "
	   "no more frames concealed than lost");
	ok(mixer_room_members(r) == 3, "3 members counted");
	mixer_room_free(r);
	close_all();
}

static void five_members_and_a_pin(void)
{
	struct mixer_room *r = mixer_room_new("five", 8);
	struct mixer_member_stats st;
	bool all = true, quiet = true;
	unsigned int got;
	int k;

	/* Five admitted (A-law for 1 and 3), the sixth waiting for its PIN. */
	for (k = 0; k < 6; k++) {
		if (client_open(&clients[k], k, freqs[k], k == 1 || k == 3, SEND_TONE) < 0 ||
		    member_add(r, &clients[k], k < 5, -1) < 0)
			all = false;
	}
	ok(all, "a room of 5 members and one whose PIN is pending");
	listen_all(6);
	for (k = 0; k < 5; k++)
		ok(hears(k, 6, 0x1fu & ~(1u << k), "5 members"),
		   "5 members: member %d hears the 4 others, not itself, not the member without PIN", k);
	ok(hears(5, 6, 0, "pending") && tone_level(&clients[5], 440) > 500,
	   "the member without PIN hears only the prompt (440 Hz at %.0f), no member",
	   tone_level(&clients[5], 440));
	ok(stats_of(r, clients[5].id, &st) && !st.admitted && stats_of(r, clients[0].id, &st) && st.admitted,
	   "stats: admitted or not");

	mixer_member_admit(r, clients[5].id);
	listen_all(6);
	for (k = 0; k < 6; k++)
		ok(hears(k, 6, 0x3fu & ~(1u << k), "admitted"),
		   "after the PIN: member %d hears the 5 others and not itself", k);
	ok(tone_level(&clients[5], 440) < ABSENT, "after the PIN the prompt stops (440 Hz at %.0f)",
	   tone_level(&clients[5], 440));

	/* Member 2 leaves. */
	mixer_member_remove(r, clients[2].id);
	mixer_member_remove(r, clients[2].id);	/* twice: unknown ids are ignored */
	ok(mixer_room_members(r) == 5, "member 2 removed (twice: the second is a no-op)");
	run(6, 3);
	clients[2].packets = 0;
	listen_all(6);
	for (k = 0; k < 6; k++) {
		if (k != 2 && !hears(k, 6, 0x3bu & ~(1u << k), "after leave"))
			quiet = false;
	}
	ok(quiet, "after member 2 leaves, nobody hears its tone and everyone still hears the rest");
	got = clients[2].packets;
	ok(got == 0, "the member that left is sent nothing more (%u packets)", got);
	mixer_room_free(r);
	close_all();
}

static void silence_adds_nothing(void)
{
	struct mixer_room *r = mixer_room_new("hush", 4);
	struct mixer_member_stats st;
	bool all = true;

	/* 0 talks; 1 sends a quiet noisy line; 2 sends nothing at all. */
	for (int k = 0; k < 3; k++) {
		if (client_open(&clients[k], k, freqs[k], k == 1,
				k == 0 ? SEND_TONE : k == 1 ? SEND_HUSH : SEND_NOTHING) < 0 ||
		    member_add(r, &clients[k], true, -1) < 0)
			all = false;
	}
	ok(all, "a room with a talker, a quiet line and a mute member");
	listen_all(3);
	ok(clients[0].nheard > 0 && clients[0].nonsilent_codes == 0,
	   "the talker hears digital silence: the quiet line and the mute member add nothing (%u non-silent codes)",
	   clients[0].nonsilent_codes);
	ok(hears(1, 3, 1, "quiet") && hears(2, 3, 1, "mute"),
	   "the quiet and the mute member hear the talker (the mute one at its SDP address)");
	ok(stats_of(r, clients[0].id, &st) && st.talking, "the talker is talking");
	ok(stats_of(r, clients[1].id, &st) && !st.talking && st.rx_packets > 0,
	   "the quiet line is received but not talking");
	ok(stats_of(r, clients[2].id, &st) && !st.talking && st.rx_packets == 0 && st.tx_packets > 0,
	   "the mute member received nothing, is not talking, and is sent the mix");
	mixer_room_free(r);
	close_all();
}

static void send_event(struct client *c, uint32_t ts, uint8_t event, bool end, uint16_t dur)
{
	uint8_t pkt[RTP_HEADER_LEN + 4];

	rtp_write_header(pkt, 101, false, c->seq++, ts, c->ssrc);
	pkt[12] = event;
	pkt[13] = (uint8_t)((end ? 0x80 : 0) | 10);
	pkt[14] = (uint8_t)(dur >> 8);
	pkt[15] = (uint8_t)dur;
	client_send_raw(c, pkt, sizeof(pkt));
	c->sent++;
}

static void digits_and_hostile_packets(void)
{
	struct mixer_room *r = mixer_room_new("dtmf", 2);
	struct mixer_member_stats st, before;
	struct client *c = &clients[0], *stranger = &clients[1];
	uint8_t junk[RTP_HEADER_LEN + MIXER_FRAME] = { 0 };
	struct sockaddr_storage ss;
	char digits[16];
	bool good;
	size_t n;

	ok(client_open(c, 0, freqs[0], false, SEND_TONE) == 0 && member_add(r, c, false, 101) >= 0 &&
	   client_open(stranger, 1, freqs[1], false, SEND_NOTHING) == 0,
	   "a member with telephone-events on payload type 101");
	run(1, 3);
	/* '5': start, update, three ends; then '#' whose ends are all lost; then '1'. */
	send_event(c, c->ts, 5, false, 160);
	send_event(c, c->ts, 5, false, 320);
	for (int i = 0; i < 3; i++)
		send_event(c, c->ts, 5, true, 480);
	c->ts += 480;
	send_event(c, c->ts, 11, false, 160);
	c->ts += 320;
	send_event(c, c->ts, 1, true, 160);
	send_event(c, c->ts, 1, true, 160);
	/* Hostile: an event that is no digit, a short payload, an old event again. */
	send_event(c, c->ts + 1000, 200, true, 160);
	send_event(c, c->ts - 800, 5, true, 480);
	rtp_write_header(junk, 101, false, c->seq++, c->ts + 2000, c->ssrc);
	client_send_raw(c, junk, RTP_HEADER_LEN + 2);
	c->sent++;
	c->ts += 3000;
	run(1, 5);
	n = mixer_member_digits(r, c->id, digits, sizeof(digits));
	ok(n == 3 && !memcmp(digits, "5#1", 3), "digits 5, # (its end lost), 1: each once (%zu: %.*s)",
	   n, (int)n, digits);
	ok(mixer_member_digits(r, c->id, digits, sizeof(digits)) == 0, "read once");
	good = settled(r, c, &st);
	ok(good && st.ignored >= 2, "the non-digit event and the short payload are ignored (%llu)",
	   (unsigned long long)st.ignored);

	/* Packets the member's stream must not take. */
	stats_of(r, c->id, &before);
	rtp_write_header(junk, 0, false, c->seq, c->ts, c->ssrc);
	client_send_raw(c, junk, RTP_HEADER_LEN + 80);		/* half a frame */
	rtp_write_header(junk, 18, false, c->seq, c->ts, c->ssrc);
	client_send_raw(c, junk, sizeof(junk));			/* G.729's payload type */
	client_send_raw(c, "not rtp at all", 14);
	junk[0] = 0x8f;						/* 15 CSRCs that are not there */
	client_send_raw(c, junk, 40);
	c->sent += 4;
	/* A stranger's valid-looking packet: the socket is connected to the latched source. */
	rtp_write_header(junk, 0, false, c->seq, c->ts, c->ssrc);
	stranger->member_port = c->member_port;
	client_send_raw(stranger, junk, sizeof(junk));
	usleep(100000);
	good = settled(r, c, &st);
	ok(good && st.rx_packets == before.rx_packets && st.ignored == before.ignored + 4,
	   "wrong size, wrong payload type, not RTP and a lying header are ignored and counted (%llu), "
	   "a stranger's packet never reaches the member (the kernel filters on the latched source)",
	   (unsigned long long)(st.ignored - before.ignored));

	/* A re-INVITE moves the member to the stranger's address: it latches there. */
	ss = loopback(stranger->port);
	mixer_member_set_remote(r, c->id, &ss);
	c->mode = SEND_NOTHING;
	stranger->mode = SEND_TONE;
	stranger->sent = 0;
	stranger->packets = 0;
	run(2, 10);
	for (int i = 0; i < 100 && stats_of(r, c->id, &st) && st.rx_packets < before.rx_packets + stranger->sent; i++)
		usleep(20000);
	ok(st.rx_packets == before.rx_packets + stranger->sent && stranger->packets > 0,
	   "after set_remote the new address latches: its %u packets taken, %u of the mix sent there",
	   stranger->sent, stranger->packets);
	c->mode = SEND_TONE;
	stranger->mode = SEND_NOTHING;
	before = st;
	run(2, 3);
	usleep(100000);
	ok(stats_of(r, c->id, &st) && st.rx_packets == before.rx_packets, "the old address is no longer heard");
	mixer_room_free(r);
	close_all();
}

/* An IPv6 member (::1) and two IPv4 ones in one room. */
static void both_families(void)
{
	struct mixer_room *r = mixer_room_new("v6", 4);
	bool all = true;

	for (int k = 0; k < 3; k++) {
		if (client_open6(&clients[k], k, freqs[k], k == 2, SEND_TONE, k == 0) < 0 ||
		    member_add(r, &clients[k], true, -1) < 0)
			all = false;
	}
	ok(all, "a room with a member on ::1 and two on 127.0.0.1");
	listen_all(3);
	for (int k = 0; k < 3; k++)
		ok(hears(k, 3, 7u & ~(1u << k), "families"), "%s member %d hears the other two and not itself",
		   clients[k].ipv6 ? "IPv6" : "IPv4", k);
	mixer_room_free(r);
	close_all();
}

/*
 * An attacker floods member 0's port (500 datagrams a tick, 20,000 in all,
 * from another source, half of them copies of the member's header). The
 * member's socket is connected to its latched source, so the kernel drops
 * them: member 0 is still heard and the room goes on.
 */
static void flooded_member(void)
{
	struct mixer_room *r = mixer_room_new("flood", 4);
	struct mixer_member_stats st;
	struct mixer_room_info before, after;
	struct client attacker;
	bool all = true, good;

	for (int k = 0; k < 3; k++) {
		if (client_open(&clients[k], k, freqs[k], k == 1, SEND_TONE) < 0 ||
		    member_add(r, &clients[k], true, -1) < 0)
			all = false;
	}
	all = all && client_open(&attacker, 7, 0, false, SEND_NOTHING) == 0;
	ok(all, "a room of 3 and an attacker");
	run(3, 5);	/* the members latch first */
	mixer_room_info(r, &before);
	flood_from = &attacker;
	flood_target = &clients[0];
	flood_per_tick = 500;
	listen_all(3);
	flood_per_tick = 0;
	mixer_room_info(r, &after);
	for (int k = 0; k < 3; k++)
		ok(hears(k, 3, 7u & ~(1u << k), "flood"), "under the flood member %d hears the other two, not itself", k);
	good = stats_of(r, clients[0].id, &st);
	ok(good && st.ignored == 0 && st.rx_packets > 0,
	   "none of the flood's %lu datagrams reached the flooded member's stream (connected to its latched source)",
	   flood_sent);
	ok(after.ticks > before.ticks + WARMUP_TICKS, "the room kept ticking (%llu ticks during %d of the flood's)",
	   (unsigned long long)(after.ticks - before.ticks), WARMUP_TICKS + CAPTURE_TICKS);
	close(attacker.fd);
	mixer_room_free(r);
	close_all();
}

static void limits_and_lifetime(void)
{
	struct mixer_room *r = mixer_room_new("limits", 2);
	struct mixer_room_info info;
	struct client *c = clients;
	int ids[3], e;
	struct mixer_member_params p = {
		.codec = MIXER_PCMU, .pt = 0, .dtmf_pt = -1, .local = loopback(MIXER_PORT + 40),
		.admitted = true,
	};

	(void)c;
	ids[0] = mixer_member_add(r, &p);
	e = errno;
	ok(ids[0] >= 0, "a member without a remote address yet (it waits to latch)");
	ids[1] = mixer_member_add(r, &p);
	e = errno;
	ok(ids[1] < 0 && e == EADDRINUSE, "the same port twice: EADDRINUSE");
	p.local = loopback(MIXER_PORT + 42);
	ids[1] = mixer_member_add(r, &p);
	p.local = loopback(MIXER_PORT + 44);
	ids[2] = mixer_member_add(r, &p);
	e = errno;
	ok(ids[1] >= 0 && ids[2] < 0 && e == ENOSPC, "a room of 2 refuses a third: ENOSPC");
	p.codec = 9;
	ids[2] = mixer_member_add(r, &p);
	e = errno;
	ok(ids[2] < 0 && e == EINVAL, "a codec the mixer does not know: EINVAL");
	p.codec = MIXER_PCMU;
	p.dtmf_pt = 0;
	ids[2] = mixer_member_add(r, &p);
	e = errno;
	ok(ids[2] < 0 && e == EINVAL, "telephone-events on the audio payload type: EINVAL");
	mixer_room_info(r, &info);
	ok(info.running, "a thread runs while the room has members");
	mixer_member_remove(r, ids[0]);
	mixer_member_remove(r, ids[1]);
	for (int i = 0; i < 100; i++) {
		mixer_room_info(r, &info);
		if (!info.running)
			break;
		usleep(20000);
	}
	ok(!info.running && mixer_room_members(r) == 0, "the thread ends when the room is empty");
	p.dtmf_pt = -1;
	ids[0] = mixer_member_add(r, &p);
	mixer_room_info(r, &info);
	ok(ids[0] >= 0 && info.running, "and starts again with the next member");
	mixer_room_free(r);
}

/* The frame helpers alone: the silence level and concealment's fading. */
static void frames(void)
{
	int16_t f[MIXER_FRAME];
	unsigned int n = 0;
	bool good;

	for (int i = 0; i < MIXER_FRAME; i++)
		f[i] = (int16_t)(i % 2 ? 64 : -64);
	ok(frame_is_silence(f), "a frame of mean |sample| 64 is silence (the level is inclusive)");
	f[0] = -66;
	ok(!frame_is_silence(f), "two steps more is not");
	for (int i = 0; i < MIXER_FRAME; i++)
		f[i] = (int16_t)(i % 2 ? 1000 : -1000);
	good = frame_conceal(f, &n) && f[0] == -500 && f[1] == 500 && n == 1;
	good = good && frame_conceal(f, &n) && f[0] == -250 && n == 2;
	ok(good, "a lost frame is the one before at half the amplitude, then a quarter");
	ok(!frame_conceal(f, &n) && f[0] == -250 && n == MIXER_CONCEAL_FRAMES,
	   "after %d in a row nothing more is concealed", MIXER_CONCEAL_FRAMES);
}

int main(void)
{
	for (int k = 0; k < MAX_CLIENTS; k++)
		clients[k].fd = -1;
	frames();
	three_members();
	five_members_and_a_pin();
	silence_adds_nothing();
	both_families();
	flooded_member();
	digits_and_hostile_packets();
	limits_and_lifetime();
	return tap_done();
}
