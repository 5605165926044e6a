/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksip.ko internals: flows keyed by their local address and port, looked
 * up under RCU from a netfilter hook, configured over generic netlink.
 */
#ifndef _KSIP_H
#define _KSIP_H

#include <linux/in6.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/rhashtable.h>
#include <linux/seqlock.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <net/inet_ecn.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <uapi/linux/ksip.h>

#include "ksip_sipframe.h"

/* An address and port; IPv4 is held as an IPv4-mapped IPv6 address. */
struct ksip_addr {
	struct in6_addr ip;
	__be16 port;
	u8 family;		/* AF_INET or AF_INET6 */
	u8 pad;
};

/*
 * A flow: KSIP_FLOW_OWN_BYTES plus its seqlock in its own slab cache: 184
 * bytes, or 224 on PREEMPT_RT (see docs/kernel.md for the per-flow memory
 * budget). PEER changes only when the reverse flow latches,
 * under PEER_LOCK; readers retry. DST caches the route to PEER
 * (ksip_route.c). The counters are atomics in the flow
 * rather than per CPU: a flow's packets arrive on one CPU (RSS hashes the
 * 5-tuple), so they do not contend, and per-CPU copies would cost
 * 24 bytes per possible CPU for every flow.
 *
 * TIMEOUT, FLAGS and DSCP are set before the flow is inserted and never
 * change, so they share one word as bit fields; with STATE an atomic_t this
 * leaves room for OUTPUTS, the extra outputs (ksip_output.c), allocated
 * apart so that a flow without them costs no more than before.
 */
#define KSIP_FLOW_OWN_BYTES 176	/* all of struct ksip_flow but peer_lock */
#define KSIP_FLOW_TIMEOUT_BITS 20	/* holds KSIP_FLOW_TIMEOUT_MAX */
#define KSIP_FLOW_FLAGS_BITS 3		/* holds KSIP_FLOW_F_ALL */
#define KSIP_FLOW_DSCP_BITS 6		/* holds KSIP_FLOW_DSCP_MAX */

struct ksip_flow {
	struct rhash_head node;
	struct ksip_addr local;		/* the hash key */
	struct ksip_addr source;
	struct ksip_addr expect;	/* EXPECT: the allowed source; LATCH: the latched one */
	struct ksip_addr peer;
	seqlock_t peer_lock;
	atomic_t state;			/* KSIP_FLOW_LATCHED, KSIP_FLOW_LATCHING */
	u32 last_seen;			/* jiffies (low 32 bits), written locklessly */
	u32 dst_cookie;			/* IPv6: validates DST (rt6_get_cookie) */
	u32 timeout : KSIP_FLOW_TIMEOUT_BITS;	/* seconds, 0 = never */
	u32 flags : KSIP_FLOW_FLAGS_BITS;
	u32 dscp : KSIP_FLOW_DSCP_BITS;
	struct dst_entry __rcu *dst;	/* the cached route, one reference */
	struct ksip_outputs __rcu *outputs;	/* NULL: none; replaced whole under RCU */
	atomic64_t packets;
	atomic64_t bytes;
	atomic64_t dropped;
	struct list_head list;		/* ksip_net.flow_list, under ksip_net.lock */
	struct rcu_head rcu;
};

#define KSIP_FLOW_LATCHED BIT(0)	/* flow->expect holds the latched source */
#define KSIP_FLOW_LATCHING BIT(1)	/* one CPU is writing it */

/*
 * An extra output of a flow: every packet the flow forwards is also copied
 * here, from SOURCE to PEER (both of LOCAL's family), with its own cached
 * route and counters.
 */
struct ksip_output {
	struct ksip_addr source;
	struct ksip_addr peer;
	u32 dst_cookie;
	struct dst_entry __rcu *dst;
	atomic64_t packets;
	atomic64_t bytes;
	atomic64_t dropped;		/* no memory, no route, GSO */
};

/* A flow's outputs: never changed once published, replaced whole (KSIP_CMD_FLOW_SET). */
struct ksip_outputs {
	struct rcu_head rcu;
	unsigned int n;
	struct ksip_output out[];
};

/* Per-namespace counters, per CPU so the fast path never contends. */
enum ksip_net_counter {
	KSIP_NC_FORWARDED,
	KSIP_NC_BYTES,
	KSIP_NC_DROP_SOURCE,
	KSIP_NC_NO_ROUTE,
	KSIP_NC_DROP_ERROR,	/* could not be sent: no memory, GSO, unfit for the other family */
	KSIP_NC__MAX,
};

struct ksip_net_pcpu {
	u64 c[KSIP_NC__MAX];
	u64 guard[KSIP_FRAME__COUNT];	/* framing verdicts */
	struct u64_stats_sync syncp;
};

/* The UDP ports whose datagrams must be well-framed SIP; replaced whole under RCU. */
struct ksip_guard {
	u8 nports;
	__be16 ports[KSIP_GUARD_MAX_PORTS];
	struct rcu_head rcu;
};

struct ksip_net {
	struct net *net;
	struct rhashtable flows;
	struct list_head flow_list;
	struct mutex lock;		/* writers: netlink and the idle scan */
	u32 nflows;
	u32 generation;			/* bumped on every change, for consistent dumps */
	atomic64_t latched;
	atomic64_t expired;
	struct ksip_net_pcpu __percpu *stats;
	struct ksip_guard __rcu *guard;
	struct delayed_work idle_work;
	bool hooks_registered;
};

extern unsigned int ksip_net_id;
extern atomic_t ksip_live_objects;
extern const struct rhashtable_params ksip_flow_params;

static inline struct ksip_net *ksip_pernet(const struct net *net)
{
	return net_generic(net, ksip_net_id);
}

/* ksip_flow.c */
int ksip_flow_cache_init(void);
void ksip_flow_cache_exit(void);
unsigned int ksip_flow_get_peer(const struct ksip_flow *flow, struct ksip_addr *peer);
int ksip_net_flows_init(struct ksip_net *kn);
void ksip_net_flows_exit(struct ksip_net *kn);
struct ksip_flow *ksip_flow_alloc(gfp_t gfp);
void ksip_flow_free(struct ksip_flow *flow);
int ksip_flow_insert(struct ksip_net *kn, struct ksip_flow *flow);
void ksip_flow_remove(struct ksip_net *kn, struct ksip_flow *flow);
struct ksip_flow *ksip_flow_lookup(struct ksip_net *kn, const struct ksip_addr *local);
void ksip_flow_flush(struct ksip_net *kn);
void ksip_flow_read_stats(const struct ksip_flow *flow, u64 *packets, u64 *bytes, u64 *dropped);
void ksip_idle_work(struct work_struct *work);

/* ksip_guard.c */
unsigned int ksip_guard_check(struct ksip_net *kn, struct sk_buff *skb, unsigned int l4off,
			      __be16 dport);
int ksip_guard_set(struct ksip_net *kn, const __be16 *ports, unsigned int n);
void ksip_guard_exit(struct ksip_net *kn);
void ksip_net_read_stats(struct ksip_net *kn, u64 *c, u64 *guard);

/* ksip_hook.c */
int ksip_hooks_register(struct net *net);
void ksip_hooks_unregister(struct net *net);
void ksip_net_count(struct ksip_net *kn, enum ksip_net_counter c, u64 bytes);
void ksip_prepare_xmit(struct ksip_net *kn, struct ksip_flow *flow, struct sk_buff *skb,
		       struct dst_entry *dst, unsigned int payload);
void ksip_set_route(struct sk_buff *skb, struct dst_entry *dst);
void ksip_send_v4(struct net *net, struct sk_buff *skb);
void ksip_send_v6(struct net *net, struct sk_buff *skb);
void ksip_rewrite_v4(struct sk_buff *skb, unsigned int ihl, const struct ksip_flow *flow,
		     const struct ksip_addr *src, const struct ksip_addr *dst);
void ksip_rewrite_v6(struct sk_buff *skb, const struct ksip_flow *flow,
		     const struct ksip_addr *src, const struct ksip_addr *dst);

/* The DS field to send with: the flow's DSCP if it has one, else OLD's; ECN bits kept. */
static inline u8 ksip_dsfield(const struct ksip_flow *flow, u8 old)
{
	if (flow->flags & KSIP_FLOW_F_DSCP)
		return (flow->dscp << 2) | (old & INET_ECN_MASK);
	return old;
}

/* ksip_xlate.c: flows whose LOCAL and PEER differ in address family */
unsigned int ksip_forward_4to6(struct ksip_net *kn, struct ksip_flow *flow, struct sk_buff *skb,
			       const struct nf_hook_state *state);
unsigned int ksip_forward_6to4(struct ksip_net *kn, struct ksip_flow *flow, struct sk_buff *skb,
			       const struct nf_hook_state *state);

/* ksip_output.c: fan-out */
struct ksip_outputs *ksip_outputs_alloc(unsigned int n);
void ksip_outputs_free(struct ksip_outputs *outs);
void ksip_outputs_free_now(struct ksip_outputs *outs);
void ksip_fanout(struct ksip_net *kn, const struct ksip_flow *flow, struct ksip_outputs *outs,
		 struct sk_buff *skb, unsigned int l4off, const struct nf_hook_state *state);

/* ksip_route.c */
struct dst_entry *ksip_route_get(struct net *net, struct ksip_flow *flow,
				 const struct ksip_addr *peer, unsigned int peer_seq);
struct dst_entry *ksip_route_cached(struct net *net, struct dst_entry __rcu **slot, u32 *cookie,
				    const struct ksip_addr *source, const struct ksip_addr *peer);
void ksip_route_reset(struct ksip_flow *flow);
void ksip_route_release(struct ksip_flow *flow);

/* ksip_netlink.c */
int ksip_genl_init(void);
void ksip_genl_exit(void);
void ksip_genl_event(struct ksip_net *kn, int event, const struct ksip_flow *flow);

#endif /* _KSIP_H */
