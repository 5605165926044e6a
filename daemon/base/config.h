/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksipd configuration: an INI file (parsed by libinih) over embedded
 * defaults. docs/configuration.md lists every key; config_defaults() is the
 * single place where defaults live.
 */
#ifndef KSIP_CONFIG_H
#define KSIP_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum ksip_transport { KSIP_UDP, KSIP_TCP, KSIP_TLS };

/* TCP and TLS: a byte stream framed into messages, answered on the connection it came on. */
static inline bool ksip_transport_stream(enum ksip_transport t)
{
	return t != KSIP_UDP;
}

static inline const char *ksip_transport_name(enum ksip_transport t)
{
	return t == KSIP_TLS ? "tls" : t == KSIP_TCP ? "tcp" : "udp";
}

/* tls_min_version: TLS 1.2 or 1.3 (1.0 and 1.1 are refused, RFC 8996). */
enum ksip_tls_version { KSIP_TLS_1_2, KSIP_TLS_1_3 };

/* tls_verify_client: ask a client for no certificate, verify one it sends, or require one. */
enum ksip_tls_verify { KSIP_TLS_VERIFY_NO, KSIP_TLS_VERIFY_OPTIONAL, KSIP_TLS_VERIFY_YES };

/* Digest algorithms by name; the same values as enum digest_alg (registrar/auth.c checks). */
enum ksip_auth_alg { KSIP_AUTH_MD5, KSIP_AUTH_SHA256 };

/* Who forwards media: the kernel module when it loads (auto), or one of them by force. */
enum ksip_media_mode { KSIP_MEDIA_AUTO, KSIP_MEDIA_KERNEL, KSIP_MEDIA_USERSPACE };

/* Which shield keeps hostile sources out (docs/security.md): auto = nftables when it opens, else userspace. */
enum ksip_shield_mode { KSIP_SHIELD_AUTO, KSIP_SHIELD_NFTABLES, KSIP_SHIELD_USERSPACE, KSIP_SHIELD_OFF };

/* An address prefix: FAMILY AF_INET or AF_INET6, ADDR in network order (4 or 16 bytes used). */
struct ksip_cidr {
	int family;
	uint8_t addr[16];
	uint8_t plen;
};

#define CONFIG_MAX_AGENTS 16	/* User-Agent substrings in digest_md5_agents */
#define CONFIG_AGENT_LEN 64	/* bytes of one, with its NUL */
#define CONFIG_MAX_CIDRS 64	/* prefixes in one list key (trusted_peers, shield_allow) */

struct listen_addr {
	enum ksip_transport transport;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

#define MAX_LISTEN 16

/* Workers at most: the `workers` key's bound, and what call ids make room for (proxy/call_info.h). */
#define KSIP_MAX_WORKERS 64

/* auth_fail_limit at most: shield/authfail.c keeps that many failure times per source. */
#define KSIP_AUTH_FAIL_LIMIT_MAX 100

/* An operator's reason for a ban (`ksipctl ban add --reason`), bytes with the NUL: kept per ban. */
#define KSIP_BAN_NOTE_MAX 48
/* The longest ban `ksipctl ban add --for` asks for (and the nftables shield installs): 30 days. */
#define KSIP_BAN_MAX_SECONDS (30 * 86400)

struct ksip_config {
	struct listen_addr listen[MAX_LISTEN];
	int nlisten;
	char realm[128];
	char database[256];
	char control_socket[256];
	struct sockaddr_storage metrics_listen;	/* HTTP /metrics; family 0: off */
	int workers;			/* 0: one per online CPU; at most KSIP_MAX_WORKERS */
	int log_level;
	bool syslog;
	uint32_t min_expires;
	uint32_t default_expires;
	uint32_t max_expires;
	uint32_t max_contacts;
	uint32_t nonce_lifetime;
	uint32_t nonce_max_per_user;	/* nonces in use per user; the oldest is dropped past it */
	uint32_t nonce_max_total;	/* the same over all users */
	int auth_algs[2];		/* enum ksip_auth_alg, most preferred first */
	int n_auth_algs;
	/* User-Agent substrings (case-insensitive) challenged with MD5 alone (registrar/challenge.h) */
	char digest_md5_agents[CONFIG_MAX_AGENTS][CONFIG_AGENT_LEN];
	int n_digest_md5_agents;
	uint32_t store_flush_ms;
	/* TCP connections (transport/tcp.c); docs/security.md "Connections" says why these values */
	uint32_t tcp_max_connections;	/* over all workers; 0: sized from the descriptor limit */
	uint32_t tcp_max_per_source;	/* per IPv4 address or IPv6 /64, over all workers */
	uint32_t tcp_header_timeout;	/* seconds from a message's first byte to its last */
	uint32_t tcp_unauth_idle_timeout; /* seconds of silence: a connection without a binding */
	uint32_t tcp_idle_timeout;	/* seconds of silence: a connection that carries a binding */
	uint32_t tcp_write_queue_max;	/* bytes queued for a peer that does not read: then closed */

	/* TLS listeners (transport/tls.c); empty paths: a self-signed pair beside the database */
	char tls_certificate[256];	/* PEM, may hold the chain */
	char tls_private_key[256];	/* PEM */
	enum ksip_tls_version tls_min_version;
	char tls_ciphers[256];		/* OpenSSL cipher list for TLS 1.2; empty: the system's policy */
	char tls_ca_file[256];		/* PEM CAs that clients' certificates are verified against */
	enum ksip_tls_verify tls_verify_client;

	/* who may make the proxy forward (docs/security.md) */
	struct ksip_cidr trusted_peers[CONFIG_MAX_CIDRS];	/* gateways, PBXes: no challenge, no ban */
	int n_trusted_peers;
	bool allow_foreign_domains;	/* authenticated users may reach other domains */

	/* shield: bans, failed-auth limits, per-source rate (docs/security.md) */
	uint32_t ban_time;		/* seconds */
	uint32_t auth_fail_limit;	/* failures per window a source may make; 0: never ban */
	uint32_t auth_fail_window;	/* seconds */
	uint32_t source_rate;		/* requests/s without credentials per source; 0: off */
	uint32_t source_burst;
	uint32_t shield_table_size;	/* entries in each shield table */

	/* proxy and transactions (RFC 3261 §17.1.1.1 timer values, in ms) */
	uint32_t t1_ms, t2_ms, t4_ms;
	uint32_t timer_c;		/* seconds an INVITE branch may ring (§16.6 step 11) */

	/*
	 * Bounded state (docs/security.md): totals over all workers, each
	 * worker enforcing its share (total / workers). At a cap a new request
	 * gets a stateless 503 with Retry-After.
	 */
	uint32_t max_server_transactions;
	uint32_t max_client_transactions;
	uint32_t max_calls;
	uint32_t room_max_members;	/* a conference room's size unless `room add --max` says */
	uint32_t inbox_max;		/* messages queued for one worker by the others */

	/* media */
	enum ksip_media_mode media;
	uint16_t rtp_port_min, rtp_port_max;
	uint32_t media_timeout;		/* seconds without RTP either way: hang up; 0 off */
	uint32_t nat_keepalive_interval; /* seconds between OPTIONS to contacts behind NAT; 0 off */
	uint32_t max_call_duration;	/* seconds; 0 off */
	uint32_t kernel_flow_timeout;	/* idle timeout of kernel flows (outlives a dead ksipd) */
	bool ice_pass;			/* ice = pass: leave ICE attributes in the SDP we relay */
	/* auto_answer_headers = pass: a caller's own auto-answer headers reach the callee */
	bool auto_answer_pass;
	/*
	 * media_address: the relay's address per family ([0] IPv4, [1] IPv6;
	 * ss_family 0 when not set: the address the route toward the leg selects).
	 */
	struct sockaddr_storage media_addr[2];

	/* shield: the nftables table (shield/nft.h) */
	enum ksip_shield_mode shield;
	char nft_table[64];
	bool nft_keep_on_stop;
	struct ksip_cidr shield_allow[CONFIG_MAX_CIDRS];	/* never banned nor rate-limited */
	int n_shield_allow;
	uint32_t shield_sip_rate;	/* packets/s per source to the SIP ports; 0: no meter */
	uint32_t shield_sip_burst;	/* packets over the rate a source may send at once */
};

void config_defaults(struct ksip_config *c);
/* Load FILE over the defaults; on error *err names the key and problem. */
int config_load(struct ksip_config *c, const char *file, char *err, size_t errlen);
/* "auto", "nftables", "userspace" or "off", as the `shield` key spells them. */
const char *config_shield_name(enum ksip_shield_mode m);
/* Parse "udp:ADDR:PORT", "tcp:[V6]:PORT" or "ADDR:PORT" (both transports). */
int config_parse_listen(struct ksip_config *c, const char *value);
/* "10.0.0.0/8 2001:db8::/32 192.0.2.7": at most MAX prefixes into OUT; host bits must be 0. */
int config_parse_cidrs(const char *value, struct ksip_cidr *out, int max, int *n);
/* "SHA-256 MD5": the digest algorithms offered in challenges, in order. */
int config_parse_auth_algorithms(struct ksip_config *c, const char *value);
/* "baresip foo/1": User-Agent substrings, space- or comma-separated; "" for none. */
int config_parse_md5_agents(struct ksip_config *c, const char *value);

#endif
