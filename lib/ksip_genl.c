// SPDX-License-Identifier: GPL-2.0
/* Generic netlink client for ksip.ko over libnl-genl-3. */
#include "ksip/genl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi/linux/ksip.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct ksip_genl {
	struct nl_sock *sk;
	int family;
};

/* Per request: the error and extack text, and where dump/get replies go. */
struct reply_ctx {
	int error;
	char *err;
	size_t errlen;
	void (*on_flow)(void *ctx, const struct ksip_flow_spec *f);
	void *flow_ctx;
	struct ksip_kstats *stats;
	struct ksip_guard_info *guard;
};

struct ksip_genl *ksip_genl_open(char *err, size_t errlen)
{
	struct ksip_genl *g = calloc(1, sizeof(*g));
	int one = 1;

	if (!g || !(g->sk = nl_socket_alloc())) {
		snprintf(err, errlen, "out of memory");
		free(g);
		return NULL;
	}
	if (genl_connect(g->sk)) {
		snprintf(err, errlen, "cannot open a generic netlink socket");
		goto fail;
	}
	setsockopt(nl_socket_get_fd(g->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	g->family = genl_ctrl_resolve(g->sk, KSIP_GENL_NAME);
	if (g->family < 0) {
		snprintf(err, errlen, "ksip kernel module not loaded");
		goto fail;
	}
	return g;
fail:
	nl_socket_free(g->sk);
	free(g);
	return NULL;
}

void ksip_genl_close(struct ksip_genl *g)
{
	if (!g)
		return;
	nl_socket_free(g->sk);
	free(g);
}

/* --- addresses ------------------------------------------------------------ */

static int put_addr(struct nl_msg *msg, int type, const struct sockaddr_storage *ss)
{
	struct nlattr *nest = nla_nest_start(msg, type);

	if (!nest)
		return -ENOMEM;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

		nla_put(msg, KSIP_ADDR_ATTR_IPV6, sizeof(a6->sin6_addr), &a6->sin6_addr);
		nla_put_u16(msg, KSIP_ADDR_ATTR_PORT, ntohs(a6->sin6_port));
	} else {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;

		nla_put(msg, KSIP_ADDR_ATTR_IPV4, sizeof(a4->sin_addr), &a4->sin_addr);
		nla_put_u16(msg, KSIP_ADDR_ATTR_PORT, ntohs(a4->sin_port));
	}
	nla_nest_end(msg, nest);
	return 0;
}

static void get_addr(struct nlattr *nest, struct sockaddr_storage *ss)
{
	struct nlattr *tb[KSIP_ADDR_ATTR_MAX + 1], *v4, *v6;
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (nla_parse_nested(tb, KSIP_ADDR_ATTR_MAX, nest, NULL) || !tb[KSIP_ADDR_ATTR_PORT])
		return;
	port = htons(nla_get_u16(tb[KSIP_ADDR_ATTR_PORT]));
	v4 = tb[KSIP_ADDR_ATTR_IPV4];
	v6 = tb[KSIP_ADDR_ATTR_IPV6];
	if (v6 && nla_len(v6) == (int)sizeof(struct in6_addr)) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = port;
		memcpy(&a6->sin6_addr, nla_data(v6), sizeof(a6->sin6_addr));
	} else if (v4 && nla_len(v4) == (int)sizeof(struct in_addr)) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = port;
		memcpy(&a4->sin_addr, nla_data(v4), sizeof(a4->sin_addr));
	}
}

/* --- replies -------------------------------------------------------------- */

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct reply_ctx *rc = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)e - 1;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int ack_len = sizeof(*nlh) + sizeof(*e);

	(void)who;
	rc->error = e->error;
	snprintf(rc->err, rc->errlen, "%s", strerror(-e->error));
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* The request is echoed back unless capped; the TLVs follow it. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		ack_len += (int)e->msg.nlmsg_len - (int)sizeof(*nlh);
	if ((int)nlh->nlmsg_len > ack_len &&
	    !nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + ack_len),
		       (int)nlh->nlmsg_len - ack_len, NULL) && tb[NLMSGERR_ATTR_MSG])
		snprintf(rc->err, rc->errlen, "%s", (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct reply_ctx *)arg)->error = 0;
	return NL_STOP;
}

/* OUTPUTS { OUTPUT { SOURCE, PEER, PACKETS, BYTES, DROPPED }* }: at most KSIP_FLOW_OUTPUTS_MAX kept. */
static void parse_outputs(struct nlattr *nest, struct ksip_flow_spec *f)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		struct nlattr *tb[KSIP_OUTPUT_ATTR_MAX + 1];
		struct ksip_flow_output *o;

		if (nla_type(a) != KSIP_OUTPUTS_ATTR_OUTPUT || f->noutputs == KSIP_FLOW_OUTPUTS_MAX ||
		    nla_parse_nested(tb, KSIP_OUTPUT_ATTR_MAX, a, NULL))
			continue;
		o = &f->outputs[f->noutputs++];
		if (tb[KSIP_OUTPUT_ATTR_SOURCE])
			get_addr(tb[KSIP_OUTPUT_ATTR_SOURCE], &o->source);
		if (tb[KSIP_OUTPUT_ATTR_PEER])
			get_addr(tb[KSIP_OUTPUT_ATTR_PEER], &o->peer);
#define U64(x) (tb[x] && nla_len(tb[x]) == (int)sizeof(uint64_t) ? nla_get_u64(tb[x]) : 0)
		o->packets = U64(KSIP_OUTPUT_ATTR_PACKETS);
		o->bytes = U64(KSIP_OUTPUT_ATTR_BYTES);
		o->dropped = U64(KSIP_OUTPUT_ATTR_DROPPED);
#undef U64
	}
}

static void parse_flow(struct nlattr *nest, struct ksip_flow_spec *f)
{
	struct nlattr *tb[KSIP_FLOW_ATTR_MAX + 1];

	memset(f, 0, sizeof(*f));
	if (nla_parse_nested(tb, KSIP_FLOW_ATTR_MAX, nest, NULL))
		return;
	if (tb[KSIP_FLOW_ATTR_LOCAL])
		get_addr(tb[KSIP_FLOW_ATTR_LOCAL], &f->local);
	if (tb[KSIP_FLOW_ATTR_SOURCE])
		get_addr(tb[KSIP_FLOW_ATTR_SOURCE], &f->source);
	if (tb[KSIP_FLOW_ATTR_PEER])
		get_addr(tb[KSIP_FLOW_ATTR_PEER], &f->peer);
	if (tb[KSIP_FLOW_ATTR_EXPECT]) {
		get_addr(tb[KSIP_FLOW_ATTR_EXPECT], &f->expect);
		f->has_expect = true;
	}
	if (tb[KSIP_FLOW_ATTR_LATCHED]) {
		get_addr(tb[KSIP_FLOW_ATTR_LATCHED], &f->latched);
		f->has_latched = true;
	}
	if (tb[KSIP_FLOW_ATTR_FLAGS])
		f->flags = nla_get_u32(tb[KSIP_FLOW_ATTR_FLAGS]);
	if (tb[KSIP_FLOW_ATTR_TIMEOUT])
		f->timeout = nla_get_u32(tb[KSIP_FLOW_ATTR_TIMEOUT]);
	if (tb[KSIP_FLOW_ATTR_DSCP])
		f->dscp = nla_get_u8(tb[KSIP_FLOW_ATTR_DSCP]);
	if (tb[KSIP_FLOW_ATTR_PACKETS])
		f->packets = nla_get_u64(tb[KSIP_FLOW_ATTR_PACKETS]);
	if (tb[KSIP_FLOW_ATTR_BYTES])
		f->bytes = nla_get_u64(tb[KSIP_FLOW_ATTR_BYTES]);
	if (tb[KSIP_FLOW_ATTR_DROPPED])
		f->dropped = nla_get_u64(tb[KSIP_FLOW_ATTR_DROPPED]);
	if (tb[KSIP_FLOW_ATTR_IDLE_MS])
		f->idle_ms = nla_get_u64(tb[KSIP_FLOW_ATTR_IDLE_MS]);
	if (tb[KSIP_FLOW_ATTR_OUTPUTS])
		parse_outputs(tb[KSIP_FLOW_ATTR_OUTPUTS], f);
}

/* The kernel reports at most KSIP_GUARD_MAX_PORTS ports and one counter per enum value. */
_Static_assert(sizeof(((struct ksip_guard_info *)0)->ports) / sizeof(uint16_t) ==
	       KSIP_GUARD_MAX_PORTS, "ksip_guard_info.ports holds every guarded port");
_Static_assert(sizeof(((struct ksip_guard_info *)0)->counters) / sizeof(uint64_t) ==
	       KSIP_GUARD_CNT_MAX + 1, "ksip_guard_info.counters is indexed by enum ksip_guard_counter");

static void parse_guard(struct nlattr *nest, struct ksip_guard_info *gi)
{
	struct nlattr *a, *c;
	int rem, rem2;

	memset(gi, 0, sizeof(*gi));
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) == KSIP_GUARD_ATTR_PORT && gi->nports < KSIP_GUARD_MAX_PORTS)
			gi->ports[gi->nports++] = nla_get_u16(a);
		if (nla_type(a) != KSIP_GUARD_ATTR_COUNTERS)
			continue;
		nla_for_each_nested(c, a, rem2)
			if (nla_type(c) > KSIP_GUARD_CNT_UNSPEC && nla_type(c) <= KSIP_GUARD_CNT_MAX &&
			    nla_len(c) == (int)sizeof(uint64_t))
				gi->counters[nla_type(c)] = nla_get_u64(c);
	}
}

static int on_reply(struct nl_msg *msg, void *arg)
{
	struct reply_ctx *rc = arg;
	struct nlattr *tb[KSIP_ATTR_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KSIP_ATTR_MAX, NULL))
		return NL_SKIP;
	if (tb[KSIP_ATTR_FLOW] && rc->on_flow) {
		struct ksip_flow_spec f;

		parse_flow(tb[KSIP_ATTR_FLOW], &f);
		rc->on_flow(rc->flow_ctx, &f);
	}
	if (tb[KSIP_ATTR_STATS] && rc->stats) {
		struct nlattr *st[KSIP_STATS_ATTR_MAX + 1];
		struct ksip_kstats *s = rc->stats;

		if (!nla_parse_nested(st, KSIP_STATS_ATTR_MAX, tb[KSIP_ATTR_STATS], NULL)) {
#define U64(a) (st[a] ? nla_get_u64(st[a]) : 0)
			s->flows = st[KSIP_STATS_ATTR_FLOWS] ? nla_get_u32(st[KSIP_STATS_ATTR_FLOWS]) : 0;
			s->forwarded = U64(KSIP_STATS_ATTR_FORWARDED);
			s->bytes = U64(KSIP_STATS_ATTR_BYTES);
			s->drop_source = U64(KSIP_STATS_ATTR_DROP_SOURCE);
			s->no_route = U64(KSIP_STATS_ATTR_NO_ROUTE);
			s->drop_error = U64(KSIP_STATS_ATTR_DROP_ERROR);
			s->latched = U64(KSIP_STATS_ATTR_LATCHED);
			s->expired = U64(KSIP_STATS_ATTR_EXPIRED);
#undef U64
		}
	}
	if (tb[KSIP_ATTR_GUARD] && rc->guard)
		parse_guard(tb[KSIP_ATTR_GUARD], rc->guard);
	return NL_OK;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct reply_ctx *)arg)->error = 0;
	return NL_STOP;
}

/* Send MSG (consumed) and collect the answer into RC. */
static int transact(struct ksip_genl *g, struct nl_msg *msg, struct reply_ctx *rc)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int r;

	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	rc->error = 1;	/* until an ACK, an error or the end of a dump */
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, rc);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, rc);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, rc);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_reply, rc);
	r = nl_send_auto(g->sk, msg);
	nlmsg_free(msg);
	while (r >= 0 && rc->error > 0)
		r = nl_recvmsgs(g->sk, cb);
	nl_cb_put(cb);
	if (r < 0 && rc->error > 0) {
		snprintf(rc->err, rc->errlen, "netlink: %s", nl_geterror(r));
		return -EIO;
	}
	return rc->error;
}

static struct nl_msg *request(struct ksip_genl *g, int cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	/* Dumps end with NLMSG_DONE; an extra ACK after it would confuse the next request. */
	if (!(flags & NLM_F_DUMP))
		flags |= NLM_F_ACK;
	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, g->family, 0, flags,
				(uint8_t)cmd, KSIP_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

#define CTX(e, l) { .error = 0, .err = (e), .errlen = (l) }

/* OUTPUTS with N entries (N = 0: an empty nest, "none"). */
static void put_outputs(struct nl_msg *msg, const struct ksip_flow_output *outputs, unsigned int n)
{
	struct nlattr *nest;

	/* libnl's nla_nest_end() drops a nest left empty: put the empty one by hand. */
	if (!n) {
		nla_put(msg, KSIP_FLOW_ATTR_OUTPUTS | NLA_F_NESTED, 0, NULL);
		return;
	}
	nest = nla_nest_start(msg, KSIP_FLOW_ATTR_OUTPUTS);

	for (unsigned int i = 0; i < n; i++) {
		struct nlattr *one = nla_nest_start(msg, KSIP_OUTPUTS_ATTR_OUTPUT);

		put_addr(msg, KSIP_OUTPUT_ATTR_SOURCE, &outputs[i].source);
		put_addr(msg, KSIP_OUTPUT_ATTR_PEER, &outputs[i].peer);
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, nest);
}

int ksip_genl_flow_add(struct ksip_genl *g, const struct ksip_flow_spec *f, char *err, size_t errlen)
{
	struct reply_ctx rc = CTX(err, errlen);
	struct nlattr *nest;
	struct nl_msg *msg;

	if (f->noutputs > KSIP_FLOW_OUTPUTS_MAX) {
		snprintf(err, errlen, "more than %d outputs", KSIP_FLOW_OUTPUTS_MAX);
		return -E2BIG;
	}
	msg = request(g, KSIP_CMD_FLOW_NEW, 0);
	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, KSIP_ATTR_FLOW);
	put_addr(msg, KSIP_FLOW_ATTR_LOCAL, &f->local);
	put_addr(msg, KSIP_FLOW_ATTR_SOURCE, &f->source);
	put_addr(msg, KSIP_FLOW_ATTR_PEER, &f->peer);
	if (f->has_expect)
		put_addr(msg, KSIP_FLOW_ATTR_EXPECT, &f->expect);
	if (f->flags)
		nla_put_u32(msg, KSIP_FLOW_ATTR_FLAGS, f->flags);
	if (f->timeout)
		nla_put_u32(msg, KSIP_FLOW_ATTR_TIMEOUT, f->timeout);
	if (f->flags & KSIP_FLOW_F_DSCP)
		nla_put_u8(msg, KSIP_FLOW_ATTR_DSCP, f->dscp);
	if (f->noutputs)
		put_outputs(msg, f->outputs, f->noutputs);
	nla_nest_end(msg, nest);
	return transact(g, msg, &rc);
}

int ksip_genl_flow_set_outputs(struct ksip_genl *g, const struct sockaddr_storage *local,
			       const struct ksip_flow_output *outputs, unsigned int n, char *err,
			       size_t errlen)
{
	struct nl_msg *msg;
	struct reply_ctx rc = CTX(err, errlen);
	struct nlattr *nest;

	/* More would not fit the spec's array; the kernel refuses them anyway (E2BIG). */
	if (n > KSIP_FLOW_OUTPUTS_MAX) {
		snprintf(err, errlen, "more than %d outputs", KSIP_FLOW_OUTPUTS_MAX);
		return -E2BIG;
	}
	msg = request(g, KSIP_CMD_FLOW_SET, 0);
	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, KSIP_ATTR_FLOW);
	put_addr(msg, KSIP_FLOW_ATTR_LOCAL, local);
	put_outputs(msg, outputs, n);
	nla_nest_end(msg, nest);
	return transact(g, msg, &rc);
}

static int local_only(struct ksip_genl *g, int cmd, const struct sockaddr_storage *local,
		      struct reply_ctx *rc)
{
	struct nl_msg *msg = request(g, cmd, 0);
	struct nlattr *nest;

	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, KSIP_ATTR_FLOW);
	put_addr(msg, KSIP_FLOW_ATTR_LOCAL, local);
	nla_nest_end(msg, nest);
	return transact(g, msg, rc);
}

int ksip_genl_flow_del(struct ksip_genl *g, const struct sockaddr_storage *local, char *err,
		       size_t errlen)
{
	struct reply_ctx rc = CTX(err, errlen);

	return local_only(g, KSIP_CMD_FLOW_DEL, local, &rc);
}

static void copy_flow(void *ctx, const struct ksip_flow_spec *f)
{
	*(struct ksip_flow_spec *)ctx = *f;
}

int ksip_genl_flow_get(struct ksip_genl *g, const struct sockaddr_storage *local,
		       struct ksip_flow_spec *out, char *err, size_t errlen)
{
	struct reply_ctx rc = CTX(err, errlen);

	rc.on_flow = copy_flow;
	rc.flow_ctx = out;
	return local_only(g, KSIP_CMD_FLOW_GET, local, &rc);
}

int ksip_genl_flow_dump(struct ksip_genl *g, void (*fn)(void *ctx, const struct ksip_flow_spec *f),
			void *ctx, char *err, size_t errlen)
{
	struct nl_msg *msg = request(g, KSIP_CMD_FLOW_GET, NLM_F_DUMP);
	struct reply_ctx rc = CTX(err, errlen);

	if (!msg)
		return -ENOMEM;
	rc.on_flow = fn;
	rc.flow_ctx = ctx;
	return transact(g, msg, &rc);
}

int ksip_genl_flow_flush(struct ksip_genl *g, char *err, size_t errlen)
{
	struct nl_msg *msg = request(g, KSIP_CMD_FLOW_FLUSH, 0);
	struct reply_ctx rc = CTX(err, errlen);

	return msg ? transact(g, msg, &rc) : -ENOMEM;
}

int ksip_genl_stats(struct ksip_genl *g, struct ksip_kstats *st, char *err, size_t errlen)
{
	struct nl_msg *msg = request(g, KSIP_CMD_STATS_GET, 0);
	struct reply_ctx rc = CTX(err, errlen);

	if (!msg)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	rc.stats = st;
	return transact(g, msg, &rc);
}

int ksip_genl_guard_set(struct ksip_genl *g, const uint16_t *ports, unsigned int n, char *err,
			size_t errlen)
{
	struct nl_msg *msg = request(g, KSIP_CMD_GUARD_SET, 0);
	struct reply_ctx rc = CTX(err, errlen);
	struct nlattr *nest;

	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, KSIP_ATTR_GUARD);
	for (unsigned int i = 0; i < n; i++)
		nla_put_u16(msg, KSIP_GUARD_ATTR_PORT, ports[i]);
	nla_nest_end(msg, nest);
	return transact(g, msg, &rc);
}

int ksip_genl_guard_get(struct ksip_genl *g, struct ksip_guard_info *out, char *err, size_t errlen)
{
	struct nl_msg *msg = request(g, KSIP_CMD_GUARD_GET, 0);
	struct reply_ctx rc = CTX(err, errlen);

	if (!msg)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	rc.guard = out;
	return transact(g, msg, &rc);
}
