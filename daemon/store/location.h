/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The location service: address-of-record -> bindings (RFC 3261 §10).
 * Sharded by AOR hash so workers rarely meet on a lock; each binding is a
 * single allocation sized to its strings (see docs/architecture.md for the
 * per-binding memory budget).
 */
#ifndef KSIP_LOCATION_H
#define KSIP_LOCATION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "base/config.h"
#include "sip/msg.h"

struct location;
struct store;

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
	enum ksip_transport transport;
	uint32_t max_contacts;
};

enum loc_result { LOC_OK, LOC_E_STALE_CSEQ, LOC_E_TOO_MANY, LOC_E_NOMEM };

/* What a reader sees of a binding; strings valid only during the callback. */
struct binding_view {
	const char *aor;
	const char *contact;
	const char *callid;
	uint32_t cseq;
	uint32_t expires_in;
	uint16_t q;
	enum ksip_transport transport;
	struct sockaddr_storage source;
};

typedef void (*binding_fn)(void *ctx, const struct binding_view *b);

struct location *location_new(void);
void location_free(struct location *l);

/*
 * Apply one REGISTER's changes atomically (all or nothing, §10.3 step 7),
 * queue them for persistence, then call EMIT for every binding the AOR has
 * afterwards (the 200 OK's Contact list). A request with no contacts and
 * !remove_all only emits.
 */
enum loc_result location_apply(struct location *l, const struct loc_request *rq,
			       struct store *st, binding_fn emit, void *ctx);

/* Restore a binding from the database at start-up (no persistence). */
int location_restore(struct location *l, const struct binding_view *b, time_t expires_at);

void location_foreach(struct location *l, time_t now, binding_fn fn, void *ctx);
/* Calls fn for each current binding of AOR; returns how many. */
int location_lookup(struct location *l, const char *aor, time_t now, binding_fn fn, void *ctx);
int location_remove_aor(struct location *l, const char *aor, struct store *st);
/* Drop bindings whose time is up. Returns how many. */
int location_expire(struct location *l, time_t now, struct store *st);

struct location_usage {
	uint64_t aors;
	uint64_t bindings;
	uint64_t bytes;		/* allocated for AORs and bindings */
};
void location_usage(struct location *l, struct location_usage *u);

#endif
