/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory of recently answered non-INVITE requests, so that a UDP
 * retransmission (the 200 was lost) gets the same answer instead of being
 * judged again as a replay or an out-of-order CSeq. Direct-mapped, 16 bytes
 * a slot, one per worker: SO_REUSEPORT steers a client's retransmissions to
 * the worker that saw the original. Entries live for Timer J (64*T1).
 */
#ifndef KSIP_TXN_CACHE_H
#define KSIP_TXN_CACHE_H

#include <stdint.h>
#include <time.h>

#include "sip/msg.h"
#include "sip/reply.h"

#define TXN_LIFETIME 32		/* seconds: 64 * T1 */

struct txn_cache;

struct txn_cache *txn_cache_new(uint32_t slots);
void txn_cache_free(struct txn_cache *c);
uint64_t txn_key(const struct sip_msg *m, const struct sip_source *src);
/* The status code answered for KEY within TXN_LIFETIME, or 0. */
int txn_cache_lookup(const struct txn_cache *c, uint64_t key, time_t now);
void txn_cache_store(struct txn_cache *c, uint64_t key, int code, time_t now);

#endif
