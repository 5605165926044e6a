// SPDX-License-Identifier: GPL-2.0
/*
 * Flows across address families: LOCAL is IPv4 and SOURCE and PEER are
 * IPv6, or the reverse, so that a call between an IPv4 and an IPv6 phone is
 * relayed in the kernel.
 *
 * The relay is an endpoint on both legs, as with same-family flows: this is
 * not NAT64 translation (RFC 7915). The IP header is replaced by one from
 * SOURCE to PEER; the UDP header keeps its length and gets SOURCE's and
 * PEER's ports; the payload is not touched. TTL and hop limit are carried
 * over unchanged (same-family flows do not decrement them either); the DS
 * field is carried over too, or takes the flow's DSCP with ECN kept.
 *
 * The UDP checksum: the IPv4 and IPv6 pseudo-headers differ only in their
 * addresses (length and protocol add up the same), so a checksum is updated
 * by the difference of the address and port sums, as for a same-family
 * rewrite: a datagram whose checksum was wrong stays wrong and its receiver
 * drops it. A CHECKSUM_PARTIAL packet (from a local sender, or through a veth)
 * gets the new pseudo-header sum and csum_start on the new UDP header. An
 * IPv4 datagram without a checksum (0) gets one computed over the datagram,
 * since IPv6 requires it (RFC 8200 section 8.1); an IPv6 datagram with
 * checksum 0 is invalid (RFC 6936 allows it only for tunnels) and dropped.
 * Each drop here is counted (KSIP_NC_DROP_ERROR, or NO_ROUTE).
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/dsfield.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>

#include "ksip.h"

static unsigned int ksip_xlate_drop(struct ksip_net *kn)
{
	ksip_net_count(kn, KSIP_NC_DROP_ERROR, 0);
	return NF_DROP;
}

/*
 * What the addresses (pseudo-header) and ports of a datagram add to its UDP
 * checksum: the rest of the pseudo-header is the same in both families.
 */
static __wsum ksip_sum_v4(const struct iphdr *iph, const struct udphdr *uh)
{
	__wsum sum = csum_add((__force __wsum)uh->source, (__force __wsum)uh->dest);

	sum = csum_add(sum, (__force __wsum)iph->saddr);
	return csum_add(sum, (__force __wsum)iph->daddr);
}

static __wsum ksip_sum_v6(const struct ipv6hdr *ip6h, const struct udphdr *uh)
{
	__wsum sum = csum_add((__force __wsum)uh->source, (__force __wsum)uh->dest);
	unsigned int i;

	for (i = 0; i < 4; i++) {
		sum = csum_add(sum, (__force __wsum)ip6h->saddr.s6_addr32[i]);
		sum = csum_add(sum, (__force __wsum)ip6h->daddr.s6_addr32[i]);
	}
	return sum;
}

/*
 * Checks common to both directions, with the route: the datagram is not a
 * GSO aggregate (its segments would need the old family's offload), the
 * peer is of SOURCE's family (ksip_latch() keeps it so), and there is a
 * route. On success *DST is the route and *PEER the peer.
 */
static int ksip_xlate_route(struct ksip_net *kn, struct ksip_flow *flow, struct sk_buff *skb,
			    const struct nf_hook_state *state, struct ksip_addr *peer,
			    struct dst_entry **dst)
{
	unsigned int seq;

	if (skb_is_gso(skb))
		return -EINVAL;
	seq = ksip_flow_get_peer(flow, peer);
	if (peer->family != flow->source.family)
		return -EINVAL;
	*dst = ksip_route_get(state->net, flow, peer, seq);
	if (!*dst) {
		ksip_net_count(kn, KSIP_NC_NO_ROUTE, 0);
		return -ENETUNREACH;
	}
	return 0;
}

/*
 * Make the first OLD_HLEN + UDP header bytes writable, drop what follows the
 * UDP datagram (IP payload beyond the UDP length) and leave room for a
 * NEW_HLEN header plus the device's link-layer header.
 */
static int ksip_xlate_prepare(struct sk_buff *skb, const struct dst_entry *dst,
			      unsigned int old_hlen, unsigned int new_hlen, unsigned int ulen)
{
	int room = (int)new_hlen - (int)old_hlen + LL_RESERVED_SPACE(dst->dev);

	if (pskb_trim_rcsum(skb, old_hlen + ulen))
		return -ENOMEM;
	if (skb_ensure_writable(skb, old_hlen + sizeof(struct udphdr)))
		return -ENOMEM;
	return skb_cow_head(skb, room > 0 ? room : 0);
}

/* Replace the old network header (OLD_HLEN bytes) by an empty one of NEW_HLEN bytes. */
static void ksip_xlate_swap_header(struct sk_buff *skb, unsigned int old_hlen,
				   unsigned int new_hlen)
{
	__skb_pull(skb, old_hlen);
	skb_push(skb, new_hlen);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, new_hlen);
	/* The control block holds the input family's parameters; the output reads its own. */
	memset(skb->cb, 0, sizeof(skb->cb));
}

/* A local sender's offload: the hardware (or skb_checksum_help) completes the sum. */
static void ksip_xlate_partial(struct sk_buff *skb)
{
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct udphdr, check);
}

unsigned int ksip_forward_4to6(struct ksip_net *kn, struct ksip_flow *flow, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	const unsigned int hlen = sizeof(struct ipv6hdr);
	unsigned int ihl = ip_hdrlen(skb), ulen;
	struct ksip_addr peer;
	struct dst_entry *dst;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	struct udphdr *uh;
	__wsum old_sum;
	u8 tos, ttl;
	int err;

	err = ksip_xlate_route(kn, flow, skb, state, &peer, &dst);
	if (err)
		return err == -ENETUNREACH ? NF_DROP : ksip_xlate_drop(kn);
	/* The hook checked that the UDP length fits the packet. */
	uh = (struct udphdr *)(skb_network_header(skb) + ihl);
	ulen = ntohs(uh->len);
	if (ksip_xlate_prepare(skb, dst, ihl, hlen, ulen))
		return ksip_xlate_drop(kn);
	iph = ip_hdr(skb);
	uh = (struct udphdr *)(skb_network_header(skb) + ihl);
	tos = iph->tos;
	ttl = iph->ttl;
	old_sum = ksip_sum_v4(iph, uh);

	ksip_xlate_swap_header(skb, ihl, hlen);
	ip6h = ipv6_hdr(skb);
	ip6_flow_hdr(ip6h, ksip_dsfield(flow, tos), 0);
	ip6h->payload_len = htons(ulen);
	ip6h->nexthdr = IPPROTO_UDP;
	ip6h->hop_limit = ttl;
	ip6h->saddr = flow->source.ip;
	ip6h->daddr = peer.ip;
	skb->protocol = htons(ETH_P_IPV6);

	uh = udp_hdr(skb);
	uh->source = flow->source.port;
	uh->dest = peer.port;
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		uh->check = ~csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, ulen, IPPROTO_UDP, 0);
		ksip_xlate_partial(skb);
	} else {
		if (uh->check) {
			csum_replace_by_diff(&uh->check, csum_sub(ksip_sum_v6(ip6h, uh), old_sum));
		} else {
			uh->check = csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, ulen, IPPROTO_UDP,
						    skb_checksum(skb, hlen, ulen, 0));
		}
		if (!uh->check)
			uh->check = CSUM_MANGLED_0;
		/* Whatever the input device verified or summed was over the old header. */
		skb->ip_summed = CHECKSUM_NONE;
	}
	/* Sent as from a local socket: fragmented here if larger than the path MTU. */
	skb->ignore_df = 1;

	ksip_prepare_xmit(kn, flow, skb, dst, ulen - sizeof(*uh));
	ksip_send_v6(state->net, skb);
	return NF_STOLEN;
}

unsigned int ksip_forward_6to4(struct ksip_net *kn, struct ksip_flow *flow, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	const unsigned int hlen = sizeof(struct ipv6hdr), ihl = sizeof(struct iphdr);
	unsigned int ulen;
	struct ksip_addr peer;
	struct dst_entry *dst;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	struct udphdr *uh;
	__wsum old_sum;
	u8 tclass, hop;
	int err;

	uh = (struct udphdr *)(skb_network_header(skb) + hlen);
	ulen = ntohs(uh->len);
	/* Checksum 0 is invalid in IPv6; an IPv4 packet holds at most 65,535 bytes. */
	if ((!uh->check && skb->ip_summed != CHECKSUM_PARTIAL) || ulen > U16_MAX - ihl)
		return ksip_xlate_drop(kn);
	err = ksip_xlate_route(kn, flow, skb, state, &peer, &dst);
	if (err)
		return err == -ENETUNREACH ? NF_DROP : ksip_xlate_drop(kn);
	if (ksip_xlate_prepare(skb, dst, hlen, ihl, ulen))
		return ksip_xlate_drop(kn);
	ip6h = ipv6_hdr(skb);
	uh = (struct udphdr *)(skb_network_header(skb) + hlen);
	tclass = ipv6_get_dsfield(ip6h);
	hop = ip6h->hop_limit;
	old_sum = ksip_sum_v6(ip6h, uh);

	ksip_xlate_swap_header(skb, hlen, ihl);
	iph = ip_hdr(skb);
	iph->version = 4;
	iph->ihl = ihl / 4;
	iph->tos = ksip_dsfield(flow, tclass);
	iph->tot_len = htons(ihl + ulen);
	iph->frag_off = htons(IP_DF);
	iph->ttl = hop;
	iph->protocol = IPPROTO_UDP;
	iph->saddr = flow->source.ip.s6_addr32[3];
	iph->daddr = peer.ip.s6_addr32[3];
	/* Like a local socket: DF, but fragmented here if larger than the path MTU. */
	skb->ignore_df = 1;
	ip_select_ident(state->net, skb, NULL);
	skb->protocol = htons(ETH_P_IP);
	/* The header checksum is computed by ksip_send_v4(). */

	uh = udp_hdr(skb);
	uh->source = flow->source.port;
	uh->dest = peer.port;
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		uh->check = ~csum_tcpudp_magic(iph->saddr, iph->daddr, ulen, IPPROTO_UDP, 0);
		ksip_xlate_partial(skb);
	} else {
		csum_replace_by_diff(&uh->check, csum_sub(ksip_sum_v4(iph, uh), old_sum));
		if (!uh->check)
			uh->check = CSUM_MANGLED_0;
		skb->ip_summed = CHECKSUM_NONE;
	}

	ksip_prepare_xmit(kn, flow, skb, dst, ulen - sizeof(*uh));
	ksip_send_v4(state->net, skb);
	return NF_STOLEN;
}
