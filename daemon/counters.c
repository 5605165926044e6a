// SPDX-License-Identifier: GPL-2.0
#include "counters.h"

#include <string.h>
#include <time.h>

#include "ksipd.h"
#include "media/port_pool.h"
#include "shield/shield.h"
#include "sip/msg.h"
#include "transport/worker.h"

void ksipd_counters_read(struct ksipd *d, struct ksipd_counters *v, bool nft)
{
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < d->nworkers; i++)
		stats_accumulate(&v->t, worker_stats(d->workers[i].w));
	location_usage(d->loc, &v->loc);
	users_nonce_usage(d->users, &v->nonces);
	v->uptime_seconds = (uint64_t)(time(NULL) - d->started);
	v->users = users_count(d->users);
	v->bans_active = d->shield ? shield_ban_count(d->shield) : 0;
	v->relay_ports_in_use = d->media.ports ? 2ULL * port_pool_in_use(d->media.ports) : 0;
	v->have_nft = nft && d->nft && !nft_shield_counters(d->nft, &v->nft);
}

uint64_t ksipd_requests_total(const struct ksip_stats *t)
{
	uint64_t n = 0;

	for (int i = 0; i < SIP_METHOD__COUNT; i++)
		n += t->requests[i];
	return n;
}

uint64_t ksipd_responses_sent_total(const struct ksip_stats *t)
{
	uint64_t n = 0;

	for (int i = 0; i < 700; i++)
		n += t->responses_sent[i];
	return n;
}
