// SPDX-License-Identifier: GPL-2.0
#include "conf/conf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/log.h"
#include "store/rooms.h"

#define CONF_ROOM_MEMBERS 64	/* room_max_members and --max are at most this */

struct conf_room {
	struct list_head node;		/* in conf.busy */
	char name[ROOM_NAME_MAX];
	struct mixer_room *mixer;
	unsigned int n;
	struct {
		int id;			/* the mixer's */
		int worker;
		char user[CONF_USER_MAX];
	} m[CONF_ROOM_MEMBERS];
};

struct conf {
	const struct ksip_config *cfg;
	struct room_table *rooms;
	pthread_mutex_t lock;
	struct list_head busy;		/* rooms with members: few, so a list */
};

struct conf *conf_new(const struct ksip_config *cfg, struct room_table *rooms)
{
	struct conf *cf = calloc(1, sizeof(*cf));

	if (!cf)
		return NULL;
	cf->cfg = cfg;
	cf->rooms = rooms;
	pthread_mutex_init(&cf->lock, NULL);
	list_init(&cf->busy);
	return cf;
}

void conf_free(struct conf *cf)
{
	struct conf_room *r, *n;

	if (!cf)
		return;
	list_for_each_entry_safe(r, n, &cf->busy, node) {
		mixer_room_free(r->mixer);
		free(r);
	}
	pthread_mutex_destroy(&cf->lock);
	free(cf);
}

bool conf_is_room(struct conf *cf, const char *name)
{
	return rooms_exists(cf->rooms, name);
}

bool conf_room_config(struct conf *cf, const char *name, struct room_record *out)
{
	if (!rooms_get(cf->rooms, name, out))
		return false;
	if (!out->max_members || out->max_members > CONF_ROOM_MEMBERS)
		out->max_members = cf->cfg->room_max_members;
	return true;
}

/* Under the lock. */
static struct conf_room *busy_room(struct conf *cf, const char *name)
{
	struct conf_room *r;

	list_for_each_entry(r, &cf->busy, node)
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

int conf_join(struct conf *cf, const char *name, const char *user, int worker,
	      const struct mixer_member_params *p, struct conf_room **room)
{
	struct room_record rec;
	struct conf_room *r;
	int id, err = 0;

	if (!conf_room_config(cf, name, &rec)) {
		errno = ENOENT;
		return -1;
	}
	pthread_mutex_lock(&cf->lock);
	r = busy_room(cf, name);
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (r) {
			snprintf(r->name, sizeof(r->name), "%s", name);
			r->mixer = mixer_room_new(name, CONF_ROOM_MEMBERS);
		}
		if (!r || !r->mixer) {
			free(r);
			pthread_mutex_unlock(&cf->lock);
			errno = ENOMEM;
			return -1;
		}
		list_add(&r->node, &cf->busy);
	}
	/* The room's size is checked here, not by the mixer: --max may shrink a busy room. */
	if (r->n >= rec.max_members) {
		id = -1;
		err = ENOSPC;
	} else {
		id = mixer_member_add(r->mixer, p);
		err = errno;
	}
	if (id >= 0) {
		r->m[r->n].id = id;
		r->m[r->n].worker = worker;
		snprintf(r->m[r->n].user, sizeof(r->m[r->n].user), "%s", user);
		r->n++;
		*room = r;
	} else if (!r->n) {
		list_del(&r->node);
		mixer_room_free(r->mixer);
		free(r);
	}
	pthread_mutex_unlock(&cf->lock);
	errno = err;
	return id;
}

void conf_leave(struct conf *cf, struct conf_room *r, int id)
{
	pthread_mutex_lock(&cf->lock);
	mixer_member_remove(r->mixer, id);
	for (unsigned int i = 0; i < r->n; i++)
		if (r->m[i].id == id) {
			r->m[i] = r->m[--r->n];
			break;
		}
	if (!r->n) {
		list_del(&r->node);
		mixer_room_free(r->mixer);	/* stops its thread */
		free(r);
	}
	pthread_mutex_unlock(&cf->lock);
}

void conf_admit(struct conf *cf, struct conf_room *r, int id)
{
	(void)cf;
	mixer_member_admit(r->mixer, id);
}

size_t conf_digits(struct conf *cf, struct conf_room *r, int id, char *buf, size_t cap)
{
	(void)cf;
	return mixer_member_digits(r->mixer, id, buf, cap);
}

void conf_set_remote(struct conf *cf, struct conf_room *r, int id,
		     const struct sockaddr_storage *remote)
{
	(void)cf;
	mixer_member_set_remote(r->mixer, id, remote);
}

uint64_t conf_member_rx(struct conf *cf, struct conf_room *r, int id)
{
	struct mixer_member_stats st[CONF_ROOM_MEMBERS];
	uint64_t rx = 0;
	size_t k;

	(void)cf;
	k = mixer_room_stats(r->mixer, st, CONF_ROOM_MEMBERS);
	for (size_t i = 0; i < k; i++)
		if (st[i].id == id)
			rx = st[i].rx_packets;
	return rx;
}

size_t conf_room_members(struct conf *cf, const char *name, struct conf_member_view *out,
			 size_t cap)
{
	struct mixer_member_stats st[CONF_ROOM_MEMBERS];
	struct conf_room *r;
	size_t n = 0, k;

	pthread_mutex_lock(&cf->lock);
	r = busy_room(cf, name);
	k = r ? mixer_room_stats(r->mixer, st, CONF_ROOM_MEMBERS) : 0;
	for (size_t i = 0; i < k && n < cap; i++)
		for (unsigned int j = 0; j < r->n; j++)
			if (r->m[j].id == st[i].id) {
				snprintf(out[n].user, sizeof(out[n].user), "%s", r->m[j].user);
				out[n].worker = r->m[j].worker;
				out[n].st = st[i];
				n++;
				break;
			}
	pthread_mutex_unlock(&cf->lock);
	return n;
}
