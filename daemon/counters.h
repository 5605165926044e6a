/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One reading of every counter and gauge the daemon keeps, for whoever shows
 * them: `ksipctl stats`/`status`/`shield` (control.c) and /metrics
 * (metrics.c) read the same numbers the same way.
 */
#ifndef KSIP_COUNTERS_H
#define KSIP_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/stats.h"
#include "shield/nft.h"
#include "store/location.h"
#include "store/users.h"

struct ksipd;

struct ksipd_counters {
	struct ksip_stats t;		/* every worker's, summed */
	struct location_usage loc;
	struct users_nonce_usage nonces;
	uint64_t uptime_seconds;
	uint64_t users;
	uint64_t bans_active;
	uint64_t relay_ports_in_use;
	bool have_nft;			/* nft: the nftables shield's counters were read */
	struct nft_shield_counters nft;
};

/* Reads D's counters into V; NFT: ask the kernel for the nftables shield's too. */
void ksipd_counters_read(struct ksipd *d, struct ksipd_counters *v, bool nft);

/* Sums of what the stats keep by method and by status code. */
uint64_t ksipd_requests_total(const struct ksip_stats *t);
uint64_t ksipd_responses_sent_total(const struct ksip_stats *t);

#endif
