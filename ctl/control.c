// SPDX-License-Identifier: GPL-2.0
/*
 * Commands answered by ksipd: one request line on its control socket
 * (include/ksip/ctl_proto.h); the daemon formats tables and JSON, ksipctl
 * prints them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "ksip/ctl_proto.h"

static int talk(const char *path, const char *request)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[65536];
	size_t len = 0;
	bool first = true, ok = false;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return ctl_fail("socket path too long", path);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "ksipctl: cannot reach ksipd at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		ctl_fail("cannot send to ksipd", strerror(errno));
		close(fd);
		return 1;
	}
	/* The first line says ok or error; the rest is output, streamed through. */
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *nl;

		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = 0;
		if (first) {
			nl = strchr(buf, '\n');
			if (!nl && len < sizeof(buf) - 1)
				continue;
			first = false;
			if (!strncmp(buf, "ok\n", 3)) {
				ok = true;
				fwrite(buf + 3, 1, len - 3, stdout);
			} else {
				char *msg = strncmp(buf, "error\t", 6) ? buf : buf + 6;

				msg[strcspn(msg, "\n")] = 0;
				fprintf(stderr, "ksipctl: %s\n", msg);
			}
			len = 0;
			continue;
		}
		if (ok)
			fwrite(buf, 1, len, stdout);
		len = 0;
	}
	close(fd);
	if (first)
		return ctl_fail("", "ksipd closed the connection without answering");
	return ok ? 0 : 1;
}

int ctl_ask(const struct ctl_opts *o, const char *fmt, ...)
{
	char req[CTL_MAX_REQUEST];
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	/* Cut short, the request would lose its '\n' and ksipd would wait for it. */
	if (n < 0 || (size_t)n >= sizeof(req))
		rc = ctl_fail("", "request too long");
	else
		rc = talk(o->socket, req);
	explicit_bzero(req, sizeof(req));	/* it may hold a password */
	return rc;
}

bool ctl_fields_ok(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strchr(argv[i], CTL_FIELD_SEP) || strchr(argv[i], '\n')) {
			ctl_fail("argument may not contain TAB or newline", argv[i]);
			return false;
		}
	return true;
}

int ctl_ask_list(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;	/* takes no arguments: ksipctl.c refuses any */
	return ctl_ask(o, "%s%s\n", cmd->request, o->json ? "\tjson" : "");
}

int ctl_ban_add(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	char *f[3] = { argv[0], (char *)(o->ban_for ? o->ban_for : ""),
		       (char *)(o->ban_reason ? o->ban_reason : "") };
	if (argc != 1)
		return ctl_usage(cmd);
	if (!ctl_fields_ok(3, f))
		return 1;
	/* A number here; ksipd judges its range (KSIP_BAN_MAX_SECONDS) and the reason. */
	if (o->ban_for && (!o->ban_for[0] || o->ban_for[strspn(o->ban_for, "0123456789")]))
		return ctl_fail("--for: not a number of seconds", o->ban_for);
	return ctl_ask(o, "%s\t%s\t%s\t%s\n", cmd->request, f[0], f[1], f[2]);
}

int ctl_ask_one(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	if (argc != 1)
		return ctl_usage(cmd);
	if (!ctl_fields_ok(argc, argv))
		return 1;
	return ctl_ask(o, "%s\t%s\n", cmd->request, argv[0]);
}

/* REQUEST ARG1 [ARG2] [json]: ARGC between MIN and MAX. */
static int ask_fields(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv,
		      int min, int max)
{
	if (argc < min || argc > max)
		return ctl_usage(cmd);
	if (!ctl_fields_ok(argc, argv))
		return 1;
	return ctl_ask(o, "%s\t%s%s%s%s\n", cmd->request, argv[0], argc > 1 ? "\t" : "",
		       argc > 1 ? argv[1] : "", o->json ? "\tjson" : "");
}

int ctl_call_tap(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	return ask_fields(cmd, o, argc, argv, 2, 2);
}

int ctl_call_untap(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	return ask_fields(cmd, o, argc, argv, 1, 2);
}
