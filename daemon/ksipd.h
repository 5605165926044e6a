/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's shared state: what every worker and the control thread see. */
#ifndef KSIP_KSIPD_H
#define KSIP_KSIPD_H

#include <stdbool.h>
#include <time.h>

#include "base/config.h"
#include "media/media.h"

struct user_table;
struct location;
struct store;
struct nonce_key;
struct worker;

struct ksipd {
	struct ksip_config cfg;
	struct user_table *users;
	struct location *loc;
	struct store *store;
	struct nonce_key *nonce;
	struct worker **workers;
	int nworkers;
	time_t started;
	struct media_env media;		/* relay ports, kernel or not: each worker's media reads it */
};

#endif
