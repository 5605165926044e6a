/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The userspace relay: four sockets per stream (RTP and RTCP on each leg)
 * in the worker's epoll set (struct ev_handler entries: the loop calls
 * back into user.c), read and written in batches. Private to media/.
 */
#ifndef KSIP_MEDIA_USER_H
#define KSIP_MEDIA_USER_H

#include <stdint.h>

struct ksip_stats;
struct media_output;
struct media_stream;
struct media_relay;

/* Counters (fan-out copies) go to ST. */
struct media_relay *relay_open(const struct media_stream *s, int epfd, struct ksip_stats *st);
/*
 * Close the sockets. The memory stays until relay_free(): epoll may have
 * returned events for these sockets that the worker has not handled yet.
 */
void relay_close(struct media_relay *r, int epfd);
void relay_free(struct media_relay *r);
void relay_counters(const struct media_relay *r, uint64_t pkts[2], uint64_t *last_ms);
/* Forget the source latched on LEG's sockets: the next packet there is latched anew. */
void relay_unlatch(struct media_relay *r, int leg);
/*
 * Copy what LEG sends to O[0..N) (checked by media_outputs_check()): a
 * socket per output and kind bound to its FROM (RTCP: port + 1) and
 * connected to its TO, never read (not in epoll; a connected UDP socket
 * takes datagrams from TO only, and its receive buffer is kept minimal).
 * An output whose FROM is already open keeps its socket and counters. All
 * or nothing: -1 with errno, and the old outputs stay.
 */
int relay_set_outputs(struct media_relay *r, int leg, const struct media_output *o, unsigned int n);
void relay_output_counters(const struct media_relay *r, int leg, unsigned int i, uint64_t *sent,
			   uint64_t *errors);

#endif
