/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NAT keepalives (issue 14; RFC 5626 §3.5 explains why they are needed):
 * a phone behind NAT is reached at the address its REGISTER came from,
 * which stays open only while packets cross the NAT. Every
 * nat_keepalive_interval ksipd sends an OPTIONS to each UDP binding whose
 * Contact is not where its REGISTER came from (Kamailio's nathelper does
 * the same). OPTIONS rather than a CRLF ping: any SIP phone must answer it
 * (RFC 3261 §11), so the answer tells that the phone is still there; a
 * binding whose keepalives go unanswered NAT_KEEPALIVE_MISSES times in a
 * row is removed before its time, and calls to it stop ringing nobody.
 *
 * Bounded: the location table's 64 shards are spread over the interval
 * (one shard every interval/64, each worker taking its own share), and at
 * most NAT_KEEPALIVE_PER_SHARD bindings of a shard are probed per round;
 * the rest are counted in nat_keepalive_skipped. Nothing is queued: each
 * OPTIONS is sent once, without a transaction (the next round is the
 * retransmission).
 */
#ifndef KSIP_PROXY_KEEPALIVE_H
#define KSIP_PROXY_KEEPALIVE_H

#include <stdbool.h>

#include "sip/msg.h"

struct proxy;

#define NAT_KEEPALIVE_MISSES 3
#define NAT_KEEPALIVE_PER_SHARD 1024

/* Send what is due; returns ms until the next shard is due (at most MAX). */
int keepalive_tick(struct proxy *p, int max);
/* Is M an answer to one of our keepalives? Then it is taken (the binding lives on). */
bool keepalive_response(struct proxy *p, const struct sip_msg *m);

#endif
