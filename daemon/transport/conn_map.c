// SPDX-License-Identifier: GPL-2.0
#include "transport/conn_map.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

#define MAP_BUCKETS 4096

struct entry {
	struct entry *next;
	struct sockaddr_storage peer;
	struct conn_ref ref;
};

static struct {
	pthread_mutex_t lock;
	unsigned int n;
	struct entry *b[MAP_BUCKETS];
} map = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Address and port only: sockaddr padding must not matter. */
static size_t key_of(const struct sockaddr_storage *ss, unsigned char *k)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		memcpy(k, &a->sin6_addr, 16);
		memcpy(k + 16, &a->sin6_port, 2);
		return 18;
	}
	memcpy(k, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	memcpy(k + 4, &((const struct sockaddr_in *)ss)->sin_port, 2);
	return 6;
}

static bool same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	unsigned char ka[18], kb[18];
	size_t na = key_of(a, ka), nb = key_of(b, kb);

	return a->ss_family == b->ss_family && na == nb && !memcmp(ka, kb, na);
}

static unsigned int bucket(const struct sockaddr_storage *ss)
{
	unsigned char k[18];
	size_t n = key_of(ss, k);

	return (unsigned int)(hash_bytes(k, n) % MAP_BUCKETS);
}

void conn_map_add(const struct sockaddr_storage *peer, int worker, uint64_t id)
{
	struct entry *e = malloc(sizeof(*e));
	unsigned int b = bucket(peer);

	if (!e)
		return;		/* the connection still works; we just cannot send on it */
	e->peer = *peer;
	e->ref = (struct conn_ref){ worker, id };
	pthread_mutex_lock(&map.lock);
	e->next = map.b[b];
	map.b[b] = e;
	map.n++;
	pthread_mutex_unlock(&map.lock);
}

void conn_map_del(const struct sockaddr_storage *peer, uint64_t id)
{
	struct entry **pp, *e;

	pthread_mutex_lock(&map.lock);
	for (pp = &map.b[bucket(peer)]; (e = *pp); pp = &e->next) {
		if (e->ref.id == id && same(&e->peer, peer)) {
			*pp = e->next;
			map.n--;
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&map.lock);
}

bool conn_map_find(const struct sockaddr_storage *peer, struct conn_ref *out)
{
	bool found = false;

	pthread_mutex_lock(&map.lock);
	/* The newest connection from that address wins: it is first in its chain. */
	for (struct entry *e = map.b[bucket(peer)]; e; e = e->next) {
		if (same(&e->peer, peer)) {
			*out = e->ref;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&map.lock);
	return found;
}

unsigned int conn_map_size(void)
{
	unsigned int n;

	pthread_mutex_lock(&map.lock);
	n = map.n;
	pthread_mutex_unlock(&map.lock);
	return n;
}
