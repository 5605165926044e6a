// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-out: the extra outputs of a flow (KSIP_CMD_FLOW_SET). Every packet the
 * flow forwards to its PEER is first copied once per output, the copy
 * rewritten to come from the output's SOURCE and go to its PEER, and sent by
 * the output's own route. Outputs are of LOCAL's family, so a copy keeps the
 * packet's family whatever the flow's PEER is.
 *
 * The copy is pskb_copy(): the linear part, which holds the headers we
 * rewrite (and for RTP-sized packets the whole datagram), is copied and any
 * page fragments are shared, since the payload is never written. A clone
 * would share the head and need copying anyway before a header could be
 * written; skb_copy() would copy the fragments too.
 *
 * The route: one cached per output, as for the flow (ksip_route.c): outputs
 * go to fixed peers, and up to KSIP_FLOW_OUTPUTS_MAX FIB lookups per packet
 * would cost more than the copies.
 *
 * Loops: a copy sent to an address of this host comes back through the
 * loopback device into PRE_ROUTING; two flows each copying to the other's
 * LOCAL would multiply packets without end. So packets that arrive over a
 * loopback device are forwarded to PEER but not copied, and FLOW_SET refuses
 * an output to the flow's own LOCAL or SOURCE (-ELOOP).
 *
 * Counters: a copy sent counts in its output and in the namespace's
 * FORWARDED and BYTES; the flow's own counters are for PEER alone. A copy not
 * sent counts in its output's DROPPED and in the namespace's DROP_ERROR (no
 * memory, GSO aggregate) or NO_ROUTE.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <net/dst.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "ksip.h"

struct ksip_outputs *ksip_outputs_alloc(unsigned int n)
{
	struct ksip_outputs *outs = kzalloc(struct_size(outs, out, n), GFP_KERNEL);

	if (!outs)
		return NULL;
	outs->n = n;
	atomic_inc(&ksip_live_objects);
	return outs;
}

/* Free outputs no reader can see any more, with their routes. */
void ksip_outputs_free_now(struct ksip_outputs *outs)
{
	unsigned int i;

	if (!outs)
		return;
	for (i = 0; i < outs->n; i++)
		dst_release(rcu_dereference_protected(outs->out[i].dst, true));
	kfree(outs);
	atomic_dec(&ksip_live_objects);
}

static void ksip_outputs_free_rcu(struct rcu_head *head)
{
	ksip_outputs_free_now(container_of(head, struct ksip_outputs, rcu));
}

/* Free outputs that were replaced, once readers are done with them. */
void ksip_outputs_free(struct ksip_outputs *outs)
{
	if (outs)
		call_rcu(&outs->rcu, ksip_outputs_free_rcu);
}

static void ksip_output_drop(struct ksip_net *kn, struct ksip_output *o, enum ksip_net_counter c)
{
	atomic64_inc(&o->dropped);
	ksip_net_count(kn, c, 0);
}

/* Copy SKB (a UDP datagram at L4OFF, headers pulled) to every output. */
void ksip_fanout(struct ksip_net *kn, const struct ksip_flow *flow, struct ksip_outputs *outs,
		 struct sk_buff *skb, unsigned int l4off, const struct nf_hook_state *state)
{
	const struct udphdr *uh = (const struct udphdr *)(skb_network_header(skb) + l4off);
	unsigned int payload = ntohs(uh->len) - sizeof(*uh), i;
	bool v4 = flow->local.family == AF_INET;

	if (state->in && (state->in->flags & IFF_LOOPBACK))
		return;
	for (i = 0; i < outs->n && i < KSIP_FLOW_OUTPUTS_MAX; i++) {
		struct ksip_output *o = &outs->out[i];
		struct dst_entry *dst;
		struct sk_buff *copy;

		/* The segments of a GSO aggregate would keep the old headers. */
		if (skb_is_gso(skb)) {
			ksip_output_drop(kn, o, KSIP_NC_DROP_ERROR);
			continue;
		}
		dst = ksip_route_cached(state->net, &o->dst, &o->dst_cookie, &o->source, &o->peer);
		if (!dst) {
			ksip_output_drop(kn, o, KSIP_NC_NO_ROUTE);
			continue;
		}
		copy = pskb_copy(skb, GFP_ATOMIC);
		if (!copy) {
			ksip_output_drop(kn, o, KSIP_NC_DROP_ERROR);
			continue;
		}
		if (v4)
			ksip_rewrite_v4(copy, l4off, flow, &o->source, &o->peer);
		else
			ksip_rewrite_v6(copy, flow, &o->source, &o->peer);
		atomic64_inc(&o->packets);
		atomic64_add(payload, &o->bytes);
		ksip_net_count(kn, KSIP_NC_FORWARDED, payload);
		ksip_set_route(copy, dst);
		if (v4)
			ip_local_out(state->net, NULL, copy);
		else
			ip6_local_out(state->net, NULL, copy);
	}
}
