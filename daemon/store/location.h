/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The location service: address-of-record -> bindings (RFC 3261 §10).
 * Sharded by AOR hash so workers rarely meet on a lock; each binding is a
 * single allocation sized to its strings (see docs/architecture.md for the
 * per-binding memory budget). Every change that must outlive the process
 * is reported through the persistence ops given to location_new().
 */
#ifndef KSIP_LOCATION_H
#define KSIP_LOCATION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "base/config.h"
#include "sip/msg.h"
#include "store/record.h"

struct location;

struct loc_contact {
	struct sip_span uri;
	uint32_t expires;	/* seconds, already clamped; 0 removes */
	uint16_t q;		/* 0..1000, LOC_Q_NONE when absent */
};

#define LOC_Q_NONE 0xffff

struct loc_request {
	const char *aor;
	struct sip_span callid;
	uint32_t cseq;
	const struct loc_contact *contacts;
	int ncontacts;
	bool remove_all;	/* Contact: * with Expires: 0 */
	time_t now;
	const struct sockaddr *src;
	const struct sockaddr *local;	/* our address it came in on (may be NULL) */
	enum ksip_transport transport;
	uint32_t max_contacts;
};

enum loc_result { LOC_OK, LOC_E_STALE_CSEQ, LOC_E_TOO_MANY, LOC_E_NOMEM };

/* PERSIST (may be NULL: nothing is reported) is called with ARG under a shard lock. */
struct location *location_new(const struct binding_persist_ops *persist, void *arg);
void location_free(struct location *l);

/*
 * Apply one REGISTER's changes atomically (all or nothing, §10.3 step 7),
 * report them for persistence, then call EMIT for every binding the AOR has
 * afterwards (the 200 OK's Contact list), in the order they were first
 * registered. A request with no contacts and !remove_all only emits.
 */
enum loc_result location_apply(struct location *l, const struct loc_request *rq,
			       binding_fn emit, void *ctx);

/*
 * Restore a binding read back at start-up (nothing is reported). 0, or -1
 * when out of memory or the AOR already has that contact.
 */
int location_restore(struct location *l, const struct binding_view *b, time_t expires_at);

void location_foreach(struct location *l, time_t now, binding_fn fn, void *ctx);
/* Calls fn for each current binding of AOR; returns how many. */
int location_lookup(struct location *l, const char *aor, time_t now, binding_fn fn, void *ctx);
/* Remove every binding of AOR (one remove_aor reported). Returns how many. */
int location_remove_aor(struct location *l, const char *aor);
/* Drop bindings whose time is up (each one reported). Returns how many. */
int location_expire(struct location *l, time_t now);

/*
 * NAT keepalives (proxy/keepalive.c, issue 14): the table is walked one
 * shard at a time, so that the probes of an interval spread over it.
 */
#define LOCATION_SHARDS 64

struct loc_probe {
	/* Is this binding one to keep open (behind NAT)? Under the shard lock: no blocking. */
	bool (*wants)(void *ctx, const struct binding_view *b);
	/* Send it a keepalive; true when one went out. Under the shard lock: no blocking. */
	bool (*send)(void *ctx, const struct binding_view *b);
	void *ctx;
	unsigned int max;		/* bindings probed (or expired) at most in this call */
	unsigned int max_unanswered;	/* keepalives in a row without answer before expiry */
	unsigned int *expired;		/* += bindings removed for not answering (reported) */
	unsigned int *skipped;		/* += bindings past MAX, not looked at this time */
};

/*
 * For every live binding of shard SHARD (0..LOCATION_SHARDS-1) that PR
 * wants: remove it when MAX_UNANSWERED keepalives went unanswered, else
 * send one more. Returns how many it handled.
 */
int location_probe_shard(struct location *l, unsigned int shard, time_t now,
			 const struct loc_probe *pr);
/*
 * The token a keepalive to CONTACT of AOR carries and its answer brings
 * back: a MAC under the process's key, so that only an answer to a
 * keepalive we sent (or an on-path observer) can name the binding.
 */
uint64_t location_probe_token(const char *aor, const char *contact);
/* A keepalive to AOR's binding with TOKEN was answered: it is alive. False: no such binding. */
bool location_probe_answered(struct location *l, const char *aor, uint64_t token);

struct location_usage {
	uint64_t aors;
	uint64_t bindings;
	uint64_t bytes;		/* allocated for AORs and bindings */
};
void location_usage(struct location *l, struct location_usage *u);

#endif
