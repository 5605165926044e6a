// SPDX-License-Identifier: GPL-2.0
/*
 * The store: a queue of binding changes, the writer thread that empties it
 * into the backend in batches, and the synchronous user and secret calls.
 * What the disk looks like is the backend's business (backend.h).
 */
#include "store/store.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/log.h"

enum op_kind { OP_UPSERT, OP_DELETE, OP_DELETE_AOR, OP_BAN, OP_UNBAN, OP_USER_ALG };

/* A queued change: one allocation holding its strings (V's aor, contact, callid). */
struct store_op {
	struct list_head node;		/* in store.queue, then in the writer's batch */
	enum op_kind kind;
	time_t expires_at;
	union {
		struct binding_view v;	/* OP_UPSERT, OP_DELETE, OP_DELETE_AOR */
		struct ban_record ban;	/* OP_BAN; OP_UNBAN uses ban.source */
		struct {		/* OP_USER_ALG */
			char name[sizeof(((struct user_record *)0)->name)];
			enum user_last_alg last;
		} user_alg;
	};
	char data[];
};

struct store {
	const struct store_backend_ops *ops;
	void *be;
	pthread_mutex_t be_lock;	/* the backend is shared by the writer and control */

	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;		/* writer wakes up / sync waits */
	struct list_head queue;		/* of store_op, oldest first */
	uint64_t enqueued, committed;
	bool stop;
	uint32_t flush_ms;
	pthread_t writer;
};

static void exec_op(struct store *s, const struct store_op *op)
{
	switch (op->kind) {
	case OP_UPSERT:
		s->ops->save_binding(s->be, &op->v, op->expires_at);
		break;
	case OP_DELETE:
		s->ops->delete_binding(s->be, op->v.aor, op->v.contact);
		break;
	case OP_DELETE_AOR:
		s->ops->delete_aor(s->be, op->v.aor);
		break;
	case OP_BAN:
		s->ops->save_ban(s->be, &op->ban);
		break;
	case OP_UNBAN:
		s->ops->delete_ban(s->be, op->ban.source);
		break;
	case OP_USER_ALG:
		s->ops->save_user_last_alg(s->be, op->user_alg.name, op->user_alg.last);
		break;
	}
}

/* Write one batch in one transaction and free it; returns how many ops it held. */
static uint64_t write_batch(struct store *s, struct list_head *batch)
{
	struct store_op *op, *next;
	uint64_t n = 0;

	pthread_mutex_lock(&s->be_lock);
	s->ops->begin(s->be);
	list_for_each_entry(op, batch, node) {
		exec_op(s, op);
		n++;
	}
	s->ops->commit(s->be);
	pthread_mutex_unlock(&s->be_lock);
	list_for_each_entry_safe(op, next, batch, node)
		free(op);
	return n;
}

/* Move every element of FROM to the empty head TO: TO takes FROM's place in the ring. */
static void take_all(struct list_head *from, struct list_head *to)
{
	list_add(to, from);
	list_del(from);
}

static void *writer_main(void *arg)
{
	struct store *s = arg;

	pthread_mutex_lock(&s->q_lock);
	for (;;) {
		struct list_head batch;
		struct timespec until;
		uint64_t n;

		if (list_empty(&s->queue) && s->stop)
			break;
		if (list_empty(&s->queue)) {
			pthread_cond_wait(&s->q_cond, &s->q_lock);
			continue;
		}
		/* Let a batch accumulate, unless someone is waiting in store_sync(). */
		if (!s->stop) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)s->flush_ms * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&s->q_cond, &s->q_lock, &until);
		}
		take_all(&s->queue, &batch);
		pthread_mutex_unlock(&s->q_lock);
		n = write_batch(s, &batch);
		pthread_mutex_lock(&s->q_lock);
		s->committed += n;
		pthread_cond_broadcast(&s->q_cond);
	}
	pthread_mutex_unlock(&s->q_lock);
	return NULL;
}

struct store *store_open(const struct store_backend_ops *ops, const char *path,
			 uint32_t flush_ms, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ops = ops;
	s->be = ops->open(path, err, errlen);
	if (!s->be) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->be_lock, NULL);
	pthread_mutex_init(&s->q_lock, NULL);
	pthread_cond_init(&s->q_cond, NULL);
	list_init(&s->queue);
	s->flush_ms = flush_ms;
	if (pthread_create(&s->writer, NULL, writer_main, s)) {
		snprintf(err, errlen, "cannot start the database writer");
		ops->close(s->be);
		pthread_mutex_destroy(&s->be_lock);
		pthread_mutex_destroy(&s->q_lock);
		pthread_cond_destroy(&s->q_cond);
		free(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->q_lock);
	s->stop = true;
	pthread_cond_broadcast(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
	pthread_join(s->writer, NULL);	/* it empties the queue before it returns */
	s->ops->close(s->be);
	pthread_mutex_destroy(&s->be_lock);
	pthread_mutex_destroy(&s->q_lock);
	pthread_cond_destroy(&s->q_cond);
	free(s);
}

void store_sync(struct store *s)
{
	uint64_t target;

	if (!s)
		return;
	pthread_mutex_lock(&s->q_lock);
	target = s->enqueued;
	pthread_cond_broadcast(&s->q_cond);
	while (s->committed < target)
		pthread_cond_wait(&s->q_cond, &s->q_lock);
	pthread_mutex_unlock(&s->q_lock);
}

static void enqueue(struct store *s, struct store_op *op)
{
	bool was_empty;

	pthread_mutex_lock(&s->q_lock);
	was_empty = list_empty(&s->queue);
	list_add_tail(&op->node, &s->queue);
	s->enqueued++;
	if (was_empty)
		pthread_cond_signal(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
}

static struct store_op *new_op(enum op_kind kind, const char *aor, const char *contact,
			       const char *callid)
{
	size_t la = strlen(aor) + 1, lc = contact ? strlen(contact) + 1 : 1;
	size_t li = callid ? strlen(callid) + 1 : 1;
	struct store_op *op = malloc(sizeof(*op) + la + lc + li);
	char *p;

	if (!op) {
		/* The in-memory table stays right; only the copy on disk lags. */
		log_err("store: out of memory, binding change of %s not persisted", aor);
		return NULL;
	}
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	p = op->data;
	op->v.aor = memcpy(p, aor, la);
	p += la;
	op->v.contact = memcpy(p, contact ? contact : "", lc);
	p += lc;
	op->v.callid = memcpy(p, callid ? callid : "", li);
	return op;
}

void store_queue_upsert(struct store *s, const struct binding_view *b, time_t expires_at)
{
	struct store_op *op;

	if (!s)
		return;
	op = new_op(OP_UPSERT, b->aor, b->contact, b->callid);
	if (!op)
		return;
	op->expires_at = expires_at;
	op->v.cseq = b->cseq;
	op->v.expires_in = b->expires_in;
	op->v.q = b->q;
	op->v.transport = b->transport;
	op->v.source = b->source;
	enqueue(s, op);
}

void store_queue_delete(struct store *s, const char *aor, const char *contact)
{
	struct store_op *op;

	if (!s)
		return;
	op = new_op(OP_DELETE, aor, contact, NULL);
	if (op)
		enqueue(s, op);
}

void store_queue_delete_aor(struct store *s, const char *aor)
{
	struct store_op *op;

	if (!s)
		return;
	op = new_op(OP_DELETE_AOR, aor, NULL, NULL);
	if (op)
		enqueue(s, op);
}

static void queue_ban_op(struct store *s, enum op_kind kind, const struct ban_record *b,
			 const char *source)
{
	struct store_op *op;

	if (!s)
		return;
	op = calloc(1, sizeof(*op));
	if (!op) {
		log_err("store: out of memory, ban change of %s not persisted", source);
		return;
	}
	op->kind = kind;
	if (b)
		op->ban = *b;
	snprintf(op->ban.source, sizeof(op->ban.source), "%s", source);
	enqueue(s, op);
}

void store_queue_ban(struct store *s, const struct ban_record *b)
{
	queue_ban_op(s, OP_BAN, b, b->source);
}

void store_queue_unban(struct store *s, const char *source)
{
	queue_ban_op(s, OP_UNBAN, NULL, source);
}

void store_queue_user_last_alg(struct store *s, const char *name, enum user_last_alg last)
{
	struct store_op *op;

	if (!s)
		return;
	op = calloc(1, sizeof(*op));
	if (!op) {
		log_err("store: out of memory, last algorithm of %s not persisted", name);
		return;
	}
	op->kind = OP_USER_ALG;
	snprintf(op->user_alg.name, sizeof(op->user_alg.name), "%s", name);
	op->user_alg.last = last;
	enqueue(s, op);
}

/* The user table's persistence hook; ARG is the struct store. */
static void persist_last_alg(void *arg, const char *name, enum user_last_alg last)
{
	store_queue_user_last_alg(arg, name, last);
}

const struct users_persist_ops store_users_persist = {
	.save_last_alg = persist_last_alg,
};

int store_load_bans(struct store *s, time_t now, ban_load_fn fn, void *ctx)
{
	int n;

	pthread_mutex_lock(&s->be_lock);
	n = s->ops->load_bans(s->be, now, fn, ctx);
	pthread_mutex_unlock(&s->be_lock);
	return n;
}

/* The location table's persistence hooks; ARG is the struct store. */
static void persist_save(void *arg, const struct binding_view *b, time_t expires_at)
{
	store_queue_upsert(arg, b, expires_at);
}

static void persist_remove(void *arg, const char *aor, const char *contact)
{
	store_queue_delete(arg, aor, contact);
}

static void persist_remove_aor(void *arg, const char *aor)
{
	store_queue_delete_aor(arg, aor);
}

const struct binding_persist_ops store_binding_persist = {
	.save = persist_save,
	.remove = persist_remove,
	.remove_aor = persist_remove_aor,
};

int store_secret(struct store *s, uint8_t *secret, size_t len)
{
	int r;

	pthread_mutex_lock(&s->be_lock);
	r = s->ops->load_secret(s->be, secret, len);
	if (r > 0) {
		/* First start: a new secret, kept so that nonces outlive a restart. */
		r = RAND_bytes(secret, (int)len) == 1 ? s->ops->save_secret(s->be, secret, len) : -1;
	}
	pthread_mutex_unlock(&s->be_lock);
	return r;
}

int store_named_secret(struct store *s, const char *name, uint8_t *secret, size_t len)
{
	int r;

	pthread_mutex_lock(&s->be_lock);
	r = s->ops->load_meta(s->be, name, secret, len);
	if (r > 0)
		r = RAND_bytes(secret, (int)len) == 1 ? s->ops->save_meta(s->be, name, secret, len) : -1;
	pthread_mutex_unlock(&s->be_lock);
	return r;
}

struct user_filter {
	const char *realm;
	user_load_fn fn;
	void *ctx;
	int skipped;
};

/* HA1 covers the realm: users of another realm cannot log in here. */
static int filter_realm(void *arg, const char *realm, const struct user_record *u)
{
	struct user_filter *f = arg;

	if (strcmp(realm, f->realm)) {
		f->skipped++;
		return -1;
	}
	return f->fn(f->ctx, u);
}

int store_load_users(struct store *s, const char *realm, user_load_fn fn, void *ctx)
{
	struct user_filter f = { realm, fn, ctx, 0 };
	int n;

	pthread_mutex_lock(&s->be_lock);
	n = s->ops->load_users(s->be, filter_realm, &f);
	pthread_mutex_unlock(&s->be_lock);
	if (f.skipped)
		log_warn("%d users belong to another realm than '%s' and were not loaded; "
			 "set their passwords again", f.skipped, realm);
	return n;
}

int store_load_rooms(struct store *s, room_load_fn fn, void *ctx)
{
	int n;

	pthread_mutex_lock(&s->be_lock);
	n = s->ops->load_rooms(s->be, fn, ctx);
	pthread_mutex_unlock(&s->be_lock);
	return n;
}

int store_room_put(struct store *s, const struct room_record *r)
{
	int rc;

	pthread_mutex_lock(&s->be_lock);
	rc = s->ops->put_room(s->be, r);
	pthread_mutex_unlock(&s->be_lock);
	return rc;
}

int store_room_del(struct store *s, const char *name)
{
	int rc;

	pthread_mutex_lock(&s->be_lock);
	rc = s->ops->delete_room(s->be, name);
	pthread_mutex_unlock(&s->be_lock);
	return rc;
}

int store_load_bindings(struct store *s, time_t now, binding_load_fn fn, void *ctx)
{
	int n;

	pthread_mutex_lock(&s->be_lock);
	n = s->ops->load_bindings(s->be, now, fn, ctx);
	pthread_mutex_unlock(&s->be_lock);
	return n;
}

int store_user_put(struct store *s, const char *realm, const struct user_record *u)
{
	int r;

	pthread_mutex_lock(&s->be_lock);
	r = s->ops->put_user(s->be, realm, u);
	pthread_mutex_unlock(&s->be_lock);
	return r;
}

int store_user_del(struct store *s, const char *name)
{
	int r;

	pthread_mutex_lock(&s->be_lock);
	r = s->ops->delete_user(s->be, name);
	pthread_mutex_unlock(&s->be_lock);
	return r;
}

int store_load_pages(struct store *s, page_load_fn fn, void *ctx)
{
	int n;

	pthread_mutex_lock(&s->be_lock);
	n = s->ops->load_pages(s->be, fn, ctx);
	pthread_mutex_unlock(&s->be_lock);
	return n;
}

int store_page_put(struct store *s, const struct page_record *g)
{
	int r;

	pthread_mutex_lock(&s->be_lock);
	r = s->ops->put_page(s->be, g);
	pthread_mutex_unlock(&s->be_lock);
	return r;
}

int store_page_del(struct store *s, const char *name)
{
	int r;

	pthread_mutex_lock(&s->be_lock);
	r = s->ops->delete_page(s->be, name);
	pthread_mutex_unlock(&s->be_lock);
	return r;
}
