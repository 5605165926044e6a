// SPDX-License-Identifier: GPL-2.0
#include "media/port_pool.h"

#include <pthread.h>
#include <stdlib.h>

struct port_pool {
	pthread_mutex_t lock;
	uint16_t first;		/* even */
	unsigned int npairs;
	unsigned int cursor;	/* next pair to try */
	unsigned int in_use;
	uint64_t used[];	/* one bit per pair */
};

struct port_pool *port_pool_new(uint16_t min, uint16_t max)
{
	unsigned int first = (min + 1u) & ~1u, npairs;
	struct port_pool *p;

	if (first == 0)
		first = 2;	/* port 0 means "no port" in SDP and sockets */
	if (first + 1u > max)
		return NULL;
	npairs = (max - first + 1u) / 2;
	p = calloc(1, sizeof(*p) + (npairs + 63) / 64 * sizeof(uint64_t));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->first = (uint16_t)first;
	p->npairs = npairs;
	return p;
}

void port_pool_free(struct port_pool *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int port_pool_get(struct port_pool *p, uint16_t *rtp)
{
	int r = -1;

	pthread_mutex_lock(&p->lock);
	for (unsigned int tried = 0; tried < p->npairs && p->in_use < p->npairs; tried++) {
		unsigned int i = p->cursor;

		p->cursor = (p->cursor + 1) % p->npairs;
		if (p->used[i / 64] & (1ULL << (i % 64)))
			continue;
		p->used[i / 64] |= 1ULL << (i % 64);
		p->in_use++;
		*rtp = (uint16_t)(p->first + 2 * i);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* The pair index of RTP, or -1 when RTP is not the even port of a pair in the range. */
static long pair_index(const struct port_pool *p, uint16_t rtp)
{
	unsigned int i;

	if (rtp < p->first || (rtp - p->first) % 2)
		return -1;
	i = (rtp - p->first) / 2u;
	return i < p->npairs ? (long)i : -1;
}

/* Set the pair's bit to IN_USE if it is not already; true when it changed. */
static bool pair_mark(struct port_pool *p, uint16_t rtp, bool in_use)
{
	long i = pair_index(p, rtp);
	uint64_t bit;
	bool changed = false;

	if (i < 0)
		return false;
	bit = 1ULL << (i % 64);
	pthread_mutex_lock(&p->lock);
	if (!!(p->used[i / 64] & bit) != in_use) {
		p->used[i / 64] ^= bit;
		if (in_use)
			p->in_use++;
		else
			p->in_use--;
		changed = true;
	}
	pthread_mutex_unlock(&p->lock);
	return changed;
}

bool port_pool_reserve(struct port_pool *p, uint16_t rtp)
{
	return pair_mark(p, rtp, true);
}

bool port_pool_put(struct port_pool *p, uint16_t rtp)
{
	return pair_mark(p, rtp, false);
}

unsigned int port_pool_in_use(struct port_pool *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->in_use;
	pthread_mutex_unlock(&p->lock);
	return n;
}

unsigned int port_pool_size(const struct port_pool *p)
{
	return p->npairs;
}
