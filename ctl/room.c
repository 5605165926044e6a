// SPDX-License-Identifier: GPL-2.0
/*
 * ksipctl room add|del|kick|list: conference rooms, judged by ksipd (name,
 * PIN digits, size); --json asks ksipd for JSON whatever the verb.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ksip/ctl_proto.h"

int ctl_room(const struct ctl_cmd *cmd, const struct ctl_opts *o, int argc, char **argv)
{
	const char *json = o->json ? "\tjson" : "";
	bool add = !strcmp(cmd->request, CTL_ROOM_ADD);
	bool kick = !strcmp(cmd->request, CTL_ROOM_KICK);
	char *opt[2] = { (char *)(o->room_pin ? o->room_pin : ""),
			 (char *)(o->room_max ? o->room_max : "") };

	if ((o->room_pin || o->room_max) && !add)
		return ctl_usage(cmd);
	if (argc != (kick ? 2 : 1))
		return ctl_usage(cmd);
	if (!ctl_fields_ok(argc, argv) || !ctl_fields_ok(2, opt))
		return 1;
	/* An empty --pin would read as "no PIN": say so rather than make an open room. */
	if (o->room_pin && !o->room_pin[0])
		return ctl_fail("--pin", "empty (1 to 16 digits)");
	if (o->room_max && !o->room_max[0])
		return ctl_fail("--max", "empty (2 to 64)");
	if (add)
		return ctl_ask(o, "%s\t%s\t%s\t%s%s\n", cmd->request, argv[0], opt[0], opt[1], json);
	if (kick)
		return ctl_ask(o, "%s\t%s\t%s%s\n", cmd->request, argv[0], argv[1], json);
	return ctl_ask(o, "%s\t%s%s\n", cmd->request, argv[0], json);
}
