// SPDX-License-Identifier: GPL-2.0
/*
 * The fast path: a PRE_ROUTING hook that takes UDP packets addressed to a
 * flow's local address and port, rewrites addresses and ports, and sends
 * them on by the flow's cached route. Everything else continues untouched.
 *
 * Flows whose PEER is of the other address family are sent by ksip_xlate.c.
 *
 * The hook runs before defragmentation and conntrack (see docs/kernel.md):
 * forwarded media never creates conntrack entries, and fragments, IP
 * options we do not understand and IPv6 extension headers go to the stack.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/dsfield.h>
#include <net/dst.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netfilter/nf_conntrack.h>

#include "ksip.h"
#include <uapi/linux/ksip.h>

#define KSIP_HOOK_PRIORITY (NF_IP_PRI_CONNTRACK_DEFRAG - 10)

void ksip_net_count(struct ksip_net *kn, enum ksip_net_counter c, u64 bytes)
{
	struct ksip_net_pcpu *s = this_cpu_ptr(kn->stats);

	u64_stats_update_begin(&s->syncp);
	s->c[c]++;
	if (c == KSIP_NC_FORWARDED)
		s->c[KSIP_NC_BYTES] += bytes;
	u64_stats_update_end(&s->syncp);
}

static void ksip_flow_count(struct ksip_flow *flow, bool dropped, unsigned int bytes)
{
	if (dropped) {
		atomic64_inc(&flow->dropped);
	} else {
		atomic64_inc(&flow->packets);
		atomic64_add(bytes, &flow->bytes);
	}
}

static bool ksip_addr_match(const struct ksip_addr *want, const struct ksip_addr *got)
{
	return ipv6_addr_equal(&want->ip, &got->ip) && (!want->port || want->port == got->port);
}

/*
 * Symmetric RTP: the first packet's source becomes the destination of the
 * reverse flow (the flow whose local address is our source on the other
 * leg). Later packets must come from that same source.
 */
static bool ksip_latch(struct ksip_net *kn, struct ksip_flow *flow, const struct ksip_addr *src)
{
	struct ksip_flow *reverse;

	if (atomic_read(&flow->state) & KSIP_FLOW_LATCHED) {
		smp_rmb(); /* pairs with smp_wmb() below: expect is written before the bit */
		return ksip_addr_match(&flow->expect, src);
	}
	if (atomic_fetch_or(KSIP_FLOW_LATCHING, &flow->state) & KSIP_FLOW_LATCHING)
		return false;	/* another CPU is latching this very moment */
	flow->expect = *src;
	smp_wmb(); /* publish expect before the bit; pairs with smp_rmb() above */
	atomic_or(KSIP_FLOW_LATCHED, &flow->state);
	atomic64_inc(&kn->latched);

	/*
	 * The reverse flow sends from its SOURCE, so its PEER must stay of that family; a reverse
	 * flow configured with a SOURCE of the other family keeps its PEER.
	 */
	reverse = ksip_flow_lookup(kn, &flow->source);
	if (reverse && reverse->source.family == src->family) {
		write_seqlock(&reverse->peer_lock);
		reverse->peer = *src;
		write_sequnlock(&reverse->peer_lock);
		ksip_route_reset(reverse);
	}
	ksip_genl_event(kn, KSIP_EVENT_LATCHED, flow);
	return true;
}

/* Source policy of the flow; false means drop. */
static bool ksip_source_ok(struct ksip_net *kn, struct ksip_flow *flow, const struct ksip_addr *src)
{
	if (flow->flags & KSIP_FLOW_F_EXPECT)
		return ksip_addr_match(&flow->expect, src);
	if (flow->flags & KSIP_FLOW_F_LATCH)
		return ksip_latch(kn, flow, src);
	return true;
}

/*
 * Hand a rewritten packet its route (a cached one, without a reference: the
 * stack takes one if it queues the packet) and send it as our own.
 */
void ksip_set_route(struct sk_buff *skb, struct dst_entry *dst)
{
	skb_dst_drop(skb);
	skb_dst_set_noref(skb, dst);
	skb_clear_tstamp(skb);
	nf_reset_ct(skb);
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	/* Sent on our behalf: conntrack on the output path must not track it either. */
	nf_ct_set(skb, NULL, IP_CT_UNTRACKED);
#endif
}

/*
 * Send a rewritten packet on its route. Relayed media is forwarded traffic,
 * not traffic of this host: like forwarded packets (and like the kernel's
 * flowtable fast path) it does not pass the OUTPUT hook. It does pass
 * POSTROUTING, in dst_output(), so the host's egress rules and NAT see it
 * there. Skipping OUTPUT also spares every packet and every copy a walk of
 * whatever OUTPUT chains the host has, ksipd's own `output` chain included
 * (its notrack is already done: ksip_set_route() marks the packet untracked).
 */
void ksip_send_v4(struct net *net, struct sk_buff *skb)
{
	struct iphdr *iph = ip_hdr(skb);

	iph->tot_len = htons(skb->len);
	ip_send_check(iph);
	skb->protocol = htons(ETH_P_IP);
	dst_output(net, NULL, skb);
}

void ksip_send_v6(struct net *net, struct sk_buff *skb)
{
	unsigned int len = skb->len - sizeof(struct ipv6hdr);

	ipv6_hdr(skb)->payload_len = len > IPV6_MAXPLEN ? 0 : htons(len);
	IP6CB(skb)->nhoff = offsetof(struct ipv6hdr, nexthdr);
	skb->protocol = htons(ETH_P_IPV6);
	dst_output(net, NULL, skb);
}

/* The flow's packet to PEER: its route, and count it. */
void ksip_prepare_xmit(struct ksip_net *kn, struct ksip_flow *flow, struct sk_buff *skb,
		       struct dst_entry *dst, unsigned int payload)
{
	ksip_flow_count(flow, false, payload);
	ksip_net_count(kn, KSIP_NC_FORWARDED, payload);
	ksip_set_route(skb, dst);
}

/*
 * Rewrite a UDP/IPv4 packet, whose headers are writable, to go from SRC to
 * DST; the UDP checksum is updated by the difference (or stays 0: none).
 * The IP header checksum is recomputed by ksip_send_v4().
 */
void ksip_rewrite_v4(struct sk_buff *skb, unsigned int ihl, const struct ksip_flow *flow,
		     const struct ksip_addr *src, const struct ksip_addr *dst)
{
	struct iphdr *iph = ip_hdr(skb);
	struct udphdr *uh = (struct udphdr *)(skb_network_header(skb) + ihl);
	__be32 saddr = src->ip.s6_addr32[3], daddr = dst->ip.s6_addr32[3];

	if (uh->check) {
		inet_proto_csum_replace4(&uh->check, skb, iph->saddr, saddr, true);
		inet_proto_csum_replace4(&uh->check, skb, iph->daddr, daddr, true);
		inet_proto_csum_replace2(&uh->check, skb, uh->source, src->port, false);
		inet_proto_csum_replace2(&uh->check, skb, uh->dest, dst->port, false);
		if (!uh->check)
			uh->check = CSUM_MANGLED_0;
	}
	uh->source = src->port;
	uh->dest = dst->port;
	iph->saddr = saddr;
	iph->daddr = daddr;
	if (flow->flags & KSIP_FLOW_F_DSCP)
		ipv4_change_dsfield(iph, INET_ECN_MASK, flow->dscp << 2);
}

/* The same for UDP/IPv6, where the checksum is mandatory. */
void ksip_rewrite_v6(struct sk_buff *skb, const struct ksip_flow *flow,
		     const struct ksip_addr *src, const struct ksip_addr *dst)
{
	struct ipv6hdr *ip6h = ipv6_hdr(skb);
	struct udphdr *uh = (struct udphdr *)(skb_network_header(skb) + sizeof(*ip6h));

	inet_proto_csum_replace16(&uh->check, skb, ip6h->saddr.s6_addr32, src->ip.s6_addr32, true);
	inet_proto_csum_replace16(&uh->check, skb, ip6h->daddr.s6_addr32, dst->ip.s6_addr32, true);
	inet_proto_csum_replace2(&uh->check, skb, uh->source, src->port, false);
	inet_proto_csum_replace2(&uh->check, skb, uh->dest, dst->port, false);
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;
	uh->source = src->port;
	uh->dest = dst->port;
	ip6h->saddr = src->ip;
	ip6h->daddr = dst->ip;
	if (flow->flags & KSIP_FLOW_F_DSCP)
		ipv6_change_dsfield(ip6h, INET_ECN_MASK, flow->dscp << 2);
}

static unsigned int ksip_forward_v4(struct ksip_net *kn, struct ksip_flow *flow,
				    struct sk_buff *skb, const struct nf_hook_state *state)
{
	unsigned int ihl = ip_hdrlen(skb);
	struct ksip_addr peer;
	struct udphdr *uh;
	struct dst_entry *dst;
	unsigned int payload, seq;

	if (skb_ensure_writable(skb, ihl + sizeof(*uh))) {
		ksip_net_count(kn, KSIP_NC_DROP_ERROR, 0);
		return NF_DROP;
	}
	seq = ksip_flow_get_peer(flow, &peer);
	uh = (struct udphdr *)(skb_network_header(skb) + ihl);
	payload = ntohs(uh->len) - sizeof(*uh);

	dst = ksip_route_get(state->net, flow, &peer, seq);
	if (!dst) {
		ksip_net_count(kn, KSIP_NC_NO_ROUTE, 0);
		return NF_DROP;
	}
	ksip_rewrite_v4(skb, ihl, flow, &flow->source, &peer);
	ksip_prepare_xmit(kn, flow, skb, dst, payload);
	ksip_send_v4(state->net, skb);
	return NF_STOLEN;
}

static unsigned int ksip_forward_v6(struct ksip_net *kn, struct ksip_flow *flow,
				    struct sk_buff *skb, const struct nf_hook_state *state)
{
	const unsigned int hlen = sizeof(struct ipv6hdr);
	struct ksip_addr peer;
	struct dst_entry *dst;
	struct udphdr *uh;
	unsigned int payload, seq;

	if (skb_ensure_writable(skb, hlen + sizeof(*uh))) {
		ksip_net_count(kn, KSIP_NC_DROP_ERROR, 0);
		return NF_DROP;
	}
	seq = ksip_flow_get_peer(flow, &peer);
	uh = (struct udphdr *)(skb_network_header(skb) + hlen);
	payload = ntohs(uh->len) - sizeof(*uh);

	dst = ksip_route_get(state->net, flow, &peer, seq);
	if (!dst) {
		ksip_net_count(kn, KSIP_NC_NO_ROUTE, 0);
		return NF_DROP;
	}
	ksip_rewrite_v6(skb, flow, &flow->source, &peer);
	ksip_prepare_xmit(kn, flow, skb, dst, payload);
	ksip_send_v6(state->net, skb);
	return NF_STOLEN;
}

/* Nothing to do in this namespace: no flows and no guarded ports. */
static bool ksip_idle(struct ksip_net *kn)
{
	return !READ_ONCE(kn->nflows) && !rcu_access_pointer(kn->guard);
}

static unsigned int ksip_handle(struct ksip_net *kn, struct sk_buff *skb, unsigned int l4off,
				const struct ksip_addr *local, const struct ksip_addr *src,
				const struct nf_hook_state *state)
{
	struct ksip_outputs *outs;
	struct ksip_flow *flow;
	u32 now = (u32)jiffies;

	/* Netfilter hooks run inside an RCU read-side section. */
	flow = ksip_flow_lookup(kn, local);
	if (!flow)
		return ksip_guard_check(kn, skb, l4off, local->port);
	if (!ksip_source_ok(kn, flow, src)) {
		ksip_flow_count(flow, true, 0);
		ksip_net_count(kn, KSIP_NC_DROP_SOURCE, 0);
		return NF_DROP;
	}
	if (READ_ONCE(flow->last_seen) != now)
		WRITE_ONCE(flow->last_seen, now);
	/* Copies first: forwarding rewrites the packet in place and hands it on. */
	outs = rcu_dereference(flow->outputs);
	if (outs)
		ksip_fanout(kn, flow, outs, skb, l4off, state);
	/* SOURCE and PEER share a family (ksip_netlink.c, ksip_latch()); LOCAL may differ. */
	if (local->family == AF_INET)
		return flow->source.family == AF_INET ? ksip_forward_v4(kn, flow, skb, state) :
							ksip_forward_4to6(kn, flow, skb, state);
	return flow->source.family == AF_INET6 ? ksip_forward_v6(kn, flow, skb, state) :
						 ksip_forward_6to4(kn, flow, skb, state);
}

static unsigned int ksip_hook_v4(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct ksip_net *kn = ksip_pernet(state->net);
	struct ksip_addr local = { .family = AF_INET }, src = { .family = AF_INET };
	const struct iphdr *iph = ip_hdr(skb);
	const struct udphdr *uh;
	unsigned int ihl;

	if (iph->protocol != IPPROTO_UDP || ksip_idle(kn))
		return NF_ACCEPT;
	if (ip_is_fragment(iph))
		return NF_ACCEPT;
	ihl = iph->ihl * 4;
	if (!pskb_may_pull(skb, ihl + sizeof(struct udphdr)))
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	uh = (const struct udphdr *)(skb_network_header(skb) + ihl);
	if (ntohs(uh->len) < sizeof(*uh) || ntohs(uh->len) > skb->len - ihl)
		return NF_ACCEPT;	/* malformed: the stack drops and counts it */
	ipv6_addr_set_v4mapped(iph->daddr, &local.ip);
	local.port = uh->dest;
	ipv6_addr_set_v4mapped(iph->saddr, &src.ip);
	src.port = uh->source;
	return ksip_handle(kn, skb, ihl, &local, &src, state);
}

static unsigned int ksip_hook_v6(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct ksip_net *kn = ksip_pernet(state->net);
	struct ksip_addr local = { .family = AF_INET6 }, src = { .family = AF_INET6 };
	const unsigned int hlen = sizeof(struct ipv6hdr);
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	const struct udphdr *uh;

	/* Extension headers (fragments among them) are left to the stack. */
	if (ip6h->nexthdr != IPPROTO_UDP || ksip_idle(kn))
		return NF_ACCEPT;
	if (!pskb_may_pull(skb, hlen + sizeof(struct udphdr)))
		return NF_ACCEPT;
	ip6h = ipv6_hdr(skb);
	uh = (const struct udphdr *)(skb_network_header(skb) + hlen);
	if (ntohs(uh->len) < sizeof(*uh) || ntohs(uh->len) > skb->len - hlen)
		return NF_ACCEPT;
	local.ip = ip6h->daddr;
	local.port = uh->dest;
	src.ip = ip6h->saddr;
	src.port = uh->source;
	return ksip_handle(kn, skb, hlen, &local, &src, state);
}

static const struct nf_hook_ops ksip_nf_ops[] = {
	{
		.hook = ksip_hook_v4,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = KSIP_HOOK_PRIORITY,
	},
	{
		.hook = ksip_hook_v6,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = KSIP_HOOK_PRIORITY,
	},
};

int ksip_hooks_register(struct net *net)
{
	return nf_register_net_hooks(net, ksip_nf_ops, ARRAY_SIZE(ksip_nf_ops));
}

void ksip_hooks_unregister(struct net *net)
{
	nf_unregister_net_hooks(net, ksip_nf_ops, ARRAY_SIZE(ksip_nf_ops));
}
