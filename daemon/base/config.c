// SPDX-License-Identifier: GPL-2.0
#include "base/config.h"

#include <errno.h>
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
#define DEFAULT_LISTEN "udp:0.0.0.0:5060 tcp:0.0.0.0:5060 udp:[::]:5060 tcp:[::]:5060"

void config_defaults(struct ksip_config *c)
{
	memset(c, 0, sizeof(*c));
	config_parse_listen(c, DEFAULT_LISTEN);
	snprintf(c->realm, sizeof(c->realm), "ksip");
	snprintf(c->database, sizeof(c->database), "/var/lib/ksip/ksip.db");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/ksip/ksipd.sock");
	c->workers = 0;
	c->log_level = LOG_LVL_INFO;
	c->min_expires = 60;
	c->default_expires = 3600;
	c->max_expires = 7200;
	c->max_contacts = 10;
	c->nonce_lifetime = 3600;
	config_parse_auth_algorithms(c, "SHA-256 MD5");
	c->store_flush_ms = 200;
	c->tcp_max_connections = 4096;
	c->tcp_idle_timeout = 3600;
	c->t1_ms = 500;
	c->t2_ms = 4000;
	c->t4_ms = 5000;
	c->timer_c = 180;
	/* About 96 MiB of signalling state at the caps, at typical sizes (docs/security.md). */
	c->max_server_transactions = 8192;
	c->max_client_transactions = 8192;
	c->max_calls = 4096;
	c->inbox_max = 4096;
	c->media = KSIP_MEDIA_AUTO;
	/* Below Linux's ephemeral range (32768-60999), so clients' sockets never take them. */
	c->rtp_port_min = 16384;
	c->rtp_port_max = 32767;
	c->media_timeout = 60;
	c->max_call_duration = 14400;
	c->kernel_flow_timeout = 300;
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

struct load_ctx {
	struct ksip_config *c;
	char *err;
	size_t errlen;
};

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

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *lc = user;
	struct ksip_config *c = lc->c;
	const char *hint = "invalid value";
	uint32_t u;
	int r;

	if (*section && strcmp(section, "ksipd")) {
		snprintf(lc->err, lc->errlen, "unknown section [%s]", section);
		return 0;
	}
	if (!strcmp(key, "listen")) {
		r = config_parse_listen(c, value);
		hint = "expected [udp:|tcp:]ADDR:PORT ... with IPv6 in brackets";
	} else if (!strcmp(key, "realm")) {
		r = set_string(c->realm, sizeof(c->realm), value);
	} else if (!strcmp(key, "database")) {
		r = set_string(c->database, sizeof(c->database), value);
	} else if (!strcmp(key, "control_socket")) {
		r = set_string(c->control_socket, sizeof(c->control_socket), value);
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
	} else if (!strcmp(key, "auth_algorithms")) {
		r = config_parse_auth_algorithms(c, value);
		hint = "expected SHA-256 and/or MD5, most preferred first";
	} else if (!strcmp(key, "store_flush_ms")) {
		r = parse_u32(value, 1, 10000, &c->store_flush_ms);
	} else if (!strcmp(key, "tcp_max_connections")) {
		r = parse_u32(value, 1, 1000000, &c->tcp_max_connections);
	} else if (!strcmp(key, "tcp_idle_timeout")) {
		r = parse_u32(value, 1, 86400, &c->tcp_idle_timeout);
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
	} else if (!strcmp(key, "media_timeout")) {
		r = parse_u32(value, 0, 86400, &c->media_timeout);
	} else if (!strcmp(key, "max_call_duration")) {
		r = parse_u32(value, 0, 86400 * 7, &c->max_call_duration);
	} else if (!strcmp(key, "kernel_flow_timeout")) {
		/* A day: well inside what ksip.ko accepts (checked below). */
		r = parse_u32(value, 10, CONFIG_FLOW_TIMEOUT_MAX, &c->kernel_flow_timeout);
	} else {
		snprintf(lc->err, lc->errlen, "unknown key '%s'", key);
		return 0;
	}
	if (r) {
		snprintf(lc->err, lc->errlen, "key '%s': %s: '%s'", key, hint, value);
		return 0;
	}
	return 1;
}

int config_load(struct ksip_config *c, const char *file, char *err, size_t errlen)
{
	struct load_ctx lc = { c, err, errlen };
	int line;

	err[0] = 0;
	line = ini_parse(file, on_key, &lc);
	if (line < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	if (line > 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s:%d: %s", file, line, err[0] ? err : "syntax error");
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	if (c->min_expires > c->default_expires || c->default_expires > c->max_expires) {
		snprintf(err, errlen, "%s: need min_expires <= default_expires <= max_expires", file);
		return -1;
	}
	if (c->t1_ms > c->t2_ms) {
		snprintf(err, errlen, "%s: need t1_ms <= t2_ms", file);
		return -1;
	}
	return 0;
}
