/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Our own addresses that REGISTERs came in on, numbered. Every binding
 * remembers where its phone reached us (ksipd answers and calls it from
 * there), and there are few such addresses -- the host's own, times the
 * listening ports -- against one binding per phone: a binding keeps a
 * one-byte number into this table instead of 19 bytes of address, port
 * and family (docs/benchmarks.md: the 256-byte budget per binding).
 *
 * Entries are added, never changed or removed, so a number read from a
 * binding (under its shard's lock, which the writer held when it took
 * the number) names its entry for good and is read without a lock.
 */
#ifndef KSIP_STORE_LOCAL_ADDRS_H
#define KSIP_STORE_LOCAL_ADDRS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define LOCAL_ADDRS_MAX 255	/* numbers 1..255 in a uint8_t; 0: none */

struct local_addrs {
	pthread_mutex_t lock;
	unsigned int n;			/* entries in use, ep[0..n) */
	bool full_logged;
	struct sockaddr_storage ep[LOCAL_ADDRS_MAX];	/* family, address and port only */
};

void local_addrs_init(struct local_addrs *t);
void local_addrs_destroy(struct local_addrs *t);
/*
 * SA's number, added when new. 0 when SA is NULL or of no IP family, and
 * when the table is full (logged once): such a binding keeps no local
 * address, as one restored from a store that had none, and replies to it
 * leave from the address the kernel's routing picks.
 */
uint8_t local_addrs_number(struct local_addrs *t, const struct sockaddr *sa);
/* The address of NUM into OUT (family 0 for 0). */
void local_addrs_get(const struct local_addrs *t, uint8_t num, struct sockaddr_storage *out);

#endif
