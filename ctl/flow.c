// SPDX-License-Identifier: GPL-2.0
/* ksipctl flow ... and kstats: the kernel module's flows, over generic netlink. */
#include "flow.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksip/genl.h"
#include "uapi/linux/ksip.h"

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "ksipctl: %s%s%s\n", what, *what ? ": " : "", err);
	return 1;
}

static int parse_u32_arg(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || s[0] == '-' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* flow add LOCAL from SOURCE to PEER [expect ADDR[:PORT] | latch] [timeout SEC] [dscp N] */
static int flow_add(struct ksip_genl *g, int argc, char **argv)
{
	struct ksip_flow_spec f = { 0 };
	char err[KSIP_GENL_ERRLEN], what[32];
	uint32_t v;
	int i;

	if (argc < 5 || strcmp(argv[1], "from") || strcmp(argv[3], "to"))
		return fail("usage", "flow add LOCAL from SOURCE to PEER [expect ADDR[:PORT] | latch] "
			    "[timeout SEC] [dscp N]");
	if (ksip_parse_endpoint(argv[0], false, &f.local))
		return fail("bad LOCAL address", argv[0]);
	if (ksip_parse_endpoint(argv[2], false, &f.source))
		return fail("bad SOURCE address", argv[2]);
	if (ksip_parse_endpoint(argv[4], false, &f.peer))
		return fail("bad PEER address", argv[4]);
	for (i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "latch")) {
			f.flags |= KSIP_FLOW_F_LATCH;
		} else if (!strcmp(argv[i], "expect") && i + 1 < argc) {
			if (ksip_parse_endpoint(argv[++i], true, &f.expect))
				return fail("bad expect address", argv[i]);
			f.has_expect = true;
			f.flags |= KSIP_FLOW_F_EXPECT;
		} else if (!strcmp(argv[i], "timeout") && i + 1 < argc) {
			if (parse_u32_arg(argv[++i], KSIP_FLOW_TIMEOUT_MAX, &f.timeout))
				return fail("bad timeout", argv[i]);
		} else if (!strcmp(argv[i], "dscp") && i + 1 < argc) {
			if (parse_u32_arg(argv[++i], KSIP_FLOW_DSCP_MAX, &v)) {
				snprintf(what, sizeof(what), "bad dscp (0-%u)", KSIP_FLOW_DSCP_MAX);
				return fail(what, argv[i]);
			}
			f.dscp = (uint8_t)v;
			f.flags |= KSIP_FLOW_F_DSCP;
		} else {
			return fail("unknown flow option", argv[i]);
		}
	}
	if (ksip_genl_flow_add(g, &f, err, sizeof(err)))
		return fail("flow add", err);
	return 0;
}

struct list_ctx {
	bool json;
	int n;
};

static void print_flow(void *arg, const struct ksip_flow_spec *f)
{
	struct list_ctx *l = arg;
	char local[64], src[64], peer[64], exp[64] = "-", lat[64] = "-";
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
		printf("%s{\"local\":\"%s\",\"source\":\"%s\",\"peer\":\"%s\",\"mode\":\"%s\","
		       "\"expect\":%s%s%s,\"latched\":%s%s%s,\"timeout\":%u,\"dscp\":%s%u%s,"
		       "\"packets\":%llu,\"bytes\":%llu,\"dropped\":%llu,\"idle_ms\":%llu}",
		       l->n ? "," : "", local, src, peer, mode,
		       f->has_expect ? "\"" : "", f->has_expect ? exp : "null", f->has_expect ? "\"" : "",
		       f->has_latched ? "\"" : "", f->has_latched ? lat : "null",
		       f->has_latched ? "\"" : "", f->timeout,
		       f->flags & KSIP_FLOW_F_DSCP ? "" : "null", f->flags & KSIP_FLOW_F_DSCP ? f->dscp : 0,
		       "", (unsigned long long)f->packets, (unsigned long long)f->bytes,
		       (unsigned long long)f->dropped, (unsigned long long)f->idle_ms);
	} else {
		printf("%-24s %-24s %-24s %-6s %-24s %10llu %12llu %8llu\n", local, src, peer, mode,
		       f->has_latched ? lat : exp, (unsigned long long)f->packets,
		       (unsigned long long)f->bytes, (unsigned long long)f->dropped);
	}
	l->n++;
}

static int flow_list(struct ksip_genl *g, bool json)
{
	struct list_ctx l = { json, 0 };
	char err[KSIP_GENL_ERRLEN];
	int r;

	if (json)
		printf("[");
	else
		printf("%-24s %-24s %-24s %-6s %-24s %10s %12s %8s\n", "LOCAL", "SOURCE", "PEER", "MODE",
		       "EXPECT/LATCHED", "PACKETS", "BYTES", "DROPPED");
	r = ksip_genl_flow_dump(g, print_flow, &l, err, sizeof(err));
	if (json)
		printf("]\n");
	return r ? fail("flow list", err) : 0;
}

static int kstats(struct ksip_genl *g, bool json)
{
	struct ksip_kstats s;
	char err[KSIP_GENL_ERRLEN];

	if (ksip_genl_stats(g, &s, err, sizeof(err)))
		return fail("kstats", err);
	if (json)
		printf("{\"flows\":%u,\"forwarded\":%llu,\"bytes\":%llu,\"drop_source\":%llu,"
		       "\"no_route\":%llu,\"latched\":%llu,\"expired\":%llu}\n", s.flows,
		       (unsigned long long)s.forwarded, (unsigned long long)s.bytes,
		       (unsigned long long)s.drop_source, (unsigned long long)s.no_route,
		       (unsigned long long)s.latched, (unsigned long long)s.expired);
	else
		printf("flows        %u\nforwarded    %llu\nbytes        %llu\ndrop_source  %llu\n"
		       "no_route     %llu\nlatched      %llu\nexpired      %llu\n", s.flows,
		       (unsigned long long)s.forwarded, (unsigned long long)s.bytes,
		       (unsigned long long)s.drop_source, (unsigned long long)s.no_route,
		       (unsigned long long)s.latched, (unsigned long long)s.expired);
	return 0;
}

/* The names in `guard show` and its JSON, one per enum ksip_guard_counter. */
static const char *const guard_names[] = {
	[KSIP_GUARD_CNT_UNSPEC] = "",
	[KSIP_GUARD_CNT_PASSED] = "passed",
	[KSIP_GUARD_CNT_KEEPALIVE] = "keepalive",
	[KSIP_GUARD_CNT_BAD_SIZE] = "bad_size",
	[KSIP_GUARD_CNT_BAD_START] = "bad_start_line",
	[KSIP_GUARD_CNT_BAD_HEADER] = "bad_header",
	[KSIP_GUARD_CNT_NO_END] = "no_end_of_headers",
	[KSIP_GUARD_CNT_BAD_LENGTH] = "bad_content_length",
	[KSIP_GUARD_CNT_MISSING_HEADER] = "missing_header",
};
_Static_assert(sizeof(guard_names) / sizeof(guard_names[0]) == KSIP_GUARD_CNT_MAX + 1,
	       "a name for every guard counter the kernel reports");

/* guard set PORT... | guard set off | guard show */
static int guard(struct ksip_genl *g, int argc, char **argv, bool json)
{
	char err[KSIP_GENL_ERRLEN];
	struct ksip_guard_info gi;
	uint16_t ports[KSIP_GUARD_MAX_PORTS];
	char what[32];
	unsigned int n = 0;
	uint32_t v;

	if (argc >= 2 && !strcmp(argv[0], "set")) {
		if (!(argc == 2 && !strcmp(argv[1], "off"))) {
			for (int i = 1; i < argc; i++) {
				if (n == KSIP_GUARD_MAX_PORTS) {
					snprintf(what, sizeof(what), "at most %u ports",
						 KSIP_GUARD_MAX_PORTS);
					return fail("guard set", what);
				}
				if (parse_u32_arg(argv[i], UINT16_MAX, &v) || !v)
					return fail("bad port", argv[i]);
				ports[n++] = (uint16_t)v;
			}
		}
		return ksip_genl_guard_set(g, ports, n, err, sizeof(err)) ? fail("guard set", err) : 0;
	}
	if (argc != 1 || strcmp(argv[0], "show"))
		return fail("usage", "guard set PORT... | guard set off | guard show");
	if (ksip_genl_guard_get(g, &gi, err, sizeof(err)))
		return fail("guard show", err);
	printf(json ? "{\"ports\":[" : "ports");
	for (unsigned int i = 0; i < gi.nports; i++)
		printf(json ? "%s%u" : "%s%u", json ? (i ? "," : "") : " ", gi.ports[i]);
	printf(json ? "]" : "%s\n", gi.nports || json ? "" : " off");
	for (int i = KSIP_GUARD_CNT_UNSPEC + 1; i <= KSIP_GUARD_CNT_MAX; i++)
		printf(json ? ",\"%s\":%llu" : "%-20s %llu\n", guard_names[i],
		       (unsigned long long)gi.counters[i]);
	printf(json ? "}\n" : "");
	return 0;
}

int ctl_flow(const char *obj, int argc, char **argv, bool json)
{
	char err[KSIP_GENL_ERRLEN];
	struct ksip_genl *g = ksip_genl_open(err, sizeof(err));
	const char *verb = argc ? argv[0] : "";
	struct sockaddr_storage local;
	int r;

	if (!g)
		return fail("", err);
	if (!strcmp(obj, "kstats"))
		r = kstats(g, json);
	else if (!strcmp(obj, "guard"))
		r = guard(g, argc, argv, json);
	else if (!strcmp(verb, "add"))
		r = flow_add(g, argc - 1, argv + 1);
	else if (!strcmp(verb, "del") && argc == 2)
		r = ksip_parse_endpoint(argv[1], false, &local) ? fail("bad LOCAL address", argv[1]) :
		    ksip_genl_flow_del(g, &local, err, sizeof(err)) ? fail("flow del", err) : 0;
	else if (!strcmp(verb, "list"))
		r = flow_list(g, json);
	else if (!strcmp(verb, "flush"))
		r = ksip_genl_flow_flush(g, err, sizeof(err)) ? fail("flow flush", err) : 0;
	else
		r = fail("usage", "flow add|del|list|flush ...");
	ksip_genl_close(g);
	return r;
}
