/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's shared state: what every worker and the control thread see. */
#ifndef KSIP_KSIPD_H
#define KSIP_KSIPD_H

#include <stdbool.h>
#include <time.h>

#include "base/config.h"
#include "media/media.h"
#include "proxy/authorize.h"
#include "registrar/auth.h"
#include "base/config.h"

struct user_table;
struct location;
struct store;
struct page_table;
struct transport;
struct worker;
struct proxy;
struct txn_cache;
struct nft_shield;
struct shield;
struct room_table;
struct conf;
struct focus;

/*
 * What the top attaches to one worker (worker_attach()): the calls whose
 * Call-ID hashes to it and the registrar's retransmission cache. Touched
 * under that worker's lock only (worker.h).
 */
struct ksipd_worker {
	struct ksipd *d;
	struct worker *w;
	struct proxy *proxy;
	struct txn_cache *txc;
	struct focus *focus;		/* the conference rooms' dialogs of this worker (conf/) */
};

struct ksipd {
	struct ksip_config cfg;
	struct user_table *users;
	struct room_table *rooms;	/* conference rooms (store/rooms.h) */
	struct conf *conf;		/* who is in which room now (conf/conf.h) */
	struct page_table *pages;	/* paging groups (store/pages.h) */
	struct location *loc;
	struct store *store;
	struct auth auth;		/* cfg, users and the nonce key, for registrar and proxy */
	struct transport *transport;	/* the workers: sockets and threads */
	struct ksipd_worker *workers;	/* [nworkers], index = worker_index() */
	int nworkers;
	time_t started;
	struct media_env media;		/* relay ports, kernel or not: each worker's media reads it */
	uint8_t route_key[ROUTE_KEY_LEN];	/* signs our Record-Route; from the store */
	struct nft_shield *nft;		/* the nftables shield, or NULL (shield = userspace/off) */
	enum ksip_shield_mode shield_mode;	/* the shield in force: cfg.shield with auto resolved */
	char media_why[256];		/* why media is where it is (`ksipctl status`) */
	char shield_why[560];		/* why this shield (`ksipctl status`) */
	struct shield *shield;		/* bans, auth failures, per-source rate: every thread */
};

#endif
