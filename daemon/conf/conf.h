/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Conference rooms while people are in them (issue 17): the mixer room of
 * each busy room and who is in it, shared by every worker (a room's
 * members' Call-IDs hash to different workers) and the control thread.
 *
 * The dialogs are the workers' (focus.c); this registry knows of each
 * member only what `ksipctl room list|kick` needs: its mixer id, user and
 * owning worker. A mixer room is made when its first member joins and
 * freed when its last one leaves.
 *
 * Locking: one mutex. A worker takes it under its own lock (worker lock,
 * then this); the control thread takes it alone, never a worker's lock
 * while holding it. The mixer's calls are thread-safe; they run under this
 * mutex (the mixer's room thread never takes it).
 */
#ifndef KSIP_CONF_H
#define KSIP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "mixer/mixer.h"
#include "store/record.h"

struct room_table;
struct conf;
struct conf_room;

#define CONF_USER_MAX 64

struct conf *conf_new(const struct ksip_config *cfg, struct room_table *rooms);
/* After the workers stopped: every room must be empty by now (focus_free()). */
void conf_free(struct conf *cf);

/* Is NAME a configured room (the store's rooms, in memory)? */
bool conf_is_room(struct conf *cf, const char *name);
/* NAME's configuration, its size resolved (max_members 0: room_max_members). */
bool conf_room_config(struct conf *cf, const char *name, struct room_record *out);

/*
 * USER joins room NAME from worker WORKER with media P: *ROOM and the
 * mixer's member id, or -1 with errno: ENOENT (no such room), ENOSPC (the
 * room is full), or what mixer_member_add() says.
 */
int conf_join(struct conf *cf, const char *name, const char *user, int worker,
	      const struct mixer_member_params *p, struct conf_room **room);
/* The member leaves (its sockets closed); the room's mixer goes with its last member. */
void conf_leave(struct conf *cf, struct conf_room *room, int id);
void conf_admit(struct conf *cf, struct conf_room *room, int id);
size_t conf_digits(struct conf *cf, struct conf_room *room, int id, char *buf, size_t cap);
void conf_set_remote(struct conf *cf, struct conf_room *room, int id,
		     const struct sockaddr_storage *remote);

/* Packets received from member ID so far (the media time-out polls it); 0 when not listed. */
uint64_t conf_member_rx(struct conf *cf, struct conf_room *room, int id);

/* One member of a room, as `ksipctl room list` shows it. */
struct conf_member_view {
	char user[CONF_USER_MAX];
	int worker;
	struct mixer_member_stats st;
};

/*
 * The members of room NAME now (at most CAP, into OUT); how many. Members
 * the mixer does not list (joining or leaving this instant) are left out.
 */
size_t conf_room_members(struct conf *cf, const char *name, struct conf_member_view *out,
			 size_t cap);

#endif
