// SPDX-License-Identifier: GPL-2.0
#include "transport/netpath.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ksip/endpoint.h"

/*
 * A small per-thread cache: a call asks the same question for the same few
 * peers several times (Via, Record-Route, SDP), and each answer costs four
 * system calls. Entries live a few seconds so route changes are seen.
 */
#define ROUTE_CACHE 64
#define ROUTE_TTL_S 5

struct route_entry {
	struct sockaddr_storage dst;	/* port 0 */
	struct sockaddr_storage local;
	time_t at;
};

static __thread struct route_entry route_cache[ROUTE_CACHE];

static int route_lookup(const struct sockaddr_storage *dst, struct sockaddr_storage *local);

static unsigned int route_slot(const struct sockaddr_storage *ss)
{
	const unsigned char *p = ss->ss_family == AF_INET6 ?
		(const unsigned char *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		(const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
	size_t n = ss->ss_family == AF_INET6 ? 16 : 4;
	unsigned int h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % ROUTE_CACHE;
}

int netpath_local_toward(const struct sockaddr_storage *dst, struct sockaddr_storage *local)
{
	struct route_entry *e = &route_cache[route_slot(dst)];
	time_t now = time(NULL);

	if (e->at && now - e->at < ROUTE_TTL_S && ksip_endpoint_same_ip(&e->dst, dst)) {
		*local = e->local;
		return 0;
	}
	if (route_lookup(dst, local))
		return -1;
	e->dst = *dst;
	e->local = *local;
	e->at = now;
	return 0;
}

static int route_lookup(const struct sockaddr_storage *dst, struct sockaddr_storage *local)
{
	struct sockaddr_storage d = *dst;
	socklen_t len = sizeof(*local);
	int fd, r;

	/* A connected UDP socket asks the routing table without sending anything. */
	if (!ksip_endpoint_port(&d))
		ksip_endpoint_set_port(&d, 9);
	fd = socket(d.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = connect(fd, (struct sockaddr *)&d, d.ss_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	memset(local, 0, sizeof(*local));	/* callers compare whole structs */
	if (!r)
		r = getsockname(fd, (struct sockaddr *)local, &len);
	close(fd);
	if (r)
		return -1;
	ksip_endpoint_set_port(local, 0);
	return 0;
}

bool netpath_sockaddr(struct sip_span host, uint32_t port, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN + 2];

	if (host.len > 2 && host.p[0] == '[') {
		host.p++;
		host.len -= 2;
	}
	if (!host.len || host.len >= sizeof(buf) || port > 65535)
		return false;
	memcpy(buf, host.p, host.len);
	buf[host.len] = 0;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return true;
	}
	if (inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		return true;
	}
	return false;
}

void netpath_host_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
		snprintf(out, len, "[%s]", ip);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
		snprintf(out, len, "%s", ip);
	}
}

/*
 * The host's addresses, refreshed at most every few seconds (interfaces
 * come and go; a Route check must not call getifaddrs() per request).
 * One copy per thread: workers ask on every in-dialog request and must
 * not meet on a lock for it.
 */
#define LOCAL_MAX 64
#define LOCAL_REFRESH_S 5

static __thread struct {
	time_t loaded;
	int n;
	struct sockaddr_storage addr[LOCAL_MAX];
} locals;

static void locals_refresh(time_t now)
{
	struct ifaddrs *ifa, *i;

	locals.loaded = now;
	locals.n = 0;
	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i && locals.n < LOCAL_MAX; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&locals.addr[locals.n], 0, sizeof(locals.addr[0]));
		memcpy(&locals.addr[locals.n++], i->ifa_addr, i->ifa_addr->sa_family == AF_INET ?
		       sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	}
	freeifaddrs(ifa);
}

static bool in_locals(const struct sockaddr_storage *ss)
{
	for (int i = 0; i < locals.n; i++)
		if (ksip_endpoint_same_ip(&locals.addr[i], ss))
			return true;
	return false;
}

bool netpath_is_local(struct sip_span host)
{
	struct sockaddr_storage ss;
	time_t now = time(NULL);

	if (!netpath_sockaddr(host, 0, &ss))
		return false;
	if (now - locals.loaded >= LOCAL_REFRESH_S)
		locals_refresh(now);
	if (in_locals(&ss))
		return true;
	/* A miss may mean a new address: look again, at most once a second. */
	if (now == locals.loaded)
		return false;
	locals_refresh(now);
	return in_locals(&ss);
}
