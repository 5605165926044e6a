/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The conference mixer (issue 17): rooms of members who each send and
 * receive 20 ms G.711 RTP, and each hear everyone but themselves (N-1).
 *
 * A room runs one thread while it has members ("one thread per busy room
 * at most"): every 20 ms it reads each member's socket, puts the packets in
 * the member's jitter buffer, decodes one frame per member (a member with
 * nothing to play, or only silence, adds nothing), and sends each member
 * the sum minus its own share, encoded in the member's codec.
 *
 * mixer/ knows nothing of SIP: the conference focus (conf/) negotiates the
 * codec and DTMF payload type, picks the relay port, and calls these from
 * its worker thread. Every function here is thread-safe against the room's
 * thread; none blocks for longer than a lock held for one tick's bookkeeping.
 */
#ifndef KSIP_MIXER_H
#define KSIP_MIXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* G.711 by its static RTP payload type (RFC 3551). */
enum mixer_codec {
	MIXER_PCMU = 0,
	MIXER_PCMA = 8,
};

struct mixer_member_params {
	enum mixer_codec codec;		/* what the member sends and is sent */
	uint8_t pt;			/* the payload type negotiated for it (0 or 8 normally) */
	int dtmf_pt;			/* telephone-event payload type (RFC 4733), -1: none */
	struct sockaddr_storage local;	/* our address and RTP port (even) facing the member */
	struct sockaddr_storage remote;	/* where the member wants RTP (its SDP); latched to the
					 * first source the member's packets come from */
	bool admitted;			/* false: a PIN is pending: not heard, hears only the
					 * prompt tone until mixer_member_admit() */
};

struct mixer_member_stats {
	int id;
	enum mixer_codec codec;
	bool admitted;
	bool talking;			/* its audio was above the silence level lately */
	uint64_t rx_packets, tx_packets;
	uint64_t lost;			/* frames missing at their turn to play (one that
					 * arrives later is counted late too) */
	uint64_t late;			/* arrived after their playout time */
	uint64_t concealed;		/* lost frames replaced by the one before, fading */
	unsigned int jitter_ms;		/* RFC 3550 interarrival jitter */
	uint64_t duplicates;		/* the same sequence number again */
	uint64_t ignored;		/* not taken: not RTP, another source than the latched
					 * one, another payload type, a payload of the wrong size,
					 * an unbelieved sequence jump, a non-DTMF event */
};

/* The room's thread: what the benchmark and ksipctl can show of its cost. */
struct mixer_room_info {
	bool running;			/* a thread runs (the room has members) */
	uint64_t ticks;			/* 20 ms ticks mixed, over every thread the room ran */
	uint64_t overruns;		/* times the thread fell > 100 ms behind and re-anchored */
	uint64_t cpu_ns;		/* the threads' CPU time (CLOCK_THREAD_CPUTIME_ID) */
};

struct mixer_room;

/*
 * A room of at most MAX_MEMBERS (0 or more than 1024: 1024); NULL on no
 * memory. No thread runs until a member joins.
 */
struct mixer_room *mixer_room_new(const char *name, unsigned int max_members);
/* Stops the thread and closes every member's sockets. */
void mixer_room_free(struct mixer_room *r);

/*
 * Bind LOCAL (RTP) and the port above it (RTCP, read and discarded) and add
 * the member. Its id (>= 0, never reused in the room), or -1 with errno
 * (EADDRINUSE, ENOSPC when the room is full, EINVAL for a codec it does not
 * know, a payload type over 127, a dtmf_pt equal to pt, a LOCAL that is not
 * IPv4 or IPv6 or has port 0). A REMOTE of family AF_UNSPEC: nothing is sent
 * until the member's first packet latches its address.
 */
int mixer_member_add(struct mixer_room *r, const struct mixer_member_params *p);
/* Remove and close; it stops being heard within one tick. Unknown ids are ignored. */
void mixer_member_remove(struct mixer_room *r, int id);
/* The PIN was right: from the next tick it hears the room and is heard. */
void mixer_member_admit(struct mixer_room *r, int id);
/* A re-INVITE moved the member's media. */
void mixer_member_set_remote(struct mixer_room *r, int id, const struct sockaddr_storage *remote);
/*
 * The DTMF digits ('0'-'9', '*', '#', 'A'-'D') the member sent as RFC 4733
 * events since the last call, each once however often its end packet was
 * repeated, into BUF (not terminated); how many.
 */
size_t mixer_member_digits(struct mixer_room *r, int id, char *buf, size_t cap);

/* Members now, into OUT (at most CAP); how many. */
size_t mixer_room_stats(struct mixer_room *r, struct mixer_member_stats *out, size_t cap);
unsigned int mixer_room_members(struct mixer_room *r);
void mixer_room_info(struct mixer_room *r, struct mixer_room_info *info);

#endif
