// SPDX-License-Identifier: GPL-2.0
#include "media/media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/stats.h"
#include "base/timer.h"
#include "ksip/endpoint.h"
#include "ksip/genl.h"
#include "media/fanout.h"
#include "media/port_pool.h"
#include "media/user.h"
#include "uapi/linux/ksip.h"

struct media {
	const struct media_env *env;
	struct ksip_stats *st;
	int epfd;
	struct ksip_genl *genl;		/* this worker's netlink socket, NULL in userspace mode */
	struct media_relay **dead;	/* closed relays, freed by media_reap() */
	unsigned int ndead, dead_cap;
};

struct media *media_new(const struct media_env *env, struct ksip_stats *st, int epfd, int worker)
{
	struct media *m = calloc(1, sizeof(*m));
	char err[KSIP_GENL_ERRLEN];

	if (!m)
		return NULL;
	m->env = env;
	m->st = st;
	m->epfd = epfd;
	if (env->kernel) {
		m->genl = ksip_genl_open(err, sizeof(err));
		if (!m->genl) {
			log_err("worker %d: %s", worker, err);
			free(m);
			return NULL;
		}
	}
	return m;
}

void media_reap(struct media *m)
{
	for (unsigned int i = 0; i < m->ndead; i++)
		relay_free(m->dead[i]);
	m->ndead = 0;
}

static void bury(struct media *m, struct media_relay *r)
{
	relay_close(r, m->epfd);
	if (m->ndead == m->dead_cap) {
		unsigned int cap = m->dead_cap ? m->dead_cap * 2 : 64;
		struct media_relay **v = realloc(m->dead, cap * sizeof(*v));

		if (!v)
			return;	/* leak one relay rather than risk a use after free */
		m->dead = v;
		m->dead_cap = cap;
	}
	m->dead[m->ndead++] = r;
}

void media_detach_kernel(struct media *m)
{
	if (m && m->genl) {
		ksip_genl_close(m->genl);
		m->genl = NULL;
	}
}

void media_free(struct media *m)
{
	if (!m)
		return;
	media_reap(m);
	free(m->dead);
	if (m->genl)
		ksip_genl_close(m->genl);
	free(m);
}

/* Pairs tried before giving up: another program may hold a port of the range. */
#define OPEN_TRIES 8

static int open_once(struct media *m, struct media_stream *s)
{
	if (port_pool_get(m->env->ports, &s->relay_port[0]))
		return -1;
	if (port_pool_get(m->env->ports, &s->relay_port[1])) {
		port_pool_put(m->env->ports, s->relay_port[0]);
		return -1;
	}
	if (s->kernel)
		return 0;
	s->relay = relay_open(s, m->epfd, m->st);
	if (s->relay)
		return 0;
	port_pool_put(m->env->ports, s->relay_port[0]);
	port_pool_put(m->env->ports, s->relay_port[1]);
	return 1;	/* a port was taken by someone else: the next pair may do */
}

int media_open(struct media *m, struct media_stream *s, const struct sockaddr_storage relay_ip[2])
{
	int r = 1;

	memset(s, 0, sizeof(*s));
	s->relay_ip[0] = relay_ip[0];
	s->relay_ip[1] = relay_ip[1];
	s->kernel = !!m->genl;
	/* ksip.ko bridges families itself; an older module's EAFNOSUPPORT: move_to_userspace(). */
	if (relay_ip[0].ss_family != relay_ip[1].ss_family)
		STAT_INC(m->st, relay_streams_cross_family);
	for (int i = 0; i < OPEN_TRIES && r > 0; i++)
		r = open_once(m, s);
	if (r)
		return -1;
	s->open = true;
	STAT_INC(m->st, relay_streams_opened);
	return 0;
}

/* The kernel flow whose local side faces LEG: packets from LEG go to the other leg. */
void media_flow_local(const struct media_stream *s, int leg, int k, struct sockaddr_storage *a)
{
	*a = s->relay_ip[leg];
	ksip_endpoint_set_port(a, (uint16_t)(s->relay_port[leg] + k));
}

static void kernel_flow_del(struct media *m, struct media_stream *s, int leg)
{
	char err[KSIP_GENL_ERRLEN];

	if (!s->flow_up[leg])
		return;
	for (int k = 0; k < 2; k++) {
		struct sockaddr_storage local;

		media_flow_local(s, leg, k, &local);
		if (ksip_genl_flow_del(m->genl, &local, err, sizeof(err)) && errno != ENOENT)
			log_debug("flow del: %s", err);
	}
	s->flow_up[leg] = false;
	STAT_INC(m->st, kernel_flows_removed);
}

/* LEG's outputs as kernel outputs of its flow of kind K (RTP 0, RTCP 1). */
static void kernel_outputs(int k, const struct media_output *o, unsigned int n,
			   struct ksip_flow_output *ko)
{
	for (unsigned int i = 0; i < n; i++) {
		memset(&ko[i], 0, sizeof(ko[i]));
		ko[i].source = o[i].from;
		ko[i].peer = o[i].to;
		if (k) {
			ksip_endpoint_set_port(&ko[i].source, (uint16_t)(ksip_endpoint_port(&o[i].from) + 1));
			ksip_endpoint_set_port(&ko[i].peer, o[i].to_rtcp);
		}
	}
}

/* The outputs the stream keeps for LEG in *O; how many (none yet: 0). */
static unsigned int kept_outputs(const struct media_stream *s, int leg, const struct media_output **o)
{
	*o = s->fanout ? s->fanout->o[leg] : NULL;
	return s->fanout ? s->fanout->n[leg] : 0;
}

/* FLOW_NEW for flow K of LEG (RTP 0, RTCP 1), without outputs: 0 or a negative errno (logged). */
static int kernel_flow_new(struct media *m, struct media_stream *s, int leg, int k)
{
	struct ksip_flow_spec f = { 0 };
	char err[KSIP_GENL_ERRLEN];
	int to = !leg, r;

	media_flow_local(s, leg, k, &f.local);
	media_flow_local(s, to, k, &f.source);
	f.peer = s->remote[to];
	if (k)
		ksip_endpoint_set_port(&f.peer, s->remote_rtcp[to]);
	f.flags = KSIP_FLOW_F_LATCH;
	f.timeout = m->env->cfg->kernel_flow_timeout;
	r = ksip_genl_flow_add(m->genl, &f, err, sizeof(err));
	if (r)
		log_warn("kernel flow for relay port %u: %s", s->relay_port[leg] + k, err);
	return r;
}

/*
 * Flow K of LEG gets the outputs O: 0 or a negative errno (logged). A flow
 * that idled out in the kernel (an RTCP flow nobody sends on) is put back.
 */
static int kernel_flow_outputs(struct media *m, struct media_stream *s, int leg, int k,
			       const struct media_output *o, unsigned int n)
{
	struct ksip_flow_output ko[MEDIA_OUTPUTS_MAX];
	struct sockaddr_storage local;
	char err[KSIP_GENL_ERRLEN];
	int r;

	media_flow_local(s, leg, k, &local);
	kernel_outputs(k, o, n, ko);
	r = ksip_genl_flow_set_outputs(m->genl, &local, ko, n, err, sizeof(err));
	if (r == -ENOENT && !kernel_flow_new(m, s, leg, k))
		r = ksip_genl_flow_set_outputs(m->genl, &local, ko, n, err, sizeof(err));
	if (r)
		log_warn("outputs of the kernel flow for relay port %u: %s", s->relay_port[leg] + k, err);
	return r;
}

/* Give LEG's kernel flows (RTP, then RTCP) the outputs O; on failure both keep theirs. */
static int kernel_outputs_set(struct media *m, struct media_stream *s, int leg,
			      const struct media_output *o, unsigned int n)
{
	const struct media_output *old;
	unsigned int nold = kept_outputs(s, leg, &old);
	int r = kernel_flow_outputs(m, s, leg, 0, o, n);

	if (!r && (r = kernel_flow_outputs(m, s, leg, 1, o, n)))
		kernel_flow_outputs(m, s, leg, 0, old, nold);	/* the RTP flow as it was */
	if (r) {
		errno = -r;
		return -1;
	}
	return 0;
}

/* Flow K of LEG (RTP 0, RTCP 1) into ksip.ko, with the outputs the stream keeps for LEG. */
static int kernel_flow_add_one(struct media *m, struct media_stream *s, int leg, int k)
{
	const struct media_output *o;
	unsigned int n = kept_outputs(s, leg, &o);
	int r = kernel_flow_new(m, s, leg, k);

	/* Set apart from FLOW_NEW: outputs the module refuses must not cost the call its flow. */
	if (!r && n)
		kernel_flow_outputs(m, s, leg, k, o, n);
	return r;
}

static int kernel_flow_add(struct media *m, struct media_stream *s, int leg)
{
	for (int k = 0; k < 2; k++) {
		int r = kernel_flow_add_one(m, s, leg, k);

		if (r) {
			if (k)
				kernel_flow_del(m, s, leg);
			return r;
		}
		s->flow_up[leg] = true;
	}
	STAT_INC(m->st, kernel_flows_installed);
	return 0;
}

/*
 * ksip.ko refused a flow for its address families (a module older than the
 * cross-family forwarding of ksip_xlate.c): the worker relays this stream itself
 * on the ports it already holds. False when the sockets cannot be had.
 */
static bool move_to_userspace(struct media *m, struct media_stream *s)
{
	kernel_flow_del(m, s, 0);
	kernel_flow_del(m, s, 1);
	s->kernel = false;
	s->relay = relay_open(s, m->epfd, m->st);
	if (!s->relay) {
		log_warn("relay ports %u/%u: ksip.ko refused the flow and the ports cannot be bound",
			 s->relay_port[0], s->relay_port[1]);
		s->kernel = true;	/* keep media_close() from burying a relay that is not there */
		return false;
	}
	for (int leg = 0; leg < 2 && s->fanout; leg++)
		if (s->fanout->n[leg] &&
		    relay_set_outputs(s->relay, leg, s->fanout->o[leg], s->fanout->n[leg])) {
			log_warn("relay ports %u/%u: outputs dropped: %s", s->relay_port[0],
				 s->relay_port[1], strerror(errno));
			s->fanout->n[leg] = 0;
		}
	s->why_userspace = "ksip.ko refused the flow's address families (EAFNOSUPPORT)";
	log_info("relay ports %u/%u: %s; relayed in userspace", s->relay_port[0], s->relay_port[1],
		 s->why_userspace);
	return true;
}

void media_update(struct media *m, struct media_stream *s)
{
	if (!s->open || !s->kernel)
		return;		/* userspace reads the addresses from the stream as packets come */
	for (int leg = 0; leg < 2; leg++) {
		if (!s->remote_known[!leg])
			continue;
		/* The peer may have moved (re-INVITE): replace the flow. */
		kernel_flow_del(m, s, leg);
		if (kernel_flow_add(m, s, leg) == -EAFNOSUPPORT) {
			move_to_userspace(m, s);
			return;
		}
	}
}

void media_leg_moved(struct media *m, struct media_stream *s, int leg)
{
	if (!s->open)
		return;
	if (s->kernel)
		media_update(m, s);	/* new flows: ksip.ko latches afresh */
	else if (s->relay)
		relay_unlatch(s->relay, leg);
}

void media_close(struct media *m, struct media_stream *s)
{
	if (!s->open)
		return;
	if (s->kernel) {
		/* Detached at shutdown: the flows keep forwarding for the next ksipd to adopt. */
		if (m->genl) {
			kernel_flow_del(m, s, 0);
			kernel_flow_del(m, s, 1);
		}
	} else {
		bury(m, s->relay);
		s->relay = NULL;
	}
	port_pool_put(m->env->ports, s->relay_port[0]);
	port_pool_put(m->env->ports, s->relay_port[1]);
	free(s->fanout);	/* the outputs went with the flows or the sockets */
	s->fanout = NULL;
	s->open = false;
	STAT_INC(m->st, relay_streams_closed);
}

int media_set_outputs(struct media *m, struct media_stream *s, int leg,
		      const struct media_output *o, unsigned int n)
{
	unsigned int bad;
	int r;

	if (!s->open) {
		errno = ENOENT;
		return -1;
	}
	r = media_outputs_check(s, leg, o, n, &bad);
	if (r) {
		errno = -r;
		return -1;
	}
	if (!s->fanout) {
		if (!n)
			return 0;
		s->fanout = calloc(1, sizeof(*s->fanout));
		if (!s->fanout)
			return -1;
	}
	if (s->kernel) {
		/* A flow not up yet (the other phone unknown) gets them when installed. */
		if (s->flow_up[leg] && m->genl && kernel_outputs_set(m, s, leg, o, n)) {
			if (n)
				return -1;
			/* Removing may not fail (the caller frees FROM's ports): rebuild without them. */
			s->fanout->n[leg] = 0;
			kernel_flow_del(m, s, leg);
			kernel_flow_add(m, s, leg);
			return 0;
		}
	} else if (relay_set_outputs(s->relay, leg, o, n)) {
		return -1;
	}
	if (n)
		memcpy(s->fanout->o[leg], o, n * sizeof(*o));
	s->fanout->n[leg] = n;
	return 0;
}

void media_output_counters(const struct media_stream *s, int leg, unsigned int i, uint64_t *sent,
			   uint64_t *errors)
{
	*sent = *errors = 0;
	if (s->open && !s->kernel)
		relay_output_counters(s->relay, leg, i, sent, errors);
}

void media_counters(struct media *m, struct media_stream *s, uint64_t pkts[2], uint64_t *idle_ms)
{
	uint64_t now = now_ms();

	pkts[0] = pkts[1] = 0;
	*idle_ms = UINT64_MAX;
	if (!s->open)
		return;
	if (!s->kernel) {
		uint64_t last;

		relay_counters(s->relay, pkts, &last);
		if (last)
			*idle_ms = now - last;
		return;
	}
	for (int leg = 0; leg < 2; leg++) {
		for (int k = 0; k < 2 && s->flow_up[leg] && m->genl; k++) {
			struct ksip_flow_spec f;
			struct sockaddr_storage local;
			char err[KSIP_GENL_ERRLEN];
			int r;

			media_flow_local(s, leg, k, &local);
			r = ksip_genl_flow_get(m->genl, &local, &f, err, sizeof(err));
			if (r == -ENOENT) {
				/*
				 * Idled out in the kernel while the call lives (an RTCP flow
				 * nobody sends on, a long hold): put that one back, leaving the
				 * other flow of the pair (its latch and counters) alone.
				 */
				kernel_flow_add_one(m, s, leg, k);
				continue;
			}
			if (r)
				break;
			if (!k)
				pkts[leg] += f.packets;
			if (f.packets && f.idle_ms < *idle_ms)
				*idle_ms = f.idle_ms;
		}
	}
}

int media_stream_flows(const struct media_stream *s, uint64_t pkts[2],
		       struct media_flow_ref flows[2])
{
	int n = 0;

	pkts[0] = pkts[1] = 0;
	if (!s->open)
		return 0;
	if (!s->kernel) {
		uint64_t last;

		relay_counters(s->relay, pkts, &last);	/* the relay's own counters */
		return 0;
	}
	for (int leg = 0; leg < 2; leg++) {
		if (!s->flow_up[leg])
			continue;
		media_flow_local(s, leg, 0, &flows[n].local);
		flows[n++].leg = leg;
	}
	return n;
}

void media_flow_count(struct ksip_genl **g, const struct media_flow_ref *f, uint64_t pkts[2])
{
	struct ksip_flow_spec spec;
	char err[KSIP_GENL_ERRLEN];

	if (!*g)
		*g = ksip_genl_open(err, sizeof(err));
	if (*g && !ksip_genl_flow_get(*g, &f->local, &spec, err, sizeof(err)))
		pkts[f->leg] += spec.packets;
}

void media_flow_output_count(struct ksip_genl **g, const struct media_flow_ref *f,
			     const struct sockaddr_storage *to, uint64_t *sent, uint64_t *dropped)
{
	struct ksip_flow_spec spec;
	char err[KSIP_GENL_ERRLEN];

	if (!*g)
		*g = ksip_genl_open(err, sizeof(err));
	for (int k = 0; k < 2 && *g; k++) {
		struct sockaddr_storage local = f->local, peer = *to;

		ksip_endpoint_set_port(&local, (uint16_t)(ksip_endpoint_port(&local) + k));
		ksip_endpoint_set_port(&peer, (uint16_t)(ksip_endpoint_port(to) + k));
		if (ksip_genl_flow_get(*g, &local, &spec, err, sizeof(err)))
			continue;
		for (unsigned int i = 0; i < spec.noutputs; i++)
			if (ksip_endpoint_equal(&spec.outputs[i].peer, &peer)) {
				*sent += spec.outputs[i].packets;
				*dropped += spec.outputs[i].dropped;
			}
	}
}

int media_check_addresses(const struct ksip_config *cfg)
{
	for (int i = 0; i < 2; i++) {
		const struct sockaddr_storage *a = &cfg->media_addr[i];
		char host[INET6_ADDRSTRLEN];
		int fd, r;

		if (!a->ss_family)
			continue;
		fd = socket(a->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		r = fd < 0 ? -1 : bind(fd, (const struct sockaddr *)a, i ? sizeof(struct sockaddr_in6) :
				       sizeof(struct sockaddr_in));
		if (fd >= 0)
			close(fd);
		if (r) {
			inet_ntop(a->ss_family, i ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr :
				  (const void *)&((const struct sockaddr_in *)a)->sin_addr, host, sizeof(host));
			log_err("media_address %s: the relay cannot bind it (%s)", host, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* --- flows left by a previous ksipd ---------------------------------- */

struct adopted_ports {
	unsigned int n;
	uint16_t port[];
};

struct adopt_ctx {
	struct media_env *env;
	struct adopted_ports *a;
	unsigned int cap;
};

static uint16_t local_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port :
						 ((const struct sockaddr_in *)ss)->sin_port);
}

static void adopt_one(void *ctx, const struct ksip_flow_spec *f)
{
	struct adopt_ctx *ac = ctx;
	uint16_t port = local_port(&f->local) & (uint16_t)~1u;

	if (port < ac->env->cfg->rtp_port_min || port > ac->env->cfg->rtp_port_max || ac->a->n >= ac->cap)
		return;
	/* RTP and RTCP flows share a pair: reserve it once. */
	if (port_pool_reserve(ac->env->ports, port))
		ac->a->port[ac->a->n++] = port;
}

int media_adopt(struct media_env *env)
{
	struct ksip_genl *g;
	struct adopt_ctx ac = { env, NULL, 0 };
	char err[KSIP_GENL_ERRLEN];
	int r;

	if (!env->kernel)
		return 0;
	g = ksip_genl_open(err, sizeof(err));
	if (!g)
		return -1;
	ac.cap = port_pool_size(env->ports);
	ac.a = calloc(1, sizeof(*ac.a) + ac.cap * sizeof(uint16_t));
	if (!ac.a) {
		ksip_genl_close(g);
		return -1;
	}
	r = ksip_genl_flow_dump(g, adopt_one, &ac, err, sizeof(err));
	ksip_genl_close(g);
	if (r) {
		log_warn("cannot list kernel flows: %s", err);
		free(ac.a);
		return -1;
	}
	env->adopted = ac.a;
	if (ac.a->n)
		log_info("adopted %u relay port pairs whose kernel flows are still forwarding; "
			 "they are released when the flows idle out", ac.a->n);
	return (int)ac.a->n;
}

/* Which pairs still have a kernel flow: one bit per port. */
static void pair_seen(void *ctx, const struct ksip_flow_spec *f)
{
	uint64_t *seen = ctx;
	uint16_t port = local_port(&f->local) & (uint16_t)~1u;

	seen[port / 64] |= 1ULL << (port % 64);
}

void media_adopt_sweep(struct media_env *env)
{
	struct adopted_ports *a = env->adopted;
	struct ksip_genl *g;
	char err[KSIP_GENL_ERRLEN];
	uint64_t *seen;

	if (!a || !a->n)
		return;
	g = ksip_genl_open(err, sizeof(err));
	seen = calloc(65536 / 64, sizeof(uint64_t));
	if (g && seen && !ksip_genl_flow_dump(g, pair_seen, seen, err, sizeof(err))) {
		for (unsigned int i = 0; i < a->n;) {
			uint16_t port = a->port[i];

			if (seen[port / 64] & (1ULL << (port % 64))) {
				i++;
				continue;
			}
			port_pool_put(env->ports, port);
			log_info("adopted relay ports %u-%u released: their flows idled out", port,
				 port + 1);
			a->port[i] = a->port[--a->n];
		}
	}
	free(seen);
	if (g)
		ksip_genl_close(g);
}

void media_env_release(struct media_env *env)
{
	free(env->adopted);
	env->adopted = NULL;
}
