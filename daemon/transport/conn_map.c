// SPDX-License-Identifier: GPL-2.0
#include "transport/conn_map.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

#define MAP_BUCKETS 4096
#define SOURCE_BUCKETS 4096

struct entry {
	struct entry *next;
	struct sockaddr_storage peer;
	struct conn_ref ref;
	bool alias;		/* a second name of a connection (RFC 5923): not counted per source */
};

/* Connections from one source; freed with its last connection, so at most one per connection. */
struct source {
	struct source *next;
	unsigned char key[9];	/* family, then 4 bytes of IPv4 or the 8 of an IPv6 /64 */
	unsigned int n;
};

static struct {
	pthread_mutex_t lock;
	unsigned int n;
	struct entry *b[MAP_BUCKETS];
	struct source *src[SOURCE_BUCKETS];
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

/*
 * A source: the IPv4 address, or the IPv6 /64 (a host gets a whole /64,
 * so counting single IPv6 addresses would cap nothing).
 */
static void source_key(const struct sockaddr_storage *ss, unsigned char k[9])
{
	memset(k, 0, 9);
	k[0] = ss->ss_family == AF_INET6 ? 6 : 4;
	if (ss->ss_family == AF_INET6)
		memcpy(k + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 8);
	else
		memcpy(k + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
}

/* Under map.lock. */
static struct source **source_slot(const unsigned char k[9])
{
	struct source **pp = &map.src[hash_bytes(k, 9) % SOURCE_BUCKETS];

	while (*pp && memcmp((*pp)->key, k, 9))
		pp = &(*pp)->next;
	return pp;
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

static enum conn_map_result add(const struct sockaddr_storage *peer, int worker, uint64_t id,
				void *conn, unsigned int max_per_source, bool unique)
{
	struct entry *e = malloc(sizeof(*e));
	unsigned int b = bucket(peer);
	unsigned char k[9];
	struct source **sp, *s;

	if (!e)
		return CONN_MAP_NOMEM;
	e->peer = *peer;
	e->ref = (struct conn_ref){ worker, id, conn };
	e->alias = false;
	source_key(peer, k);
	pthread_mutex_lock(&map.lock);
	if (unique) {
		for (struct entry *o = map.b[b]; o; o = o->next) {
			if (same(&o->peer, peer)) {
				pthread_mutex_unlock(&map.lock);
				free(e);
				return CONN_MAP_EXISTS;
			}
		}
	}
	sp = source_slot(k);
	s = *sp;
	if (s && s->n >= max_per_source) {
		pthread_mutex_unlock(&map.lock);
		free(e);
		return CONN_MAP_SOURCE_FULL;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&map.lock);
			free(e);
			return CONN_MAP_NOMEM;
		}
		memcpy(s->key, k, sizeof(s->key));
		*sp = s;
	}
	s->n++;
	e->next = map.b[b];
	map.b[b] = e;
	map.n++;
	pthread_mutex_unlock(&map.lock);
	return CONN_MAP_OK;
}

enum conn_map_result conn_map_add(const struct sockaddr_storage *peer, int worker, uint64_t id,
				  void *conn, unsigned int max_per_source)
{
	return add(peer, worker, id, conn, max_per_source, false);
}

enum conn_map_result conn_map_add_alias(const struct sockaddr_storage *alias, int worker, uint64_t id,
					void *conn)
{
	struct entry *e = malloc(sizeof(*e));
	unsigned int b = bucket(alias);

	if (!e)
		return CONN_MAP_NOMEM;
	e->peer = *alias;
	e->ref = (struct conn_ref){ worker, id, conn };
	e->alias = true;
	pthread_mutex_lock(&map.lock);
	for (struct entry *o = map.b[b]; o; o = o->next) {
		if (same(&o->peer, alias)) {
			pthread_mutex_unlock(&map.lock);
			free(e);
			return CONN_MAP_EXISTS;
		}
	}
	e->next = map.b[b];
	map.b[b] = e;
	map.n++;
	pthread_mutex_unlock(&map.lock);
	return CONN_MAP_OK;
}

enum conn_map_result conn_map_add_new(const struct sockaddr_storage *peer, int worker, uint64_t id,
				      void *conn, unsigned int max_per_source)
{
	return add(peer, worker, id, conn, max_per_source, true);
}

void conn_map_del(const struct sockaddr_storage *peer, uint64_t id)
{
	struct entry **pp, *e;
	unsigned char k[9];

	source_key(peer, k);
	pthread_mutex_lock(&map.lock);
	for (pp = &map.b[bucket(peer)]; (e = *pp); pp = &e->next) {
		if (e->ref.id == id && same(&e->peer, peer)) {
			struct source **sp = source_slot(k), *s = *sp;
			bool alias = e->alias;

			*pp = e->next;
			map.n--;
			free(e);
			if (!alias && s && !--s->n) {
				*sp = s->next;
				free(s);
			}
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

unsigned int conn_map_source_count(const struct sockaddr_storage *peer)
{
	unsigned char k[9];
	unsigned int n;

	source_key(peer, k);
	pthread_mutex_lock(&map.lock);
	n = *source_slot(k) ? (*source_slot(k))->n : 0;
	pthread_mutex_unlock(&map.lock);
	return n;
}
