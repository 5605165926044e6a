/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transport-independent request handling: parse, validate, dispatch to the
 * registrar or answer directly. Called by the UDP and TCP loops.
 */
#ifndef KSIP_SIP_CORE_H
#define KSIP_SIP_CORE_H

#include <stdbool.h>
#include <time.h>

#include "ksipd.h"
#include "sip_msg.h"
#include "sip_reply.h"
#include "stats.h"

struct txn_cache;

struct sip_ctx {
	struct ksipd *d;
	struct ksip_stats *st;
	struct txn_cache *txc;
	time_t now;
};

/* Handle one message; returns true when O holds a response to send. */
bool sip_process(struct sip_ctx *c, const char *buf, size_t len, const struct sip_source *src,
		 struct sip_out *o);

/* Methods the server knows (for Allow and 405 versus 501). */
#define KSIP_ALLOW "REGISTER, OPTIONS"

#endif
