// SPDX-License-Identifier: GPL-2.0
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

enum log_level log_current_level = LOG_LVL_INFO;
static bool log_syslog;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(enum log_level level, bool use_syslog)
{
	log_current_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog("ksipd", LOG_PID, LOG_DAEMON);
}

int log_level_parse(const char *s)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	return -1;
}

/*
 * LINE may quote what a peer sent (a user name, a header): control bytes
 * become '?', so nobody can write a line of their own or a terminal escape.
 */
static void write_line(enum log_level level, char *line)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	struct timespec ts;
	struct tm tm;

	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';

	if (log_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld ksipd %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, level_names[level], line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log_current_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	write_line(level, line);
}

void log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec now;
	uint64_t missed;
	va_list ap;
	int n;

	if (level > log_current_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&l->lock);
	if (l->second != (uint64_t)now.tv_sec) {
		l->second = (uint64_t)now.tv_sec;
		l->lines = 0;
	}
	if (l->lines >= LOG_LIMIT_PER_SECOND) {
		l->suppressed++;
		pthread_mutex_unlock(&l->lock);
		return;
	}
	l->lines++;
	missed = l->suppressed;
	l->suppressed = 0;
	pthread_mutex_unlock(&l->lock);

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (missed) {
		/* The count matters more than the end of a line too long. */
		size_t at = n >= 0 && (size_t)n < sizeof(line) - 64 ? (size_t)n : sizeof(line) - 64;

		snprintf(line + at, sizeof(line) - at, " (and %llu similar lines not logged)",
			 (unsigned long long)missed);
	}
	write_line(level, line);
}
