/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GET /metrics over HTTP (libmicrohttpd, one thread of its own): the
 * counters of `ksipctl stats` and ksip.ko's in Prometheus's text format.
 */
#ifndef KSIP_METRICS_H
#define KSIP_METRICS_H

#include <stddef.h>

struct ksipd;
struct metrics;

/* NULL and nothing started when cfg.metrics_listen is off; *FAILED set when it could not start. */
struct metrics *metrics_start(struct ksipd *d, int *failed);
void metrics_stop(struct metrics *m);

/* The exposition text of D's counters now, malloc'ed (NULL: no memory); *LEN its length. */
char *metrics_render(struct ksipd *d, struct metrics *m, size_t *len);

#endif
