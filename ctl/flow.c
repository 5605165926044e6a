// SPDX-License-Identifier: GPL-2.0
/*
 * ksipctl flow add|del|output|get|list|flush and kstats: the kernel module's flows and
 * counters, over generic netlink in ksipctl's network namespace.
 * Arguments are checked before the module is asked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ksip/genl.h"
#include "uapi/linux/ksip.h"

struct ksip_genl *ctl_genl_open(void)
{
	char err[KSIP_GENL_ERRLEN];
	struct ksip_genl *g = ksip_genl_open(err, sizeof(err));

	if (!g)
		ctl_fail("", err);
	return g;
}

int ctl_parse_u32(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || s[0] == '-' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* flow add LOCAL from SOURCE to PEER [expect ADDR[:PORT] | latch] [timeout SEC] [dscp N] */
int ctl_flow_add(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	struct ksip_flow_spec f = { 0 };
	char err[KSIP_GENL_ERRLEN], what[32];
	struct ksip_genl *g;
	uint32_t v;
	int i, r;

	(void)o;
	if (argc < 5 || strcmp(argv[1], "from") || strcmp(argv[3], "to"))
		return ctl_usage(cmd);
	if (ksip_parse_endpoint(argv[0], false, &f.local))
		return ctl_fail("bad LOCAL address", argv[0]);
	if (ksip_parse_endpoint(argv[2], false, &f.source))
		return ctl_fail("bad SOURCE address", argv[2]);
	if (ksip_parse_endpoint(argv[4], false, &f.peer))
		return ctl_fail("bad PEER address", argv[4]);
	for (i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "latch")) {
			f.flags |= KSIP_FLOW_F_LATCH;
		} else if (!strcmp(argv[i], "expect") && i + 1 < argc) {
			if (ksip_parse_endpoint(argv[++i], true, &f.expect))
				return ctl_fail("bad expect address", argv[i]);
			f.has_expect = true;
			f.flags |= KSIP_FLOW_F_EXPECT;
		} else if (!strcmp(argv[i], "timeout") && i + 1 < argc) {
			if (ctl_parse_u32(argv[++i], KSIP_FLOW_TIMEOUT_MAX, &f.timeout))
				return ctl_fail("bad timeout", argv[i]);
		} else if (!strcmp(argv[i], "dscp") && i + 1 < argc) {
			if (ctl_parse_u32(argv[++i], KSIP_FLOW_DSCP_MAX, &v)) {
				snprintf(what, sizeof(what), "bad dscp (0-%u)", KSIP_FLOW_DSCP_MAX);
				return ctl_fail(what, argv[i]);
			}
			f.dscp = (uint8_t)v;
			f.flags |= KSIP_FLOW_F_DSCP;
		} else {
			return ctl_fail("unknown flow option", argv[i]);
		}
	}
	g = ctl_genl_open();
	if (!g)
		return 1;
	r = ksip_genl_flow_add(g, &f, err, sizeof(err)) ? ctl_fail("flow add", err) : 0;
	ksip_genl_close(g);
	return r;
}

/* flow del LOCAL */
int ctl_flow_del(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	char err[KSIP_GENL_ERRLEN];
	struct sockaddr_storage local;
	struct ksip_genl *g;
	int r;

	(void)o;
	if (argc != 1)
		return ctl_usage(cmd);
	if (ksip_parse_endpoint(argv[0], false, &local))
		return ctl_fail("bad LOCAL address", argv[0]);
	g = ctl_genl_open();
	if (!g)
		return 1;
	r = ksip_genl_flow_del(g, &local, err, sizeof(err)) ? ctl_fail("flow del", err) : 0;
	ksip_genl_close(g);
	return r;
}

/* flow output LOCAL none | flow output LOCAL from SOURCE to PEER [from SOURCE to PEER]... */
int ctl_flow_output(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	struct ksip_flow_output outs[KSIP_FLOW_OUTPUTS_MAX];
	char err[KSIP_GENL_ERRLEN], what[48];
	struct sockaddr_storage local;
	struct ksip_genl *g;
	unsigned int n = 0;
	int i, r;

	(void)o;
	if (argc < 2 || (argc == 2 && strcmp(argv[1], "none")) || (argc > 2 && (argc - 1) % 4))
		return ctl_usage(cmd);
	if (ksip_parse_endpoint(argv[0], false, &local))
		return ctl_fail("bad LOCAL address", argv[0]);
	for (i = 1; argc > 2 && i < argc; i += 4) {
		if (strcmp(argv[i], "from") || strcmp(argv[i + 2], "to"))
			return ctl_usage(cmd);
		if (n == KSIP_FLOW_OUTPUTS_MAX) {
			snprintf(what, sizeof(what), "more than %d outputs", KSIP_FLOW_OUTPUTS_MAX);
			return ctl_fail(what, argv[i + 1]);
		}
		memset(&outs[n], 0, sizeof(outs[n]));
		if (ksip_parse_endpoint(argv[i + 1], false, &outs[n].source))
			return ctl_fail("bad output SOURCE address", argv[i + 1]);
		if (ksip_parse_endpoint(argv[i + 3], false, &outs[n].peer))
			return ctl_fail("bad output PEER address", argv[i + 3]);
		n++;
	}
	g = ctl_genl_open();
	if (!g)
		return 1;
	r = ksip_genl_flow_set_outputs(g, &local, outs, n, err, sizeof(err)) ?
		ctl_fail("flow output", err) : 0;
	ksip_genl_close(g);
	return r;
}

struct list_ctx {
	bool json;
	int n;
};

/* A flow's outputs: a JSON array, or a line each under the flow's. */
static void print_outputs(const struct list_ctx *l, const struct ksip_flow_spec *f)
{
	char src[64], peer[64];

	if (l->json)
		printf(",\"outputs\":[");
	for (unsigned int i = 0; i < f->noutputs; i++) {
		const struct ksip_flow_output *o = &f->outputs[i];

		ksip_format_endpoint(&o->source, src, sizeof(src));
		ksip_format_endpoint(&o->peer, peer, sizeof(peer));
		if (l->json)
			printf("%s{\"source\":\"%s\",\"peer\":\"%s\",\"packets\":%llu,\"bytes\":%llu,"
			       "\"dropped\":%llu}", i ? "," : "", src, peer,
			       (unsigned long long)o->packets, (unsigned long long)o->bytes,
			       (unsigned long long)o->dropped);
		else
			printf("  output %-15u %-24s %-24s %-6s %-24s %10llu %12llu %8llu\n", i, src, peer,
			       "-", "-", (unsigned long long)o->packets, (unsigned long long)o->bytes,
			       (unsigned long long)o->dropped);
	}
	if (l->json)
		printf("]");
}

static void print_flow(void *arg, const struct ksip_flow_spec *f)
{
	struct list_ctx *l = arg;
	char local[64], src[64], peer[64], exp[64] = "-", lat[64] = "-", dscp[8] = "null";
	const char *mode = f->flags & KSIP_FLOW_F_LATCH ? "latch" :
			   f->flags & KSIP_FLOW_F_EXPECT ? "expect" : "any";

	ksip_format_endpoint(&f->local, local, sizeof(local));
	ksip_format_endpoint(&f->source, src, sizeof(src));
	ksip_format_endpoint(&f->peer, peer, sizeof(peer));
	if (f->has_expect)
		ksip_format_endpoint(&f->expect, exp, sizeof(exp));
	if (f->has_latched)
		ksip_format_endpoint(&f->latched, lat, sizeof(lat));
	if (l->json) {
		/* JSON null where a flow has no such setting (a bare number otherwise). */
		if (f->flags & KSIP_FLOW_F_DSCP)
			snprintf(dscp, sizeof(dscp), "%u", f->dscp);
		printf("%s{\"local\":\"%s\",\"source\":\"%s\",\"peer\":\"%s\",\"mode\":\"%s\","
		       "\"expect\":%s%s%s,\"latched\":%s%s%s,\"timeout\":%u,\"dscp\":%s,"
		       "\"packets\":%llu,\"bytes\":%llu,\"dropped\":%llu,\"idle_ms\":%llu",
		       l->n ? "," : "", local, src, peer, mode,
		       f->has_expect ? "\"" : "", f->has_expect ? exp : "null", f->has_expect ? "\"" : "",
		       f->has_latched ? "\"" : "", f->has_latched ? lat : "null",
		       f->has_latched ? "\"" : "", f->timeout, dscp,
		       (unsigned long long)f->packets, (unsigned long long)f->bytes,
		       (unsigned long long)f->dropped, (unsigned long long)f->idle_ms);
		print_outputs(l, f);
		printf("}");
	} else {
		printf("%-24s %-24s %-24s %-6s %-24s %10llu %12llu %8llu\n", local, src, peer, mode,
		       f->has_latched ? lat : exp, (unsigned long long)f->packets,
		       (unsigned long long)f->bytes, (unsigned long long)f->dropped);
		print_outputs(l, f);
	}
	l->n++;
}

static void print_header(void)
{
	printf("%-24s %-24s %-24s %-6s %-24s %10s %12s %8s\n", "LOCAL", "SOURCE", "PEER", "MODE",
	       "EXPECT/LATCHED", "PACKETS", "BYTES", "DROPPED");
}

/* flow get LOCAL: one flow, with its outputs */
int ctl_flow_get(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	struct list_ctx l = { o->json, 0 };
	char err[KSIP_GENL_ERRLEN];
	struct sockaddr_storage local;
	struct ksip_flow_spec f;
	struct ksip_genl *g;
	int r;

	if (argc != 1)
		return ctl_usage(cmd);
	if (ksip_parse_endpoint(argv[0], false, &local))
		return ctl_fail("bad LOCAL address", argv[0]);
	g = ctl_genl_open();
	if (!g)
		return 1;
	r = ksip_genl_flow_get(g, &local, &f, err, sizeof(err));
	ksip_genl_close(g);
	if (r)
		return ctl_fail("flow get", err);
	if (!o->json)
		print_header();
	print_flow(&l, &f);
	if (o->json)
		printf("\n");
	return 0;
}

/* flow list: every flow of the namespace with its counters */
int ctl_flow_list(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	struct list_ctx l = { o->json, 0 };
	char err[KSIP_GENL_ERRLEN];
	struct ksip_genl *g;
	int r;

	(void)cmd;
	(void)argc;
	(void)argv;	/* takes no arguments: ksipctl.c refuses any */
	g = ctl_genl_open();
	if (!g)
		return 1;
	if (o->json)
		printf("[");
	else
		print_header();
	r = ksip_genl_flow_dump(g, print_flow, &l, err, sizeof(err));
	if (o->json)
		printf("]\n");
	ksip_genl_close(g);
	return r ? ctl_fail("flow list", err) : 0;
}

/* flow flush */
int ctl_flow_flush(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	char err[KSIP_GENL_ERRLEN];
	struct ksip_genl *g;
	int r;

	(void)o;
	(void)cmd;
	(void)argc;
	(void)argv;	/* takes no arguments: ksipctl.c refuses any */
	g = ctl_genl_open();
	if (!g)
		return 1;
	r = ksip_genl_flow_flush(g, err, sizeof(err)) ? ctl_fail("flow flush", err) : 0;
	ksip_genl_close(g);
	return r;
}

/* kstats: the module's counters in this namespace */
int ctl_kstats(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	struct ksip_kstats s;
	char err[KSIP_GENL_ERRLEN];
	struct ksip_genl *g;
	int r;

	(void)cmd;
	(void)argc;
	(void)argv;	/* takes no arguments: ksipctl.c refuses any */
	g = ctl_genl_open();
	if (!g)
		return 1;
	r = ksip_genl_stats(g, &s, err, sizeof(err));
	ksip_genl_close(g);
	if (r)
		return ctl_fail("kstats", err);
	if (o->json)
		printf("{\"flows\":%u,\"forwarded\":%llu,\"bytes\":%llu,\"drop_source\":%llu,"
		       "\"no_route\":%llu,\"drop_error\":%llu,\"latched\":%llu,\"expired\":%llu}\n",
		       s.flows, (unsigned long long)s.forwarded, (unsigned long long)s.bytes,
		       (unsigned long long)s.drop_source, (unsigned long long)s.no_route,
		       (unsigned long long)s.drop_error, (unsigned long long)s.latched,
		       (unsigned long long)s.expired);
	else
		printf("flows        %u\nforwarded    %llu\nbytes        %llu\ndrop_source  %llu\n"
		       "no_route     %llu\ndrop_error   %llu\nlatched      %llu\nexpired      %llu\n",
		       s.flows, (unsigned long long)s.forwarded, (unsigned long long)s.bytes,
		       (unsigned long long)s.drop_source, (unsigned long long)s.no_route,
		       (unsigned long long)s.drop_error, (unsigned long long)s.latched,
		       (unsigned long long)s.expired);
	return 0;
}
