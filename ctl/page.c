// SPDX-License-Identifier: GPL-2.0
/*
 * ksipctl page add NAME MEMBER...: one request with every member. ksipd
 * judges the names (a group is no user, its members are) and the count
 * (PAGE_MEMBERS_MAX); ksipctl only keeps the request within one line.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ksip/ctl_proto.h"

int ctl_page_add(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	char req[CTL_MAX_REQUEST];
	size_t len;

	if (argc < 2)
		return ctl_usage(cmd);
	if (!ctl_fields_ok(argc, argv))
		return 1;
	len = (size_t)snprintf(req, sizeof(req), "%s", cmd->request);
	for (int i = 0; i < argc && len < sizeof(req); i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "\t%s", argv[i]);
	if (len >= sizeof(req) - 1)
		return ctl_fail("", "request too long");
	return ctl_ask(o, "%s\n", req);
}
