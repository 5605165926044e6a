/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The media relay of one worker: kernel flows through ksip.ko when it is
 * loaded, else sockets relayed by the worker itself (the safety net, and
 * always for a call whose legs use different address families, which the
 * kernel module refuses). Both latch: the first packet from a leg fixes
 * where the other leg's packets go (symmetric RTP through NAT).
 */
#ifndef KSIP_MEDIA_H
#define KSIP_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include "ksipd.h"

struct proxy;
struct call;
struct media_stream;
struct media;

struct media *media_new(struct ksipd *d, struct proxy *p, int epfd);
void media_free(struct media *m);
/* Shutting down: forget the kernel so live calls' flows stay in place. */
void media_detach_kernel(struct media *m);

/* Allocate the stream's relay port pairs (and userspace sockets). -1 when none is free. */
int media_open(struct media *m, struct call *c, struct media_stream *s);
/* The legs' addresses changed: (re)install forwarding in each direction that is known. */
void media_update(struct media *m, struct call *c, struct media_stream *s);
/* Stop forwarding and release the ports. */
void media_close(struct media *m, struct call *c, struct media_stream *s);
/* The local address of LEG's kernel flow: K = 0 for RTP, 1 for RTCP. */
void media_flow_local(const struct media_stream *s, int leg, int k, struct sockaddr_storage *a);
/* Packets from each leg, and ms since the last packet in either direction. */
void media_counters(struct media *m, struct call *c, struct media_stream *s, uint64_t pkts[2],
		    uint64_t *idle_ms);
/* Free relays closed since the last call: after each epoll batch, under the proxy lock. */
void media_reap(struct media *m);
/* A userspace relay socket is readable. */
void media_readable(struct media *m, void *ref);

/* At start-up: the kernel flows a previous ksipd left in our port range. */
int media_adopt(struct ksipd *d);
/* Release adopted ports whose flows have idled out. Main thread, every few seconds. */
void media_adopt_sweep(struct ksipd *d);

#endif
