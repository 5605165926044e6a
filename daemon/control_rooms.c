// SPDX-License-Identifier: GPL-2.0
/*
 * ksipctl room add|del|list|kick: conference rooms (issue 17). The store
 * is written first, then the in-memory table the workers read; members are
 * read from the conference registry (conf/conf.h), and hung up by the
 * worker that owns their dialog, under its lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/focus.h"
#include "control_priv.h"
#include "ksip/ctl_proto.h"
#include "store/pages.h"
#include "store/rooms.h"
#include "store/store.h"
#include "store/users.h"
#include "transport/worker.h"

#define ROOM_LIST_MEMBERS 64

/* "" or 1-16 digits. */
static bool valid_pin(const char *s)
{
	size_t n = strlen(s);

	return n <= ROOM_PIN_MAX && strspn(s, "0123456789") == n;
}

/* "ok" and what happened, as a line or as JSON. */
static void done(struct answer *a, bool json, const char *room, const char *what, int members)
{
	if (!json) {
		ans_printf(a, "ok\nroom %s %s", room, what);
		if (members >= 0)
			ans_printf(a, ", %d calls hung up", members);
		ans_printf(a, "\n");
		return;
	}
	ans_printf(a, "ok\n{\"room\":\"");
	ans_json_str(a, room);
	ans_printf(a, "\",\"result\":\"%s\"", what);
	if (members >= 0)
		ans_printf(a, ",\"hung_up\":%d", members);
	ans_printf(a, "}\n");
}

static void room_add(struct ksipd *d, char **f, int n, bool json, struct answer *a)
{
	struct room_record r = { 0 };
	char *end;
	unsigned long max = 0;

	if (n != 4) {
		ans_printf(a, "error\tusage: room add NAME [--pin DIGITS] [--max N]\n");
		return;
	}
	if (!valid_user_name(f[1]) || strlen(f[1]) >= sizeof(r.name)) {
		ans_printf(a, "error\tinvalid room name '%s' (a SIP user part, at most %zu bytes)\n",
			   f[1], sizeof(r.name) - 1);
		return;
	}
	if (f[2][0] && !valid_pin(f[2])) {
		ans_printf(a, "error\t--pin: 1 to %d digits\n", ROOM_PIN_MAX);
		return;
	}
	if (f[3][0]) {
		max = strtoul(f[3], &end, 10);
		if (*end || f[3][0] == '-' || max < 2 || max > 64) {
			ans_printf(a, "error\t--max: '%s' is not a number from 2 to 64\n", f[3]);
			return;
		}
	}
	/* One namespace: a Request-URI names a user or a room, never both. */
	if (users_exists(d->users, f[1])) {
		ans_printf(a, "error\t'%s' is a user\n", f[1]);
		return;
	}
	if (pages_get(d->pages, f[1], NULL)) {
		ans_printf(a, "error\t'%s' is a paging group\n", f[1]);
		return;
	}
	if (rooms_exists(d->rooms, f[1])) {
		ans_printf(a, "error\troom '%s' exists\n", f[1]);
		return;
	}
	snprintf(r.name, sizeof(r.name), "%s", f[1]);
	snprintf(r.pin, sizeof(r.pin), "%s", f[2]);
	r.max_members = (uint32_t)max;
	if (store_room_put(d->store, &r) || rooms_put(d->rooms, &r)) {
		ans_printf(a, "error\tcannot save room '%s'\n", f[1]);
		return;
	}
	explicit_bzero(&r, sizeof(r));
	done(a, json, f[1], "added", -1);
}

/* BYE to MEMBER's calls in ROOM (every member when NULL), worker by worker. How many. */
static int hang_up(struct ksipd *d, const char *room, const char *member, const char *reason)
{
	int k = 0;

	for (int i = 0; i < d->nworkers; i++) {
		struct ksipd_worker *kw = &d->workers[i];

		worker_lock(kw->w);
		k += focus_kick(kw->focus, room, member, reason);
		worker_unlock(kw->w);
	}
	return k;
}

static void room_del(struct ksipd *d, char **f, int n, bool json, struct answer *a)
{
	int k;

	if (n != 2) {
		ans_printf(a, "error\tusage: room del NAME\n");
		return;
	}
	if (!rooms_exists(d->rooms, f[1])) {
		ans_printf(a, "error\tno room '%s'\n", f[1]);
		return;
	}
	if (store_room_del(d->store, f[1])) {
		ans_printf(a, "error\tcannot delete room '%s'\n", f[1]);
		return;
	}
	/* Gone from the table first: nobody joins while its members are hung up. */
	rooms_del(d->rooms, f[1]);
	k = hang_up(d, f[1], NULL, "room deleted");
	done(a, json, f[1], "deleted", k);
}

static void room_kick(struct ksipd *d, char **f, int n, bool json, struct answer *a)
{
	int k;

	if (n != 3) {
		ans_printf(a, "error\tusage: room kick NAME MEMBER\n");
		return;
	}
	if (!rooms_exists(d->rooms, f[1])) {
		ans_printf(a, "error\tno room '%s'\n", f[1]);
		return;
	}
	k = hang_up(d, f[1], f[2], "kicked by ksipctl");
	if (!k)
		ans_printf(a, "error\tno member '%s' in room '%s'\n", f[2], f[1]);
	else
		done(a, json, f[1], "kicked", k);
}

struct room_list {
	struct ksipd *d;
	struct answer *a;
	bool json;
	int n;
	struct conf_member_view *v;
};

static const char *codec_name(enum mixer_codec c)
{
	return c == MIXER_PCMA ? "PCMA" : "PCMU";
}

static void list_room(void *arg, const struct room_record *r)
{
	struct room_list *l = arg;
	struct answer *a = l->a;
	struct room_record eff;
	size_t k = conf_room_members(l->d->conf, r->name, l->v, ROOM_LIST_MEMBERS);

	if (!conf_room_config(l->d->conf, r->name, &eff))
		eff = *r;
	if (!l->json) {
		ans_printf(a, "%-20s %-4s %3u/%-3u\n", r->name, r->pin[0] ? "yes" : "no",
			   (unsigned int)k, eff.max_members);
		for (size_t i = 0; i < k; i++) {
			const struct mixer_member_stats *s = &l->v[i].st;

			ans_printf(a, "  %-18s %-5s %-8s %-7s %10llu %10llu %8llu\n", l->v[i].user,
				   codec_name(s->codec), s->admitted ? "admitted" : "pin",
				   s->talking ? "talking" : "-", (unsigned long long)s->rx_packets,
				   (unsigned long long)s->tx_packets, (unsigned long long)s->lost);
		}
		return;
	}
	/* The PIN itself is never shown: only whether there is one. */
	ans_printf(a, "%s{\"name\":\"", l->n++ ? "," : "");
	ans_json_str(a, r->name);
	ans_printf(a, "\",\"pin\":%s,\"max_members\":%u,\"members\":[", r->pin[0] ? "true" : "false",
		   eff.max_members);
	for (size_t i = 0; i < k; i++) {
		const struct mixer_member_stats *s = &l->v[i].st;

		ans_printf(a, "%s{\"user\":\"", i ? "," : "");
		ans_json_str(a, l->v[i].user);
		ans_printf(a, "\",\"codec\":\"%s\",\"admitted\":%s,\"talking\":%s,\"rx_packets\":%llu,"
			   "\"tx_packets\":%llu,\"lost\":%llu,\"late\":%llu,\"jitter_ms\":%u}",
			   codec_name(s->codec), s->admitted ? "true" : "false",
			   s->talking ? "true" : "false", (unsigned long long)s->rx_packets,
			   (unsigned long long)s->tx_packets, (unsigned long long)s->lost,
			   (unsigned long long)s->late, s->jitter_ms);
	}
	ans_printf(a, "]}");
}

static void room_list(struct ksipd *d, bool json, struct answer *a)
{
	struct room_list l = { d, a, json, 0, calloc(ROOM_LIST_MEMBERS, sizeof(*l.v)) };

	if (!l.v) {
		ans_printf(a, "error\tout of memory\n");
		return;
	}
	ans_printf(a, "ok\n%s", json ? "[" : "");
	if (!json)
		ans_printf(a, "%-20s %-4s %-7s\n  %-18s %-5s %-8s %-7s %10s %10s %8s\n", "ROOM", "PIN",
			   "MEMBERS", "MEMBER", "CODEC", "STATE", "TALKING", "RX_PKTS", "TX_PKTS",
			   "LOST");
	rooms_foreach(d->rooms, list_room, &l);
	if (json)
		ans_printf(a, "]\n");
	free(l.v);
}

void cmd_room(struct ksipd *d, char **f, int n, bool json, struct answer *a)
{
	/*
	 * A trailing "json" field is the format only past the command's own
	 * arguments: a room may well be named "json".
	 */
	int args = !strcmp(f[0], CTL_ROOM_ADD) ? 4 : !strcmp(f[0], CTL_ROOM_DEL) ? 2 :
		   !strcmp(f[0], CTL_ROOM_KICK) ? 3 : 1;

	json = json && n == args + 1;
	if (json)
		n--;
	if (!strcmp(f[0], CTL_ROOM_ADD))
		room_add(d, f, n, json, a);
	else if (!strcmp(f[0], CTL_ROOM_DEL))
		room_del(d, f, n, json, a);
	else if (!strcmp(f[0], CTL_ROOM_KICK))
		room_kick(d, f, n, json, a);
	else if (!strcmp(f[0], CTL_ROOM_LIST))
		room_list(d, json, a);
	else
		ans_printf(a, "error\tunknown command '%s'\n", f[0]);
}
