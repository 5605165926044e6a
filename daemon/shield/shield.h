/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shield: what ksipd does about a source that misbehaves, before any
 * SIP work is done for it (issue 12).
 *
 *   ban.c       the ban list: add / check / expire / list, an observer told of
 *               every change (the next issue mirrors it into an nftables set)
 *   authfail.c  failed digest verifications per source and per user; a source
 *               over auth_fail_limit within auth_fail_window is banned
 *   rate.c      a token bucket per source for requests without credentials
 *   table.c     the fixed, set-associative, keyed-hash table all three use
 *
 * Sources are grouped as an attacker holds them: one IPv4 address, or one
 * IPv6 /64 (a host is routinely given a whole /64). Memory is fixed when the
 * shield is made; nothing here allocates afterwards.
 *
 * Every entry point may be called from any thread at once (the workers; the
 * control thread for listing and deleting; the main thread for expiry).
 * Locking: one spinlock per set of SHIELD_WAYS entries, i.e. sharded to the
 * finest grain. A critical section scans one set (O(1), no allocation, no
 * call out), so two workers contend only when their sources land in the same
 * set at the same instant. A single lock would serialise every packet of
 * every worker through one cache line, which is what a flood needs least.
 *
 * Trusted peers (trusted_peers) must never be banned or rate-limited: the
 * CALLER skips the shield for them (dispatch.c, ksipd_source_trusted()).
 */
#ifndef KSIP_SHIELD_H
#define KSIP_SHIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "base/config.h"
#include "base/stats.h"

/* Where a request comes from, as the shield counts it: an IPv4 address or an IPv6 /64. */
struct shield_addr {
	uint64_t prefix;	/* IPv4: the address (host order) in the low 32 bits; IPv6: top 64 bits */
	uint32_t family;	/* AF_INET, AF_INET6; 0: an empty slot */
	uint32_t zero;		/* keeps the struct free of padding: it is hashed as bytes */
};

/* SA's group; an IPv4-mapped IPv6 address counts as the IPv4 address. False if neither. */
bool shield_addr_from(struct shield_addr *k, const struct sockaddr *sa);
/* "192.0.2.1", "2001:db8::1" or "2001:db8::/64" (any address inside the /64). */
int shield_addr_parse(const char *s, struct shield_addr *k);
/* "192.0.2.1" or "2001:db8:0:1::/64". */
void shield_addr_format(const struct shield_addr *k, char *buf, size_t len);
#define SHIELD_ADDR_STRLEN 48

struct shield_params {
	uint32_t ban_time;		/* seconds a ban lasts */
	uint32_t auth_fail_limit;	/* failures allowed per window; one more bans (0: never ban) */
	uint32_t auth_fail_window;	/* seconds */
	uint32_t source_rate;		/* unauthenticated requests per second per source (0: off) */
	uint32_t source_burst;		/* bucket depth */
	uint32_t table_size;		/* entries in each table (bans, failures, users, rates) */
};

#define SHIELD_FAIL_LIMIT_MAX KSIP_AUTH_FAIL_LIMIT_MAX	/* the failure ring's size at most */

struct shield;

struct shield *shield_new(const struct shield_params *p);
void shield_free(struct shield *s);
/* Bytes the shield's tables hold (fixed at shield_new()). */
size_t shield_memory(const struct shield *s);

/* --- ban.c: the ban list ------------------------------------------------ */

enum shield_ban_reason {
	SHIELD_BAN_AUTH,	/* auth_fail_limit failed authentications */
	SHIELD_BAN_OPERATOR,	/* ksipctl ban add (its text in the view's note) */
};
enum shield_ban_event {
	SHIELD_BAN_ADDED,	/* new ban */
	SHIELD_BAN_EXTENDED,	/* an existing ban now ends later (view: the new end) */
	SHIELD_BAN_EXPIRED,	/* its time ran out */
	SHIELD_BAN_REMOVED,	/* shield_ban_del() */
	SHIELD_BAN_EVICTED,	/* the table was full: the ban closest to its end made room */
};

struct shield_ban_view {
	struct shield_addr addr;
	time_t added, expires;
	enum shield_ban_reason reason;
	char note[KSIP_BAN_NOTE_MAX];	/* the operator's reason, or "" */
};

/*
 * Told of every change of the list, after the set lock is released (it may do
 * I/O, and may call shield_banned(), but events for one address racing on two
 * threads can arrive in either order). Set it before the workers start.
 */
typedef void shield_ban_observer(void *arg, enum shield_ban_event ev,
				 const struct shield_ban_view *b);
void shield_ban_observe(struct shield *s, shield_ban_observer *fn, void *arg);

/*
 * Ban K until NOW + SECONDS (extends an existing ban, which keeps its reason).
 * NOTE: the operator's reason (NULL: none), cut to KSIP_BAN_NOTE_MAX - 1
 * bytes. True when the ban is new.
 */
bool shield_ban_add(struct shield *s, const struct shield_addr *k, time_t now, uint32_t seconds,
		    enum shield_ban_reason reason, const char *note);
/* Is K banned at NOW? Lock-free while the list is empty. */
bool shield_banned(struct shield *s, const struct shield_addr *k, time_t now);
/* Lift K's ban; true if there was one. */
bool shield_ban_del(struct shield *s, const struct shield_addr *k);
/* Drop the bans over at NOW (the main thread, every second); returns how many. */
int shield_ban_expire(struct shield *s, time_t now);
/* FN for each ban in force at NOW, called without any lock held; returns how many. */
int shield_ban_foreach(struct shield *s, time_t now,
		       void (*fn)(void *arg, const struct shield_ban_view *b), void *arg);
/* Entries in the table (some may be over and not yet expired). */
size_t shield_ban_count(const struct shield *s);

/* --- authfail.c: failed verifications ----------------------------------- */

/*
 * One failed digest verification from SRC for USER (wrong password, unknown
 * user, bad nonce). Counts auth_failures_source, auth_user_failures and
 * bans_added in ST. Returns true when this failure banned SRC.
 */
bool shield_auth_failed(struct shield *s, struct ksip_stats *st, const struct shield_addr *src,
			const char *user, time_t now);

/* --- rate.c: per-source token bucket ------------------------------------ */

/* May a request without credentials from K pass at NOW_MS (a monotonic clock)? O(1). */
bool shield_rate_allow(struct shield *s, const struct shield_addr *k, uint64_t now_ms);

#endif
