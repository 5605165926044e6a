/* SPDX-License-Identifier: GPL-2.0 */
/* The registrar: REGISTER requests, RFC 3261 §10.3. */
#ifndef KSIP_REGISTRAR_H
#define KSIP_REGISTRAR_H

#include <time.h>

#include "base/config.h"
#include "base/stats.h"
#include "sip/msg.h"
#include "sip/reply.h"

struct auth;
struct location;
struct txn_cache;

/* What one REGISTER is judged with; the caller fills it per request. */
struct registrar_ctx {
	const struct ksip_config *cfg;	/* expiry limits, max_contacts */
	const struct auth *auth;	/* shared by every worker */
	struct location *loc;		/* shared, locked inside */
	struct txn_cache *txc;		/* this worker's memory of answered requests */
	struct ksip_stats *st;		/* this worker's counters */
	time_t now;
};

/* Answer a REGISTER (already validated by the dispatcher) into O. */
void registrar_handle(const struct registrar_ctx *c, const struct sip_msg *m,
		      const struct sip_source *src, struct sip_out *o);

#endif
