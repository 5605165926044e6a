/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Relay port pairs: an even RTP port and the odd RTCP port above it, from a
 * configured range. Next-fit from a rotating cursor, so a pair just released
 * is the last to be handed out again (late packets of an ended call must not
 * land in a new one). Thread-safe.
 */
#ifndef KSIP_PORT_POOL_H
#define KSIP_PORT_POOL_H

#include <stdbool.h>
#include <stdint.h>

struct port_pool;

/* Pairs within [min, max]; NULL when the range holds no pair. */
struct port_pool *port_pool_new(uint16_t min, uint16_t max);
void port_pool_free(struct port_pool *p);

/* An even RTP port (RTCP is +1); -1 when every pair is in use. */
int port_pool_get(struct port_pool *p, uint16_t *rtp);
/* Take the pair at RTP if free (adopting a flow left by an earlier run); false if taken. */
bool port_pool_reserve(struct port_pool *p, uint16_t rtp);
/* Release a pair; false if it was not handed out (a double release is a bug). */
bool port_pool_put(struct port_pool *p, uint16_t rtp);

unsigned int port_pool_in_use(struct port_pool *p);
unsigned int port_pool_size(const struct port_pool *p);

#endif
