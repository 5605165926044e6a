// SPDX-License-Identifier: GPL-2.0
/*
 * ksipctl: the operator's command line for ksipd. It speaks the control
 * socket protocol (include/ksip/ctl_proto.h); the daemon formats tables
 * and JSON, ksipctl prints them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "flow.h"
#include "ksip/ctl_proto.h"

#define DEFAULT_SOCKET "/run/ksip/ksipd.sock"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ksipctl [--socket PATH] [--json] COMMAND\n"
		"  user add NAME [--password-stdin]   add a subscriber (prompts for the password)\n"
		"  user passwd NAME [--password-stdin] change a password\n"
		"  user del NAME                      delete a subscriber and its bindings\n"
		"  user list                          list subscribers\n"
		"  reg list                           list registered contacts\n"
		"  reg del AOR                        remove every binding of AOR\n"
		"  stats                              counters of the running daemon\n"
		"  call list                          calls in progress (and just ended), media counters\n"
		"  call hangup ID                     end a call: BYE to both sides (CANCEL if ringing)\n"
		"  flow add LOCAL from SOURCE to PEER [expect ADDR[:PORT] | latch] [timeout SEC] [dscp N]\n"
		"                                     forward UDP arriving at LOCAL to PEER, sent from SOURCE\n"
		"  flow del LOCAL | flow list | flow flush   kernel flows (ksip.ko)\n"
		"  kstats                             counters of ksip.ko in this network namespace\n"
		"  guard set PORT... | guard set off | guard show\n"
		"                                     drop badly framed SIP to these UDP ports in the kernel\n");
}

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "ksipctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 1;
}

/* Read a password without echo from the terminal, or one line from stdin. */
static int read_password(bool from_stdin, char *buf, size_t len)
{
	struct termios old, quiet;
	bool tty = !from_stdin && isatty(STDIN_FILENO);
	char again[256];
	size_t n;

	if (!from_stdin && !tty)
		return die("%s", "no terminal to prompt on: use --password-stdin"), -1;
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
		fprintf(stderr, "\nAgain: ");
		if (!fgets(again, sizeof(again), stdin))
			again[0] = 0;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
		if (strcmp(buf, again))
			return die("%s", "passwords do not match"), -1;
	}
	n = strcspn(buf, "\r\n");
	buf[n] = 0;
	if (!n)
		return die("%s", "empty password"), -1;
	if (strchr(buf, '\t'))
		return die("%s", "a password may not contain a TAB"), -1;
	return 0;
}

static int talk(const char *path, const char *request)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[65536];
	size_t len = 0;
	bool first = true, ok = false;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return die("socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "ksipctl: cannot reach ksipd at %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request))
		return die("cannot send to ksipd: %s", strerror(errno));
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
		return die("%s", "ksipd closed the connection without answering");
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *sock = getenv("KSIP_SOCKET") ? getenv("KSIP_SOCKET") : DEFAULT_SOCKET;
	bool json = false, pw_stdin = false;
	char req[CTL_MAX_REQUEST], pw[256];
	const char *obj, *verb;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "s:jph", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			pw_stdin = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	obj = argv[optind];
	/* Kernel flows go straight to ksip.ko over generic netlink, not through ksipd. */
	if (!strcmp(obj, "flow") || !strcmp(obj, "kstats") || !strcmp(obj, "guard"))
		return ctl_flow(obj, argc - optind - 1, argv + optind + 1, json);
	verb = optind + 1 < argc ? argv[optind + 1] : "";
	argc -= optind + 2;
	argv += optind + 2;
	for (int i = 0; i < argc; i++)
		if (strchr(argv[i], '\t') || strchr(argv[i], '\n'))
			return die("argument may not contain TAB or newline: %s", argv[i]);

	if (!strcmp(obj, "stats")) {
		snprintf(req, sizeof(req), CTL_STATS "%s\n", json ? "\tjson" : "");
	} else if (!strcmp(obj, "user") && (!strcmp(verb, "add") || !strcmp(verb, "passwd"))) {
		if (argc != 1)
			return die("usage: ksipctl user %s NAME", verb);
		if (read_password(pw_stdin, pw, sizeof(pw)))
			return 1;
		snprintf(req, sizeof(req), "%s\t%s\t%s\n",
			 !strcmp(verb, "add") ? CTL_USER_ADD : CTL_USER_PASSWD, argv[0], pw);
		explicit_bzero(pw, sizeof(pw));
	} else if (!strcmp(obj, "user") && !strcmp(verb, "del") && argc == 1) {
		snprintf(req, sizeof(req), CTL_USER_DEL "\t%s\n", argv[0]);
	} else if (!strcmp(obj, "user") && !strcmp(verb, "list")) {
		snprintf(req, sizeof(req), CTL_USER_LIST "%s\n", json ? "\tjson" : "");
	} else if (!strcmp(obj, "reg") && !strcmp(verb, "list")) {
		snprintf(req, sizeof(req), CTL_REG_LIST "%s\n", json ? "\tjson" : "");
	} else if (!strcmp(obj, "call") && !strcmp(verb, "list")) {
		snprintf(req, sizeof(req), CTL_CALL_LIST "%s\n", json ? "\tjson" : "");
	} else if (!strcmp(obj, "call") && !strcmp(verb, "hangup") && argc == 1) {
		snprintf(req, sizeof(req), CTL_CALL_HANGUP "\t%s\n", argv[0]);
	} else if (!strcmp(obj, "reg") && !strcmp(verb, "del") && argc == 1) {
		snprintf(req, sizeof(req), CTL_REG_DEL "\t%s\n", argv[0]);
	} else {
		usage(stderr);
		return 2;
	}
	rc = talk(sock, req);
	explicit_bzero(req, sizeof(req));
	return rc;
}
