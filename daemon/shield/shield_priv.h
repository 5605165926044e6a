/* SPDX-License-Identifier: GPL-2.0 */
/* The shield's state, shared by ban.c, authfail.c and rate.c (private to shield/). */
#ifndef KSIP_SHIELD_PRIV_H
#define KSIP_SHIELD_PRIV_H

#include "shield/shield.h"
#include "shield/table.h"

/* The per-user failure table keys users by a keyed hash of the name, in this family. */
#define SHIELD_FAMILY_USER 0xffffu

struct shield {
	struct shield_params p;

	struct shield_table bans;	/* struct ban_entry; stamp = expires */
	size_t nbans;			/* entries in use: atomic, lets shield_banned() skip the locks */
	shield_ban_observer *observer;
	void *observer_arg;

	struct shield_table fails;	/* struct fail_entry: sources; stamp = last failure */
	struct shield_table users;	/* struct fail_entry: user names; stamp = last failure */
	struct shield_table rates;	/* struct rate_entry; stamp = last request (ms) */
};

int shield_ban_init(struct shield *s);
int shield_authfail_init(struct shield *s);
int shield_rate_init(struct shield *s);

#endif
