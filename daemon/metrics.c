// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus endpoint. A scrape sums the workers' counters lock-free
 * (counters.c, as `ksipctl stats` does), asks ksip.ko and nftables for
 * theirs, and writes the text exposition format 0.0.4.
 *
 * What a remote peer can take from ksipd through it is bounded: one thread
 * (libmicrohttpd's internal polling thread) serves every connection, at most
 * METRICS_MAX_CONNS at once (METRICS_MAX_PER_IP from one address), each
 * with METRICS_CONN_MEMORY bytes for its request (a longer URL or header
 * gets 414/431) and METRICS_TIMEOUT_S seconds of silence before it is
 * closed. Only GET (and HEAD, RFC 9110 §9.1) of /metrics is answered. The
 * SIP workers never wait for this thread: it only reads their counters.
 */
#include "metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "counters.h"
#include "ksip/endpoint.h"
#include "ksip/genl.h"
#include "ksipd.h"
#include "sip/msg.h"

#define METRICS_MAX_CONNS 8
#define METRICS_MAX_PER_IP 4
#define METRICS_TIMEOUT_S 5
#define METRICS_CONN_MEMORY (16 * 1024)
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct ksipd *d;
	struct MHD_Daemon *httpd;
	struct ksip_genl *genl;		/* for ksip.ko's counters; only the HTTP thread uses it */
};

/* The exposition text, grown as it is written; a failed allocation marks it lost. */
struct text {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct text *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->oom = true;
		return;
	}
	if ((size_t)n >= o->cap - o->len) {
		size_t ncap = 2 * o->cap + (size_t)n;
		char *nb = realloc(o->buf, ncap);

		if (!nb) {
			o->oom = true;
			return;
		}
		o->buf = nb;
		o->cap = ncap;
		va_start(ap, fmt);
		vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
	}
	o->len += (size_t)n;
}

static void family(struct text *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP ksip_%s %s\n# TYPE ksip_%s %s\n", name, help, name, type);
}

/* One sample: NAME{LABELS} V (LABELS may be NULL). */
static void sample(struct text *o, const char *name, const char *labels, uint64_t v)
{
	put(o, "ksip_%s%s%s%s %llu\n", name, labels ? "{" : "", labels ? labels : "",
	    labels ? "}" : "", (unsigned long long)v);
}

static void one(struct text *o, const char *name, const char *type, const char *help, uint64_t v)
{
	family(o, name, type, help);
	sample(o, name, NULL, v);
}

/* A gauge kept as two counters: what was made less what ended (never below 0 while they move). */
static uint64_t alive(uint64_t made, uint64_t ended)
{
	return made > ended ? made - ended : 0;
}

/* The workers' plain counters, as ksip_NAME_total. */
static const struct {
	size_t off;
	const char *name, *help;
} worker_counters[] = {
#define C(field, name, help) { offsetof(struct ksip_stats, field), name, help }
	C(responses_received, "sip_responses_received_total",
	  "SIP responses received that no client transaction took (stray) or before parsing"),
	C(parse_errors, "sip_parse_errors_total", "SIP messages rejected as malformed (4xx/5xx or dropped)"),
	C(garbage, "sip_garbage_dropped_total", "datagrams or stream data that are not SIP, dropped"),
	C(retransmissions, "sip_retransmissions_absorbed_total",
	  "request retransmissions answered from the transaction cache"),
	C(keepalives, "sip_keepalives_total", "CRLF keep-alives received (RFC 5626)"),
	C(auth_challenges, "auth_challenges_total", "401/407 digest challenges sent"),
	C(auth_failures, "auth_failures_total", "failed authentications: wrong password, unknown user, bad nonce"),
	C(auth_stale, "auth_stale_total", "authentications with an expired nonce (stale=true)"),
	C(auth_replays, "auth_replays_total", "authentications replaying a nonce count"),
	C(banned_dropped, "shield_banned_dropped_total", "messages from banned sources dropped unread"),
	C(rate_limited, "shield_rate_limited_total", "requests without credentials over source_rate, dropped"),
	C(auth_failures_source, "shield_auth_failures_source_total",
	  "authentication failures counted against their source"),
	C(auth_user_failures, "shield_auth_user_failures_total",
	  "authentication failures for a user already over auth_fail_limit"),
	C(bans_added, "shield_bans_added_total", "sources banned for failing auth_fail_limit"),
	C(tcp_accepted, "tcp_accepted_total", "TCP connections accepted"),
	C(tcp_closed, "tcp_closed_total", "TCP connections closed, for any reason"),
	C(tcp_accept_emfile, "tcp_accept_emfile_total", "accept() out of file descriptors: listening paused"),
	C(tcp_header_timeouts, "tcp_header_timeouts_total",
	  "TCP connections closed: a message took over tcp_header_timeout"),
	C(tcp_idle_closed, "tcp_idle_closed_total", "TCP connections closed: silent too long"),
	C(tcp_write_overflows, "tcp_write_overflows_total",
	  "TCP connections closed: the peer let tcp_write_queue_max pile up"),
	C(tcp_connects, "tcp_connects_total", "TCP connections ksipd opened (RFC 3261 §18.1.1)"),
	C(tcp_connect_failed, "tcp_connect_failed_total", "TCP connects of ksipd refused, reset or unroutable"),
	C(tcp_connect_timeouts, "tcp_connect_timeouts_total", "TCP connects of ksipd not up in time"),
	C(tcp_connect_refused, "tcp_connect_refused_total", "TCP connects not started: a cap was reached"),
	C(tls_handshakes, "tls_handshakes_total", "TLS handshakes completed"),
	C(tls_handshake_failed, "tls_handshake_failed_total", "TLS connections closed: the handshake failed"),
	C(tls_handshake_timeouts, "tls_handshake_timeouts_total",
	  "TLS connections closed: no handshake within tcp_header_timeout"),
	C(tls_aliases, "tls_aliases_total", "RFC 5923 aliases taken for TLS connections"),
	C(tls_aliases_refused, "tls_aliases_refused_total",
	  "RFC 5923 aliases refused: another address than the connection's, or one named already"),
	C(stx_created, "proxy_transactions_created_total", "server transactions the proxy created"),
	C(branches_created, "proxy_branches_created_total", "client transactions (branches) the proxy forked"),
	C(retransmissions_sent, "proxy_retransmissions_sent_total", "requests retransmitted by the proxy"),
	C(cancels_received, "proxy_cancels_received_total", "CANCEL requests received"),
	C(cancels_sent, "proxy_cancels_sent_total", "CANCEL requests sent to branches"),
	C(responses_forwarded, "proxy_responses_forwarded_total", "responses passed upstream"),
	C(responses_stray, "proxy_responses_stray_total", "responses matching no transaction"),
	C(targets_skipped, "proxy_targets_skipped_total", "contacts not reachable (their TCP connection is gone)"),
	C(relay_denied, "proxy_relay_denied_total", "requests not forwarded: no dialog of ours, foreign, stray ACK"),
	C(send_errors, "proxy_send_errors_total", "messages the proxy could not send"),
	C(handoffs, "proxy_handoffs_total", "messages passed to the worker owning the Call-ID"),
	C(inbox_dropped, "proxy_inbox_dropped_total", "messages dropped: the owning worker's inbox was full"),
	C(cap_rejects, "proxy_cap_rejects_total", "requests answered 503 at a cap on transactions or calls"),
	C(txn_done_early, "proxy_txn_done_early_total",
	  "answered transactions freed before their retransmission timer to make room under a cap"),
	C(calls_freed_early, "proxy_calls_freed_early_total",
	  "ended calls freed before their 10 s in call list to make room under max_calls"),
	C(calls_created, "calls_started_total", "calls started (INVITEs forwarded)"),
	C(calls_ended, "calls_ended_total", "calls ended (hung up, failed, cancelled, timed out)"),
	C(relay_streams_opened, "media_streams_opened_total", "media streams given relay ports"),
	C(relay_streams_closed, "media_streams_closed_total", "media streams closed"),
	C(relay_streams_cross_family, "media_streams_cross_family_total",
	  "media streams whose legs are of two address families (IPv4 and IPv6)"),
	C(stun_answered, "stun_answered_total", "STUN binding requests answered on the SIP ports"),
	C(stun_dropped, "stun_dropped_total", "STUN datagrams dropped as malformed or not a binding request"),
	C(nat_keepalives_sent, "nat_keepalives_sent_total", "OPTIONS keepalives sent to contacts behind NAT"),
	C(nat_keepalives_answered, "nat_keepalives_answered_total", "NAT keepalives answered"),
	C(nat_keepalive_expired, "nat_keepalive_expired_total",
	  "bindings removed early: their NAT keepalives went unanswered"),
	C(nat_keepalive_skipped, "nat_keepalive_skipped_total",
	  "NAT keepalives not sent in a round: over the per-tick cap"),
	C(kernel_flows_installed, "kernel_flow_pairs_installed_total",
	  "stream directions handed to ksip.ko (a flow pair: RTP and RTCP)"),
	C(kernel_flows_removed, "kernel_flow_pairs_removed_total", "stream directions taken back from ksip.ko"),
	C(relay_fanout_sent, "relay_fanout_sent_total",
	  "copies the userspace relay sent to fan-out outputs (recording taps, paging)"),
	C(relay_fanout_errors, "relay_fanout_errors_total",
	  "fan-out copies the userspace relay could not send"),
#undef C
};

static const char *const transport_label[KSIP_STATS_TRANSPORTS] = {
	[KSIP_UDP] = "udp", [KSIP_TCP] = "tcp", [KSIP_TLS] = "tls",
};

static const char *const media_label[KSIP_STATS_MEDIA__COUNT] = {
	[KSIP_STATS_MEDIA_NONE] = "none",
	[KSIP_STATS_MEDIA_KERNEL] = "kernel",
	[KSIP_STATS_MEDIA_USERSPACE] = "userspace",
};

static void counters_by_label(struct text *o, const struct ksip_stats *t)
{
	char l[64];

	family(o, "sip_requests_total", "counter", "SIP requests received, by method");
	for (int i = 0; i < SIP_METHOD__COUNT; i++) {
		snprintf(l, sizeof(l), "method=\"%s\"", sip_method_name(i));
		sample(o, "sip_requests_total", l, t->requests[i]);
	}
	family(o, "sip_transport_requests_total", "counter", "SIP requests received, by transport");
	for (int i = 0; i < KSIP_STATS_TRANSPORTS; i++) {
		if (!transport_label[i])
			continue;
		snprintf(l, sizeof(l), "transport=\"%s\"", transport_label[i]);
		sample(o, "sip_transport_requests_total", l, t->requests_by_transport[i]);
	}
	family(o, "sip_responses_sent_total", "counter",
	       "SIP responses ksipd sent itself or passed on, by status code (codes seen so far)");
	for (int i = 100; i < 700; i++) {
		if (!t->responses_sent[i])
			continue;
		snprintf(l, sizeof(l), "code=\"%d\"", i);
		sample(o, "sip_responses_sent_total", l, t->responses_sent[i]);
	}
	family(o, "tcp_refused_total", "counter", "TCP connections refused at a limit, by limit");
	sample(o, "tcp_refused_total", "limit=\"tcp_max_connections\"", t->tcp_errors);
	sample(o, "tcp_refused_total", "limit=\"tcp_max_per_source\"", t->tcp_refused_source);
	family(o, "calls_answered_total", "counter", "calls answered, by where their media flows");
	for (int i = 0; i < KSIP_STATS_MEDIA__COUNT; i++) {
		snprintf(l, sizeof(l), "media=\"%s\"", media_label[i]);
		sample(o, "calls_answered_total", l, t->calls_answered_by_media[i]);
	}
}

/* Microseconds as seconds, exactly. */
static void put_seconds(struct text *o, uint64_t us)
{
	put(o, "%llu.%06llu", (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
}

static void histogram(struct text *o, const char *name, const char *label, const struct ksip_hist *h,
		      const uint64_t *bounds_us)
{
	uint64_t cum = 0;
	const char *sep = label ? "," : "";

	label = label ? label : "";
	for (int b = 0; b <= KSIP_HIST_BOUNDS; b++) {
		cum += h->bucket[b];
		put(o, "ksip_%s_bucket{%s%sle=\"", name, label, sep);
		if (b < KSIP_HIST_BOUNDS)
			put_seconds(o, bounds_us[b]);
		else
			put(o, "+Inf");
		put(o, "\"} %llu\n", (unsigned long long)cum);
	}
	put(o, "ksip_%s_sum%s%s%s ", name, *label ? "{" : "", label, *label ? "}" : "");
	put_seconds(o, h->sum_us);
	put(o, "\nksip_%s_count%s%s%s %llu\n", name, *label ? "{" : "", label, *label ? "}" : "",
	    (unsigned long long)cum);
}

static void histograms(struct text *o, const struct ksip_stats *t)
{
	family(o, "call_setup_seconds", "histogram",
	       "time from a call's INVITE to the first provisional (stage=provisional) and to the "
	       "answer (stage=answer) passed upstream");
	histogram(o, "call_setup_seconds", "stage=\"provisional\"", &t->hist[KSIP_HIST_CALL_PROVISIONAL],
		  ksip_hist_bounds_us[KSIP_HIST_CALL_PROVISIONAL]);
	histogram(o, "call_setup_seconds", "stage=\"answer\"", &t->hist[KSIP_HIST_CALL_ANSWER],
		  ksip_hist_bounds_us[KSIP_HIST_CALL_ANSWER]);
	family(o, "register_handling_seconds", "histogram",
	       "time from a REGISTER taken up by a worker to its response ready to send");
	histogram(o, "register_handling_seconds", NULL, &t->hist[KSIP_HIST_REGISTER],
		  ksip_hist_bounds_us[KSIP_HIST_REGISTER]);
}

static void gauges(struct text *o, struct ksipd *d, const struct ksipd_counters *v)
{
	const struct ksip_stats *t = &v->t;
	char l[128];

	family(o, "info", "gauge", "1, with where media flows and which shield is in force as labels");
	snprintf(l, sizeof(l), "media=\"%s\",shield=\"%s\"", d->media.kernel ? "kernel" : "userspace",
		 config_shield_name(d->shield_mode));
	sample(o, "info", l, 1);
	one(o, "start_time_seconds", "gauge", "when ksipd started, seconds since the Unix epoch",
	    (uint64_t)d->started);
	one(o, "users", "gauge", "subscribers", v->users);
	one(o, "aors", "gauge", "addresses of record with bindings", v->loc.aors);
	one(o, "bindings", "gauge", "registered contacts", v->loc.bindings);
	one(o, "location_bytes", "gauge", "memory held by the location service", v->loc.bytes);
	one(o, "nonces_tracked", "gauge", "digest nonces with state", v->nonces.tracked);
	one(o, "nonce_bytes", "gauge", "memory held by nonce state", v->nonces.bytes);
	one(o, "nonces_evicted_total", "counter", "nonces dropped at a cap", v->nonces.evicted);
	one(o, "bans_active", "gauge", "sources banned now", v->bans_active);
	one(o, "transactions", "gauge", "proxy server transactions alive",
	    alive(t->stx_created, t->stx_freed));
	one(o, "branches", "gauge", "proxy client transactions alive",
	    alive(t->branches_created, t->branches_freed));
	one(o, "calls_active", "gauge", "calls started and not ended", alive(t->calls_created, t->calls_ended));
	one(o, "calls_listed", "gauge", "calls `ksipctl call list` shows: in progress and just ended",
	    alive(t->calls_created, t->calls_freed));
	family(o, "tcp_connections", "gauge", "open SIP connections, by transport");
	sample(o, "tcp_connections", "transport=\"tcp\"", alive(t->tcp_accepted + t->tcp_connects, t->tcp_closed));
	one(o, "relay_ports_in_use", "gauge", "relay ports taken by media streams", v->relay_ports_in_use);
	family(o, "media_streams", "gauge", "media streams open, by where they are forwarded");
	sample(o, "media_streams", "media=\"all\"",
	       alive(t->relay_streams_opened, t->relay_streams_closed));
	sample(o, "media_streams", "media=\"kernel\"",
	       alive(t->kernel_flows_installed, t->kernel_flows_removed));
}

/* The nftables shield's counters (shield = nftables). */
static void nft_counters(struct text *o, const struct ksipd_counters *v)
{
	char l[96];

	if (!v->have_nft)
		return;
	family(o, "shield_nft_packets_total", "counter", "packets matched by the nftables shield's rules");
	for (int i = 0; i < NFT_SHIELD_NCOUNTERS; i++) {
		snprintf(l, sizeof(l), "rule=\"%s\"", nft_shield_counter_desc[i].name);
		sample(o, "shield_nft_packets_total", l, v->nft.packets[i]);
	}
	family(o, "shield_nft_bytes_total", "counter", "bytes matched by the nftables shield's rules");
	for (int i = 0; i < NFT_SHIELD_NCOUNTERS; i++) {
		snprintf(l, sizeof(l), "rule=\"%s\"", nft_shield_counter_desc[i].name);
		sample(o, "shield_nft_bytes_total", l, v->nft.bytes[i]);
	}
}

/* ksip.ko's counters of this network namespace, when media is in the kernel. */
static void kernel_counters(struct text *o, struct ksipd *d, struct metrics *m)
{
	char err[KSIP_GENL_ERRLEN];
	struct ksip_kstats k;
	bool up = false;

	if (d->media.kernel && m) {
		if (!m->genl)
			m->genl = ksip_genl_open(err, sizeof(err));
		up = m->genl && !ksip_genl_stats(m->genl, &k, err, sizeof(err));
		if (!up && m->genl) {
			ksip_genl_close(m->genl);	/* the module may be reloaded: reopen next time */
			m->genl = NULL;
		}
	}
	one(o, "kernel_up", "gauge", "1 when ksip.ko answered this scrape", up);
	if (!up)
		return;
	one(o, "kernel_flows", "gauge", "flows ksip.ko holds in this network namespace", k.flows);
	one(o, "kernel_forwarded_packets_total", "counter", "packets ksip.ko forwarded", k.forwarded);
	one(o, "kernel_forwarded_bytes_total", "counter", "payload bytes ksip.ko forwarded", k.bytes);
	family(o, "kernel_dropped_packets_total", "counter", "packets ksip.ko dropped, by reason");
	sample(o, "kernel_dropped_packets_total", "reason=\"unexpected_source\"", k.drop_source);
	sample(o, "kernel_dropped_packets_total", "reason=\"no_route\"", k.no_route);
	one(o, "kernel_flows_latched_total", "counter", "kernel flows that latched to their peer", k.latched);
	one(o, "kernel_flows_expired_total", "counter", "kernel flows removed by their idle timeout",
	    k.expired);
}

char *metrics_render(struct ksipd *d, struct metrics *m, size_t *len)
{
	struct text o = { .cap = 16384 };
	struct ksipd_counters *v = malloc(sizeof(*v));

	o.buf = malloc(o.cap);
	if (!v || !o.buf) {
		free(v);
		free(o.buf);
		return NULL;
	}
	ksipd_counters_read(d, v, true);
	for (size_t i = 0; i < sizeof(worker_counters) / sizeof(worker_counters[0]); i++)
		one(&o, worker_counters[i].name, "counter", worker_counters[i].help,
		    *(const uint64_t *)((const char *)&v->t + worker_counters[i].off));
	counters_by_label(&o, &v->t);
	histograms(&o, &v->t);
	gauges(&o, d, v);
	nft_counters(&o, v);
	kernel_counters(&o, d, m);
	free(v);
	if (o.oom) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body;
	size_t len;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	*upload_data_size = 0;	/* a body is never read: whatever it is, it is dropped */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found: ksipd serves /metrics\n");
	body = metrics_render(m->d, m, &len);
	if (!body)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_debug("metrics: %s", msg);
}

struct metrics *metrics_start(struct ksipd *d, int *failed)
{
	const struct sockaddr_storage *sa = &d->cfg.metrics_listen;
	struct metrics *m;
	char where[80];

	*failed = 0;
	if (!sa->ss_family)
		return NULL;
	ksip_format_endpoint(sa, where, sizeof(where));
	m = calloc(1, sizeof(*m));
	if (!m) {
		*failed = 1;
		return NULL;
	}
	m->d = d;
	m->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
				    (sa->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				    ksip_endpoint_port(sa), NULL, NULL, on_request, m,
				    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_MAX_CONNS,
				    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)METRICS_MAX_PER_IP,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_TIMEOUT_S,
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_CONN_MEMORY,
				    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)16,
				    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				    MHD_OPTION_END);
	if (!m->httpd) {
		log_err("metrics_listen %s: cannot listen (%s)", where,
			errno ? strerror(errno) : "libmicrohttpd refused");
		free(m);
		*failed = 1;
		return NULL;
	}
	log_info("metrics: http://%s/metrics", where);
	return m;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->httpd);	/* joins its thread: no scrape runs after this */
	if (m->genl)
		ksip_genl_close(m->genl);
	free(m);
}
