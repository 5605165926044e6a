// SPDX-License-Identifier: GPL-2.0
/*
 * The per-flow route cache. A flow's packets all go from the same source to
 * the same peer, so the route is looked up once and kept in the flow, as a
 * connected socket keeps its route: the fast path then attaches it to the
 * packet without a reference (it runs under RCU) instead of walking the FIB
 * and taking and dropping a reference for every packet, which is what plain
 * forwarding pays.
 *
 * A cached route is checked on every use (dst_check: any routing change in
 * the namespace, or the device going away, invalidates it) and dropped when
 * the peer changes (latching). The flow owns one reference, released when
 * the flow is freed after a grace period, so readers never see it go.
 */
#include <net/dst.h>
#include <net/ip6_fib.h>
#include <net/ip6_route.h>
#include <net/route.h>

#include "ksip.h"

static struct dst_entry *ksip_route_lookup4(struct net *net, const struct ksip_addr *source,
					    const struct ksip_addr *peer)
{
	struct flowi4 fl4 = {
		.daddr = peer->ip.s6_addr32[3],
		.saddr = source->ip.s6_addr32[3],
		.flowi4_proto = IPPROTO_UDP,
	};
	struct rtable *rt = ip_route_output_key(net, &fl4);

	return IS_ERR(rt) ? NULL : &rt->dst;
}

static struct dst_entry *ksip_route_lookup6(struct net *net, const struct ksip_addr *source,
					    const struct ksip_addr *peer, u32 *cookie)
{
	struct flowi6 fl6 = {
		.daddr = peer->ip,
		.saddr = source->ip,
		.flowi6_proto = IPPROTO_UDP,
	};
	struct dst_entry *dst = ip6_route_output(net, NULL, &fl6);

	if (dst->error) {
		dst_release(dst);
		return NULL;
	}
	*cookie = rt6_get_cookie((struct rt6_info *)dst);
	return dst;
}

/* Forget the cached route (the peer changed); the reference goes with the grace period. */
void ksip_route_reset(struct ksip_flow *flow)
{
	struct dst_entry *old = unrcu_pointer(xchg(&flow->dst, NULL));

	dst_release(old);
}

/* Drop the flow's reference; called once no reader can see the flow. */
void ksip_route_release(struct ksip_flow *flow)
{
	dst_release(rcu_dereference_protected(flow->dst, true));
}

/*
 * The route from SOURCE to PEER cached in SLOT (validated by *COOKIE), looked
 * up again if it is missing or stale; without a reference: valid until the
 * caller leaves its RCU read-side section. NULL: no route. Used for flows
 * and for each of their extra outputs (ksip_output.c).
 */
struct dst_entry *ksip_route_cached(struct net *net, struct dst_entry __rcu **slot, u32 *cookie,
				    const struct ksip_addr *source, const struct ksip_addr *peer)
{
	struct dst_entry *dst = rcu_dereference(*slot), *old;
	u32 new_cookie = 0;

	if (dst && dst_check(dst, READ_ONCE(*cookie)))
		return dst;
	if (peer->family == AF_INET)
		dst = ksip_route_lookup4(net, source, peer);
	else
		dst = ksip_route_lookup6(net, source, peer, &new_cookie);
	if (!dst)
		return NULL;
	WRITE_ONCE(*cookie, new_cookie);
	old = unrcu_pointer(xchg(slot, RCU_INITIALIZER(dst)));
	/* Another CPU may be using OLD right now: it is freed after a grace period. */
	dst_release(old);
	return dst;
}

/*
 * The route to PEER for a packet of FLOW (see ksip_route_cached()).
 * PEER_SEQ is the peer_lock sequence PEER was read under.
 */
struct dst_entry *ksip_route_get(struct net *net, struct ksip_flow *flow,
				 const struct ksip_addr *peer, unsigned int peer_seq)
{
	struct dst_entry *dst = ksip_route_cached(net, &flow->dst, &flow->dst_cookie,
						  &flow->source, peer);

	/* The peer latched meanwhile: the route is for the old one; for this packet only. */
	if (dst && read_seqretry(&flow->peer_lock, peer_seq))
		ksip_route_reset(flow);
	return dst;
}
