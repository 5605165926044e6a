// SPDX-License-Identifier: GPL-2.0
/*
 * Drives the nftables shield (daemon/shield/nft.h) for tests/security/test_nft.sh:
 *
 *   nft_helper CONFIG open CMD...
 *
 * runs the commands in order in one process and prints one line per
 * command. Run it only inside a network namespace made for the test
 * (`ip netns exec NS`): it creates and deletes a table in the namespace's
 * ruleset. Commands:
 *
 *   open                 nft_shield_open(); prints "open ok" or "open error: ..."
 *   ban ADDR SECONDS     nft_shield_ban()
 *   unban ADDR           nft_shield_unban()
 *   allow CIDR,CIDR      nft_shield_allow_set()
 *   counters             "counter NAME PACKETS BYTES" for each
 *   present              "present yes|no"
 *   restore              nft_shield_restore()
 *   wait-monitor SECS    poll the monitor fd until monitor_read() says our table went
 *   sleep SECS
 *   close | keep         nft_shield_close(s, false | true), then exit
 *
 * Exit status: 0 when every command succeeded, 1 otherwise.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "shield/nft.h"
#include "ksip/endpoint.h"

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return 0;
	}
	return -1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_monitor(struct nft_shield *s, int secs)
{
	long end = now_ms() + secs * 1000L;
	struct pollfd p = { .fd = nft_shield_monitor_fd(s), .events = POLLIN };

	while (now_ms() < end) {
		if (poll(&p, 1, 100) > 0 && nft_shield_monitor_read(s))
			return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct ksip_config cfg;
	struct nft_shield *s = NULL;
	char err[512];
	int rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: nft_helper CONFIG CMD...\n");
		return 2;
	}
	config_defaults(&cfg);
	if (strcmp(argv[1], "-") && config_load(&cfg, argv[1], err, sizeof(err))) {
		fprintf(stderr, "nft_helper: %s\n", err);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *c = argv[i];
		struct sockaddr_storage ss;

		if (strcmp(c, "open") && !s) {
			printf("%s error: not open\n", c);
			return 1;
		}
		if (!strcmp(c, "open")) {
			s = nft_shield_open(&cfg, err, sizeof(err));
			if (!s) {
				printf("open error: %s\n", err);
				return 1;
			}
			printf("open ok\n");
		} else if (!strcmp(c, "ban") && i + 2 < argc) {
			int r = parse_addr(argv[i + 1], &ss) ? -1 :
				nft_shield_ban(s, &ss, (uint32_t)atoi(argv[i + 2]));

			printf("ban %s %s\n", argv[i + 1], r ? "error" : "ok");
			rc |= r != 0;
			i += 2;
		} else if (!strcmp(c, "unban") && i + 1 < argc) {
			int r = parse_addr(argv[i + 1], &ss) ? -1 : nft_shield_unban(s, &ss);

			printf("unban %s %s\n", argv[i + 1], r ? "error" : "ok");
			rc |= r != 0;
			i++;
		} else if (!strcmp(c, "allow") && i + 1 < argc) {
			struct ksip_cidr v[CONFIG_MAX_CIDRS];
			int n, r;
			char list[1024];

			snprintf(list, sizeof(list), "%s", argv[++i]);
			r = config_parse_cidrs(list, v, CONFIG_MAX_CIDRS, &n) ? -1 :
			    nft_shield_allow_set(s, v, (size_t)n);
			printf("allow %s %s\n", argv[i], r ? "error" : "ok");
			rc |= r != 0;
		} else if (!strcmp(c, "counters")) {
			struct nft_shield_counters ctr;

			if (nft_shield_counters(s, &ctr)) {
				printf("counters error\n");
				rc = 1;
				continue;
			}
			for (int k = 0; k < NFT_SHIELD_NCOUNTERS; k++)
				printf("counter %s %llu %llu\n", nft_shield_counter_desc[k].name,
				       (unsigned long long)ctr.packets[k],
				       (unsigned long long)ctr.bytes[k]);
		} else if (!strcmp(c, "present")) {
			printf("present %s\n", nft_shield_present(s) ? "yes" : "no");
		} else if (!strcmp(c, "restore")) {
			int r = nft_shield_restore(s);

			printf("restore %s\n", r ? "error" : "ok");
			rc |= r != 0;
		} else if (!strcmp(c, "wait-monitor") && i + 1 < argc) {
			int r = wait_monitor(s, atoi(argv[++i]));

			printf("monitor %s\n", r ? "timeout" : "table-gone");
			rc |= r != 0;
		} else if (!strcmp(c, "sleep") && i + 1 < argc) {
			usleep((useconds_t)(atof(argv[++i]) * 1e6));
		} else if (!strcmp(c, "close") || !strcmp(c, "keep")) {
			nft_shield_close(s, !strcmp(c, "keep"));
			printf("%s ok\n", c);
			return rc;
		} else {
			fprintf(stderr, "nft_helper: bad command '%s'\n", c);
			return 2;
		}
	}
	nft_shield_close(s, true);
	return rc;
}
