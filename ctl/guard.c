// SPDX-License-Identifier: GPL-2.0
/* ksipctl guard set|show: the kernel's SIP framing check on chosen UDP ports. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ksip/genl.h"
#include "uapi/linux/ksip.h"

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

/* guard set PORT... | guard set off: no ports turns the check off */
int ctl_guard_set(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	char err[KSIP_GENL_ERRLEN], what[32];
	uint16_t ports[KSIP_GUARD_MAX_PORTS];
	struct ksip_genl *g;
	unsigned int n = 0;
	uint32_t v;
	int r;

	(void)o;
	if (!argc)
		return ctl_usage(cmd);
	if (!(argc == 1 && !strcmp(argv[0], "off"))) {
		for (int i = 0; i < argc; i++) {
			if (n == KSIP_GUARD_MAX_PORTS) {
				snprintf(what, sizeof(what), "at most %u ports", KSIP_GUARD_MAX_PORTS);
				return ctl_fail("guard set", what);
			}
			if (ctl_parse_u32(argv[i], UINT16_MAX, &v) || !v)
				return ctl_fail("bad port", argv[i]);
			ports[n++] = (uint16_t)v;
		}
	}
	g = ctl_genl_open();
	if (!g)
		return 1;
	r = ksip_genl_guard_set(g, ports, n, err, sizeof(err)) ? ctl_fail("guard set", err) : 0;
	ksip_genl_close(g);
	return r;
}

/* guard show: the ports, then one counter per framing verdict */
int ctl_guard_show(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	char err[KSIP_GENL_ERRLEN];
	struct ksip_guard_info gi;
	struct ksip_genl *g;
	bool json = o->json;
	int r;

	(void)cmd;
	(void)argc;
	(void)argv;	/* takes no arguments: ksipctl.c refuses any */
	g = ctl_genl_open();
	if (!g)
		return 1;
	r = ksip_genl_guard_get(g, &gi, err, sizeof(err));
	ksip_genl_close(g);
	if (r)
		return ctl_fail("guard show", err);
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
