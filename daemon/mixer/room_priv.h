/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside a room: what the room's thread and the API calls share, all of it
 * under room->lock. The thread holds the lock for one tick (receive, mix,
 * send: microseconds per member); the API holds it for its bookkeeping.
 */
#ifndef KSIP_MIXER_ROOM_PRIV_H
#define KSIP_MIXER_ROOM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mixer/dtmf.h"
#include "mixer/jitter.h"
#include "mixer/mixer.h"
#include "mixer/rtp.h"

/* Mean |sample| of a frame below which it is silence and adds nothing (about -55 dBov). */
#define MIXER_SILENCE_LEVEL 64
/* A member stays "talking" this many ticks (300 ms) after its last frame above the level. */
#define MIXER_TALK_HANGOVER 15
/*
 * A lost frame (a gap with later frames already here) of a member who was
 * contributing is replaced by its previous frame at half the amplitude, for
 * at most this many frames in a row: a click-free dip instead of a 20 ms
 * hole. A member who stops sending (dry buffer) is never concealed.
 */
#define MIXER_CONCEAL_FRAMES 2
/* Packets read from one member's socket per tick at most: the rest wait, or the kernel drops them. */
#define MIXER_RX_BUDGET 32
#define MIXER_RX_BATCH 8
/* The RTCP port is emptied every this many ticks (1 s). */
#define MIXER_RTCP_EVERY 50
#define MIXER_RX_MTU 1500
#define MIXER_MEMBERS_MAX 1024

struct mixer_member {
	int id;
	struct mixer_member_params p;
	int fd, rtcp_fd;
	bool latched;			/* p.remote is where its packets come from */
	bool connected;			/* fd is connected to p.remote: the kernel filters sources */
	struct jitter jb;
	struct dtmf dtmf;
	/* What we send it: our own stream, RFC 3550 §8 random starting points. */
	uint32_t ssrc, ts;
	uint16_t seq;
	bool sent_any;			/* the first packet carries the marker bit */
	/* This tick. */
	int16_t frame[MIXER_FRAME];
	bool contributes;		/* admitted and above the silence level */
	unsigned int concealed;		/* lost frames replaced in a row */
	unsigned int talk_ticks;	/* hangover left: > 0 is "talking" */
	unsigned int prompt_pos;	/* samples into the prompt's cycle */
	uint64_t rx_packets, tx_packets, ignored, concealed_frames;
};

struct mixer_room {
	char name[64];
	pthread_mutex_t lock;
	unsigned int max, n;
	struct mixer_member **m;	/* N members in join order */
	int next_id;
	pthread_t thread;
	bool running;			/* the thread mixes; it clears this as it exits */
	bool joinable;			/* a thread was started and not joined */
	bool stop;
	uint64_t ticks, overruns, cpu_ns;
	/* The thread's scratch space for recvmmsg(). */
	uint8_t rx_buf[MIXER_RX_BATCH][MIXER_RX_MTU];
};

/* member.c: sockets and the receive and send paths of one member. */
int member_open(struct mixer_member *m);
void member_close(struct mixer_member *m);
/* Forget the latched address (a re-INVITE moved the member): the next source latches. */
void member_unlatch(struct mixer_member *m);
void member_receive(struct mixer_room *r, struct mixer_member *m);
void member_send(struct mixer_member *m, const uint8_t *payload);

/* frame.c: judging and concealing decoded frames. */
bool frame_is_silence(const int16_t *frame);
bool frame_conceal(int16_t *frame, unsigned int *in_a_row);

/* prompt.c: the beeps a member hears while its PIN is pending. */
void prompt_fill(unsigned int *pos, int16_t *out);

#endif
