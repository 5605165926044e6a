// SPDX-License-Identifier: GPL-2.0
#include "store/location.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "store/local_addrs.h"

#define LOC_SHARDS LOCATION_SHARDS
#define LOC_INITIAL_BUCKETS 256

/*
 * One allocation per binding: the fixed part below, then the contact URI
 * and the Call-ID, each NUL-terminated. The source address is kept in a
 * packed form (16 bytes of address, family, port) rather than a 128-byte
 * sockaddr_storage; our address the REGISTER came in on, shared by many
 * bindings, as its number in the location's table (store/local_addrs.h).
 */
struct binding {
	struct binding *next;
	uint32_t expires;	/* absolute, seconds since the epoch */
	uint32_t cseq;
	uint16_t q;
	uint8_t transport;
	uint8_t src_family;
	uint16_t src_port;	/* network order */
	uint8_t probes_unanswered;	/* NAT keepalives in a row without an answer */
	uint8_t local;		/* local_addrs number; 0: none */
	uint16_t contact_len;
	uint16_t callid_len;
	uint8_t src_addr[16];
	char data[];
};

/* docs/benchmarks.md counts on it: 44 bytes before the strings. */
_Static_assert(offsetof(struct binding, data) == 44, "a binding's fixed part is 44 bytes");

struct aor {
	struct aor *next;
	struct binding *bindings;
	uint32_t hash;
	uint16_t nbindings;
	char name[];
};

struct loc_shard {
	pthread_mutex_t lock;
	struct aor **buckets;
	uint32_t nbuckets;
	uint32_t naors;
	uint64_t nbindings;
	uint64_t bytes;
} __attribute__((aligned(64)));

struct location {
	struct loc_shard shard[LOC_SHARDS];
	struct local_addrs locals;	/* our addresses the bindings came in on */
	const struct binding_persist_ops *persist;	/* NULL: nothing to report */
	void *persist_arg;
};

static const char *b_contact(const struct binding *b)
{
	return b->data;
}

static const char *b_callid(const struct binding *b)
{
	return b->data + b->contact_len + 1;
}

static size_t b_size(const struct binding *b)
{
	return offsetof(struct binding, data) + b->contact_len + 1u + b->callid_len + 1u;
}

struct location *location_new(const struct binding_persist_ops *persist, void *arg)
{
	struct location *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->persist = persist;
	l->persist_arg = arg;
	local_addrs_init(&l->locals);
	for (int i = 0; i < LOC_SHARDS; i++) {
		struct loc_shard *s = &l->shard[i];

		pthread_mutex_init(&s->lock, NULL);
		s->nbuckets = LOC_INITIAL_BUCKETS;
		s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
		if (!s->buckets)
			abort();
	}
	return l;
}

static void free_aor(struct aor *a)
{
	struct binding *b = a->bindings, *n;

	for (; b; b = n) {
		n = b->next;
		free(b);
	}
	free(a);
}

void location_free(struct location *l)
{
	if (!l)
		return;
	for (int i = 0; i < LOC_SHARDS; i++) {
		struct loc_shard *s = &l->shard[i];

		for (uint32_t b = 0; b < s->nbuckets; b++) {
			struct aor *a = s->buckets[b], *n;

			for (; a; a = n) {
				n = a->next;
				free_aor(a);
			}
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	local_addrs_destroy(&l->locals);
	free(l);
}

/* Report a change for persistence; called with the shard lock held. */
static void report_save(struct location *l, const struct binding_view *v, time_t expires_at)
{
	if (l->persist)
		l->persist->save(l->persist_arg, v, expires_at);
}

static void report_remove(struct location *l, const char *aor, const char *contact)
{
	if (l->persist)
		l->persist->remove(l->persist_arg, aor, contact);
}

static void report_remove_aor(struct location *l, const char *aor)
{
	if (l->persist)
		l->persist->remove_aor(l->persist_arg, aor);
}

static struct loc_shard *shard_of(struct location *l, const char *aor, uint32_t *h)
{
	*h = (uint32_t)hash_bytes(aor, strlen(aor));
	return &l->shard[*h % LOC_SHARDS];
}

static struct aor **find_aor(struct loc_shard *s, uint32_t h, const char *name)
{
	struct aor **pp = &s->buckets[(h / LOC_SHARDS) % s->nbuckets];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && !strcmp((*pp)->name, name))
			break;
	return pp;
}

static void grow(struct loc_shard *s)
{
	uint32_t n = s->nbuckets * 2;
	struct aor **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (uint32_t i = 0; i < s->nbuckets; i++) {
		struct aor *a = s->buckets[i], *next;

		for (; a; a = next) {
			uint32_t k = (a->hash / LOC_SHARDS) % n;

			next = a->next;
			a->next = nb[k];
			nb[k] = a;
		}
	}
	s->bytes += (n - s->nbuckets) * sizeof(*nb);
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

static struct aor *get_or_add_aor(struct loc_shard *s, uint32_t h, const char *name)
{
	struct aor **pp = find_aor(s, h, name), *a;
	size_t n = strlen(name) + 1;

	if (*pp)
		return *pp;
	a = calloc(1, offsetof(struct aor, name) + n);
	if (!a)
		return NULL;
	a->hash = h;
	memcpy(a->name, name, n);
	*pp = a;
	s->naors++;
	s->bytes += offsetof(struct aor, name) + n;
	if (s->naors > s->nbuckets * 2)
		grow(s);
	return a;
}

static void drop_aor_if_empty(struct loc_shard *s, struct aor *a)
{
	struct aor **pp;

	if (a->bindings)
		return;
	pp = find_aor(s, a->hash, a->name);
	*pp = a->next;
	s->naors--;
	s->bytes -= offsetof(struct aor, name) + strlen(a->name) + 1;
	free(a);
}

static void unlink_binding(struct loc_shard *s, struct aor *a, struct binding **pp)
{
	struct binding *b = *pp;

	*pp = b->next;
	a->nbindings--;
	s->nbindings--;
	s->bytes -= b_size(b);
	free(b);
}

static void pack_addr(const struct sockaddr *sa, uint8_t *family, uint16_t *port, uint8_t addr[16])
{
	memset(addr, 0, 16);
	*family = 0;
	*port = 0;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;

		*family = AF_INET;
		memcpy(addr, &a4->sin_addr, 4);
		*port = a4->sin_port;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;

		*family = AF_INET6;
		memcpy(addr, &a6->sin6_addr, 16);
		*port = a6->sin6_port;
	}
}

static void unpack_addr(uint8_t family, uint16_t port, const uint8_t addr[16],
			struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		memcpy(&a4->sin_addr, addr, 4);
		a4->sin_port = port;
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		memcpy(&a6->sin6_addr, addr, 16);
		a6->sin6_port = port;
	}
}

static void pack_source(struct location *l, struct binding *b, const struct sockaddr *src,
			const struct sockaddr *local)
{
	pack_addr(src, &b->src_family, &b->src_port, b->src_addr);
	b->local = local_addrs_number(&l->locals, local);
}

static void unpack_source(const struct location *l, const struct binding *b,
			  struct sockaddr_storage *ss, struct sockaddr_storage *local)
{
	unpack_addr(b->src_family, b->src_port, b->src_addr, ss);
	local_addrs_get(&l->locals, b->local, local);
}

static void view_of(const struct location *l, const struct aor *a, const struct binding *b,
		    time_t now, struct binding_view *v)
{
	v->aor = a->name;
	v->contact = b_contact(b);
	v->callid = b_callid(b);
	v->cseq = b->cseq;
	v->expires_in = b->expires > now ? (uint32_t)(b->expires - now) : 0;
	v->q = b->q;
	v->transport = (enum ksip_transport)b->transport;
	unpack_source(l, b, &v->source, &v->local);
}

static struct binding *new_binding(const char *contact, size_t clen, const char *callid,
				   size_t cidlen)
{
	struct binding *b;

	if (clen > UINT16_MAX || cidlen > UINT16_MAX)
		return NULL;
	b = malloc(offsetof(struct binding, data) + clen + 1 + cidlen + 1);
	if (!b)
		return NULL;
	b->contact_len = (uint16_t)clen;
	b->callid_len = (uint16_t)cidlen;
	b->probes_unanswered = 0;	/* a refresh is an answer too */
	memcpy(b->data, contact, clen);
	b->data[clen] = 0;
	memcpy(b->data + clen + 1, callid, cidlen);
	b->data[clen + 1 + cidlen] = 0;
	return b;
}

static struct binding **find_binding(struct aor *a, struct sip_span uri)
{
	struct binding **pp = &a->bindings;

	/* Contact URIs are compared byte for byte; see docs/architecture.md. */
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->contact_len == uri.len && !memcmp((*pp)->data, uri.p, uri.len))
			break;
	return pp;
}

static bool same_callid(const struct binding *b, struct sip_span callid)
{
	return b->callid_len == callid.len && !memcmp(b_callid(b), callid.p, callid.len);
}

/* Remove bindings whose time is up; report their deletion. */
static void prune(struct location *l, struct loc_shard *s, struct aor *a, time_t now)
{
	struct binding **pp = &a->bindings;

	while (*pp) {
		if ((*pp)->expires <= now) {
			report_remove(l, a->name, b_contact(*pp));
			unlink_binding(s, a, pp);
		} else {
			pp = &(*pp)->next;
		}
	}
}

/* §10.3 step 7: may this request change the binding? */
static bool cseq_allows(const struct binding *b, const struct loc_request *rq)
{
	return !same_callid(b, rq->callid) || rq->cseq > b->cseq;
}

/* All or nothing (§10.3 step 7): may every change of RQ be made? A is NULL for a new AOR. */
static enum loc_result validate(struct aor *a, const struct loc_request *rq)
{
	uint32_t after = a ? a->nbindings : 0;

	if (rq->remove_all) {
		for (struct binding *b = a ? a->bindings : NULL; b; b = b->next)
			if (!cseq_allows(b, rq))
				return LOC_E_STALE_CSEQ;
		return LOC_OK;
	}
	for (int i = 0; i < rq->ncontacts; i++) {
		struct binding *b = a ? *find_binding(a, rq->contacts[i].uri) : NULL;

		if (b && !cseq_allows(b, rq))
			return LOC_E_STALE_CSEQ;
		if (!b && rq->contacts[i].expires)
			after++;
		else if (b && !rq->contacts[i].expires)
			after--;
	}
	/* A new AOR is held to max_contacts too, not only one that already has bindings. */
	return after > rq->max_contacts ? LOC_E_TOO_MANY : LOC_OK;
}

static enum loc_result upsert(struct location *l, struct loc_shard *s, struct aor *a,
			      const struct loc_request *rq, const struct loc_contact *c)
{
	struct binding **pp = find_binding(a, c->uri), *b;
	struct binding_view v;

	if (!c->expires) {
		if (*pp) {
			report_remove(l, a->name, b_contact(*pp));
			unlink_binding(s, a, pp);
		}
		return LOC_OK;
	}
	b = new_binding(c->uri.p, c->uri.len, rq->callid.p, rq->callid.len);
	if (!b)
		return LOC_E_NOMEM;
	b->expires = (uint32_t)(rq->now + c->expires);
	b->cseq = rq->cseq;
	b->q = c->q;
	b->transport = (uint8_t)rq->transport;
	pack_source(l, b, rq->src, rq->local);
	if (*pp) {
		/* Replace in place so the list keeps its order. */
		struct binding *old = *pp;

		b->next = old->next;
		*pp = b;
		s->bytes -= b_size(old);
		free(old);
	} else {
		b->next = NULL;
		*pp = b;
		a->nbindings++;
		s->nbindings++;
	}
	s->bytes += b_size(b);
	view_of(l, a, b, rq->now, &v);
	report_save(l, &v, b->expires);
	return LOC_OK;
}

enum loc_result location_apply(struct location *l, const struct loc_request *rq,
			       binding_fn emit, void *ctx)
{
	uint32_t h;
	struct loc_shard *s = shard_of(l, rq->aor, &h);
	struct aor *a;
	enum loc_result r = LOC_OK;
	bool adds = false;

	for (int i = 0; i < rq->ncontacts; i++)
		adds |= rq->contacts[i].expires > 0;

	pthread_mutex_lock(&s->lock);
	a = *find_aor(s, h, rq->aor);
	if (a)
		prune(l, s, a, rq->now);
	r = validate(a, rq);
	if (r != LOC_OK)
		goto out;
	if (!a && adds) {
		a = get_or_add_aor(s, h, rq->aor);
		if (!a) {
			r = LOC_E_NOMEM;
			goto out;
		}
	}
	if (!a)
		goto out;
	if (rq->remove_all) {
		while (a->bindings) {
			report_remove(l, a->name, b_contact(a->bindings));
			unlink_binding(s, a, &a->bindings);
		}
	}
	for (int i = 0; i < rq->ncontacts && r == LOC_OK; i++)
		r = upsert(l, s, a, rq, &rq->contacts[i]);
	if (emit) {
		struct binding_view v;

		for (struct binding *b = a->bindings; b; b = b->next) {
			view_of(l, a, b, rq->now, &v);
			emit(ctx, &v);
		}
	}
	drop_aor_if_empty(s, a);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int location_restore(struct location *l, const struct binding_view *v, time_t expires_at)
{
	uint32_t h;
	struct loc_shard *s = shard_of(l, v->aor, &h);
	struct aor *a;
	struct binding *b;
	struct sip_span uri = { v->contact, (uint32_t)strlen(v->contact) };
	int r = -1;

	pthread_mutex_lock(&s->lock);
	a = get_or_add_aor(s, h, v->aor);
	if (!a || *find_binding(a, uri))
		goto out;
	b = new_binding(v->contact, uri.len, v->callid, strlen(v->callid));
	if (!b)
		goto out;
	b->expires = (uint32_t)expires_at;
	b->cseq = v->cseq;
	b->q = v->q;
	b->transport = (uint8_t)v->transport;
	pack_source(l, b, (const struct sockaddr *)&v->source, (const struct sockaddr *)&v->local);
	b->next = a->bindings;
	a->bindings = b;
	a->nbindings++;
	s->nbindings++;
	s->bytes += b_size(b);
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

void location_foreach(struct location *l, time_t now, binding_fn fn, void *ctx)
{
	struct binding_view v;

	for (int i = 0; i < LOC_SHARDS; i++) {
		struct loc_shard *s = &l->shard[i];

		pthread_mutex_lock(&s->lock);
		for (uint32_t k = 0; k < s->nbuckets; k++)
			for (struct aor *a = s->buckets[k]; a; a = a->next)
				for (struct binding *b = a->bindings; b; b = b->next) {
					if (b->expires <= now)
						continue;
					view_of(l, a, b, now, &v);
					fn(ctx, &v);
				}
		pthread_mutex_unlock(&s->lock);
	}
}

int location_lookup(struct location *l, const char *aor, time_t now, binding_fn fn, void *ctx)
{
	uint32_t h;
	struct loc_shard *s = shard_of(l, aor, &h);
	struct aor *a;
	struct binding_view v;
	int n = 0;

	pthread_mutex_lock(&s->lock);
	a = *find_aor(s, h, aor);
	for (struct binding *b = a ? a->bindings : NULL; b; b = b->next) {
		if (b->expires <= now)
			continue;
		view_of(l, a, b, now, &v);
		if (fn)
			fn(ctx, &v);
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int location_remove_aor(struct location *l, const char *aor)
{
	uint32_t h;
	struct loc_shard *s = shard_of(l, aor, &h);
	struct aor *a;
	int n = 0;

	pthread_mutex_lock(&s->lock);
	a = *find_aor(s, h, aor);
	if (a) {
		while (a->bindings) {
			unlink_binding(s, a, &a->bindings);
			n++;
		}
		report_remove_aor(l, aor);
		drop_aor_if_empty(s, a);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int location_expire(struct location *l, time_t now)
{
	int n = 0;

	for (int i = 0; i < LOC_SHARDS; i++) {
		struct loc_shard *s = &l->shard[i];

		pthread_mutex_lock(&s->lock);
		for (uint32_t k = 0; k < s->nbuckets; k++) {
			struct aor *a = s->buckets[k], *next;

			for (; a; a = next) {
				uint16_t before = a->nbindings;

				next = a->next;
				prune(l, s, a, now);
				n += before - a->nbindings;
				drop_aor_if_empty(s, a);
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}

void location_usage(struct location *l, struct location_usage *u)
{
	memset(u, 0, sizeof(*u));
	for (int i = 0; i < LOC_SHARDS; i++) {
		struct loc_shard *s = &l->shard[i];

		pthread_mutex_lock(&s->lock);
		u->aors += s->naors;
		u->bindings += s->nbindings;
		u->bytes += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
}

/* --- NAT keepalives ------------------------------------------------------ */

uint64_t location_probe_token(const char *aor, const char *contact)
{
	return hash_mac(hash_mac(0, aor, strlen(aor) + 1), contact, strlen(contact));
}

int location_probe_shard(struct location *l, unsigned int shard, time_t now,
			 const struct loc_probe *pr)
{
	struct loc_shard *s = &l->shard[shard % LOC_SHARDS];
	struct binding_view v;
	unsigned int seen = 0;

	pthread_mutex_lock(&s->lock);
	for (uint32_t k = 0; k < s->nbuckets; k++) {
		struct aor *a = s->buckets[k], *next;

		for (; a; a = next) {
			struct binding **pp = &a->bindings;

			next = a->next;
			while (*pp) {
				struct binding *b = *pp;

				if (b->expires <= now) {
					pp = &b->next;
					continue;
				}
				if (seen >= pr->max) {
					(*pr->skipped)++;
					pp = &b->next;
					continue;
				}
				view_of(l, a, b, now, &v);
				if (!pr->wants(pr->ctx, &v)) {
					pp = &b->next;
					continue;
				}
				seen++;
				if (b->probes_unanswered >= pr->max_unanswered) {
					/* It stopped answering: gone before its time. */
					report_remove(l, a->name, b_contact(b));
					unlink_binding(s, a, pp);
					(*pr->expired)++;
					continue;
				}
				if (pr->send(pr->ctx, &v) && b->probes_unanswered < UINT8_MAX)
					b->probes_unanswered++;
				pp = &b->next;
			}
			drop_aor_if_empty(s, a);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return (int)seen;
}

bool location_probe_answered(struct location *l, const char *aor, uint64_t token)
{
	uint32_t h;
	struct loc_shard *s = shard_of(l, aor, &h);
	struct aor *a;
	bool found = false;

	pthread_mutex_lock(&s->lock);
	a = *find_aor(s, h, aor);
	for (struct binding *b = a ? a->bindings : NULL; b; b = b->next)
		if (location_probe_token(aor, b_contact(b)) == token) {
			b->probes_unanswered = 0;
			found = true;
		}
	pthread_mutex_unlock(&s->lock);
	return found;
}
