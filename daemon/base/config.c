// SPDX-License-Identifier: GPL-2.0
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <arpa/inet.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ksip/endpoint.h"
#include "uapi/linux/ksip.h"
#include "base/log.h"

#define CONFIG_FLOW_TIMEOUT_MAX 86400
_Static_assert(CONFIG_FLOW_TIMEOUT_MAX <= KSIP_FLOW_TIMEOUT_MAX, "ksip.ko takes every timeout we allow");

#define CONFIG_STR_(x) #x
#define CONFIG_STR(x) CONFIG_STR_(x)	/* a limit's value in a message */
/* UDP and TCP 5060, TLS 5061 (RFC 3261 §26.2), each IPv4 and IPv6: what phones try. */
#define DEFAULT_LISTEN \
	"udp:0.0.0.0:5060 tcp:0.0.0.0:5060 tls:0.0.0.0:5061 udp:[::]:5060 tcp:[::]:5060 tls:[::]:5061"
/* Loopback: the counters are for the host's Prometheus (or a tunnel), not for the Internet. */
#define DEFAULT_METRICS_LISTEN "127.0.0.1:9461"

void config_defaults(struct ksip_config *c)
{
	memset(c, 0, sizeof(*c));
	config_parse_listen(c, DEFAULT_LISTEN);
	snprintf(c->realm, sizeof(c->realm), "ksip");
	snprintf(c->database, sizeof(c->database), "/var/lib/ksip/ksip.db");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/ksip/ksipd.sock");
	ksip_parse_endpoint(DEFAULT_METRICS_LISTEN, false, &c->metrics_listen);
	c->workers = 0;
	c->log_level = LOG_LVL_INFO;
	c->min_expires = 60;
	c->default_expires = 3600;
	c->max_expires = 7200;
	c->max_contacts = 10;
	c->nonce_lifetime = 3600;
	c->nonce_max_per_user = 32;
	c->nonce_max_total = 262144;
	config_parse_auth_algorithms(c, "SHA-256 MD5");
	/* Debian's baresip 1.0.0 gives up on any 401 that offers SHA-256 (issue 14). */
	config_parse_md5_agents(c, "baresip");
	c->store_flush_ms = 200;
	c->tcp_max_connections = 0;	/* transport_new() sizes it from RLIMIT_NOFILE */
	c->tcp_max_per_source = 64;
	c->tcp_header_timeout = 10;
	c->tcp_unauth_idle_timeout = 60;
	c->tcp_idle_timeout = 3600;
	c->tcp_write_queue_max = 256 * 1024;
	c->tls_min_version = KSIP_TLS_1_2;	/* 1.0 and 1.1 are deprecated (RFC 8996) */
	c->n_trusted_peers = 0;	/* nobody: every initial request is challenged */
	c->allow_foreign_domains = false;	/* no relaying to other domains (docs/security.md) */
	c->ban_time = 600;
	c->auth_fail_limit = 10;
	c->auth_fail_window = 60;
	/* A phone with a few lines behind NAT sends a handful a minute; a reboot, a few a second. */
	c->source_rate = 20;
	c->source_burst = 50;
	c->shield_table_size = 16384;
	c->t1_ms = 500;
	c->t2_ms = 4000;
	c->t4_ms = 5000;
	c->timer_c = 180;
	/* About 96 MiB of signalling state at the caps, at typical sizes (docs/security.md). */
	c->max_server_transactions = 8192;
	c->max_client_transactions = 8192;
	c->max_calls = 4096;
	c->room_max_members = 16;
	c->inbox_max = 4096;
	c->media = KSIP_MEDIA_AUTO;
	/* Below Linux's ephemeral range (32768-60999), so clients' sockets never take them. */
	c->rtp_port_min = 16384;
	c->rtp_port_max = 32767;
	c->media_timeout = 60;
	c->nat_keepalive_interval = 25;
	c->max_call_duration = 14400;
	c->kernel_flow_timeout = 300;
	c->shield = KSIP_SHIELD_AUTO;
	snprintf(c->nft_table, sizeof(c->nft_table), "ksip");
	c->nft_keep_on_stop = false;
	/*
	 * A phone sends a few packets a minute, a call setup a dozen in a
	 * second; an office of a hundred phones behind one NAT address stays
	 * under 20/s. 200/s with a burst of 400 stops floods only; the userspace
	 * bucket (source_rate) below it judges the rest.
	 */
	c->shield_sip_rate = 200;
	c->shield_sip_burst = 400;
}

static int add_listen(struct ksip_config *c, enum ksip_transport t, const char *addr)
{
	struct listen_addr *l;

	if (c->nlisten >= MAX_LISTEN)
		return -1;
	l = &c->listen[c->nlisten];
	if (ksip_parse_endpoint(addr, false, &l->addr))
		return -1;
	l->addrlen = ksip_sockaddr_len(&l->addr);
	l->transport = t;
	c->nlisten++;
	return 0;
}

int config_parse_listen(struct ksip_config *c, const char *value)
{
	char buf[1024], *save = NULL, *tok;

	if (strlen(value) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", value);
	c->nlisten = 0;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		int r;

		if (!strncmp(tok, "udp:", 4))
			r = add_listen(c, KSIP_UDP, tok + 4);
		else if (!strncmp(tok, "tcp:", 4))
			r = add_listen(c, KSIP_TCP, tok + 4);
		else if (!strncmp(tok, "tls:", 4))
			r = add_listen(c, KSIP_TLS, tok + 4);
		else
			r = add_listen(c, KSIP_UDP, tok) ?: add_listen(c, KSIP_TCP, tok);
		if (r)
			return -1;
	}
	return c->nlisten ? 0 : -1;
}

int config_parse_auth_algorithms(struct ksip_config *c, const char *value)
{
	char buf[64], *save = NULL, *tok;

	if (strlen(value) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", value);
	c->n_auth_algs = 0;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		int alg;

		if (!strcasecmp(tok, "SHA-256"))
			alg = KSIP_AUTH_SHA256;
		else if (!strcasecmp(tok, "MD5"))
			alg = KSIP_AUTH_MD5;
		else
			return -1;
		for (int i = 0; i < c->n_auth_algs; i++)
			if (c->auth_algs[i] == alg)
				return -1;
		c->auth_algs[c->n_auth_algs++] = alg;
	}
	return c->n_auth_algs ? 0 : -1;
}

int config_parse_md5_agents(struct ksip_config *c, const char *value)
{
	char buf[CONFIG_MAX_AGENTS * CONFIG_AGENT_LEN], *save = NULL, *tok;

	if (strlen(value) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", value);
	c->n_digest_md5_agents = 0;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		if (c->n_digest_md5_agents >= CONFIG_MAX_AGENTS || strlen(tok) >= CONFIG_AGENT_LEN)
			return -1;
		snprintf(c->digest_md5_agents[c->n_digest_md5_agents++], CONFIG_AGENT_LEN, "%s", tok);
	}
	return 0;
}

static int parse_cidr(const char *tok, struct ksip_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long plen;
	int max;

	if (strlen(tok) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", tok);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	plen = (unsigned long)max;
	if (slash) {
		char *end;

		errno = 0;
		plen = strtoul(slash, &end, 10);
		if (errno || *end || !*slash || !isdigit((unsigned char)*slash) || plen > (unsigned long)max)
			return -1;
	}
	out->plen = (uint8_t)plen;
	/* Host bits set is a typo more often than not (10.1.2.3/8): refuse it. */
	for (int bit = (int)plen; bit < max; bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	return 0;
}

int config_parse_cidrs(const char *value, struct ksip_cidr *out, int max, int *n)
{
	char buf[4096], *save = NULL, *tok;

	if (strlen(value) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", value);
	*n = 0;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		if (*n >= max || parse_cidr(tok, &out[*n]))
			return -1;
		(*n)++;
	}
	return 0;
}

/* "192.0.2.10 2001:db8::10": at most one address of each family, IP literals only. */
static int parse_media_addresses(const char *value, struct sockaddr_storage addr[2])
{
	char buf[256], *save = NULL, *tok;

	if (strlen(value) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", value);
	memset(addr, 0, 2 * sizeof(*addr));
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&addr[0];
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr[1];
		size_t n = strlen(tok);

		if (n > 2 && tok[0] == '[' && tok[n - 1] == ']') {
			tok[n - 1] = 0;
			tok++;
		}
		if (!addr[0].ss_family && inet_pton(AF_INET, tok, &v4->sin_addr) == 1)
			addr[0].ss_family = AF_INET;
		else if (!addr[1].ss_family && inet_pton(AF_INET6, tok, &v6->sin6_addr) == 1)
			addr[1].ss_family = AF_INET6;
		else
			return -1;	/* not an address, or a second one of a family */
	}
	/* The wildcard cannot be written into SDP. */
	if ((addr[0].ss_family && ((struct sockaddr_in *)&addr[0])->sin_addr.s_addr == INADDR_ANY) ||
	    (addr[1].ss_family && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&addr[1])->sin6_addr)))
		return -1;
	return 0;
}

/*
 * inih goes on past a bad line and returns the number of the first one. We
 * report every bad key, one line each ("FILE:LINE: what"), so an operator
 * fixes them all in one go: a reader that counts lines tells each message
 * its own line. A syntax error (no '=', an open '[') reaches no handler;
 * inih's returned line names it when it comes before our first message.
 */
struct load_ctx {
	struct ksip_config *c;
	const char *file;
	char *err;
	size_t errlen;
	size_t used;		/* bytes of err written */
	FILE *f;
	int line;		/* the line inih is on (the reader's count) */
	int first_line;		/* the line of our first message, 0: none */
	int dropped;		/* messages that did not fit in err */
};

static void __attribute__((format(printf, 3, 4))) err_append(struct load_ctx *lc, int line,
							       const char *fmt, ...);

/*
 * A line inih will call a syntax error: not blank, not a comment, not a
 * continuation, not a [section], and no '=' or ':'. Reported here so that
 * every such line is, not only one before the first bad key.
 */
static bool syntax_error(const char *l)
{
	if (*l == ' ' || *l == '\t')		/* a continuation, or a blank line */
		return false;
	if (!*l || *l == '\n' || *l == '\r' || *l == ';' || *l == '#')
		return false;
	if (*l == '[')
		return !strchr(l, ']');
	return !strpbrk(l, "=:");
}

static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *lc = stream;
	char *l = fgets(str, num, lc->f);

	lc->line++;
	if (l && syntax_error(l)) {
		if (!lc->first_line)
			lc->first_line = lc->line;
		err_append(lc, lc->line, "syntax error");
	}
	return l;
}

/* Append "FILE:LINE: what" as a line of its own, or count it when ERR is full. */
static void __attribute__((format(printf, 3, 4))) err_append(struct load_ctx *lc, int line,
							       const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(lc->err + lc->used, lc->errlen - lc->used, "%s%s:%d: %s", lc->used ? "\n" : "",
		     lc->file, line, msg);
	/* Room kept for the "and N more" line. */
	if (n < 0 || lc->used + (size_t)n + 64 >= lc->errlen) {
		lc->err[lc->used] = 0;
		lc->dropped++;
		return;
	}
	lc->used += (size_t)n;
}

static void __attribute__((format(printf, 2, 3))) load_error(struct load_ctx *lc,
							       const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!lc->first_line)
		lc->first_line = lc->line;
	err_append(lc, lc->line, "%s", msg);
}

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || !*v || v[0] == '-' || n < min || n > max)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static int set_string(char *dst, size_t cap, const char *v)
{
	if (!*v || strlen(v) >= cap)
		return -1;
	snprintf(dst, cap, "%s", v);
	return 0;
}

/* A key whose default is "none": empty means unset, as ksipd.conf(5) documents it. */
static int set_optional_string(char *dst, size_t cap, const char *v)
{
	if (!*v) {
		*dst = 0;
		return 0;
	}
	return set_string(dst, cap, v);
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *lc = user;
	struct ksip_config *c = lc->c;
	const char *hint = "invalid value";
	uint32_t u;
	int r;

	if (*section && strcmp(section, "ksipd")) {
		load_error(lc, "unknown section [%s]", section);
		return 0;
	}
	if (!strcmp(key, "listen")) {
		r = config_parse_listen(c, value);
		hint = "expected [udp:|tcp:|tls:]ADDR:PORT ... with IPv6 in brackets";
	} else if (!strcmp(key, "realm")) {
		r = set_string(c->realm, sizeof(c->realm), value);
	} else if (!strcmp(key, "database")) {
		r = set_string(c->database, sizeof(c->database), value);
	} else if (!strcmp(key, "control_socket")) {
		r = set_string(c->control_socket, sizeof(c->control_socket), value);
	} else if (!strcmp(key, "metrics_listen")) {
		memset(&c->metrics_listen, 0, sizeof(c->metrics_listen));
		r = *value ? ksip_parse_endpoint(value, false, &c->metrics_listen) : 0;
		hint = "expected ADDR:PORT with IPv6 in brackets, or nothing (off)";
	} else if (!strcmp(key, "workers")) {
		r = parse_u32(value, 0, KSIP_MAX_WORKERS, &u);
		c->workers = (int)u;
		hint = "expected 0 (one per CPU) to " CONFIG_STR(KSIP_MAX_WORKERS);
	} else if (!strcmp(key, "log_level")) {
		c->log_level = log_level_parse(value);
		r = c->log_level < 0 ? -1 : 0;
		hint = "expected error, warn, info or debug";
	} else if (!strcmp(key, "syslog")) {
		r = parse_bool(value, &c->syslog);
		hint = "expected yes or no";
	} else if (!strcmp(key, "min_expires")) {
		r = parse_u32(value, 1, 86400, &c->min_expires);
	} else if (!strcmp(key, "default_expires")) {
		r = parse_u32(value, 1, 86400 * 7, &c->default_expires);
	} else if (!strcmp(key, "max_expires")) {
		r = parse_u32(value, 1, 86400 * 7, &c->max_expires);
	} else if (!strcmp(key, "max_contacts")) {
		r = parse_u32(value, 1, 64, &c->max_contacts);
		hint = "expected 1 to 64";
	} else if (!strcmp(key, "nonce_lifetime")) {
		r = parse_u32(value, 1, 86400, &c->nonce_lifetime);
	} else if (!strcmp(key, "nonce_max_per_user")) {
		r = parse_u32(value, 1, 4096, &c->nonce_max_per_user);
		hint = "expected 1 to 4096";
	} else if (!strcmp(key, "nonce_max_total")) {
		r = parse_u32(value, 16, 1U << 26, &c->nonce_max_total);
		hint = "expected 16 to 67108864";
	} else if (!strcmp(key, "auth_algorithms")) {
		r = config_parse_auth_algorithms(c, value);
		hint = "expected SHA-256 and/or MD5, most preferred first";
	} else if (!strcmp(key, "digest_md5_agents")) {
		r = config_parse_md5_agents(c, value);
		hint = "expected at most " CONFIG_STR(CONFIG_MAX_AGENTS) " User-Agent substrings, each "
		       "shorter than " CONFIG_STR(CONFIG_AGENT_LEN) " bytes";
	} else if (!strcmp(key, "store_flush_ms")) {
		r = parse_u32(value, 1, 10000, &c->store_flush_ms);
	} else if (!strcmp(key, "tcp_max_connections")) {
		r = parse_u32(value, 0, 1000000, &c->tcp_max_connections);
		hint = "expected 0 (from the descriptor limit) to 1000000";
	} else if (!strcmp(key, "tcp_max_per_source")) {
		r = parse_u32(value, 1, 1000000, &c->tcp_max_per_source);
	} else if (!strcmp(key, "tcp_header_timeout")) {
		r = parse_u32(value, 1, 3600, &c->tcp_header_timeout);
	} else if (!strcmp(key, "tcp_unauth_idle_timeout")) {
		r = parse_u32(value, 1, 86400, &c->tcp_unauth_idle_timeout);
	} else if (!strcmp(key, "tcp_idle_timeout")) {
		r = parse_u32(value, 1, 86400, &c->tcp_idle_timeout);
	} else if (!strcmp(key, "tcp_write_queue_max")) {
		/* At least one largest answer (SIP_OUT_MAX); at most what one peer may cost us. */
		r = parse_u32(value, 16384, 16 * 1024 * 1024, &c->tcp_write_queue_max);
		hint = "expected 16384 to 16777216 bytes";
	} else if (!strcmp(key, "tls_certificate")) {
		r = set_optional_string(c->tls_certificate, sizeof(c->tls_certificate), value);
	} else if (!strcmp(key, "tls_private_key")) {
		r = set_optional_string(c->tls_private_key, sizeof(c->tls_private_key), value);
	} else if (!strcmp(key, "tls_min_version")) {
		r = 0;
		if (!strcmp(value, "1.2"))
			c->tls_min_version = KSIP_TLS_1_2;
		else if (!strcmp(value, "1.3"))
			c->tls_min_version = KSIP_TLS_1_3;
		else
			r = -1;
		hint = "expected 1.2 or 1.3 (TLS 1.0 and 1.1 are refused, RFC 8996)";
	} else if (!strcmp(key, "tls_ciphers")) {
		r = set_optional_string(c->tls_ciphers, sizeof(c->tls_ciphers), value);
	} else if (!strcmp(key, "tls_ca_file")) {
		r = set_optional_string(c->tls_ca_file, sizeof(c->tls_ca_file), value);
	} else if (!strcmp(key, "tls_verify_client")) {
		r = 0;
		if (!strcmp(value, "no"))
			c->tls_verify_client = KSIP_TLS_VERIFY_NO;
		else if (!strcmp(value, "optional"))
			c->tls_verify_client = KSIP_TLS_VERIFY_OPTIONAL;
		else if (!strcmp(value, "yes"))
			c->tls_verify_client = KSIP_TLS_VERIFY_YES;
		else
			r = -1;
		hint = "expected no, optional or yes";
	} else if (!strcmp(key, "trusted_peers")) {
		r = config_parse_cidrs(value, c->trusted_peers, CONFIG_MAX_CIDRS, &c->n_trusted_peers);
		hint = "expected ADDR[/PREFIX] ... (host bits zero), at most " CONFIG_STR(CONFIG_MAX_CIDRS);
	} else if (!strcmp(key, "allow_foreign_domains")) {
		r = parse_bool(value, &c->allow_foreign_domains);
		hint = "expected yes or no";
	} else if (!strcmp(key, "ban_time")) {
		r = parse_u32(value, 1, 86400 * 7, &c->ban_time);
	} else if (!strcmp(key, "auth_fail_limit")) {
		r = parse_u32(value, 0, KSIP_AUTH_FAIL_LIMIT_MAX, &c->auth_fail_limit);
		hint = "expected 0 (never ban) to " CONFIG_STR(KSIP_AUTH_FAIL_LIMIT_MAX);
	} else if (!strcmp(key, "auth_fail_window")) {
		r = parse_u32(value, 1, 86400, &c->auth_fail_window);
	} else if (!strcmp(key, "source_rate")) {
		r = parse_u32(value, 0, 1000000, &c->source_rate);
	} else if (!strcmp(key, "source_burst")) {
		r = parse_u32(value, 1, 1000000, &c->source_burst);
	} else if (!strcmp(key, "shield_table_size")) {
		r = parse_u32(value, 64, 1 << 22, &c->shield_table_size);
	} else if (!strcmp(key, "t1_ms")) {
		r = parse_u32(value, 10, 10000, &c->t1_ms);
	} else if (!strcmp(key, "t2_ms")) {
		r = parse_u32(value, 10, 60000, &c->t2_ms);
	} else if (!strcmp(key, "t4_ms")) {
		r = parse_u32(value, 10, 60000, &c->t4_ms);
	} else if (!strcmp(key, "timer_c")) {
		r = parse_u32(value, 1, 3600, &c->timer_c);
	} else if (!strcmp(key, "max_server_transactions")) {
		r = parse_u32(value, 16, 10000000, &c->max_server_transactions);
	} else if (!strcmp(key, "max_client_transactions")) {
		r = parse_u32(value, 16, 10000000, &c->max_client_transactions);
	} else if (!strcmp(key, "max_calls")) {
		r = parse_u32(value, 1, 10000000, &c->max_calls);
	} else if (!strcmp(key, "room_max_members")) {
		r = parse_u32(value, 2, 64, &c->room_max_members);
	} else if (!strcmp(key, "inbox_max")) {
		r = parse_u32(value, 64, 1000000, &c->inbox_max);
	} else if (!strcmp(key, "media")) {
		r = 0;
		if (!strcmp(value, "auto"))
			c->media = KSIP_MEDIA_AUTO;
		else if (!strcmp(value, "kernel"))
			c->media = KSIP_MEDIA_KERNEL;
		else if (!strcmp(value, "userspace"))
			c->media = KSIP_MEDIA_USERSPACE;
		else
			r = -1;
		hint = "expected auto, kernel or userspace";
	} else if (!strcmp(key, "media_address")) {
		r = parse_media_addresses(value, c->media_addr);
		hint = "expected an IPv4 address, an IPv6 address, or one of each";
	} else if (!strcmp(key, "ice")) {
		r = 0;
		if (!strcmp(value, "remove"))
			c->ice_pass = false;
		else if (!strcmp(value, "pass"))
			c->ice_pass = true;
		else
			r = -1;
		hint = "expected remove or pass";
	} else if (!strcmp(key, "auto_answer_headers")) {
		r = 0;
		if (!strcmp(value, "drop"))
			c->auto_answer_pass = false;
		else if (!strcmp(value, "pass"))
			c->auto_answer_pass = true;
		else
			r = -1;
		hint = "expected drop or pass";
	} else if (!strcmp(key, "rtp_ports")) {
		uint32_t lo, hi;
		char lo_s[16], hi_s[16];

		r = sscanf(value, "%15[0-9]-%15[0-9]", lo_s, hi_s) == 2 &&
		    !parse_u32(lo_s, 1024, 65534, &lo) && !parse_u32(hi_s, 1025, 65535, &hi) &&
		    hi >= lo + 1 ? 0 : -1;
		if (!r) {
			c->rtp_port_min = (uint16_t)lo;
			c->rtp_port_max = (uint16_t)hi;
		}
		hint = "expected MIN-MAX within 1024-65535";
	} else if (!strcmp(key, "nat_keepalive_interval")) {
		r = parse_u32(value, 0, 3600, &c->nat_keepalive_interval);
	} else if (!strcmp(key, "media_timeout")) {
		r = parse_u32(value, 0, 86400, &c->media_timeout);
	} else if (!strcmp(key, "max_call_duration")) {
		r = parse_u32(value, 0, 86400 * 7, &c->max_call_duration);
	} else if (!strcmp(key, "kernel_flow_timeout")) {
		/* A day: well inside what ksip.ko accepts (checked below). */
		r = parse_u32(value, 10, CONFIG_FLOW_TIMEOUT_MAX, &c->kernel_flow_timeout);
	} else if (!strcmp(key, "shield")) {
		r = 0;
		if (!strcmp(value, "auto"))
			c->shield = KSIP_SHIELD_AUTO;
		else if (!strcmp(value, "nftables"))
			c->shield = KSIP_SHIELD_NFTABLES;
		else if (!strcmp(value, "userspace"))
			c->shield = KSIP_SHIELD_USERSPACE;
		else if (!strcmp(value, "off"))
			c->shield = KSIP_SHIELD_OFF;
		else
			r = -1;
		hint = "expected auto, nftables, userspace or off";
	} else if (!strcmp(key, "nft_table")) {
		/* Letters, digits and '_': the name goes into logs and `nft` commands as is. */
		r = set_string(c->nft_table, sizeof(c->nft_table), value);
		for (const char *p = value; !r && *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_')
				r = -1;
		hint = "expected a name of letters, digits and '_' (at most 63)";
	} else if (!strcmp(key, "nft_keep_on_stop")) {
		r = parse_bool(value, &c->nft_keep_on_stop);
		hint = "expected yes or no";
	} else if (!strcmp(key, "shield_allow")) {
		r = config_parse_cidrs(value, c->shield_allow, CONFIG_MAX_CIDRS, &c->n_shield_allow);
		hint = "expected ADDR[/PREFIX] ... (host bits zero), at most " CONFIG_STR(CONFIG_MAX_CIDRS);
	} else if (!strcmp(key, "shield_sip_rate")) {
		r = parse_u32(value, 0, 1000000, &c->shield_sip_rate);
		hint = "expected packets per second, 0 (no kernel meter) to 1000000";
	} else if (!strcmp(key, "shield_sip_burst")) {
		r = parse_u32(value, 1, 1000000, &c->shield_sip_burst);
		hint = "expected packets, 1 to 1000000";
	} else {
		load_error(lc, "unknown key '%s'", key);
		return 0;
	}
	if (r) {
		load_error(lc, "key '%s': %s: '%s'", key, hint, value);
		return 0;
	}
	return 1;
}

int config_load(struct ksip_config *c, const char *file, char *err, size_t errlen)
{
	struct load_ctx lc = { .c = c, .file = file, .err = err, .errlen = errlen };
	int line;

	err[0] = 0;
	lc.f = fopen(file, "r");
	if (!lc.f) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	line = ini_parse_stream(read_line, &lc, on_key, &lc);
	if (ferror(lc.f)) {		/* e.g. a directory: fopen() takes it, reading fails */
		snprintf(err, errlen, "%s: cannot read: %s", file, strerror(errno));
		fclose(lc.f);
		return -1;
	}
	fclose(lc.f);
	if (line > 0 && (!lc.first_line || line < lc.first_line)) {
		/* An error inih found that we did not see coming: it goes first. */
		char *rest = strdup(err);

		snprintf(err, errlen, "%s:%d: syntax error%s%s", file, line, rest && *rest ? "\n" : "",
			 rest ? rest : "");
		free(rest);
	}
	if (lc.dropped) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, "\n%s: and %d more bad lines", file, lc.dropped);
	}
	if (line > 0)
		return -1;
	if (c->min_expires > c->default_expires || c->default_expires > c->max_expires) {
		snprintf(err, errlen, "%s: need min_expires <= default_expires <= max_expires", file);
		return -1;
	}
	if (!c->tls_certificate[0] != !c->tls_private_key[0]) {
		snprintf(err, errlen, "%s: tls_certificate and tls_private_key go together", file);
		return -1;
	}
	if (c->tls_verify_client != KSIP_TLS_VERIFY_NO && !c->tls_ca_file[0]) {
		snprintf(err, errlen, "%s: tls_verify_client needs tls_ca_file", file);
		return -1;
	}
	if (c->t1_ms > c->t2_ms) {
		snprintf(err, errlen, "%s: need t1_ms <= t2_ms", file);
		return -1;
	}
	/*
	 * A SIP port inside the relay range would be handed out as a relay port,
	 * and the shield's relay rules (bans before ksip.ko) would take its packets.
	 */
	for (int i = 0; i < c->nlisten; i++) {
		const struct sockaddr_storage *a = &c->listen[i].addr;
		unsigned int port = ntohs(a->ss_family == AF_INET6 ?
					  ((const struct sockaddr_in6 *)a)->sin6_port :
					  ((const struct sockaddr_in *)a)->sin_port);

		if (port >= c->rtp_port_min && port <= c->rtp_port_max) {
			snprintf(err, errlen, "%s: listen port %u is inside rtp_ports %u-%u", file, port,
				 c->rtp_port_min, c->rtp_port_max);
			return -1;
		}
	}
	return 0;
}

const char *config_shield_name(enum ksip_shield_mode m)
{
	return m == KSIP_SHIELD_NFTABLES ? "nftables" : m == KSIP_SHIELD_USERSPACE ? "userspace" :
	       m == KSIP_SHIELD_OFF ? "off" : "auto";
}
