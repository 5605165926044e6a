/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's shared state: what every worker and the control thread see. */
#ifndef KSIP_KSIPD_H
#define KSIP_KSIPD_H

#include <stdbool.h>
#include <time.h>

#include "base/config.h"
#include "registrar/auth.h"

struct user_table;
struct location;
struct store;
struct worker;
struct port_pool;
struct adopted_ports;

struct ksipd {
	struct ksip_config cfg;
	struct user_table *users;
	struct location *loc;
	struct store *store;
	struct auth auth;		/* cfg, users and the nonce key, for registrar and proxy */
	struct worker **workers;
	int nworkers;
	time_t started;
	struct port_pool *ports;	/* relay port pairs, shared by the workers */
	bool media_kernel;		/* ksip.ko forwards media (else the workers do) */
	struct adopted_ports *adopted;	/* kernel flows found at start-up */
};

#endif
