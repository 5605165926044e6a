/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksipctl's commands, shared by the files that implement them. The command
 * table itself is in ksipctl.c: it drives both dispatch and the usage text.
 */
#ifndef KSIPCTL_CTL_H
#define KSIPCTL_CTL_H

#include <stdbool.h>
#include <stdint.h>

/* The global options, parsed before a command is looked up. */
struct ctl_opts {
	const char *socket;	/* ksipd's control socket */
	bool json;		/* JSON output instead of a table */
	bool password_stdin;	/* read the password as one line of stdin */
	const char *ban_for;	/* ban add --for SECONDS, or NULL */
	const char *ban_reason;	/* ban add --reason TEXT, or NULL */
	const char *digest;	/* user add|set --digest D, or NULL */
};

struct ctl_cmd;

/*
 * A command: ARGV holds what follows "GROUP VERB" (or GROUP alone when
 * VERB is NULL). Returns the exit status: 0, 1 for an error, or
 * ctl_usage(CMD) (2) for arguments that do not fit ARGS.
 */
typedef int ctl_fn(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv);

struct ctl_cmd {
	const char *group;	/* first word: "user", "flow", "stats" */
	const char *verb;	/* second word, or NULL for a command of one word */
	const char *args;	/* what follows, as shown in the usage text */
	const char *help;	/* one line */
	ctl_fn *fn;
	const char *request;	/* CTL_* of ksip/ctl_proto.h for ksipd; NULL for ksip.ko */
};

/* "ksipctl: WHAT: ERR", or "ksipctl: ERR" when WHAT is empty. Returns 1. */
int ctl_fail(const char *what, const char *err);
/* "usage: ksipctl GROUP VERB ARGS" on stderr. Returns 2. */
int ctl_usage(const struct ctl_cmd *cmd);

/* control.c: commands answered by ksipd over its control socket. */
ctl_fn ctl_ask_list;		/* REQUEST [json]: a listing */
ctl_fn ctl_ask_one;		/* REQUEST ARG: one object named by the operator */
ctl_fn ctl_ban_add;		/* REQUEST ADDR SECONDS REASON, from --for and --reason */
/* Arguments become TAB-separated fields of one line: false (said why) if one can't. */
bool ctl_fields_ok(int argc, char **argv);
/* Send one request line (printf-style) and stream the answer to stdout. */
int ctl_ask(const struct ctl_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* user.c: commands that carry a password, and the digest setting. */
ctl_fn ctl_user_password;
ctl_fn ctl_user_set;

/* flow.c and guard.c: ksip.ko over generic netlink, no ksipd involved. */
struct ksip_genl;
/* NULL after printing why (module not loaded, no permission). */
struct ksip_genl *ctl_genl_open(void);
/* Port, seconds, DSCP: decimal, at most MAX. */
int ctl_parse_u32(const char *s, unsigned long max, uint32_t *out);
ctl_fn ctl_flow_add;
ctl_fn ctl_flow_del;
ctl_fn ctl_flow_output;
ctl_fn ctl_flow_get;
ctl_fn ctl_flow_list;
ctl_fn ctl_flow_flush;
ctl_fn ctl_kstats;
ctl_fn ctl_guard_set;
ctl_fn ctl_guard_show;

#endif
