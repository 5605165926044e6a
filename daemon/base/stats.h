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

/* Room for every enum ksip_transport (base/config.h; dispatch.c checks it). */
#define KSIP_STATS_TRANSPORTS 4

/* How an answered call's media flows (proxy/call.c's media_mode()). */
enum ksip_stats_media { KSIP_STATS_MEDIA_NONE, KSIP_STATS_MEDIA_KERNEL, KSIP_STATS_MEDIA_USERSPACE,
			KSIP_STATS_MEDIA__COUNT };

/*
 * Histograms of durations. Each worker counts an observation in the first
 * bucket whose bound (ksip_hist_bounds_us) it does not exceed, or in the
 * last (+Inf); a reader makes them cumulative, and the count is the sum of
 * the buckets, so the two always agree even while a worker is writing.
 */
enum ksip_hist_id {
	KSIP_HIST_CALL_PROVISIONAL,	/* INVITE to the first 101-199 passed upstream */
	KSIP_HIST_CALL_ANSWER,		/* INVITE to the 2xx passed upstream */
	KSIP_HIST_REGISTER,		/* REGISTER taken up to its response ready to send */
	KSIP_HIST__COUNT
};
#define KSIP_HIST_BOUNDS 12

struct ksip_hist {
	uint64_t bucket[KSIP_HIST_BOUNDS + 1];	/* not cumulative; [KSIP_HIST_BOUNDS]: +Inf */
	uint64_t sum_us;
};

extern const uint64_t ksip_hist_bounds_us[KSIP_HIST__COUNT][KSIP_HIST_BOUNDS];

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
	uint64_t keepalives;		/* CRLF pings, STUN Binding indications */
	uint64_t stun_answered;		/* STUN Binding requests answered (RFC 5389, RFC 5626 §4.4.2) */
	uint64_t stun_dropped;		/* STUN-looking datagrams dropped: malformed, or not ours to answer */
	uint64_t tcp_accepted;
	uint64_t tcp_closed;
	uint64_t tcp_errors;		/* refused: tcp_max_connections reached, or no memory */
	uint64_t tcp_refused_source;	/* refused: tcp_max_per_source reached */
	uint64_t tcp_accept_emfile;	/* accept() out of descriptors: listening paused */
	uint64_t tcp_header_timeouts;	/* closed: a message took over tcp_header_timeout */
	uint64_t tcp_idle_closed;	/* closed: silent too long (with or without a binding) */
	uint64_t tcp_write_overflows;	/* closed: the peer let tcp_write_queue_max pile up */
	uint64_t tcp_connects;		/* connections ksipd opened (§18.1.1), counted in tcp_closed too */
	uint64_t tcp_connect_failed;	/* of ours: refused, reset or unroutable */
	uint64_t tcp_connect_timeouts;	/* of ours: not up within TCP_CONNECT_TIMEOUT_MS */
	uint64_t tcp_connect_refused;	/* not opened: a cap (connects in progress, connections, source) */
	uint64_t tls_handshakes;	/* TLS handshakes completed (their connections: tcp_accepted) */
	uint64_t tls_handshake_failed;	/* closed: the handshake failed (garbage, old version, cut) */
	uint64_t tls_handshake_timeouts; /* closed: no handshake within tcp_header_timeout */
	uint64_t tls_aliases;		/* RFC 5923 aliases taken: a Via alias for the peer's own address */
	uint64_t tls_aliases_refused;	/* Via aliases not taken: another address, or named already */

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
	uint64_t txn_done_early;	/* answered transactions freed before their timer, for room */
	uint64_t calls_freed_early;	/* ended calls freed before their 10 s, for room */
	uint64_t calls_created, calls_answered, calls_ended, calls_freed;
	uint64_t relay_streams_opened, relay_streams_closed;
	uint64_t relay_streams_cross_family;	/* opened between an IPv4 and an IPv6 leg */
	uint64_t kernel_flows_installed, kernel_flows_removed;
	uint64_t relay_fanout_sent;	/* copies the userspace relay sent to outputs (taps, paging) */
	uint64_t relay_fanout_errors;	/* copies it could not send */

	/* For the metrics endpoint's labels (daemon/metrics.c). */
	uint64_t requests_by_transport[KSIP_STATS_TRANSPORTS];	/* by enum ksip_transport */
	uint64_t calls_answered_by_media[KSIP_STATS_MEDIA__COUNT];

	/* Latencies: what ksipd adds and what callers wait for. */
	struct ksip_hist hist[KSIP_HIST__COUNT];
	/* NAT keepalives (proxy/keepalive.c, issue 14) */
	uint64_t nat_keepalives_sent;	/* OPTIONS sent to contacts behind NAT */
	uint64_t nat_keepalives_answered;
	uint64_t nat_keepalive_expired;	/* bindings removed early: keepalives unanswered */
	uint64_t nat_keepalive_skipped;	/* not probed this round: over the per-tick cap */
} __attribute__((aligned(64)));

#define STAT_ADD(st, field, n) \
	__atomic_store_n(&(st)->field, __atomic_load_n(&(st)->field, __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define STAT_INC(st, field) STAT_ADD(st, field, 1)

/* out += in, reading in with relaxed loads. */
void stats_accumulate(struct ksip_stats *out, const struct ksip_stats *in);

/* Count a duration of US microseconds in histogram H (by ST's one writer). */
void stats_observe(struct ksip_stats *st, enum ksip_hist_id h, uint64_t us);

/* A monotonic clock in microseconds, for stats_observe(). */
uint64_t stats_now_us(void);

#endif
