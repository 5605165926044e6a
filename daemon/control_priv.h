/* SPDX-License-Identifier: GPL-2.0 */
/* What the files serving ksipctl's commands share (control.c and its command files). */
#ifndef KSIP_CONTROL_PRIV_H
#define KSIP_CONTROL_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "ksipd.h"

/* Growable output buffer for one answer. */
struct answer {
	char *buf;
	size_t len, cap;
};

void ans_printf(struct answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* JSON string body (without quotes), escaping what RFC 8259 requires. */
void ans_json_str(struct answer *a, const char *s);
/* A SIP user part ksipd accepts as a user's (or room's) name. */
bool valid_user_name(const char *s);

/* control_rooms.c: room-add, room-del, room-list, room-kick (F[0] names which). */
void cmd_room(struct ksipd *d, char **f, int n, bool json, struct answer *a);

#endif
