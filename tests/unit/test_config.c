// SPDX-License-Identifier: GPL-2.0
/*
 * config_load()'s messages: an operator fixes the line the message names,
 * so the line number and the key must belong to the same line, however
 * many lines are bad.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "tap.h"

static char path[] = "/tmp/ksip-test-config-XXXXXX";

/* Load TEXT as a configuration file; the message (or "") into ERR. */
static int load(const char *text, char *err, size_t errlen, struct ksip_config *c)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -2;
	fputs(text, f);
	fclose(f);
	config_defaults(c);
	return config_load(c, path, err, errlen);
}

/* ERR is WANT with %1$s standing for the file's path. */
static int says(const char *err, const char *want)
{
	char w[2048];

	snprintf(w, sizeof(w), want, path, path, path);
	return !strcmp(err, w);
}

/* ERR on one TAP line. */
static const char *flat(const char *err)
{
	static char buf[2048];
	size_t i;

	for (i = 0; err[i] && i < sizeof(buf) - 1; i++)
		buf[i] = err[i] == '\n' ? '|' : err[i];
	buf[i] = 0;
	return buf;
}

/* Load TEXT, then check the message against WANT (see says()). */
#define CHECK_MSG(text, want, ...)                                                  \
	do {                                                                        \
		int rc_ = load(text, err, sizeof(err), &c);                         \
		ok(rc_ == -1 && says(err, want), __VA_ARGS__);                      \
		diag("got: %s", flat(err));                                         \
	} while (0)

int main(void)
{
	static struct ksip_config c;
	char err[2048];
	int fd = mkstemp(path), rc;

	if (fd < 0)
		return 1;
	close(fd);

	rc = load("realm = example.org\nworkers = 2\n", err, sizeof(err), &c);
	ok(rc == 0 && !err[0] && !strcmp(c.realm, "example.org") && c.workers == 2,
	   "a good file loads");

	CHECK_MSG("realm = a\nworkers = 2\n\nnot_a_key = 1\n", "%1$s:4: unknown key 'not_a_key'",
		  "one unknown key: its line and its name");
	/* Issue 16: the message was the last bad key's, the number the first bad line's. */
	CHECK_MSG("realm = a\nfirst_bad = 1\nworkers = 2\nsecond_bad = 2\n",
		  "%1$s:2: unknown key 'first_bad'\n%1$s:4: unknown key 'second_bad'",
		  "two unknown keys: each on a line of its own with its own line number");
	CHECK_MSG("workers = many\nmax_calls = -1\n",
		  "%1$s:1: key 'workers': expected 0 (one per CPU) to 64: 'many'\n"
		  "%1$s:2: key 'max_calls': invalid value: '-1'",
		  "two bad values: both, in file order");
	CHECK_MSG("realm = a\nthis line has no equals sign\nbogus = 1\n",
		  "%1$s:2: syntax error\n%1$s:3: unknown key 'bogus'",
		  "a syntax error before a bad key: the syntax error first, then the key");
	CHECK_MSG("bogus = 1\nno equals here\n", "%1$s:1: unknown key 'bogus'\n%1$s:2: syntax error",
		  "a bad key before a syntax error: both, in file order");
	CHECK_MSG("a\nrealm = x\n[broken\n  continued = 1\n; comment\n# comment\n\nb\n",
		  "%1$s:1: syntax error\n%1$s:3: syntax error\n%1$s:8: syntax error",
		  "every syntax error: no '=', an open '['; comments, blank lines and continuations are fine");
	CHECK_MSG("[other]\nrealm = a\n", "%1$s:2: unknown section [other]",
		  "an unknown section names itself");

	{
		char big[64 * 40 + 1] = "", small[300];
		int lines = 0;

		for (int i = 0; i < 64; i++)
			strcat(big, "this_key_does_not_exist_at_all = 1\n");
		rc = load(big, small, sizeof(small), &c);
		for (char *p = small; (p = strchr(p, '\n')); p++)
			lines++;
		ok(rc == -1 && strstr(small, ":1: unknown key") && strstr(small, "more bad lines") &&
		   lines >= 2, "64 bad keys and a small buffer: a line each as far as they fit, then "
		   "how many more (%d lines)", lines + 1);
		diag("got: %s", flat(small));
	}

	rc = load("listen = udp:127.0.0.1:20000\n", err, sizeof(err), &c);
	ok(rc == -1 && strstr(err, "listen port 20000 is inside rtp_ports 16384-32767"),
	   "a SIP port inside the relay range is refused (it would be handed out as a relay port)");
	diag("got: %s", flat(err));
	rc = load("listen = udp:127.0.0.1:20000\nrtp_ports = 30000-30099\n", err, sizeof(err), &c);
	ok(rc == 0, "and accepted once rtp_ports leaves it out");

	/* TLS (issue 15): on by default on 5061, both families; versions before 1.2 refused. */
	config_defaults(&c);
	{
		int tls = 0;

		for (int i = 0; i < c.nlisten; i++)
			if (c.listen[i].transport == KSIP_TLS &&
			    ntohs(((struct sockaddr_in *)&c.listen[i].addr)->sin_port) == 5061)
				tls |= c.listen[i].addr.ss_family == AF_INET6 ? 2 : 1;
		ok(c.nlisten == 6 && tls == 3 && c.tls_min_version == KSIP_TLS_1_2,
		   "defaults: UDP and TCP 5060, TLS 5061, IPv4 and IPv6; TLS 1.2 at least");
	}
	rc = load("listen = tls:127.0.0.1:5061 udp:[::1]:5060\ntls_min_version = 1.3\n", err,
		  sizeof(err), &c);
	ok(rc == 0 && c.nlisten == 2 && c.listen[0].transport == KSIP_TLS &&
	   c.listen[1].transport == KSIP_UDP && c.tls_min_version == KSIP_TLS_1_3,
	   "listen tls:ADDR:PORT, tls_min_version 1.3");
	CHECK_MSG("tls_min_version = 1.1\n",
		  "%s:1: key 'tls_min_version': expected 1.2 or 1.3 (TLS 1.0 and 1.1 are refused, "
		  "RFC 8996): '1.1'", "tls_min_version 1.1 refused");
	CHECK_MSG("tls_certificate = /etc/ksip/cert.pem\n",
		  "%s: tls_certificate and tls_private_key go together",
		  "a certificate without its key refused");
	CHECK_MSG("tls_verify_client = yes\n", "%s: tls_verify_client needs tls_ca_file",
		  "tls_verify_client without tls_ca_file refused");
	CHECK_MSG("tls_verify_client = maybe\n",
		  "%s:1: key 'tls_verify_client': expected no, optional or yes: 'maybe'",
		  "tls_verify_client: no, optional or yes");

	rc = load("tls_certificate =\ntls_private_key =\ntls_ca_file =\ntls_ciphers =\n", err,
		  sizeof(err), &c);
	ok(rc == 0 && !c.tls_certificate[0] && !c.tls_ca_file[0],
	   "the TLS file keys left empty mean none, their documented default");
	diag("got: %s", flat(err));

	config_defaults(&c);
	rc = config_load(&c, "/nonexistent/ksipd.conf", err, sizeof(err));
	ok(rc == -1 && strstr(err, "cannot open: No such file"), "a missing file: cannot open");
	config_defaults(&c);
	rc = config_load(&c, "/tmp", err, sizeof(err));
	ok(rc == -1 && strstr(err, "cannot read"), "a directory: cannot read, not an empty configuration");

	unlink(path);
	return tap_done();
}
