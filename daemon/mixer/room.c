// SPDX-License-Identifier: GPL-2.0
/*
 * A room and its thread. Every 20 ms (absolute deadlines, so the period
 * does not drift with the work done) the thread, under the room's lock:
 *
 *   1. reads each member's socket into its jitter buffer;
 *   2. plays one frame per member and decodes it (a lost frame of a member
 *      who was talking is concealed, frame.c); a member with nothing to
 *      play, only silence, or no PIN yet contributes nothing;
 *   3. sums the contributions once (int32);
 *   4. sends each member the sum minus its own contribution, saturated to
 *      16 bits and encoded in its codec. Members that contribute nothing
 *      all get the same sum: it is encoded once per codec and shared.
 *
 * So a tick costs O(members), not O(members^2). A member without its PIN
 * hears the prompt instead. The thread exists while the room has members:
 * the first join starts it, it ends on the tick after the last one leaves.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/log.h"
#include "mixer/g711.h"
#include "mixer/room_priv.h"

#define TICK_NS (MIXER_TICK_MS * 1000000L)
#define BEHIND_NS (5 * TICK_NS)		/* this late: re-anchor instead of catching up in a burst */

struct mixer_room *mixer_room_new(const char *name, unsigned int max_members)
{
	struct mixer_room *r;

	if (max_members == 0 || max_members > MIXER_MEMBERS_MAX)
		max_members = MIXER_MEMBERS_MAX;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->m = calloc(max_members, sizeof(*r->m));
	if (!r->m) {
		free(r);
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	r->max = max_members;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

/* Decode and judge one member's frame for this tick. */
static void play(struct mixer_member *m)
{
	uint8_t payload[MIXER_FRAME];
	bool was = m->contributes;

	m->contributes = false;
	if (m->talk_ticks)
		m->talk_ticks--;
	switch (jitter_pop(&m->jb, payload)) {
	case JITTER_FRAME:
		break;
	case JITTER_LOST:
		/* m->frame still holds the last frame played: it stands in, fading. */
		if (was && frame_conceal(m->frame, &m->concealed)) {
			m->contributes = true;
			m->concealed_frames++;
		}
		return;
	case JITTER_NONE:
		return;
	}
	m->concealed = 0;
	g711_decode(m->p.codec == MIXER_PCMA, payload, m->frame, MIXER_FRAME);
	if (frame_is_silence(m->frame))
		return;
	m->talk_ticks = MIXER_TALK_HANGOVER;
	m->contributes = m->p.admitted;
}

static int16_t saturate(int32_t v)
{
	return (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
}

static void tick(struct mixer_room *r)
{
	int32_t sum[MIXER_FRAME] = { 0 };
	int16_t out[MIXER_FRAME];
	uint8_t enc[MIXER_FRAME], shared[2][MIXER_FRAME];
	bool have_shared[2] = { false, false };
	unsigned int talkers = 0;

	for (unsigned int i = 0; i < r->n; i++) {
		struct mixer_member *m = r->m[i];

		member_receive(r, m);
		play(m);
		if (!m->contributes)
			continue;
		talkers++;
		for (int k = 0; k < MIXER_FRAME; k++)
			sum[k] += m->frame[k];
	}
	for (unsigned int i = 0; i < r->n; i++) {
		struct mixer_member *m = r->m[i];
		int alaw = m->p.codec == MIXER_PCMA;

		if (!m->p.admitted) {
			prompt_fill(&m->prompt_pos, out);
			g711_encode(alaw, out, enc, MIXER_FRAME);
			member_send(m, enc);
		} else if (m->contributes) {
			for (int k = 0; k < MIXER_FRAME; k++)
				out[k] = saturate(sum[k] - m->frame[k]);
			g711_encode(alaw, out, enc, MIXER_FRAME);
			member_send(m, enc);
		} else {
			if (!have_shared[alaw]) {
				if (!talkers) {
					memset(shared[alaw], alaw ? G711_ALAW_SILENCE : G711_ULAW_SILENCE,
					       MIXER_FRAME);
				} else {
					for (int k = 0; k < MIXER_FRAME; k++)
						out[k] = saturate(sum[k]);
					g711_encode(alaw, out, shared[alaw], MIXER_FRAME);
				}
				have_shared[alaw] = true;
			}
			member_send(m, shared[alaw]);
		}
	}
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static int64_t diff_ns(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(a->tv_sec - b->tv_sec) * 1000000000 + (a->tv_nsec - b->tv_nsec);
}

static void *room_thread(void *arg)
{
	struct mixer_room *r = arg;
	struct timespec next, now;
	uint64_t cpu0 = thread_cpu_ns(), cpu;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		add_ns(&next, TICK_NS);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		pthread_mutex_lock(&r->lock);
		if (r->stop || !r->n) {
			r->running = false;
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		tick(r);
		r->ticks++;
		cpu = thread_cpu_ns();
		r->cpu_ns += cpu - cpu0;
		cpu0 = cpu;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (diff_ns(&now, &next) > BEHIND_NS) {
			next = now;
			r->overruns++;
		}
		pthread_mutex_unlock(&r->lock);
	}
}

/* Under the lock: make sure a thread mixes. */
static int ensure_thread(struct mixer_room *r)
{
	sigset_t all, old;
	char tname[16];
	int err;

	if (r->running)
		return 0;
	if (r->joinable) {
		/* The previous thread saw the room empty and is leaving; it takes no lock on its way out. */
		pthread_join(r->thread, NULL);
		r->joinable = false;
	}
	/* Signals belong to ksipd's main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&r->thread, NULL, room_thread, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	/* "room:NAME" in top -H and /proc (15 bytes at most). */
	snprintf(tname, sizeof(tname), "room:%.10s", r->name);
	pthread_setname_np(r->thread, tname);
	r->running = r->joinable = true;
	return 0;
}

static bool params_valid(const struct mixer_member_params *p)
{
	const struct sockaddr_storage *l = &p->local;

	if (p->codec != MIXER_PCMU && p->codec != MIXER_PCMA)
		return false;
	if (p->pt > 127 || p->dtmf_pt < -1 || p->dtmf_pt > 127 || p->dtmf_pt == p->pt)
		return false;
	if (l->ss_family == AF_INET)
		return ((const struct sockaddr_in *)l)->sin_port != 0;
	if (l->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)l)->sin6_port != 0;
	return false;
}

int mixer_member_add(struct mixer_room *r, const struct mixer_member_params *p)
{
	struct mixer_member *m;
	int err, id;

	if (!params_valid(p)) {
		errno = EINVAL;
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return -1;
	}
	m->p = *p;
	if (m->p.remote.ss_family != AF_INET && m->p.remote.ss_family != AF_INET6)
		m->p.remote.ss_family = AF_UNSPEC;
	jitter_init(&m->jb);
	dtmf_init(&m->dtmf);
	if (getrandom(&m->ssrc, sizeof(m->ssrc), 0) != sizeof(m->ssrc) ||
	    getrandom(&m->ts, sizeof(m->ts), 0) != sizeof(m->ts) ||
	    getrandom(&m->seq, sizeof(m->seq), 0) != sizeof(m->seq))
		m->ssrc = (uint32_t)(uintptr_t)m;	/* never fails for this size after boot */
	pthread_mutex_lock(&r->lock);
	if (r->n == r->max) {
		pthread_mutex_unlock(&r->lock);
		free(m);
		errno = ENOSPC;
		return -1;
	}
	if (member_open(m) < 0) {
		err = errno;
		pthread_mutex_unlock(&r->lock);
		free(m);
		errno = err;
		return -1;
	}
	err = ensure_thread(r);
	if (err) {
		pthread_mutex_unlock(&r->lock);
		member_close(m);
		free(m);
		errno = err;
		return -1;
	}
	id = m->id = r->next_id++;
	if (r->next_id < 0)
		r->next_id = 0;
	r->m[r->n++] = m;
	pthread_mutex_unlock(&r->lock);
	log_debug("mixer: room %s: member %d joins (%s)", r->name, id,
		  p->codec == MIXER_PCMA ? "PCMA" : "PCMU");
	return id;
}

/* Under the lock: the index of member ID, or -1. */
static int find(struct mixer_room *r, int id)
{
	for (unsigned int i = 0; i < r->n; i++)
		if (r->m[i]->id == id)
			return (int)i;
	return -1;
}

void mixer_member_remove(struct mixer_room *r, int id)
{
	struct mixer_member *m = NULL;
	int i;

	pthread_mutex_lock(&r->lock);
	i = find(r, id);
	if (i >= 0) {
		m = r->m[i];
		memmove(&r->m[i], &r->m[i + 1], (r->n - (unsigned int)i - 1) * sizeof(*r->m));
		r->n--;
	}
	pthread_mutex_unlock(&r->lock);
	if (m) {
		member_close(m);
		free(m);
	}
}

void mixer_member_admit(struct mixer_room *r, int id)
{
	int i;

	pthread_mutex_lock(&r->lock);
	i = find(r, id);
	if (i >= 0)
		r->m[i]->p.admitted = true;
	pthread_mutex_unlock(&r->lock);
}

void mixer_member_set_remote(struct mixer_room *r, int id, const struct sockaddr_storage *remote)
{
	int i;

	pthread_mutex_lock(&r->lock);
	i = find(r, id);
	if (i >= 0) {
		/* Latch again: the member's packets now come from its new address. */
		member_unlatch(r->m[i]);
		r->m[i]->p.remote = *remote;
	}
	pthread_mutex_unlock(&r->lock);
}

size_t mixer_member_digits(struct mixer_room *r, int id, char *buf, size_t cap)
{
	size_t n = 0;
	int i;

	pthread_mutex_lock(&r->lock);
	i = find(r, id);
	if (i >= 0)
		n = dtmf_take(&r->m[i]->dtmf, buf, cap);
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t mixer_room_stats(struct mixer_room *r, struct mixer_member_stats *out, size_t cap)
{
	size_t n = 0;

	pthread_mutex_lock(&r->lock);
	for (; n < r->n && n < cap; n++) {
		const struct mixer_member *m = r->m[n];

		out[n] = (struct mixer_member_stats){
			.id = m->id,
			.codec = m->p.codec,
			.admitted = m->p.admitted,
			.talking = m->talk_ticks > 0,
			.rx_packets = m->rx_packets,
			.tx_packets = m->tx_packets,
			.lost = m->jb.st.lost,
			.late = m->jb.st.late,
			.concealed = m->concealed_frames,
			.jitter_ms = jitter_ms(&m->jb),
			.duplicates = m->jb.st.duplicates,
			.ignored = m->ignored,
		};
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

unsigned int mixer_room_members(struct mixer_room *r)
{
	unsigned int n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void mixer_room_info(struct mixer_room *r, struct mixer_room_info *info)
{
	pthread_mutex_lock(&r->lock);
	*info = (struct mixer_room_info){
		.running = r->running,
		.ticks = r->ticks,
		.overruns = r->overruns,
		.cpu_ns = r->cpu_ns,
	};
	pthread_mutex_unlock(&r->lock);
}

void mixer_room_free(struct mixer_room *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_mutex_unlock(&r->lock);
	if (r->joinable)
		pthread_join(r->thread, NULL);
	for (unsigned int i = 0; i < r->n; i++) {
		member_close(r->m[i]);
		free(r->m[i]);
	}
	pthread_mutex_destroy(&r->lock);
	free(r->m);
	free(r);
}
