// SPDX-License-Identifier: GPL-2.0
/*
 * The nftables shield: what ksipd's table holds and the calls that change
 * it (nft.h draws the table). The table is always built whole, in one
 * transaction that first adds-then-deletes any table of the same name (so a
 * leftover goes and a missing one is no error) and then adds ours: the
 * kernel applies all of it or none.
 *
 * Written as `nft` would print it (rate meter lines only with a rate):
 *
 *   chain early { type filter hook prerouting priority -450; policy accept;
 *           udp dport RTP_MIN-RTP_MAX jump relay }
 *   chain prerouting { type filter hook prerouting priority raw; policy accept;
 *           udp dport @sip_udp jump sip
 *           tcp dport @sip_tcp jump sip
 *           udp dport RTP_MIN-RTP_MAX notrack }
 *   chain output { type filter hook output priority raw; policy accept;
 *           udp sport @sip_udp notrack
 *           udp sport RTP_MIN-RTP_MAX notrack }
 *   chain sip {
 *           meta l4proto udp notrack
 *           ip saddr @allow4 counter name allow_sip accept
 *           ip6 saddr @allow6 counter name allow_sip accept
 *           ip saddr @ban4 counter name ban_sip drop
 *           ip6 saddr @ban6 counter name ban_sip drop        (ban6: /64 intervals)
 *           add @rate4 { ip saddr limit rate over R/second burst B packets } counter name rate_sip drop
 *           add @rate6 { ip6 saddr & ffff:ffff:ffff:ffff:: limit rate over ... } counter name rate_sip drop }
 *   chain relay {
 *           ip saddr @allow4 counter name allow_relay accept   (and ip6 @allow6)
 *           ip saddr @ban4 counter name ban_relay drop          (and ip6 @ban6) }
 *
 * The relay ports' bans sit in `early`, below ksip.ko's hook (-410): a
 * media flow that has not latched yet latches onto the first source it
 * sees, and a banned source must not be that one. notrack stays at raw:
 * below -400 a packet has not been reassembled yet, and conntrack's defrag
 * skips an untracked one, so a fragmented datagram would never be whole.
 *
 * SIP over TCP stays tracked: one conntrack entry per connection, not per
 * call, and a host firewall that accepts "ct state established" keeps
 * working for it. The IPv6 rate meter counts per /64, since one host holds
 * a whole /64 to pick source addresses from.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "base/hash.h"
#include "base/log.h"
#include "shield/nft_priv.h"

const struct nft_shield_counter_desc nft_shield_counter_desc[NFT_SHIELD_NCOUNTERS] = {
#define NFT_SHIELD_DESC(name, help) [NFT_SHIELD_CTR_##name] = { #name, help },
	NFT_SHIELD_COUNTERS(NFT_SHIELD_DESC)
#undef NFT_SHIELD_DESC
};

/* nft's datatypes (src/datatype.h), so that `nft list` prints addresses and ports. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_INET_SERVICE 13

#define NFT_PRIO_RAW (-300)		/* NF_IP_PRI_RAW; <linux/netfilter_ipv4.h> fights <netinet/in.h> */
#define NFT_PRIO_EARLY (-450)		/* below ksip.ko's hook (NF_IP_PRI_CONNTRACK_DEFRAG - 10) */
#define NFT_RATE_TIMEOUT_MS 60000	/* a meter entry lives this long after it is made */
#define NFT_BAN_MAX_SECONDS (30 * 86400)

enum { SET_SIP_UDP = 1, SET_SIP_TCP, SET_BAN4, SET_BAN6, SET_ALLOW4, SET_ALLOW6, SET_RATE4, SET_RATE6 };

static const struct nft_set_desc {
	const char *name;
	uint32_t type, len, flags, size;
	uint64_t timeout_ms;
} nft_sets[] = {
	[SET_SIP_UDP] = { "sip_udp", NFT_TYPE_INET_SERVICE, 2, 0, 0, 0 },
	[SET_SIP_TCP] = { "sip_tcp", NFT_TYPE_INET_SERVICE, 2, 0, 0, 0 },
	[SET_BAN4] = { "ban4", NFT_TYPE_IPADDR, 4, NFT_SET_TIMEOUT, NFT_SHIELD_BAN_MAX, 0 },
	/* /64 prefixes: an interval set, each ban two elements (its start carries the timeout). */
	[SET_BAN6] = { "ban6", NFT_TYPE_IP6ADDR, 16, NFT_SET_INTERVAL | NFT_SET_TIMEOUT,
		       2 * NFT_SHIELD_BAN_MAX, 0 },
	[SET_ALLOW4] = { "allow4", NFT_TYPE_IPADDR, 4, NFT_SET_INTERVAL, 0, 0 },
	[SET_ALLOW6] = { "allow6", NFT_TYPE_IP6ADDR, 16, NFT_SET_INTERVAL, 0, 0 },
	/* Bounded: when full, a new source is not metered (the userspace bucket still is). */
	[SET_RATE4] = { "rate4", NFT_TYPE_IPADDR, 4, NFT_SET_EVAL | NFT_SET_TIMEOUT, 65536,
			NFT_RATE_TIMEOUT_MS },
	[SET_RATE6] = { "rate6", NFT_TYPE_IP6ADDR, 16, NFT_SET_EVAL | NFT_SET_TIMEOUT, 65536,
			NFT_RATE_TIMEOUT_MS },
};
#define NFT_NSETS (sizeof(nft_sets) / sizeof(nft_sets[0]))

/* ------------------------------------------------------------------ */
/* Building messages                                                   */

static void put_table(struct nft_shield *s, uint16_t type, uint16_t flags, const char *verb)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	nlh = nft_batch_msg(s, type, flags, "%s table inet %s", verb, s->table);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, s->table);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	nft_batch_next(s);
}

static void put_counter(struct nft_shield *s, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;

	nlh = nft_batch_msg(s, NFT_MSG_NEWOBJ, NLM_F_CREATE, "add counter inet %s %s", s->table,
			    name);
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, s->table);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	nft_batch_next(s);
}

static void put_set(struct nft_shield *s, int id)
{
	const struct nft_set_desc *d = &nft_sets[id];
	struct nftnl_set *set = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	nlh = nft_batch_msg(s, NFT_MSG_NEWSET, NLM_F_CREATE, "add set inet %s %s", s->table,
			    d->name);
	nftnl_set_set_str(set, NFTNL_SET_TABLE, s->table);
	nftnl_set_set_str(set, NFTNL_SET_NAME, d->name);
	nftnl_set_set_u32(set, NFTNL_SET_ID, (uint32_t)id);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, d->type);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, d->len);
	if (d->flags)
		nftnl_set_set_u32(set, NFTNL_SET_FLAGS, d->flags);
	if (d->size)
		nftnl_set_set_u32(set, NFTNL_SET_DESC_SIZE, d->size);
	if (d->timeout_ms)
		nftnl_set_set_u64(set, NFTNL_SET_TIMEOUT, d->timeout_ms);
	nftnl_set_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	nft_batch_next(s);
}

/* A base chain when HOOK >= 0 (at priority PRIO), else a regular one. */
static void put_chain(struct nft_shield *s, const char *name, int hook, int prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nlh = nft_batch_msg(s, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "add chain inet %s %s", s->table,
			    name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, s->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (hook >= 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	}
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	nft_batch_next(s);
}

/* Expressions, appended to rule R. Register 1 carries every value. */
static void e_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

static void e_cmp(struct nftnl_rule *r, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_rule_add_expr(r, e);
}

static void e_lookup(struct nftnl_rule *r, int set)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, nft_sets[set].name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)set);
	nftnl_rule_add_expr(r, e);
}

/* Ports compare as big-endian bytes: memcmp order is numeric order. */
static void e_port_range(struct nftnl_rule *r, uint16_t lo, uint16_t hi)
{
	struct nftnl_expr *e = nftnl_expr_alloc("range");
	uint16_t from = htons(lo), to = htons(hi);

	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &from, sizeof(from));
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &to, sizeof(to));
	nftnl_rule_add_expr(r, e);
}

static void e_mask(struct nftnl_rule *r, const uint8_t *mask, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	uint8_t zero[16] = { 0 };

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	nftnl_rule_add_expr(r, e);
}

/* add @SET { key limit rate over RATE/second burst BURST packets }: continues when over. */
static void e_meter(struct nftnl_rule *r, int set, uint32_t rate, uint32_t burst)
{
	struct nftnl_expr *e = nftnl_expr_alloc("dynset");
	struct nftnl_expr *l = nftnl_expr_alloc("limit");

	nftnl_expr_set_u64(l, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(l, NFTNL_EXPR_LIMIT_UNIT, 1);
	nftnl_expr_set_u32(l, NFTNL_EXPR_LIMIT_BURST, burst);
	nftnl_expr_set_u32(l, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(l, NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_ADD);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, nft_sets[set].name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, (uint32_t)set);
	nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, l, 0);
	nftnl_rule_add_expr(r, e);
}

static void e_counter(struct nftnl_rule *r, enum nft_shield_counter c)
{
	struct nftnl_expr *e = nftnl_expr_alloc("objref");

	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, nft_shield_counter_desc[c].name);
	nftnl_rule_add_expr(r, e);
}

static void e_notrack(struct nftnl_rule *r)
{
	nftnl_rule_add_expr(r, nftnl_expr_alloc("notrack"));
}

static void e_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	nftnl_rule_add_expr(r, e);
}

/* meta l4proto PROTO */
static void e_l4proto(struct nftnl_rule *r, uint8_t proto)
{
	e_meta(r, NFT_META_L4PROTO);
	e_cmp(r, &proto, 1);
}

/* ip saddr / ip6 saddr into register 1 (FAMILY AF_INET or AF_INET6). */
static void e_saddr(struct nftnl_rule *r, int family)
{
	uint8_t nfproto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

	e_meta(r, NFT_META_NFPROTO);
	e_cmp(r, &nfproto, 1);
	if (family == AF_INET)
		e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);	/* iphdr.saddr */
	else
		e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16);	/* ipv6hdr.saddr */
}

static struct nftnl_rule *rule_new(struct nft_shield *s, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, s->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static void put_rule(struct nft_shield *s, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh;

	nlh = nft_batch_msg(s, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
			    "add rule inet %s %s %s", s->table,
			    nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), what);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	nft_batch_next(s);
}

/* udp/tcp dport|sport (OFF 2 or 0) into register 1, after meta l4proto PROTO. */
static void e_port(struct nftnl_rule *r, uint8_t proto, uint32_t off)
{
	e_l4proto(r, proto);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2);
}

/* "FAMILY saddr @SET counter name CTR VERDICT" in CHAIN: the allow and ban rules. */
static void source_rule(struct nft_shield *s, const char *chain, int family, int set,
			enum nft_shield_counter ctr, int verdict, const char *what)
{
	struct nftnl_rule *r = rule_new(s, chain);

	e_saddr(r, family);
	e_lookup(r, set);
	e_counter(r, ctr);
	e_verdict(r, verdict, NULL);
	put_rule(s, r, what);
}

static void put_rules(struct nft_shield *s)
{
	static const uint8_t mask64[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const int fam[2] = { AF_INET, AF_INET6 };
	struct nftnl_rule *r;

	r = rule_new(s, "prerouting");
	e_port(r, IPPROTO_UDP, 2);
	e_lookup(r, SET_SIP_UDP);
	e_verdict(r, NFT_JUMP, "sip");
	put_rule(s, r, "udp dport @sip_udp jump sip");
	r = rule_new(s, "prerouting");
	e_port(r, IPPROTO_TCP, 2);
	e_lookup(r, SET_SIP_TCP);
	e_verdict(r, NFT_JUMP, "sip");
	put_rule(s, r, "tcp dport @sip_tcp jump sip");
	r = rule_new(s, "prerouting");
	e_port(r, IPPROTO_UDP, 2);
	e_port_range(r, s->relay_min, s->relay_max);
	e_notrack(r);
	put_rule(s, r, "udp dport RELAY notrack");
	r = rule_new(s, "early");
	e_port(r, IPPROTO_UDP, 2);
	e_port_range(r, s->relay_min, s->relay_max);
	e_verdict(r, NFT_JUMP, "relay");
	put_rule(s, r, "udp dport RELAY jump relay");

	/* Our answers leave from these ports: untracked too, or each would make an entry. */
	r = rule_new(s, "output");
	e_port(r, IPPROTO_UDP, 0);
	e_lookup(r, SET_SIP_UDP);
	e_notrack(r);
	put_rule(s, r, "udp sport @sip_udp notrack");
	r = rule_new(s, "output");
	e_port(r, IPPROTO_UDP, 0);
	e_port_range(r, s->relay_min, s->relay_max);
	e_notrack(r);
	put_rule(s, r, "udp sport RELAY notrack");

	r = rule_new(s, "sip");
	e_l4proto(r, IPPROTO_UDP);
	e_notrack(r);
	put_rule(s, r, "meta l4proto udp notrack");

	/* Allowed first: never dropped, never metered. */
	for (int i = 0; i < 2; i++) {
		source_rule(s, "sip", fam[i], i ? SET_ALLOW6 : SET_ALLOW4, NFT_SHIELD_CTR_allow_sip,
			    NF_ACCEPT, i ? "ip6 saddr @allow6 accept" : "ip saddr @allow4 accept");
		source_rule(s, "relay", fam[i], i ? SET_ALLOW6 : SET_ALLOW4, NFT_SHIELD_CTR_allow_relay,
			    NF_ACCEPT, i ? "ip6 saddr @allow6 accept" : "ip saddr @allow4 accept");
	}
	for (int i = 0; i < 2; i++) {
		source_rule(s, "sip", fam[i], i ? SET_BAN6 : SET_BAN4, NFT_SHIELD_CTR_ban_sip, NF_DROP,
			    i ? "ip6 saddr @ban6 drop" : "ip saddr @ban4 drop");
		source_rule(s, "relay", fam[i], i ? SET_BAN6 : SET_BAN4, NFT_SHIELD_CTR_ban_relay, NF_DROP,
			    i ? "ip6 saddr @ban6 drop" : "ip saddr @ban4 drop");
	}
	for (int i = 0; s->sip_rate && i < 2; i++) {
		r = rule_new(s, "sip");
		e_saddr(r, fam[i]);
		if (i)
			e_mask(r, mask64, 16);
		e_meter(r, i ? SET_RATE6 : SET_RATE4, s->sip_rate, s->sip_burst);
		e_counter(r, NFT_SHIELD_CTR_rate_sip);
		e_verdict(r, NF_DROP, NULL);
		put_rule(s, r, i ? "add @rate6 { ip6 saddr/64 limit rate over } drop" :
				   "add @rate4 { ip saddr limit rate over } drop");
	}
}

/* ------------------------------------------------------------------ */
/* Set elements                                                        */

static struct nftnl_set *elems_new(struct nft_shield *s, int set)
{
	struct nftnl_set *n = nftnl_set_alloc();

	nftnl_set_set_str(n, NFTNL_SET_TABLE, s->table);
	nftnl_set_set_str(n, NFTNL_SET_NAME, nft_sets[set].name);
	nftnl_set_set_u32(n, NFTNL_SET_ID, (uint32_t)set);
	return n;
}

static void elem_add(struct nftnl_set *n, const void *key, uint32_t len, uint32_t flags,
		     uint64_t timeout_ms)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (timeout_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
	nftnl_set_elem_add(n, e);
}

static void put_elems(struct nft_shield *s, struct nftnl_set *n, uint16_t type, uint16_t flags,
		      const char *verb)
{
	struct nlmsghdr *nlh;

	nlh = nft_batch_msg(s, type, flags, "%s element inet %s %s", verb, s->table,
			    nftnl_set_get_str(n, NFTNL_SET_NAME));
	nftnl_set_elems_nlmsg_build_payload(nlh, n);
	nftnl_set_free(n);
	nft_batch_next(s);
}

static void put_ports(struct nft_shield *s, int set, const uint16_t *ports, int n)
{
	struct nftnl_set *e;

	if (!n)
		return;
	e = elems_new(s, set);
	for (int i = 0; i < n; i++) {
		uint16_t p = htons(ports[i]);

		elem_add(e, &p, sizeof(p), 0, 0);
	}
	put_elems(s, e, NFT_MSG_NEWSETELEM, NLM_F_CREATE, "add");
}

/*
 * ADDR/PLEN as an interval: its first address (with TIMEOUT_MS, if any), and
 * the one after its last (INTERVAL_END, which the kernel refuses a timeout
 * on: an expired start takes its end with it).
 */
static void elem_add_prefix(struct nftnl_set *n, const uint8_t *addr, uint32_t len, int plen,
			    uint64_t timeout_ms)
{
	uint8_t end[16];
	int carry = 1;

	memcpy(end, addr, len);
	for (int bit = plen; bit < (int)len * 8; bit++)
		end[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	for (int i = (int)len - 1; i >= 0 && carry; i--) {
		end[i]++;
		carry = end[i] == 0;
	}
	elem_add(n, addr, len, 0, timeout_ms);
	if (!carry)	/* else the prefix reaches the last address: no end */
		elem_add(n, end, len, NFT_SET_ELEM_INTERVAL_END, 0);
}

static void elem_add_cidr(struct nftnl_set *n, const struct ksip_cidr *c)
{
	elem_add_prefix(n, c->addr, c->family == AF_INET ? 4 : 16, c->plen, 0);
}

/* allow4/allow6 emptied and filled, inside the transaction being built. */
static void put_allow(struct nft_shield *s, bool flush)
{
	for (int set = SET_ALLOW4; set <= SET_ALLOW6; set++) {
		int family = set == SET_ALLOW4 ? AF_INET : AF_INET6;
		struct nftnl_set *n = NULL;
		int k = 0;

		if (flush)	/* no elements: the whole set */
			put_elems(s, elems_new(s, set), NFT_MSG_DELSETELEM, 0, "flush");
		for (size_t i = 0; i < s->nallow; i++) {
			if (s->allow[i].family != family)
				continue;
			if (!n)
				n = elems_new(s, set);
			elem_add_cidr(n, &s->allow[i]);
			if (++k == NFT_ELEMS_PER_MSG / 2) {
				put_elems(s, n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, "add");
				n = NULL;
				k = 0;
			}
		}
		if (n)
			put_elems(s, n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, "add");
	}
}

/* ------------------------------------------------------------------ */
/* The remembered bans                                                 */

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static size_t ban_bucket(int family, const uint8_t *addr)
{
	return hash_bytes(addr, family == AF_INET ? 4 : 16) & (NFT_BAN_BUCKETS - 1);
}

static struct nft_ban **ban_find(struct nft_shield *s, int family, const uint8_t *addr)
{
	struct nft_ban **pp = &s->bans[ban_bucket(family, addr)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->family == family &&
		    !memcmp((*pp)->addr, addr, family == AF_INET ? 4 : 16))
			return pp;
	return pp;
}

static void ban_sweep(struct nft_shield *s, time_t now)
{
	for (size_t b = 0; b < NFT_BAN_BUCKETS; b++) {
		struct nft_ban **pp = &s->bans[b];

		while (*pp) {
			struct nft_ban *x = *pp;

			if (x->until > now) {
				pp = &x->next;
				continue;
			}
			*pp = x->next;
			free(x);
			s->nbans--;
		}
	}
}

/*
 * ADDR's source as the shield counts it, as (family, bytes): an IPv4
 * address (a v4-mapped IPv6 address is IPv4), or the IPv6 /64 holding ADDR,
 * its last 64 bits zero. -1 for any other family.
 */
static int addr_key(const struct sockaddr_storage *ss, uint8_t out[16])
{
	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return AF_INET;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, &a->s6_addr[12], 4);
			return AF_INET;
		}
		memcpy(out, a, 8);
		memset(out + 8, 0, 8);
		return AF_INET6;
	}
	return -1;
}

/* One ban's elements: an IPv4 address in ban4, or a /64 interval in ban6. */
static void ban_elem_add(struct nftnl_set *n, int family, const uint8_t *key, uint64_t ms)
{
	if (family == AF_INET)
		elem_add(n, key, 4, 0, ms);
	else
		elem_add_prefix(n, key, 16, 64, ms);
}

/* Put the remembered bans back, a message of elements per transaction. */
static int put_bans(struct nft_shield *s)
{
	time_t now = mono_now();
	struct nftnl_set *n[2] = { NULL, NULL };
	int k[2] = { 0, 0 }, r = 0;

	ban_sweep(s, now);
	for (size_t b = 0; b < NFT_BAN_BUCKETS && !r; b++) {
		for (struct nft_ban *x = s->bans[b]; x && !r; x = x->next) {
			int i = x->family == AF_INET6;

			if (!n[i])
				n[i] = elems_new(s, i ? SET_BAN6 : SET_BAN4);
			ban_elem_add(n[i], x->family, x->addr, (uint64_t)(x->until - now) * 1000);
			if (++k[i] < NFT_ELEMS_PER_MSG / 2)
				continue;
			nft_batch_begin(s);
			put_elems(s, n[i], NFT_MSG_NEWSETELEM, NLM_F_CREATE, "add");
			n[i] = NULL;
			k[i] = 0;
			r = nft_batch_commit(s);
		}
	}
	for (int i = 0; i < 2; i++) {
		if (!n[i])
			continue;
		if (r) {
			nftnl_set_free(n[i]);
			continue;
		}
		nft_batch_begin(s);
		put_elems(s, n[i], NFT_MSG_NEWSETELEM, NLM_F_CREATE, "add");
		r = nft_batch_commit(s);
	}
	return r;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */

/* The whole table in one transaction, replacing whatever has its name. */
static int build(struct nft_shield *s)
{
	int r;

	nft_batch_begin(s);
	/* add + delete + add: gone if it was there, no ENOENT if it was not. */
	put_table(s, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add");
	put_table(s, NFT_MSG_DELTABLE, 0, "delete");
	put_table(s, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, "create");
	for (int c = 0; c < NFT_SHIELD_NCOUNTERS; c++)
		put_counter(s, nft_shield_counter_desc[c].name);
	for (size_t i = 1; i < NFT_NSETS; i++)
		put_set(s, (int)i);
	put_chain(s, "sip", -1, 0);
	put_chain(s, "relay", -1, 0);
	/* Before conntrack (-200), so that notrack and drops cost it nothing. */
	put_chain(s, "early", NF_INET_PRE_ROUTING, NFT_PRIO_EARLY);
	put_chain(s, "prerouting", NF_INET_PRE_ROUTING, NFT_PRIO_RAW);
	put_chain(s, "output", NF_INET_LOCAL_OUT, NFT_PRIO_RAW);
	put_ports(s, SET_SIP_UDP, s->sip_udp, s->n_sip_udp);
	put_ports(s, SET_SIP_TCP, s->sip_tcp, s->n_sip_tcp);
	put_rules(s);
	put_allow(s, false);
	r = nft_batch_commit(s);
	return r ? r : put_bans(s);
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct ksip_cidr *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family - y->family;
	c = memcmp(x->addr, y->addr, 16);
	return c ? c : (int)x->plen - (int)y->plen;
}

static bool cidr_contains(const struct ksip_cidr *outer, const struct ksip_cidr *in)
{
	int full = outer->plen / 8, rest = outer->plen % 8;

	if (outer->family != in->family || outer->plen > in->plen)
		return false;
	if (memcmp(outer->addr, in->addr, (size_t)full))
		return false;
	return !rest || !((outer->addr[full] ^ in->addr[full]) & (uint8_t)(0xff00 >> rest));
}

/* Sorted, and a prefix inside another dropped: interval sets refuse overlaps. */
static int allow_store(struct nft_shield *s, const struct ksip_cidr *v, size_t n)
{
	size_t k = 0;

	if (n > NFT_ALLOW_MAX) {
		snprintf(s->err, sizeof(s->err), "allow list: %zu prefixes, at most %d", n,
			 NFT_ALLOW_MAX);
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		if ((v[i].family != AF_INET && v[i].family != AF_INET6) ||
		    v[i].plen > (v[i].family == AF_INET ? 32 : 128)) {
			snprintf(s->err, sizeof(s->err), "allow list: prefix %zu is not IPv4 or IPv6", i);
			return -EINVAL;
		}
	}
	memcpy(s->allow, v, n * sizeof(*v));
	qsort(s->allow, n, sizeof(*v), cidr_cmp);
	for (size_t i = 0; i < n; i++)
		if (!k || !cidr_contains(&s->allow[k - 1], &s->allow[i]))
			s->allow[k++] = s->allow[i];
	s->nallow = k;
	return 0;
}

static void add_port(uint16_t *v, int *n, uint16_t port)
{
	for (int i = 0; i < *n; i++)
		if (v[i] == port)
			return;
	v[(*n)++] = port;
}

struct nft_shield *nft_shield_open(const struct ksip_config *cfg, char *err, size_t errlen)
{
	struct nft_shield *s = calloc(1, sizeof(*s));
	int r;

	if (!s || !(s->buf = malloc(2 * NFT_BATCH_LIMIT))) {
		snprintf(err, errlen, "nf_tables: out of memory");
		goto fail;
	}
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->table, sizeof(s->table), "%s", cfg->nft_table);
	for (int i = 0; i < cfg->nlisten; i++) {
		const struct sockaddr_storage *a = &cfg->listen[i].addr;
		uint16_t port = ntohs(a->ss_family == AF_INET ?
				      ((const struct sockaddr_in *)a)->sin_port :
				      ((const struct sockaddr_in6 *)a)->sin6_port);

		if (cfg->listen[i].transport == KSIP_UDP)
			add_port(s->sip_udp, &s->n_sip_udp, port);
		else
			add_port(s->sip_tcp, &s->n_sip_tcp, port);
	}
	s->relay_min = cfg->rtp_port_min;
	s->relay_max = cfg->rtp_port_max;
	s->sip_rate = cfg->shield_sip_rate;
	s->sip_burst = cfg->shield_sip_burst;
	if (allow_store(s, cfg->shield_allow, (size_t)cfg->n_shield_allow)) {
		snprintf(err, errlen, "%s", s->err);
		goto fail;
	}
	if (nft_nl_open(s, err, errlen))
		goto fail;
	r = build(s);
	if (r) {
		snprintf(err, errlen, "%s", s->err);
		goto fail;
	}
	return s;
fail:
	if (s) {
		nft_nl_close(s);
		free(s->buf);
		free(s);
	}
	return NULL;
}

void nft_shield_close(struct nft_shield *s, bool keep)
{
	if (!s)
		return;
	if (!keep) {
		pthread_mutex_lock(&s->lock);
		nft_batch_begin(s);
		put_table(s, NFT_MSG_DELTABLE, 0, "delete");
		if (nft_batch_commit(s) && s->err[0])
			log_warn("nftables shield: %s", s->err);
		pthread_mutex_unlock(&s->lock);
	}
	nft_nl_close(s);
	ban_sweep(s, (time_t)1 << 62);
	pthread_mutex_destroy(&s->lock);
	free(s->buf);
	free(s);
}

static void ban_elem(struct nft_shield *s, int family, const uint8_t *key, uint64_t ms,
		     uint16_t type, uint16_t flags, const char *verb)
{
	struct nftnl_set *n = elems_new(s, family == AF_INET ? SET_BAN4 : SET_BAN6);

	ban_elem_add(n, family, key, ms);
	put_elems(s, n, type, flags, verb);
}

int nft_shield_ban(struct nft_shield *s, const struct sockaddr_storage *addr, uint32_t seconds)
{
	uint8_t key[16];
	int family = addr_key(addr, key), r;
	time_t now = mono_now();
	struct nft_ban **pp, *b;
	uint64_t ms;

	if (family < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (!seconds)
		seconds = 1;
	if (seconds > NFT_BAN_MAX_SECONDS)
		seconds = NFT_BAN_MAX_SECONDS;
	ms = (uint64_t)seconds * 1000;
	pthread_mutex_lock(&s->lock);
	pp = ban_find(s, family, key);
	b = *pp;
	if (!b) {
		if (s->nbans >= NFT_SHIELD_BAN_MAX)
			ban_sweep(s, now);
		if (s->nbans >= NFT_SHIELD_BAN_MAX || !(b = calloc(1, sizeof(*b)))) {
			pthread_mutex_unlock(&s->lock);
			log_warn("nftables shield: %s: ban not installed", s->nbans ?
				 "the list of bans is full" : "out of memory");
			errno = ENOSPC;
			return -1;
		}
		b->family = family;
		memcpy(b->addr, key, 16);
		pp = ban_find(s, family, key);	/* the sweep may have moved the tail */
		*pp = b;
		s->nbans++;
	}
	b->until = now + seconds;
	nft_batch_begin(s);
	ban_elem(s, family, key, ms, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, "add");
	r = nft_batch_commit(s);
	if (r == -EEXIST) {
		/* Already banned: the kernel keeps an element's timeout, so replace the element. */
		nft_batch_begin(s);
		ban_elem(s, family, key, 0, NFT_MSG_DELSETELEM, 0, "delete");
		ban_elem(s, family, key, ms, NFT_MSG_NEWSETELEM, NLM_F_CREATE, "add");
		r = nft_batch_commit(s);
	}
	if (r)
		log_warn("nftables shield: %s", s->err);
	pthread_mutex_unlock(&s->lock);
	if (r)
		errno = -r;
	return r ? -1 : 0;
}

int nft_shield_unban(struct nft_shield *s, const struct sockaddr_storage *addr)
{
	uint8_t key[16];
	int family = addr_key(addr, key), r;
	struct nft_ban **pp;

	if (family < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	pp = ban_find(s, family, key);
	if (*pp) {
		struct nft_ban *x = *pp;

		*pp = x->next;
		free(x);
		s->nbans--;
	}
	nft_batch_begin(s);
	ban_elem(s, family, key, 0, NFT_MSG_DELSETELEM, 0, "delete");
	r = nft_batch_commit(s);
	if (r == -ENOENT)	/* expired, or never there */
		r = 0;
	if (r)
		log_warn("nftables shield: %s", s->err);
	pthread_mutex_unlock(&s->lock);
	if (r)
		errno = -r;
	return r ? -1 : 0;
}

int nft_shield_allow_set(struct nft_shield *s, const struct ksip_cidr *cidrs, size_t n)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = allow_store(s, cidrs, n);
	if (!r) {
		nft_batch_begin(s);
		put_allow(s, true);
		r = nft_batch_commit(s);
	}
	if (r)
		log_warn("nftables shield: %s", s->err);
	pthread_mutex_unlock(&s->lock);
	if (r)
		errno = -r;
	return r ? -1 : 0;
}

struct counters_ctx {
	struct nft_shield *s;
	struct nft_shield_counters *out;
};

static void fill_counters(struct nlmsghdr *nlh, void *arg)
{
	struct counters_ctx *c = arg;
	struct nftnl_obj *o = nftnl_obj_alloc();

	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, c->s->table);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
}

static int read_counter(const struct nlmsghdr *nlh, void *arg)
{
	struct counters_ctx *c = arg;
	struct nftnl_obj *o = nftnl_obj_alloc();
	const char *table, *name;

	if (!o)
		return -1;
	/* Anything malformed, or not one of our counters, is passed over. */
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWOBJ || nftnl_obj_nlmsg_parse(nlh, o) < 0 ||
	    !nftnl_obj_is_set(o, NFTNL_OBJ_TABLE) || !nftnl_obj_is_set(o, NFTNL_OBJ_NAME) ||
	    !nftnl_obj_is_set(o, NFTNL_OBJ_CTR_PKTS) || !nftnl_obj_is_set(o, NFTNL_OBJ_CTR_BYTES))
		goto out;
	table = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE);
	name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
	if (!table || !name || strcmp(table, c->s->table))
		goto out;
	for (int i = 0; i < NFT_SHIELD_NCOUNTERS; i++) {
		if (strcmp(name, nft_shield_counter_desc[i].name))
			continue;
		c->out->packets[i] = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
		c->out->bytes[i] = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES);
	}
out:
	nftnl_obj_free(o);
	return 0;
}

int nft_shield_counters(struct nft_shield *s, struct nft_shield_counters *out)
{
	struct counters_ctx c = { s, out };
	char what[96];
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "list counters table inet %s", s->table);
	pthread_mutex_lock(&s->lock);
	r = nft_request(s, NFT_MSG_GETOBJ, NLM_F_DUMP, fill_counters, read_counter, &c, what);
	pthread_mutex_unlock(&s->lock);
	if (r)
		errno = -r;
	return r ? -1 : 0;
}

static void fill_table(struct nlmsghdr *nlh, void *arg)
{
	struct nft_shield *s = arg;
	struct nftnl_table *t = nftnl_table_alloc();

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, s->table);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
}

bool nft_shield_present(struct nft_shield *s)
{
	char what[96];
	int r;

	snprintf(what, sizeof(what), "get table inet %s", s->table);
	pthread_mutex_lock(&s->lock);
	r = nft_request(s, NFT_MSG_GETTABLE, 0, fill_table, NULL, s, what);
	pthread_mutex_unlock(&s->lock);
	/* Only "no such table" says it is gone; any other failure is no reason to rebuild. */
	return r != -ENOENT;
}

int nft_shield_restore(struct nft_shield *s)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = build(s);
	if (r)
		log_warn("nftables shield: restoring table inet %s: %s", s->table, s->err);
	pthread_mutex_unlock(&s->lock);
	if (r)
		errno = -r;
	return r ? -1 : 0;
}

int nft_shield_monitor_fd(const struct nft_shield *s)
{
	return mnl_socket_get_fd(s->mon);
}

const char *nft_shield_table(const struct nft_shield *s)
{
	return s->table;
}

static int attr_table_cb(const struct nlattr *a, void *arg)
{
	const char **name = arg;

	/* NFTA_{TABLE_NAME,CHAIN_TABLE,RULE_TABLE,SET_TABLE,OBJ_TABLE} are all attribute 1. */
	if (mnl_attr_get_type(a) == 1 && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		*name = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

/* Does this event remove something of our table? */
static bool event_hits_us(const struct nft_shield *s, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g;
	const char *table = NULL;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    nlh->nlmsg_pid == s->portid || mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
		return false;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_DELTABLE:
	case NFT_MSG_DELCHAIN:
	case NFT_MSG_DELRULE:
	case NFT_MSG_DELSET:
	case NFT_MSG_DELOBJ:
		break;
	default:	/* additions, and elements: a ban deleted by hand stays deleted */
		return false;
	}
	g = mnl_nlmsg_get_payload(nlh);
	if (g->nfgen_family != NFPROTO_INET)
		return false;
	if (mnl_attr_parse(nlh, sizeof(*g), attr_table_cb, &table) < 0 || !table)
		return false;
	return !strcmp(table, s->table);
}

bool nft_shield_monitor_read(struct nft_shield *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	bool hit = false;

	/* Bounded: a busy ruleset elsewhere may keep the group talking; the rest waits for the next poll. */
	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(mnl_socket_get_fd(s->mon), buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* Events were lost: look instead of guessing. */
			if (errno == ENOBUFS)
				return hit || !nft_shield_present(s);
			break;
		}
		if (n == 0)
			break;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			if (event_hits_us(s, nlh))
				hit = true;
	}
	return hit;
}
