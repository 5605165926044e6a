// SPDX-License-Identifier: GPL-2.0
/*
 * The SIP guard: UDP datagrams to the configured SIP ports must pass the
 * framing check (ksip_sipframe.c) or are dropped here, before they wake the
 * daemon. Verdicts are counted per CPU.
 */
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <linux/netfilter.h>

#include "ksip.h"

static void ksip_guard_count(struct ksip_net *kn, enum ksip_frame_verdict v)
{
	struct ksip_net_pcpu *s = this_cpu_ptr(kn->stats);

	u64_stats_update_begin(&s->syncp);
	s->guard[v]++;
	u64_stats_update_end(&s->syncp);
}

unsigned int ksip_guard_check(struct ksip_net *kn, struct sk_buff *skb, unsigned int l4off,
			      __be16 dport)
{
	const struct ksip_guard *g = rcu_dereference(kn->guard);
	enum ksip_frame_verdict v;
	const struct udphdr *uh;
	unsigned int i, len;

	if (!g)
		return NF_ACCEPT;
	for (i = 0; i < g->nports && g->ports[i] != dport; i++)
		;
	if (i == g->nports)
		return NF_ACCEPT;
	/* The check reads the payload in place; a SIP datagram is small. */
	if (skb_linearize(skb))
		return NF_ACCEPT;
	uh = (const struct udphdr *)(skb_network_header(skb) + l4off);
	len = ntohs(uh->len) - sizeof(*uh);
	v = ksip_frame_check((const unsigned char *)(uh + 1), len);
	ksip_guard_count(kn, v);
	return v == KSIP_FRAME_OK || v == KSIP_FRAME_KEEPALIVE ? NF_ACCEPT : NF_DROP;
}

int ksip_guard_set(struct ksip_net *kn, const __be16 *ports, unsigned int n)
{
	struct ksip_guard *g = NULL, *old;

	if (n) {
		g = kzalloc(sizeof(*g), GFP_KERNEL);
		if (!g)
			return -ENOMEM;
		g->nports = n;
		memcpy(g->ports, ports, n * sizeof(*ports));
	}
	mutex_lock(&kn->lock);
	old = rcu_replace_pointer(kn->guard, g, lockdep_is_held(&kn->lock));
	mutex_unlock(&kn->lock);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

void ksip_guard_exit(struct ksip_net *kn)
{
	/* Hooks are gone and no reader remains: free directly. */
	kfree(rcu_dereference_protected(kn->guard, true));
	RCU_INIT_POINTER(kn->guard, NULL);
}

void ksip_net_read_stats(struct ksip_net *kn, u64 *c, u64 *guard)
{
	int cpu;

	memset(c, 0, sizeof(u64) * KSIP_NC__MAX);
	memset(guard, 0, sizeof(u64) * KSIP_FRAME__COUNT);
	for_each_possible_cpu(cpu) {
		const struct ksip_net_pcpu *s = per_cpu_ptr(kn->stats, cpu);
		u64 vc[KSIP_NC__MAX], vg[KSIP_FRAME__COUNT];
		unsigned int start, i;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			memcpy(vc, s->c, sizeof(vc));
			memcpy(vg, s->guard, sizeof(vg));
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i < KSIP_NC__MAX; i++)
			c[i] += vc[i];
		for (i = 0; i < KSIP_FRAME__COUNT; i++)
			guard[i] += vg[i];
	}
}
