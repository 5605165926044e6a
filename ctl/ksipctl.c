// SPDX-License-Identifier: GPL-2.0
/*
 * ksipctl: the operator's command line for ksipd and ksip.ko. One table
 * lists every command; it drives both dispatch and the usage text.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ksip/ctl_proto.h"

#define DEFAULT_SOCKET "/run/ksip/ksipd.sock"

/* In usage order. Commands with a request go to ksipd, the others to ksip.ko. */
static const struct ctl_cmd ctl_cmds[] = {
	{ "user", "add", "NAME [--digest D] [--password-stdin]",
	  "add a subscriber (prompts for the password); D: auto (default), sha256, md5, both",
	  ctl_user_password, CTL_USER_ADD },
	{ "user", "passwd", "NAME [--password-stdin]", "change a password",
	  ctl_user_password, CTL_USER_PASSWD },
	{ "user", "set", "NAME --digest D",
	  "the digest algorithms NAME is challenged with (auto, sha256, md5, both)",
	  ctl_user_set, CTL_USER_SET },
	{ "user", "del", "NAME", "delete a subscriber and its bindings", ctl_ask_one, CTL_USER_DEL },
	{ "user", "list", "", "list subscribers, their digest setting and last algorithm",
	  ctl_ask_list, CTL_USER_LIST },
	{ "reg", "list", "", "list registered contacts", ctl_ask_list, CTL_REG_LIST },
	{ "reg", "del", "AOR", "remove every binding of AOR", ctl_ask_one, CTL_REG_DEL },
	{ "status", NULL, "", "what runs: listen addresses, media (kernel or userspace), shield, why",
	  ctl_ask_list, CTL_STATUS },
	{ "stats", NULL, "", "counters of the running daemon", ctl_ask_list, CTL_STATS },
	{ "call", "list", "", "calls in progress (and just ended), media counters",
	  ctl_ask_list, CTL_CALL_LIST },
	{ "call", "hangup", "ID", "end a call: BYE to both sides (CANCEL if ringing)",
	  ctl_ask_one, CTL_CALL_HANGUP },
	{ "ban", "list", "", "banned sources: address (/64 for IPv6), seconds left, why",
	  ctl_ask_list, CTL_BAN_LIST },
	{ "ban", "add", "ADDR [--for SECONDS] [--reason TEXT]",
	  "ban ADDR's source (its /64 for IPv6) for SECONDS (ban_time), kept across restarts",
	  ctl_ban_add, CTL_BAN_ADD },
	{ "ban", "del", "ADDR", "lift the ban on ADDR's source (its /64 for IPv6)", ctl_ask_one,
	  CTL_BAN_DEL },
	{ "shield", NULL, "", "the shield in force (nftables, userspace, off) and its counters",
	  ctl_ask_list, CTL_SHIELD },
	{ "tls", "show", "", "the certificate TLS listeners present: file, subject, expiry, SHA-256",
	  ctl_ask_list, CTL_TLS_SHOW },
	{ "tls", "reload", "", "read the certificate and key again (renewed); connections stay",
	  ctl_ask_list, CTL_TLS_RELOAD },
	{ "flow", "add",
	  "LOCAL from SOURCE to PEER [expect ADDR[:PORT] | latch] [timeout SEC] [dscp N]",
	  "forward UDP arriving at LOCAL to PEER, sent from SOURCE", ctl_flow_add },
	{ "flow", "del", "LOCAL", "remove the kernel flow at LOCAL", ctl_flow_del },
	{ "flow", "output", "LOCAL none | LOCAL from SOURCE to PEER [from SOURCE to PEER]...",
	  "copy every packet of the flow at LOCAL to each PEER, sent from its SOURCE (at most 16)",
	  ctl_flow_output },
	{ "flow", "get", "LOCAL", "the kernel flow at LOCAL, with its outputs and counters",
	  ctl_flow_get },
	{ "flow", "list", "", "kernel flows of this network namespace, with counters",
	  ctl_flow_list },
	{ "flow", "flush", "", "remove every kernel flow of this network namespace",
	  ctl_flow_flush },
	{ "kstats", NULL, "", "counters of ksip.ko in this network namespace", ctl_kstats },
	{ "guard", "set", "PORT... | off",
	  "drop badly framed SIP to these UDP ports in the kernel (off: none)", ctl_guard_set },
	{ "guard", "show", "", "the guarded ports and the guard's counters", ctl_guard_show },
};

/* Width of the "GROUP VERB ARGS" column; longer ones put their help on the next line. */
#define USAGE_COL 35

static int cmd_name(const struct ctl_cmd *c, char *buf, size_t len)
{
	return snprintf(buf, len, "%s%s%s%s%s", c->group, c->verb ? " " : "", c->verb ? c->verb : "",
			*c->args ? " " : "", c->args);
}

/* Every command, or only those of GROUP when it is not NULL. */
static void usage(FILE *f, const char *group)
{
	char name[256];

	fprintf(f, "usage: ksipctl [--socket PATH] [--json] COMMAND\n");
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		const struct ctl_cmd *c = &ctl_cmds[i];

		if (group && strcmp(c->group, group))
			continue;
		if (cmd_name(c, name, sizeof(name)) <= USAGE_COL)
			fprintf(f, "  %-*s  %s\n", USAGE_COL, name, c->help);
		else
			fprintf(f, "  %s\n  %-*s  %s\n", name, USAGE_COL, "", c->help);
	}
}

int ctl_usage(const struct ctl_cmd *cmd)
{
	char name[256];

	cmd_name(cmd, name, sizeof(name));
	fprintf(stderr, "usage: ksipctl %s\n", name);
	return 2;
}

int ctl_fail(const char *what, const char *err)
{
	fprintf(stderr, "ksipctl: %s%s%s\n", what, *what ? ": " : "", err);
	return 1;
}

/* The command named by ARGV[0] (and ARGV[1] when it has a verb); *WORDS: how many it took. */
static const struct ctl_cmd *find_cmd(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		const struct ctl_cmd *c = &ctl_cmds[i];

		if (strcmp(c->group, argv[0]))
			continue;
		*words = c->verb ? 2 : 1;
		if (!c->verb || (argc > 1 && !strcmp(c->verb, argv[1])))
			return c;
	}
	return NULL;
}

static bool known_group(const char *group)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(ctl_cmds[i].group, group))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "for", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "digest", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct ctl_opts o = {
		.socket = getenv("KSIP_SOCKET") ? getenv("KSIP_SOCKET") : DEFAULT_SOCKET,
	};
	const struct ctl_cmd *cmd;
	int opt, words;

	/* Options may come anywhere: getopt moves the words of the command to the end. */
	while ((opt = getopt_long(argc, argv, "s:jph", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.socket = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'p':
			o.password_stdin = true;
			break;
		case 'f':
			o.ban_for = optarg;
			break;
		case 'r':
			o.ban_reason = optarg;
			break;
		case 'd':
			o.digest = optarg;
			break;
		case 'h':
			usage(stdout, NULL);
			return 0;
		default:
			usage(stderr, NULL);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (!argc) {
		usage(stderr, NULL);
		return 2;
	}
	cmd = find_cmd(argc, argv, &words);
	if (!cmd) {
		bool group = known_group(argv[0]);

		if (!group || argc > 1)
			fprintf(stderr, "ksipctl: unknown command: %s%s%s\n", argv[0],
				group ? " " : "", group ? argv[1] : "");
		usage(stderr, group ? argv[0] : NULL);
		return 2;
	}
	/* A command that takes nothing refuses anything: checked here, once for all. */
	if (!cmd->args[0] && argc > words)
		return ctl_usage(cmd);
	return cmd->fn(cmd, &o, argc - words, argv + words);
}
