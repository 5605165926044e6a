// SPDX-License-Identifier: GPL-2.0
/*
 * Until lib/ksip_genl.c implements ksip_genl_flow_set_outputs() (branch
 * fanout), kernel outputs are refused here, so ksipd links. Weak: the
 * library's definition wins as soon as it exists. Goes away with the merge.
 */
#include <errno.h>
#include <stdio.h>

#include "ksip/genl.h"

__attribute__((weak)) int ksip_genl_flow_set_outputs(struct ksip_genl *g,
						     const struct sockaddr_storage *local,
						     const struct ksip_flow_output *outputs,
						     unsigned int n, char *err, size_t errlen)
{
	(void)g;
	(void)local;
	(void)outputs;
	(void)n;
	snprintf(err, errlen, "this libksip cannot set flow outputs");
	return -EOPNOTSUPP;
}
