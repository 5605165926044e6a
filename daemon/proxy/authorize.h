/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who may make the proxy forward a request (docs/security.md, "Forwarding
 * policy"): ksipd is not an open relay. A request is forwarded when it
 * belongs to a dialog ksipd record-routed (one it holds, matched by
 * Call-ID and both tags, or one whose Route carries our signed
 * Record-Route), when it is an initial request from a trusted peer, or
 * when its sender authenticates as a local user. Everything else is 481
 * (a To tag we cannot place), 403 (another domain) or 407 (no
 * credentials yet).
 *
 * One decision, taken before any state exists for the request: the
 * caller acts on the verdict (forward, challenge, or refuse statelessly).
 */
#ifndef KSIP_PROXY_AUTHORIZE_H
#define KSIP_PROXY_AUTHORIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "proxy/call.h"
#include "sip/msg.h"
#include "sip/reply.h"

struct proxy;

/* Bytes of the key that signs our Record-Route (kept in the store as "route_secret"). */
#define ROUTE_KEY_LEN 32
/* The signature parameter: ";ksig=" 8 hex digits of expiry (Unix time), then the MAC. */
#define ROUTE_SIG_PARAM "ksig"
#define ROUTE_MAC_BYTES 16	/* HMAC-SHA-256 truncated to 128 bits */
#define ROUTE_SIG_HEX (8 + 2 * ROUTE_MAC_BYTES)

enum fwd_verdict {
	FWD_IN_DIALOG,		/* a dialog we hold or signed: forward along it */
	FWD_TRUSTED,		/* initial request for our domain from trusted_peers: no challenge */
	FWD_AUTHENTICATE,	/* initial request for our domain: the sender must authenticate */
	FWD_AUTHENTICATE_FOREIGN, /* another domain, allow_foreign_domains = yes: authenticate, then route */
	FWD_NO_DIALOG,		/* a To tag of no dialog of ours: 481 (an ACK is dropped) */
	FWD_FOREIGN,		/* another domain, or a Route to another host: 403 */
};

/* What the decision found out, for the routing that follows. */
struct fwd_grant {
	struct call *call;	/* FWD_IN_DIALOG: the dialog held, or NULL when only signed */
	enum leg from;		/* which leg of CALL sent it */
};

/*
 * Judge M from SRC. NEXT_ROUTE is the first Route entry that does not name
 * us (empty when none). On the worker owning M's Call-ID, under its lock.
 */
enum fwd_verdict authorize_forwarding(struct proxy *p, const struct sip_msg *m,
				      const struct sip_source *src, struct sip_span next_route,
				      struct fwd_grant *g);

/*
 * ";ksig=..." for the Record-Route of the dialog-creating request M (Call-ID
 * and From tag, valid until NOW plus the dialog's longest life), or "" when
 * it cannot be signed. OUT holds at least ROUTE_SIG_HEX + 8 bytes.
 */
void route_sign(const struct proxy *p, const struct sip_msg *m, time_t now, char *out,
		size_t len);

/* The reason phrase of the 403 for FWD_FOREIGN. */
#define FWD_FOREIGN_REASON "Relaying Denied"

#endif
