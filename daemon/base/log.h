/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSIP_LOG_H
#define KSIP_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(enum log_level level, bool use_syslog);
int log_level_parse(const char *s);	/* -1 when unknown */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern enum log_level log_current_level;

#define log_err(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
/* Debug lines are built only when enabled: they sit on the request path. */
#define log_debug(...) \
	do { if (log_current_level >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

/*
 * Lines a peer can make us write (a rejected request, a call set up) get a
 * budget per second for each kind: past it they are counted, not written,
 * and the next line of that kind that is written says how many were not.
 * A flood costs a few lines a second and a mutex, never the disk.
 */
#define LOG_LIMIT_PER_SECOND 20

struct log_limit {
	pthread_mutex_t lock;
	uint64_t second;	/* the second LINES counts for (monotonic) */
	unsigned int lines;
	uint64_t suppressed;	/* since the last line of this kind written */
};

#define LOG_LIMIT_INIT { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0 }

void log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
