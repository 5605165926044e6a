// SPDX-License-Identifier: GPL-2.0
/*
 * log_limited(): a flood of one kind of line writes at most
 * LOG_LIMIT_PER_SECOND a second, and the next line written says exactly
 * how many were not; other levels and other kinds are untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "tap.h"

static char path[] = "/tmp/ksip-test-log-XXXXXX";

/* Lines of the captured stderr holding NEEDLE; the count in "(and N similar" lines into *NOT. */
static int lines_with(const char *needle, unsigned long long *not)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;

	*not = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *a = strstr(line, "(and ");
		unsigned long long k;

		if (!strstr(line, needle))
			continue;
		n++;
		if (a && sscanf(a, "(and %llu similar lines not logged)", &k) == 1)
			*not += k;
	}
	fclose(f);
	return n;
}

int main(void)
{
	static struct log_limit flood = LOG_LIMIT_INIT, other = LOG_LIMIT_INIT;
	int fd = mkstemp(path), saved = dup(2), written;
	unsigned long long not;

	if (fd < 0 || saved < 0)
		return 1;
	dup2(fd, 2);
	log_init(LOG_LVL_DEBUG, false);
	for (int i = 0; i < 1000; i++)
		log_limited(&flood, LOG_LVL_DEBUG, "flood line %d", i);
	log_limited(&other, LOG_LVL_DEBUG, "another kind");
	log_limited(&flood, LOG_LVL_INFO, "flood line at info");	/* same budget */
	log_init(LOG_LVL_INFO, false);
	log_limited(&other, LOG_LVL_DEBUG, "debug while at info");
	sleep(1);	/* the next second: a fresh budget */
	log_init(LOG_LVL_DEBUG, false);
	log_limited(&flood, LOG_LVL_DEBUG, "flood line after a second");
	fflush(stderr);
	dup2(saved, 2);

	written = lines_with("flood line", &not);
	ok(written >= 2 && written <= 2 * LOG_LIMIT_PER_SECOND + 1,
	   "1,002 lines of one kind: %d written (at most %d a second)", written,
	   LOG_LIMIT_PER_SECOND);
	ok((unsigned long long)written + not == 1002,
	   "written + the counts reported as not logged = 1,002 exactly (%d + %llu)", written, not);
	ok(lines_with("flood line after a second", &not) == 1 && not > 0,
	   "the first line of the next second says how many were not logged (%llu)", not);
	ok(lines_with("another kind", &not) == 1 && not == 0,
	   "another kind of line has a budget of its own");
	ok(lines_with("debug while at info", &not) == 0, "below the level in force: nothing, not counted");
	unlink(path);
	return tap_done();
}
