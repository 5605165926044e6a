/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSIP_CONTROL_H
#define KSIP_CONTROL_H

#include "ksipd.h"

struct control;

/* Bind cfg.control_socket (mode 0600) and serve it on a thread. */
struct control *control_start(struct ksipd *d);
void control_stop(struct control *c);

#endif
