// SPDX-License-Identifier: GPL-2.0
/*
 * ksipctl user add|passwd NAME: the commands that carry a password to
 * ksipd; user set NAME --digest D. ksipd judges D (auto, sha256, md5, both).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "ksip/ctl_proto.h"

/* Read a password without echo from the terminal, or one line from stdin. */
static int read_password(bool from_stdin, char *buf, size_t len)
{
	struct termios old, quiet;
	bool tty = !from_stdin && isatty(STDIN_FILENO);
	char again[256];
	size_t n;

	if (!from_stdin && !tty)
		return ctl_fail("", "no terminal to prompt on: use --password-stdin"), -1;
	if (tty) {
		fprintf(stderr, "Password: ");
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (!fgets(buf, (int)len, stdin))
		buf[0] = 0;
	if (tty) {
		bool same;

		fprintf(stderr, "\nAgain: ");
		if (!fgets(again, sizeof(again), stdin))
			again[0] = 0;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
		same = !strcmp(buf, again);
		explicit_bzero(again, sizeof(again));
		if (!same)
			return ctl_fail("", "passwords do not match"), -1;
	}
	n = strcspn(buf, "\r\n");
	buf[n] = 0;
	if (!n)
		return ctl_fail("", "empty password"), -1;
	if (strchr(buf, '\t'))
		return ctl_fail("", "a password may not contain a TAB"), -1;
	return 0;
}

int ctl_user_password(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	char pw[256];
	int rc;

	bool add = !strcmp(cmd->request, CTL_USER_ADD);
	char *digest = (char *)(o->digest ? o->digest : "");

	if (argc != 1 || (o->digest && !add))
		return ctl_usage(cmd);
	if (o->digest && !*o->digest)
		return ctl_fail("--digest", "empty (auto, sha256, md5 or both)");
	if (!ctl_fields_ok(argc, argv) || !ctl_fields_ok(1, &digest))
		return 1;
	if (read_password(o->password_stdin, pw, sizeof(pw)))
		return 1;
	if (add)
		rc = ctl_ask(o, "%s\t%s\t%s\t%s\n", cmd->request, argv[0], pw, digest);
	else
		rc = ctl_ask(o, "%s\t%s\t%s\n", cmd->request, argv[0], pw);
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

int ctl_user_set(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	char *digest = (char *)o->digest;

	if (argc != 1 || !digest)
		return ctl_usage(cmd);
	if (!*digest)
		return ctl_fail("--digest", "empty (auto, sha256, md5 or both)");
	if (!ctl_fields_ok(argc, argv) || !ctl_fields_ok(1, &digest))
		return 1;
	return ctl_ask(o, "%s\t%s\t%s\n", cmd->request, argv[0], digest);
}
