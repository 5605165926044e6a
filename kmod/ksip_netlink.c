// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "ksip": strict policies on every attribute,
 * CAP_NET_ADMIN over the namespace, errors with an extack message.
 */
#include <linux/jiffies.h>
#include <linux/skbuff.h>
#include <net/genetlink.h>
#include <net/ipv6.h>

#include "ksip.h"
#include <uapi/linux/ksip.h>

#define KSIP_MAX_FLOWS BIT(20)

static bool ksip_genl_live;

static const struct nla_policy ksip_addr_policy[KSIP_ADDR_ATTR_MAX + 1] = {
	[KSIP_ADDR_ATTR_IPV4] = NLA_POLICY_EXACT_LEN(sizeof(struct in_addr)),
	[KSIP_ADDR_ATTR_IPV6] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[KSIP_ADDR_ATTR_PORT] = { .type = NLA_U16 },
};

static const struct nla_policy ksip_output_policy[KSIP_OUTPUT_ATTR_MAX + 1] = {
	[KSIP_OUTPUT_ATTR_SOURCE] = NLA_POLICY_NESTED(ksip_addr_policy),
	[KSIP_OUTPUT_ATTR_PEER] = NLA_POLICY_NESTED(ksip_addr_policy),
	[KSIP_OUTPUT_ATTR_PACKETS] = { .type = NLA_REJECT },
	[KSIP_OUTPUT_ATTR_BYTES] = { .type = NLA_REJECT },
	[KSIP_OUTPUT_ATTR_DROPPED] = { .type = NLA_REJECT },
	[KSIP_OUTPUT_ATTR_PAD] = { .type = NLA_REJECT },
};

static const struct nla_policy ksip_outputs_policy[KSIP_OUTPUTS_ATTR_MAX + 1] = {
	[KSIP_OUTPUTS_ATTR_OUTPUT] = NLA_POLICY_NESTED(ksip_output_policy),
};

static struct netlink_range_validation ksip_timeout_range = {
	.max = KSIP_FLOW_TIMEOUT_MAX,
};

static const struct nla_policy ksip_flow_policy[KSIP_FLOW_ATTR_MAX + 1] = {
	[KSIP_FLOW_ATTR_LOCAL] = NLA_POLICY_NESTED(ksip_addr_policy),
	[KSIP_FLOW_ATTR_SOURCE] = NLA_POLICY_NESTED(ksip_addr_policy),
	[KSIP_FLOW_ATTR_PEER] = NLA_POLICY_NESTED(ksip_addr_policy),
	[KSIP_FLOW_ATTR_EXPECT] = NLA_POLICY_NESTED(ksip_addr_policy),
	[KSIP_FLOW_ATTR_FLAGS] = NLA_POLICY_MASK(NLA_U32, KSIP_FLOW_F_ALL),
	[KSIP_FLOW_ATTR_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &ksip_timeout_range),
	[KSIP_FLOW_ATTR_DSCP] = NLA_POLICY_MAX(NLA_U8, KSIP_FLOW_DSCP_MAX),
	[KSIP_FLOW_ATTR_OUTPUTS] = NLA_POLICY_NESTED(ksip_outputs_policy),
	/* Counters and state are reported, never configured. */
	[KSIP_FLOW_ATTR_PACKETS] = { .type = NLA_REJECT },
	[KSIP_FLOW_ATTR_BYTES] = { .type = NLA_REJECT },
	[KSIP_FLOW_ATTR_DROPPED] = { .type = NLA_REJECT },
	[KSIP_FLOW_ATTR_IDLE_MS] = { .type = NLA_REJECT },
	[KSIP_FLOW_ATTR_LATCHED] = { .type = NLA_REJECT },
	[KSIP_FLOW_ATTR_PAD] = { .type = NLA_REJECT },
};

static const struct nla_policy ksip_guard_policy[KSIP_GUARD_ATTR_MAX + 1] = {
	[KSIP_GUARD_ATTR_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[KSIP_GUARD_ATTR_COUNTERS] = { .type = NLA_REJECT },
	[KSIP_GUARD_ATTR_PAD] = { .type = NLA_REJECT },
};

static const struct nla_policy ksip_policy[KSIP_ATTR_MAX + 1] = {
	[KSIP_ATTR_GUARD] = NLA_POLICY_NESTED(ksip_guard_policy),
	[KSIP_ATTR_FLOW] = NLA_POLICY_NESTED(ksip_flow_policy),
	[KSIP_ATTR_STATS] = { .type = NLA_REJECT },
	[KSIP_ATTR_EVENT] = { .type = NLA_REJECT },
	[KSIP_ATTR_PAD] = { .type = NLA_REJECT },
};

static struct genl_family ksip_genl_family;

/* Parse a nested address; PORT 0 is allowed only where ANY_PORT says so. */
static int ksip_parse_addr(const struct nlattr *nest, bool any_port, struct ksip_addr *a,
			   struct netlink_ext_ack *extack)
{
	struct nlattr *tb[KSIP_ADDR_ATTR_MAX + 1];
	int err;

	err = nla_parse_nested(tb, KSIP_ADDR_ATTR_MAX, nest, ksip_addr_policy, extack);
	if (err)
		return err;
	memset(a, 0, sizeof(*a));
	if (!!tb[KSIP_ADDR_ATTR_IPV4] == !!tb[KSIP_ADDR_ATTR_IPV6]) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "address needs exactly one of IPV4 and IPV6");
		return -EINVAL;
	}
	if (!tb[KSIP_ADDR_ATTR_PORT]) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "address needs a PORT");
		return -EINVAL;
	}
	if (!nla_get_u16(tb[KSIP_ADDR_ATTR_PORT]) && !any_port) {
		NL_SET_ERR_MSG_ATTR(extack, tb[KSIP_ADDR_ATTR_PORT], "port 0 is not allowed here");
		return -EINVAL;
	}
	a->port = htons(nla_get_u16(tb[KSIP_ADDR_ATTR_PORT]));
	if (tb[KSIP_ADDR_ATTR_IPV4]) {
		a->family = AF_INET;
		ipv6_addr_set_v4mapped(nla_get_in_addr(tb[KSIP_ADDR_ATTR_IPV4]), &a->ip);
	} else {
		a->family = AF_INET6;
		a->ip = nla_get_in6_addr(tb[KSIP_ADDR_ATTR_IPV6]);
		if (ipv6_addr_v4mapped(&a->ip)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[KSIP_ADDR_ATTR_IPV6],
					    "use IPV4 for IPv4 addresses, not a mapped IPv6 address");
			return -EINVAL;
		}
	}
	return 0;
}

static int ksip_put_addr(struct sk_buff *skb, int type, const struct ksip_addr *a)
{
	struct nlattr *nest = nla_nest_start(skb, type);

	if (!nest)
		return -EMSGSIZE;
	if (a->family == AF_INET ?
	    nla_put_in_addr(skb, KSIP_ADDR_ATTR_IPV4, a->ip.s6_addr32[3]) :
	    nla_put_in6_addr(skb, KSIP_ADDR_ATTR_IPV6, &a->ip))
		goto cancel;
	if (nla_put_u16(skb, KSIP_ADDR_ATTR_PORT, ntohs(a->port)))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/*
 * A flow's outputs with their counters. With 16 outputs of IPv6 addresses
 * this is about 1.9 KB, and a whole flow about 2.2 KB: one always fits the
 * NLMSG_DEFAULT_SIZE of a FLOW_GET reply and the skb of a dump.
 */
static int ksip_put_outputs(struct sk_buff *skb, const struct ksip_outputs *outs)
{
	struct nlattr *nest = nla_nest_start(skb, KSIP_FLOW_ATTR_OUTPUTS), *one;
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < outs->n; i++) {
		const struct ksip_output *o = &outs->out[i];

		one = nla_nest_start(skb, KSIP_OUTPUTS_ATTR_OUTPUT);
		if (!one ||
		    ksip_put_addr(skb, KSIP_OUTPUT_ATTR_SOURCE, &o->source) ||
		    ksip_put_addr(skb, KSIP_OUTPUT_ATTR_PEER, &o->peer) ||
		    nla_put_u64_64bit(skb, KSIP_OUTPUT_ATTR_PACKETS, atomic64_read(&o->packets),
				      KSIP_OUTPUT_ATTR_PAD) ||
		    nla_put_u64_64bit(skb, KSIP_OUTPUT_ATTR_BYTES, atomic64_read(&o->bytes),
				      KSIP_OUTPUT_ATTR_PAD) ||
		    nla_put_u64_64bit(skb, KSIP_OUTPUT_ATTR_DROPPED, atomic64_read(&o->dropped),
				      KSIP_OUTPUT_ATTR_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
		nla_nest_end(skb, one);
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* The flow attributes of a reply or event; COUNTERS adds the statistics. */
static int ksip_put_flow(struct sk_buff *skb, const struct ksip_flow *flow, bool counters)
{
	struct nlattr *nest = nla_nest_start(skb, KSIP_ATTR_FLOW);
	u64 packets, bytes, dropped;
	struct ksip_addr peer;
	int err;

	if (!nest)
		return -EMSGSIZE;
	err = ksip_put_addr(skb, KSIP_FLOW_ATTR_LOCAL, &flow->local);
	if (atomic_read(&flow->state) & KSIP_FLOW_LATCHED) {
		smp_rmb(); /* expect is valid once the bit is seen; see ksip_latch() */
		err = err ?: ksip_put_addr(skb, KSIP_FLOW_ATTR_LATCHED, &flow->expect);
	}
	if (err || !counters)
		goto out;
	ksip_flow_get_peer(flow, &peer);
	err = ksip_put_addr(skb, KSIP_FLOW_ATTR_PEER, &peer);
	err = err ?: ksip_put_addr(skb, KSIP_FLOW_ATTR_SOURCE, &flow->source);
	if (flow->flags & KSIP_FLOW_F_EXPECT)
		err = err ?: ksip_put_addr(skb, KSIP_FLOW_ATTR_EXPECT, &flow->expect);
	ksip_flow_read_stats(flow, &packets, &bytes, &dropped);
	err = err ?: nla_put_u32(skb, KSIP_FLOW_ATTR_FLAGS, flow->flags);
	err = err ?: nla_put_u32(skb, KSIP_FLOW_ATTR_TIMEOUT, flow->timeout);
	err = err ?: nla_put_u8(skb, KSIP_FLOW_ATTR_DSCP, flow->dscp);
	err = err ?: nla_put_u64_64bit(skb, KSIP_FLOW_ATTR_PACKETS, packets, KSIP_FLOW_ATTR_PAD);
	err = err ?: nla_put_u64_64bit(skb, KSIP_FLOW_ATTR_BYTES, bytes, KSIP_FLOW_ATTR_PAD);
	err = err ?: nla_put_u64_64bit(skb, KSIP_FLOW_ATTR_DROPPED, dropped, KSIP_FLOW_ATTR_PAD);
	err = err ?: nla_put_u64_64bit(skb, KSIP_FLOW_ATTR_IDLE_MS,
				       jiffies_to_msecs((u32)jiffies - READ_ONCE(flow->last_seen)),
				       KSIP_FLOW_ATTR_PAD);
	if (!err) {
		const struct ksip_outputs *outs;

		rcu_read_lock();
		outs = rcu_dereference(flow->outputs);
		if (outs)
			err = ksip_put_outputs(skb, outs);
		rcu_read_unlock();
	}
out:
	if (err) {
		nla_nest_cancel(skb, nest);
		return err;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static struct nlattr **ksip_flow_attrs(struct genl_info *info, struct nlattr **tb)
{
	if (GENL_REQ_ATTR_CHECK(info, KSIP_ATTR_FLOW)) {
		NL_SET_ERR_MSG(info->extack, "request needs a FLOW attribute");
		return NULL;
	}
	if (nla_parse_nested(tb, KSIP_FLOW_ATTR_MAX, info->attrs[KSIP_ATTR_FLOW],
			     ksip_flow_policy, info->extack))
		return NULL;
	return tb;
}

/* A required flow attribute; the message must be a literal (extack keeps the pointer). */
#define ksip_need(info, tb, type, msg) ({				\
	struct genl_info *__info = (info);				\
	int __err = 0;							\
	if (!(tb)[type]) {						\
		NL_SET_ERR_MSG_ATTR(__info->extack,			\
				    __info->attrs[KSIP_ATTR_FLOW], msg);	\
		__err = -EINVAL;					\
	}								\
	__err;								\
})

static int ksip_flow_configure(struct genl_info *info, struct nlattr **tb, struct ksip_flow *flow)
{
	struct netlink_ext_ack *extack = info->extack;
	u32 flags = 0;
	int err;

	err = ksip_need(info, tb, KSIP_FLOW_ATTR_LOCAL, "flow needs LOCAL") ?:
	      ksip_need(info, tb, KSIP_FLOW_ATTR_SOURCE, "flow needs SOURCE") ?:
	      ksip_need(info, tb, KSIP_FLOW_ATTR_PEER, "flow needs PEER");
	if (err)
		return err;
	err = ksip_parse_addr(tb[KSIP_FLOW_ATTR_LOCAL], false, &flow->local, extack) ?:
	      ksip_parse_addr(tb[KSIP_FLOW_ATTR_SOURCE], false, &flow->source, extack) ?:
	      ksip_parse_addr(tb[KSIP_FLOW_ATTR_PEER], false, &flow->peer, extack);
	if (err)
		return err;
	/* LOCAL may be of the other family (ksip_xlate.c): packets are sent from SOURCE to PEER. */
	if (flow->source.family != flow->peer.family) {
		NL_SET_ERR_MSG_ATTR(extack, tb[KSIP_FLOW_ATTR_PEER],
				    "SOURCE and PEER must be of one address family");
		return -EAFNOSUPPORT;
	}
	/* The policy's mask keeps FLAGS within KSIP_FLOW_F_ALL, which fits a u8. */
	if (tb[KSIP_FLOW_ATTR_FLAGS])
		flags = nla_get_u32(tb[KSIP_FLOW_ATTR_FLAGS]);
	flow->flags = flags;
	if ((flow->flags & KSIP_FLOW_F_EXPECT) && (flow->flags & KSIP_FLOW_F_LATCH)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[KSIP_FLOW_ATTR_FLAGS],
				    "EXPECT and LATCH exclude each other");
		return -EINVAL;
	}
	if (!!(flow->flags & KSIP_FLOW_F_EXPECT) != !!tb[KSIP_FLOW_ATTR_EXPECT]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[KSIP_FLOW_ATTR_FLAGS] ?: info->attrs[KSIP_ATTR_FLOW],
				    "the EXPECT flag and the EXPECT address go together");
		return -EINVAL;
	}
	if (tb[KSIP_FLOW_ATTR_EXPECT]) {
		err = ksip_parse_addr(tb[KSIP_FLOW_ATTR_EXPECT], true, &flow->expect, extack);
		if (err)
			return err;
		if (flow->expect.family != flow->local.family) {
			NL_SET_ERR_MSG_ATTR(extack, tb[KSIP_FLOW_ATTR_EXPECT],
					    "EXPECT must be of LOCAL's address family");
			return -EAFNOSUPPORT;
		}
	}
	if (!!(flow->flags & KSIP_FLOW_F_DSCP) != !!tb[KSIP_FLOW_ATTR_DSCP]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[KSIP_FLOW_ATTR_FLAGS] ?: info->attrs[KSIP_ATTR_FLOW],
				    "the DSCP flag and the DSCP value go together");
		return -EINVAL;
	}
	if (tb[KSIP_FLOW_ATTR_DSCP])
		flow->dscp = nla_get_u8(tb[KSIP_FLOW_ATTR_DSCP]);
	if (tb[KSIP_FLOW_ATTR_TIMEOUT])
		flow->timeout = nla_get_u32(tb[KSIP_FLOW_ATTR_TIMEOUT]);
	return 0;
}

static bool ksip_addr_equal(const struct ksip_addr *a, const struct ksip_addr *b)
{
	return a->family == b->family && a->port == b->port && ipv6_addr_equal(&a->ip, &b->ip);
}

/* What can be wrong with one output; each has a message per output index. */
enum ksip_output_err {
	KSIP_OE_NO_SOURCE,
	KSIP_OE_NO_PEER,
	KSIP_OE_FAMILY,
	KSIP_OE_DUPLICATE,
	KSIP_OE_FLOW_PEER,
	KSIP_OE_LOOP_LOCAL,
	KSIP_OE_LOOP_SOURCE,
	KSIP_OE__COUNT,
};

/* The messages of output I, one per enum ksip_output_err. */
#define KSIP_OUTPUT_MSGS(i) {							\
	[KSIP_OE_NO_SOURCE] = "output " #i ": needs SOURCE",			\
	[KSIP_OE_NO_PEER] = "output " #i ": needs PEER",			\
	[KSIP_OE_FAMILY] = "output " #i ": SOURCE and PEER must be of LOCAL's address family", \
	[KSIP_OE_DUPLICATE] = "output " #i ": PEER is already an earlier output's PEER", \
	[KSIP_OE_FLOW_PEER] = "output " #i ": PEER is the flow's own PEER",	\
	[KSIP_OE_LOOP_LOCAL] = "output " #i ": PEER is the flow's LOCAL: copies would loop", \
	[KSIP_OE_LOOP_SOURCE] = "output " #i ": PEER is the flow's SOURCE: copies would loop", \
}

/* Indexed by output, then by error: one row per output, KSIP_FLOW_OUTPUTS_MAX rows. */
static const char *const ksip_output_msgs[][KSIP_OE__COUNT] = {
	KSIP_OUTPUT_MSGS(0), KSIP_OUTPUT_MSGS(1), KSIP_OUTPUT_MSGS(2), KSIP_OUTPUT_MSGS(3),
	KSIP_OUTPUT_MSGS(4), KSIP_OUTPUT_MSGS(5), KSIP_OUTPUT_MSGS(6), KSIP_OUTPUT_MSGS(7),
	KSIP_OUTPUT_MSGS(8), KSIP_OUTPUT_MSGS(9), KSIP_OUTPUT_MSGS(10), KSIP_OUTPUT_MSGS(11),
	KSIP_OUTPUT_MSGS(12), KSIP_OUTPUT_MSGS(13), KSIP_OUTPUT_MSGS(14), KSIP_OUTPUT_MSGS(15),
};

/*
 * NL_SET_ERR_MSG_FMT() is 6.2 and later, and NL_SET_ERR_MSG() takes only a
 * literal: the extack keeps a pointer to the message, so it must be static.
 * These are.
 */
static int ksip_output_err(struct netlink_ext_ack *extack, const struct nlattr *attr,
			   enum ksip_output_err e, unsigned int i, int err)
{
	const char *msg = ksip_output_msgs[i][e];

	do_trace_netlink_extack(msg);
	if (extack) {
		extack->_msg = msg;
		NL_SET_BAD_ATTR(extack, attr);
	}
	return err;
}

/* Parse output I of a flow from LOCAL and SOURCE to PEER into O; earlier ones are in O - I. */
static int ksip_parse_output(const struct nlattr *attr, unsigned int i, struct ksip_output *o,
			     const struct ksip_flow *flow, const struct ksip_addr *peer,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *tb[KSIP_OUTPUT_ATTR_MAX + 1];
	unsigned int j;
	int err;

	err = nla_parse_nested(tb, KSIP_OUTPUT_ATTR_MAX, attr, ksip_output_policy, extack);
	if (err)
		return err;
	if (!tb[KSIP_OUTPUT_ATTR_SOURCE])
		return ksip_output_err(extack, attr, KSIP_OE_NO_SOURCE, i, -EINVAL);
	if (!tb[KSIP_OUTPUT_ATTR_PEER])
		return ksip_output_err(extack, attr, KSIP_OE_NO_PEER, i, -EINVAL);
	err = ksip_parse_addr(tb[KSIP_OUTPUT_ATTR_SOURCE], false, &o->source, extack) ?:
	      ksip_parse_addr(tb[KSIP_OUTPUT_ATTR_PEER], false, &o->peer, extack);
	if (err)
		return err;
	if (o->source.family != flow->local.family || o->peer.family != flow->local.family)
		return ksip_output_err(extack, attr, KSIP_OE_FAMILY, i, -EAFNOSUPPORT);
	if (ksip_addr_equal(&o->peer, &flow->local))
		return ksip_output_err(extack, tb[KSIP_OUTPUT_ATTR_PEER], KSIP_OE_LOOP_LOCAL, i,
				       -ELOOP);
	if (ksip_addr_equal(&o->peer, &flow->source))
		return ksip_output_err(extack, tb[KSIP_OUTPUT_ATTR_PEER], KSIP_OE_LOOP_SOURCE, i,
				       -ELOOP);
	if (ksip_addr_equal(&o->peer, peer))
		return ksip_output_err(extack, tb[KSIP_OUTPUT_ATTR_PEER], KSIP_OE_FLOW_PEER, i,
				       -EEXIST);
	for (j = 0; j < i; j++)
		if (ksip_addr_equal(&o->peer, &(o - i + j)->peer))
			return ksip_output_err(extack, tb[KSIP_OUTPUT_ATTR_PEER], KSIP_OE_DUPLICATE,
					       i, -EEXIST);
	return 0;
}

/*
 * The OUTPUTS of FLOW (configured; PEER its peer) into a new array in *RES,
 * NULL for none. The policy has checked every attribute's type and nesting.
 */
static int ksip_parse_outputs(const struct nlattr *nest, const struct ksip_flow *flow,
			      const struct ksip_addr *peer, struct ksip_outputs **res,
			      struct netlink_ext_ack *extack)
{
	struct ksip_outputs *outs;
	unsigned int n = 0;
	struct nlattr *a;
	int rem, err;

	BUILD_BUG_ON(ARRAY_SIZE(ksip_output_msgs) != KSIP_FLOW_OUTPUTS_MAX);
	*res = NULL;
	nla_for_each_nested(a, nest, rem) {
		if (n == KSIP_FLOW_OUTPUTS_MAX) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "output 16: more than KSIP_FLOW_OUTPUTS_MAX (16) outputs");
			return -E2BIG;
		}
		n++;
	}
	if (!n)
		return 0;
	outs = ksip_outputs_alloc(n);
	if (!outs)
		return -ENOMEM;
	n = 0;
	nla_for_each_nested(a, nest, rem) {
		err = ksip_parse_output(a, n, &outs->out[n], flow, peer, extack);
		if (err) {
			ksip_outputs_free_now(outs);
			return err;
		}
		n++;
	}
	*res = outs;
	return 0;
}

/*
 * Outputs that stay (same SOURCE and PEER) keep their counters. Copies the
 * fast path counts in OLD between this and the switch are lost to them.
 */
static void ksip_outputs_carry(const struct ksip_outputs *old, struct ksip_outputs *outs)
{
	unsigned int i, j;

	for (i = 0; old && outs && i < outs->n; i++) {
		struct ksip_output *o = &outs->out[i];

		for (j = 0; j < old->n; j++) {
			const struct ksip_output *p = &old->out[j];

			if (!ksip_addr_equal(&o->peer, &p->peer) ||
			    !ksip_addr_equal(&o->source, &p->source))
				continue;
			atomic64_set(&o->packets, atomic64_read(&p->packets));
			atomic64_set(&o->bytes, atomic64_read(&p->bytes));
			atomic64_set(&o->dropped, atomic64_read(&p->dropped));
			break;
		}
	}
}

static int ksip_nl_flow_new(struct sk_buff *skb, struct genl_info *info)
{
	struct ksip_net *kn = ksip_pernet(genl_info_net(info));
	struct nlattr *tbuf[KSIP_FLOW_ATTR_MAX + 1], **tb;
	struct ksip_flow *flow;
	int err;

	tb = ksip_flow_attrs(info, tbuf);
	if (!tb)
		return -EINVAL;
	flow = ksip_flow_alloc(GFP_KERNEL);
	if (!flow)
		return -ENOMEM;
	err = ksip_flow_configure(info, tb, flow);
	if (!err && tb[KSIP_FLOW_ATTR_OUTPUTS]) {
		struct ksip_outputs *outs;

		err = ksip_parse_outputs(tb[KSIP_FLOW_ATTR_OUTPUTS], flow, &flow->peer, &outs,
					 info->extack);
		RCU_INIT_POINTER(flow->outputs, outs);
	}
	if (err)
		goto free;
	mutex_lock(&kn->lock);
	if (kn->nflows >= KSIP_MAX_FLOWS) {
		NL_SET_ERR_MSG(info->extack, "flow table full");
		err = -ENOSPC;
	} else {
		err = ksip_flow_insert(kn, flow);
		if (err == -EEXIST)
			NL_SET_ERR_MSG_ATTR(info->extack, tb[KSIP_FLOW_ATTR_LOCAL],
					    "a flow with this LOCAL address exists");
	}
	mutex_unlock(&kn->lock);
	if (!err)
		return 0;
free:
	ksip_flow_free(flow);
	return err;
}

static int ksip_local_of(struct genl_info *info, struct ksip_addr *local)
{
	struct nlattr *tbuf[KSIP_FLOW_ATTR_MAX + 1], **tb;

	tb = ksip_flow_attrs(info, tbuf);
	if (!tb)
		return -EINVAL;
	if (!tb[KSIP_FLOW_ATTR_LOCAL]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[KSIP_ATTR_FLOW], "flow needs LOCAL");
		return -EINVAL;
	}
	return ksip_parse_addr(tb[KSIP_FLOW_ATTR_LOCAL], false, local, info->extack);
}

static int ksip_nl_flow_del(struct sk_buff *skb, struct genl_info *info)
{
	struct ksip_net *kn = ksip_pernet(genl_info_net(info));
	struct ksip_flow *flow;
	struct ksip_addr local;
	int err;

	err = ksip_local_of(info, &local);
	if (err)
		return err;
	mutex_lock(&kn->lock);
	flow = ksip_flow_lookup(kn, &local);
	if (flow)
		ksip_flow_remove(kn, flow);
	mutex_unlock(&kn->lock);
	if (!flow) {
		NL_SET_ERR_MSG(info->extack, "no flow with this LOCAL address");
		return -ENOENT;
	}
	return 0;
}

/* FLOW_SET: replace the outputs of the flow at LOCAL, all at once. */
static int ksip_nl_flow_set(struct sk_buff *skb, struct genl_info *info)
{
	struct ksip_net *kn = ksip_pernet(genl_info_net(info));
	struct nlattr *tbuf[KSIP_FLOW_ATTR_MAX + 1], **tb;
	struct ksip_outputs *outs, *old;
	struct ksip_flow *flow;
	struct ksip_addr local, peer;
	int err, i;

	tb = ksip_flow_attrs(info, tbuf);
	if (!tb)
		return -EINVAL;
	for (i = 0; i <= KSIP_FLOW_ATTR_MAX; i++) {
		if (tb[i] && i != KSIP_FLOW_ATTR_LOCAL && i != KSIP_FLOW_ATTR_OUTPUTS) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[i],
					    "FLOW_SET takes only LOCAL and OUTPUTS");
			return -EINVAL;
		}
	}
	err = ksip_need(info, tb, KSIP_FLOW_ATTR_LOCAL, "flow needs LOCAL") ?:
	      ksip_need(info, tb, KSIP_FLOW_ATTR_OUTPUTS, "FLOW_SET needs OUTPUTS (empty: none)");
	if (err)
		return err;
	err = ksip_parse_addr(tb[KSIP_FLOW_ATTR_LOCAL], false, &local, info->extack);
	if (err)
		return err;
	mutex_lock(&kn->lock);
	flow = ksip_flow_lookup(kn, &local);
	if (!flow) {
		NL_SET_ERR_MSG(info->extack, "no flow with this LOCAL address");
		err = -ENOENT;
		goto unlock;
	}
	ksip_flow_get_peer(flow, &peer);
	err = ksip_parse_outputs(tb[KSIP_FLOW_ATTR_OUTPUTS], flow, &peer, &outs, info->extack);
	if (err)
		goto unlock;
	old = rcu_dereference_protected(flow->outputs, lockdep_is_held(&kn->lock));
	ksip_outputs_carry(old, outs);
	rcu_assign_pointer(flow->outputs, outs);
	kn->generation++;
	ksip_outputs_free(old);
unlock:
	mutex_unlock(&kn->lock);
	return err;
}

static int ksip_nl_flow_get(struct sk_buff *skb, struct genl_info *info)
{
	struct ksip_net *kn = ksip_pernet(genl_info_net(info));
	struct ksip_flow *flow;
	struct ksip_addr local;
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = ksip_local_of(info, &local);
	if (err)
		return err;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ksip_genl_family, 0, KSIP_CMD_FLOW_GET);
	err = -EMSGSIZE;
	if (!hdr)
		goto free;
	mutex_lock(&kn->lock);
	flow = ksip_flow_lookup(kn, &local);
	err = flow ? ksip_put_flow(msg, flow, true) : -ENOENT;
	mutex_unlock(&kn->lock);
	if (err == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "no flow with this LOCAL address");
	if (err)
		goto free;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
free:
	nlmsg_free(msg);
	return err;
}

/* Resumable dump: cb->args[0] is how many flows were already sent. */
static int ksip_nl_flow_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ksip_net *kn = ksip_pernet(sock_net(skb->sk));
	struct ksip_flow *flow;
	long skip = cb->args[0], idx = 0;

	mutex_lock(&kn->lock);
	cb->seq = kn->generation;
	list_for_each_entry(flow, &kn->flow_list, list) {
		void *hdr;

		if (idx++ < skip)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &ksip_genl_family, NLM_F_MULTI, KSIP_CMD_FLOW_GET);
		if (!hdr)
			break;
		genl_dump_check_consistent(cb, hdr);
		if (ksip_put_flow(skb, flow, true)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = idx;
	}
	mutex_unlock(&kn->lock);
	return skb->len;
}

static int ksip_nl_flow_flush(struct sk_buff *skb, struct genl_info *info)
{
	ksip_flow_flush(ksip_pernet(genl_info_net(info)));
	return 0;
}

static int ksip_nl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct ksip_net *kn = ksip_pernet(genl_info_net(info));
	u64 sum[KSIP_NC__MAX], guard[KSIP_FRAME__COUNT];
	struct sk_buff *msg;
	struct nlattr *nest;
	void *hdr;
	int err = -EMSGSIZE;

	ksip_net_read_stats(kn, sum, guard);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ksip_genl_family, 0, KSIP_CMD_STATS_GET);
	if (!hdr)
		goto free;
	nest = nla_nest_start(msg, KSIP_ATTR_STATS);
	if (!nest ||
	    nla_put_u32(msg, KSIP_STATS_ATTR_FLOWS, READ_ONCE(kn->nflows)) ||
	    nla_put_u64_64bit(msg, KSIP_STATS_ATTR_FORWARDED, sum[KSIP_NC_FORWARDED],
			      KSIP_STATS_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, KSIP_STATS_ATTR_BYTES, sum[KSIP_NC_BYTES],
			      KSIP_STATS_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, KSIP_STATS_ATTR_DROP_SOURCE, sum[KSIP_NC_DROP_SOURCE],
			      KSIP_STATS_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, KSIP_STATS_ATTR_NO_ROUTE, sum[KSIP_NC_NO_ROUTE],
			      KSIP_STATS_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, KSIP_STATS_ATTR_DROP_ERROR, sum[KSIP_NC_DROP_ERROR],
			      KSIP_STATS_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, KSIP_STATS_ATTR_LATCHED, atomic64_read(&kn->latched),
			      KSIP_STATS_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, KSIP_STATS_ATTR_EXPIRED, atomic64_read(&kn->expired),
			      KSIP_STATS_ATTR_PAD))
		goto free;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
free:
	nlmsg_free(msg);
	return err;
}

static int ksip_nl_guard_set(struct sk_buff *skb, struct genl_info *info)
{
	struct ksip_net *kn = ksip_pernet(genl_info_net(info));
	__be16 ports[KSIP_GUARD_MAX_PORTS];
	struct nlattr *nest = info->attrs[KSIP_ATTR_GUARD], *a;
	unsigned int n = 0;
	int rem;

	/* Attributes were validated by the policy; PORT may repeat, so walk them. */
	if (nest) {
		nla_for_each_nested(a, nest, rem) {
			if (nla_type(a) != KSIP_GUARD_ATTR_PORT)
				continue;
			if (n == KSIP_GUARD_MAX_PORTS) {
				NL_SET_ERR_MSG_ATTR(info->extack, a, "too many guarded ports");
				return -E2BIG;
			}
			ports[n++] = htons(nla_get_u16(a));
		}
	}
	return ksip_guard_set(kn, ports, n);
}

static int ksip_nl_guard_get(struct sk_buff *skb, struct genl_info *info)
{
	struct ksip_net *kn = ksip_pernet(genl_info_net(info));
	u64 sum[KSIP_NC__MAX], guard[KSIP_FRAME__COUNT];
	const struct ksip_guard *g;
	struct nlattr *nest, *cnt;
	struct sk_buff *msg;
	unsigned int i;
	void *hdr;
	int err = 0;

	BUILD_BUG_ON(KSIP_FRAME__COUNT != KSIP_GUARD_CNT_MAX);
	ksip_net_read_stats(kn, sum, guard);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ksip_genl_family, 0, KSIP_CMD_GUARD_GET);
	nest = hdr ? nla_nest_start(msg, KSIP_ATTR_GUARD) : NULL;
	if (!nest)
		goto nospace;
	mutex_lock(&kn->lock);
	g = rcu_dereference_protected(kn->guard, lockdep_is_held(&kn->lock));
	for (i = 0; g && i < g->nports && !err; i++)
		err = nla_put_u16(msg, KSIP_GUARD_ATTR_PORT, ntohs(g->ports[i]));
	mutex_unlock(&kn->lock);
	cnt = err ? NULL : nla_nest_start(msg, KSIP_GUARD_ATTR_COUNTERS);
	if (!cnt)
		goto nospace;
	/* Counter attribute N is framing verdict N - 1. */
	for (i = 0; i < KSIP_FRAME__COUNT; i++)
		if (nla_put_u64_64bit(msg, i + 1, guard[i], KSIP_GUARD_CNT_UNSPEC))
			goto nospace;
	nla_nest_end(msg, cnt);
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

void ksip_genl_event(struct ksip_net *kn, int event, const struct ksip_flow *flow)
{
	struct sk_buff *msg;
	void *hdr;

	if (!READ_ONCE(ksip_genl_live))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &ksip_genl_family, 0, KSIP_CMD_EVENT);
	if (!hdr || nla_put_u32(msg, KSIP_ATTR_EVENT, event) || ksip_put_flow(msg, flow, false)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&ksip_genl_family, kn->net, msg, 0, 0, GFP_ATOMIC);
}

static const struct genl_small_ops ksip_genl_ops[] = {
	{
		.cmd = KSIP_CMD_FLOW_NEW,
		.doit = ksip_nl_flow_new,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSIP_CMD_FLOW_SET,
		.doit = ksip_nl_flow_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSIP_CMD_FLOW_DEL,
		.doit = ksip_nl_flow_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSIP_CMD_FLOW_GET,
		.doit = ksip_nl_flow_get,
		.dumpit = ksip_nl_flow_dump,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSIP_CMD_FLOW_FLUSH,
		.doit = ksip_nl_flow_flush,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSIP_CMD_STATS_GET,
		.doit = ksip_nl_stats_get,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSIP_CMD_GUARD_SET,
		.doit = ksip_nl_guard_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KSIP_CMD_GUARD_GET,
		.doit = ksip_nl_guard_get,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group ksip_mcgrps[] = {
	{ .name = KSIP_GENL_MCGRP_EVENTS, .flags = GENL_UNS_ADMIN_PERM },
};

static struct genl_family ksip_genl_family __ro_after_init = {
	.name = KSIP_GENL_NAME,
	.version = KSIP_GENL_VERSION,
	.maxattr = KSIP_ATTR_MAX,
	.policy = ksip_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = ksip_genl_ops,
	.n_small_ops = ARRAY_SIZE(ksip_genl_ops),
	.resv_start_op = KSIP_CMD_MAX + 1,
	.mcgrps = ksip_mcgrps,
	.n_mcgrps = ARRAY_SIZE(ksip_mcgrps),
};

int ksip_genl_init(void)
{
	int err = genl_register_family(&ksip_genl_family);

	if (!err)
		WRITE_ONCE(ksip_genl_live, true);
	return err;
}

void ksip_genl_exit(void)
{
	WRITE_ONCE(ksip_genl_live, false);
	genl_unregister_family(&ksip_genl_family);
}
