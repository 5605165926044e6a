/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transport-independent request handling: parse, validate, dispatch to the
 * registrar or the proxy, or answer directly. The workers call it through
 * ksipd_transport_ops, with the worker's struct ksipd_worker as argument.
 */
#ifndef KSIP_DISPATCH_H
#define KSIP_DISPATCH_H

#include <stdbool.h>
#include <time.h>

#include "ksipd.h"
#include "sip/msg.h"
#include "sip/reply.h"
#include "base/stats.h"

struct txn_cache;
struct worker;
struct transport_ops;

struct sip_ctx {
	struct ksipd *d;
	struct ksip_stats *st;
	struct txn_cache *txc;
	time_t now;
	struct worker *w;
};

/*
 * Is SRC a trusted peer (trusted_peers) or in shield_allow? The one place
 * that decides whether the shield applies: such a source is never banned,
 * rate-limited or counted for failed authentications.
 */
bool ksipd_source_trusted(const struct ksipd *d, const struct sip_source *src);
/* The same for an address: in trusted_peers or shield_allow, so never banned nor rate-limited. */
bool ksipd_addr_exempt(const struct ksipd *d, const struct sockaddr_storage *addr);

/* struct auth's on_failure (ARG: struct ksipd): counts the failure against the source. */
void ksipd_auth_failed(void *arg, struct ksip_stats *st, const struct sip_source *src,
		       const char *user, time_t now);

/* What ksipd does with the messages its workers receive (transport/worker.h). */
extern const struct transport_ops ksipd_transport_ops;

/* Handle one message; returns true when O holds a response to send. */
bool sip_process(struct sip_ctx *c, const char *buf, size_t len, const struct sip_source *src,
		 struct sip_out *o);

/* What the server itself answers (Allow of a 405 to a request addressed to it). */
#define KSIP_ALLOW_LOCAL "REGISTER, OPTIONS"
/* What phones can send through it (Allow of the OPTIONS answer). */
#define KSIP_ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, REGISTER, INFO, UPDATE, PRACK, " \
	"SUBSCRIBE, NOTIFY, REFER"

#endif
