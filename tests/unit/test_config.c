// SPDX-License-Identifier: GPL-2.0
/*
 * config_load()'s messages: an operator fixes the line the message names,
 * so the line number and the key must belong to the same line, however
 * many lines are bad.
 */
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

static int says(const char *err, int line, const char *what)
{
	char want[600];

	snprintf(want, sizeof(want), "%s:%d: %s", path, line, what);
	return !strcmp(err, want);
}

int main(void)
{
	static struct ksip_config c;
	char err[512];
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);

	ok(load("realm = example.org\nworkers = 2\n", err, sizeof(err), &c) == 0 && !err[0] &&
	   !strcmp(c.realm, "example.org") && c.workers == 2, "a good file loads: %s", err);

	ok(load("realm = a\nworkers = 2\n\nnot_a_key = 1\n", err, sizeof(err), &c) == -1 &&
	   says(err, 4, "unknown key 'not_a_key'"), "one unknown key: its line and its name (%s)", err);

	/* Issue 16: the message was the last bad key's, the number the first bad line's. */
	ok(load("realm = a\nfirst_bad = 1\nworkers = 2\nsecond_bad = 2\n", err, sizeof(err), &c) == -1 &&
	   says(err, 2, "unknown key 'first_bad' (and 1 more bad keys)"),
	   "two unknown keys: the first one's line and name, and how many more (%s)", err);

	ok(load("workers = many\nmax_calls = -1\n", err, sizeof(err), &c) == -1 &&
	   !strncmp(strchr(err, ':') + 1, "1: key 'workers'", 16) && strstr(err, "(and 1 more"),
	   "a bad value then another: the first (%s)", err);

	ok(load("realm = a\nthis line has no equals sign\nbogus = 1\n", err, sizeof(err), &c) == -1 &&
	   says(err, 2, "syntax error (and 1 more bad keys)"),
	   "a syntax error before a bad key: the syntax error's line, not the key's message (%s)", err);

	ok(load("bogus = 1\nno equals here\n", err, sizeof(err), &c) == -1 &&
	   says(err, 1, "unknown key 'bogus'"), "a bad key before a syntax error: the key (%s)", err);

	ok(load("[other]\nrealm = a\n", err, sizeof(err), &c) == -1 &&
	   says(err, 2, "unknown section [other]"), "an unknown section names itself (%s)", err);

	config_defaults(&c);
	ok(config_load(&c, "/nonexistent/ksipd.conf", err, sizeof(err)) == -1 &&
	   strstr(err, "cannot open: No such file"), "a missing file: cannot open (%s)", err);
	config_defaults(&c);
	ok(config_load(&c, "/tmp", err, sizeof(err)) == -1 && strstr(err, "cannot read"),
	   "a directory: cannot read, not an empty configuration (%s)", err);

	unlink(path);
	return tap_done();
}
