/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The conference focus (RFC 4579's role) on one worker: ksipd answers an
 * INVITE to a room itself, as the far end of the dialog, and puts the
 * caller's media into the room's mixer (conf.h). The proxy hands it the
 * requests through struct proxy_focus_ops (focus_ops, with the struct
 * focus as argument): initial INVITEs to rooms, and the ACK, BYE,
 * re-INVITE, INFO and OPTIONS of its dialogs.
 *
 * A member of a room with a PIN joins unheard, hearing only the prompt,
 * until it keys the PIN and '#' (RFC 4733 events read from the mixer every
 * FOCUS_POLL_MS, or SIP INFO). Each wrong entry counts as a failed
 * authentication of its source in the shield; FOCUS_PIN_TRIES wrong
 * entries, or FOCUS_PIN_TIMEOUT_MS without the right one, end the call.
 *
 * Everything runs on the worker, under its lock; the control thread takes
 * that lock around focus_kick() and focus_room_closed().
 */
#ifndef KSIP_CONF_FOCUS_H
#define KSIP_CONF_FOCUS_H

#include "proxy/proxy.h"

struct conf;
struct focus;

#define FOCUS_POLL_MS 100
#define FOCUS_PIN_TRIES 3
#define FOCUS_PIN_TIMEOUT_MS 30000
/* An INFO body longer than this is refused (413): a digit takes a few bytes. */
#define FOCUS_INFO_MAX 256

extern const struct proxy_focus_ops focus_ops;

/* The focus of proxy P (its worker's), over the rooms of CF. */
struct focus *focus_new(struct conf *cf, struct proxy *p);
/* Shutting down: members leave their rooms without a BYE (the sockets are gone). */
void focus_free(struct focus *f);

/*
 * BYE (with REASON) to the members of room ROOM whose user is MEMBER
 * (every member when MEMBER is NULL), and they leave. How many.
 */
int focus_kick(struct focus *f, const char *room, const char *member, const char *reason);

#endif
