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

enum ksip_transport { KSIP_UDP, KSIP_TCP };

/* Digest algorithms by name; the same values as enum digest_alg (registrar/auth.c checks). */
enum ksip_auth_alg { KSIP_AUTH_MD5, KSIP_AUTH_SHA256 };

/* Who forwards media: the kernel module when it loads (auto), or one of them by force. */
enum ksip_media_mode { KSIP_MEDIA_AUTO, KSIP_MEDIA_KERNEL, KSIP_MEDIA_USERSPACE };

struct listen_addr {
	enum ksip_transport transport;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

#define MAX_LISTEN 16

/* Workers at most: the `workers` key's bound, and what call ids make room for (proxy/call_info.h). */
#define KSIP_MAX_WORKERS 64

struct ksip_config {
	struct listen_addr listen[MAX_LISTEN];
	int nlisten;
	char realm[128];
	char database[256];
	char control_socket[256];
	int workers;			/* 0: one per online CPU; at most KSIP_MAX_WORKERS */
	int log_level;
	bool syslog;
	uint32_t min_expires;
	uint32_t default_expires;
	uint32_t max_expires;
	uint32_t max_contacts;
	uint32_t nonce_lifetime;
	int auth_algs[2];		/* enum ksip_auth_alg, most preferred first */
	int n_auth_algs;
	uint32_t store_flush_ms;
	uint32_t tcp_max_connections;
	uint32_t tcp_idle_timeout;

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
	uint32_t inbox_max;		/* messages queued for one worker by the others */

	/* media */
	enum ksip_media_mode media;
	uint16_t rtp_port_min, rtp_port_max;
	uint32_t media_timeout;		/* seconds without RTP either way: hang up; 0 off */
	uint32_t max_call_duration;	/* seconds; 0 off */
	uint32_t kernel_flow_timeout;	/* idle timeout of kernel flows (outlives a dead ksipd) */
};

void config_defaults(struct ksip_config *c);
/* Load FILE over the defaults; on error *err names the key and problem. */
int config_load(struct ksip_config *c, const char *file, char *err, size_t errlen);
/* Parse "udp:ADDR:PORT", "tcp:[V6]:PORT" or "ADDR:PORT" (both transports). */
int config_parse_listen(struct ksip_config *c, const char *value);
/* "SHA-256 MD5": the digest algorithms offered in challenges, in order. */
int config_parse_auth_algorithms(struct ksip_config *c, const char *value);

#endif
