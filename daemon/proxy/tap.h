/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Recording taps (issue 17): a copy of both directions of every stream of
 * a call to a collector, RTP to its port and RTCP to the port above, made
 * by the relay as fan-out outputs (media_set_outputs()) without touching
 * the call. Copies of what each leg sends come from a relay port pair of
 * their own, taken from the pool per tap, stream and leg, so the collector
 * tells the directions (and streams) apart by source port. The call owns
 * its taps: they end with it, their ports going back to the pool.
 */
#ifndef KSIP_PROXY_TAP_H
#define KSIP_PROXY_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/call_info.h"
#include "sip/sdp.h"

struct proxy;
struct call;

struct call_tap {
	struct sockaddr_storage to;		/* the collector's RTP address (RTCP: port + 1) */
	struct sockaddr_storage from_ip;	/* our address facing it */
	uint16_t port[SDP_MAX_MEDIA][2];	/* copies of leg L of stream I come from here; 0: none */
};

/* Tap C to TO; 0, or -1 with why in ERR (the call is then as it was). */
int tap_add(struct proxy *p, struct call *c, const struct sockaddr_storage *to, char *err,
	    size_t errlen);
/* Remove C's tap to TO, or every tap (TO NULL); how many went. */
int tap_del(struct proxy *p, struct call *c, const struct sockaddr_storage *to);
/* Stream I is open (again) or its SDP changed: taps not yet on it get ports and copies. */
void tap_stream_opened(struct proxy *p, struct call *c, int i);
/* Stream I was closed (media_close: its outputs are gone): its tap ports go back. */
void tap_stream_closed(struct proxy *p, struct call *c, int i);
/* The call's streams are closed: every tap goes, ports back to the pool. */
void tap_end(struct proxy *p, struct call *c);
/*
 * May the relay send copies to TO (a collector, a paged member's media)? A
 * unicast address and a port with room for RTCP above it, and none of
 * ksipd's own relay or SIP ports (copies would be relayed again: a loop).
 * false with why in ERR.
 */
bool tap_dest_ok(const struct proxy *p, const struct sockaddr_storage *to, char *err,
		 size_t errlen);
/* Stream I's tap outputs for LEG into O (room for CALL_TAPS_MAX); how many. */
struct media_output;
unsigned int tap_outputs_of(const struct call *c, int i, int leg, struct media_output *o);
/* For `call list`: C's taps and the copies the userspace relay sent to each. */
void tap_info(const struct call *c, struct call_info *ci);

#endif
