/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters. Each worker owns one struct and is its only writer, so an
 * increment is a plain relaxed load/store on a private cache line; readers
 * (ksipctl stats) sum the workers with relaxed loads.
 */
#ifndef KSIP_STATS_H
#define KSIP_STATS_H

#include <stdint.h>

/* Room for every enum sip_method (dispatch.c checks it: base cannot see sip/). */
#define KSIP_STATS_METHODS 16

struct ksip_stats {
	uint64_t requests[KSIP_STATS_METHODS];	/* by enum sip_method */
	uint64_t responses_sent[700];	/* by status code */
	uint64_t responses_received;
	uint64_t parse_errors;		/* understood as SIP, rejected with 4xx/5xx */
	uint64_t garbage;		/* not SIP: dropped silently */
	uint64_t auth_challenges;
	uint64_t auth_failures;		/* wrong password, unknown user, bad nonce */
	uint64_t auth_stale;
	uint64_t auth_replays;		/* nonce-count not increasing */
	uint64_t retransmissions;	/* absorbed by the transaction cache */
	uint64_t keepalives;
	uint64_t tcp_accepted;
	uint64_t tcp_closed;
	uint64_t tcp_errors;		/* refused: tcp_max_connections reached, or no memory */
	uint64_t tcp_refused_source;	/* refused: tcp_max_per_source reached */
	uint64_t tcp_accept_emfile;	/* accept() out of descriptors: listening paused */
	uint64_t tcp_header_timeouts;	/* closed: a message took over tcp_header_timeout */
	uint64_t tcp_idle_closed;	/* closed: silent too long (with or without a binding) */
	uint64_t tcp_write_overflows;	/* closed: the peer let tcp_write_queue_max pile up */

	/* shield (issue 12) */
	uint64_t banned_dropped;	/* messages from a banned source, dropped unread */
	uint64_t rate_limited;		/* requests without credentials over source_rate, dropped */
	uint64_t auth_failures_source;	/* failures counted against their source (trusted: not) */
	uint64_t auth_user_failures;	/* failures for a user already over auth_fail_limit */
	uint64_t bans_added;		/* sources banned for failing auth_fail_limit */

	/* proxy: created/freed pairs give what is alive (ksipctl stats shows both) */
	uint64_t stx_created, stx_freed;
	uint64_t branches_created, branches_freed;
	uint64_t retransmissions_sent;
	uint64_t cancels_received, cancels_sent;
	uint64_t responses_forwarded, responses_stray;
	uint64_t targets_skipped;	/* contacts we cannot reach (TCP bindings) */
	uint64_t relay_denied;		/* not forwarded: no dialog of ours (481), foreign (403), stray ACK */
	uint64_t send_errors;
	uint64_t handoffs;		/* messages passed to the worker owning the Call-ID */
	uint64_t inbox_dropped;		/* not queued: the receiving worker's inbox was full */
	uint64_t cap_rejects;		/* 503 at a cap on transactions or calls (issue 12) */
	uint64_t calls_created, calls_answered, calls_ended, calls_freed;
	uint64_t relay_streams_opened, relay_streams_closed;
	uint64_t relay_streams_cross_family;	/* opened between an IPv4 and an IPv6 leg */
	uint64_t kernel_flows_installed, kernel_flows_removed;
} __attribute__((aligned(64)));

#define STAT_ADD(st, field, n) \
	__atomic_store_n(&(st)->field, __atomic_load_n(&(st)->field, __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define STAT_INC(st, field) STAT_ADD(st, field, 1)

/* out += in, reading in with relaxed loads. */
void stats_accumulate(struct ksip_stats *out, const struct ksip_stats *in);

#endif
