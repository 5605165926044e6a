// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-out: the extra outputs of a flow (KSIP_CMD_FLOW_SET). Every packet the
 * flow forwards to its PEER is first copied once per output, the copy
 * rewritten to come from the output's SOURCE and go to its PEER, and sent by
 * the output's own route. Outputs are of LOCAL's family, so a copy keeps the
 * packet's family whatever the flow's PEER is.
 *
 * The copy: every output rewrites the headers, none writes the payload. So
 * the payload of a linear packet (RTP and most other media) is copied once,
 * into a page fragment, and each copy gets a small head of its own holding
 * only the IP and UDP headers, with a reference to that fragment: per output,
 * a head of 384 bytes from the page-fragment cache where a copy of the whole
 * packet took a 1,024-byte slab object, and 28 or 48 bytes copied instead of
 * the datagram. Anything that writes a copy's payload later (a mangling
 * rule) pulls it into the head first, as for any packet with page fragments.
 * Packets that are not linear, or too large for a fragment, are copied with
 * pskb_copy(), which shares their fragments.
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

/* The payload the copies of one packet share: a page fragment, or none (page NULL). */
struct ksip_payload {
	void *data;
	struct page *page;
	unsigned int offset;
	unsigned int len;
};

/* Larger payloads (or none) are copied with the packet: a fragment is at most a page. */
#define KSIP_SHARED_PAYLOAD_MAX 2048

/* Put SKB's payload, after its first HLEN bytes, in a fragment the copies share. */
static void ksip_payload_share(struct ksip_payload *pl, const struct sk_buff *skb,
			       unsigned int hlen)
{
	unsigned int len = skb->len - hlen;

	pl->page = NULL;
	if (skb_is_nonlinear(skb) || skb->len <= hlen || len > KSIP_SHARED_PAYLOAD_MAX)
		return;
	pl->data = netdev_alloc_frag_align(SKB_DATA_ALIGN(len), SMP_CACHE_BYTES);
	if (!pl->data)
		return;
	memcpy(pl->data, skb->data + hlen, len);
	pl->page = virt_to_head_page(pl->data);
	pl->offset = pl->data - page_address(pl->page);
	pl->len = len;
}

/* Drop the sharer's own reference: the fragment goes with the last copy. */
static void ksip_payload_release(struct ksip_payload *pl)
{
	if (pl->page)
		skb_free_frag(pl->data);
}

/*
 * A head for SIZE bytes, from the page-fragment cache as receive paths take
 * theirs: a slab object per copy would be zeroed when allocated and its slab
 * page again when the slab is refilled, and since the copies are freed on the
 * receivers' CPUs, slabs are refilled all the time.
 */
static struct sk_buff *ksip_alloc_head(unsigned int size)
{
	unsigned int truesize = SKB_DATA_ALIGN(size) +
				SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	void *data = netdev_alloc_frag_align(truesize, SMP_CACHE_BYTES);
	struct sk_buff *n;

	if (!data)
		return alloc_skb(size, GFP_ATOMIC);
	/* Bottom halves off (always, on the receive path): from the per-CPU sk_buff cache. */
	n = in_softirq() ? napi_build_skb(data, truesize) : build_skb(data, truesize);
	if (!n)
		skb_free_frag(data);
	return n;
}

/*
 * A copy of SKB with a private head: its first HLEN bytes (the headers) in a
 * head sized for them and DST's link-layer header, the payload PL shared;
 * or, without a shared payload, pskb_copy().
 */
static struct sk_buff *ksip_copy(struct sk_buff *skb, unsigned int hlen,
				 const struct dst_entry *dst, const struct ksip_payload *pl)
{
	unsigned int headroom = LL_RESERVED_SPACE(dst->dev);
	struct sk_buff *n;

	if (!pl->page)
		return pskb_copy(skb, GFP_ATOMIC);
	n = ksip_alloc_head(headroom + hlen);
	if (!n)
		return NULL;
	skb_reserve(n, headroom);
	skb_put_data(n, skb->data, hlen);
	skb_copy_header(n, skb);
	/* Header offsets (and csum_start) count from the head, whose room differs. */
	skb_headers_offset_update(n, (int)headroom - (int)skb_headroom(skb));
	/* The link-layer header was not copied; the device writes its own. */
	skb_unset_mac_header(n);
	get_page(pl->page);
	skb_add_rx_frag(n, 0, pl->page, pl->offset, pl->len, pl->len);
	return n;
}

/* Copy SKB (a UDP datagram at L4OFF, headers pulled) to every output. */
void ksip_fanout(struct ksip_net *kn, const struct ksip_flow *flow, struct ksip_outputs *outs,
		 struct sk_buff *skb, unsigned int l4off, const struct nf_hook_state *state)
{
	const struct udphdr *uh = (const struct udphdr *)(skb_network_header(skb) + l4off);
	unsigned int payload = ntohs(uh->len) - sizeof(*uh), i;
	unsigned int hlen = skb_network_offset(skb) + l4off + sizeof(*uh);
	bool v4 = flow->local.family == AF_INET;
	struct ksip_payload shared;

	if (state->in && (state->in->flags & IFF_LOOPBACK))
		return;
	ksip_payload_share(&shared, skb, hlen);
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
		copy = ksip_copy(skb, hlen, dst, &shared);
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
			ksip_send_v4(state->net, copy);
		else
			ksip_send_v6(state->net, copy);
	}
	ksip_payload_release(&shared);
}
