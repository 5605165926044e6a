/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSIPCTL_FLOW_H
#define KSIPCTL_FLOW_H

#include <stdbool.h>

/* "flow ..." and "kstats": ARGV starts at the verb. Returns the exit status. */
int ctl_flow(const char *obj, int argc, char **argv, bool json);

#endif
