/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSIP_LOG_H
#define KSIP_LOG_H

#include <stdbool.h>

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

#endif
