/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The userspace relay: four sockets per stream (RTP and RTCP on each leg)
 * in the worker's epoll set (struct ev_handler entries: the loop calls
 * back into user.c), read and written in batches. Private to media/.
 */
#ifndef KSIP_MEDIA_USER_H
#define KSIP_MEDIA_USER_H

#include <stdint.h>

struct media_stream;
struct media_relay;

struct media_relay *relay_open(const struct media_stream *s, int epfd);
/*
 * Close the sockets. The memory stays until relay_free(): epoll may have
 * returned events for these sockets that the worker has not handled yet.
 */
void relay_close(struct media_relay *r, int epfd);
void relay_free(struct media_relay *r);
void relay_counters(const struct media_relay *r, uint64_t pkts[2], uint64_t *last_ms);

#endif
