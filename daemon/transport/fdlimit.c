// SPDX-License-Identifier: GPL-2.0
#include "transport/fdlimit.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "base/log.h"

uint64_t fdlimit_current(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	return rl.rlim_cur == RLIM_INFINITY ? UINT32_MAX : (uint64_t)rl.rlim_cur;
}

uint64_t fdlimit_raise(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		log_warn("descriptors: getrlimit: %s", strerror(errno));
		return 1024;
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			log_warn("descriptors: cannot raise the soft limit %llu to the hard limit "
				 "%llu: %s", (unsigned long long)was,
				 (unsigned long long)rl.rlim_max, strerror(errno));
			rl.rlim_cur = was;
		}
	}
	log_info("descriptors: soft limit %llu (was %llu), hard limit %llu",
		 (unsigned long long)rl.rlim_cur, (unsigned long long)was,
		 (unsigned long long)rl.rlim_max);
	return fdlimit_current();
}

unsigned int fdlimit_in_use(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;
	struct dirent *e;

	if (!d)
		return 64;	/* no /proc: a guess on the safe side */
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0;	/* not the descriptor of D itself */
}

unsigned int fdlimit_tcp_cap(uint64_t nofile, unsigned int in_use, unsigned int media_ports)
{
	uint64_t spare, media;

	if (nofile <= (uint64_t)in_use + FDLIMIT_SLACK)
		return 1;
	spare = nofile - in_use - FDLIMIT_SLACK;
	media = media_ports < spare / 2 ? media_ports : spare / 2;
	spare -= media;
	if (spare > FDLIMIT_TCP_AUTO_MAX)
		return FDLIMIT_TCP_AUTO_MAX;
	return spare ? (unsigned int)spare : 1;
}
