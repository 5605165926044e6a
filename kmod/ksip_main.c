// SPDX-License-Identifier: GPL-2.0
/*
 * ksip.ko: in-kernel RTP/RTCP forwarding for the ksip SIP proxy.
 * Module and network-namespace lifetime.
 */
#include <linux/module.h>
#include <linux/percpu.h>
#include <net/genetlink.h>
#include <net/netns/generic.h>

#include "ksip.h"
#include <uapi/linux/ksip.h>

unsigned int ksip_net_id __read_mostly;

/* Flows allocated and not yet freed; zero after unload or something leaked. */
atomic_t ksip_live_objects = ATOMIC_INIT(0);

static int __net_init ksip_net_init(struct net *net)
{
	struct ksip_net *kn = ksip_pernet(net);
	int cpu, err;

	kn->net = net;
	kn->stats = alloc_percpu(struct ksip_net_pcpu);
	if (!kn->stats)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(kn->stats, cpu)->syncp);
	err = ksip_net_flows_init(kn);
	if (err)
		goto free_stats;
	err = ksip_hooks_register(net);
	if (err)
		goto free_flows;
	return 0;
free_flows:
	ksip_net_flows_exit(kn);
free_stats:
	free_percpu(kn->stats);
	return err;
}

static void __net_exit ksip_net_exit(struct net *net)
{
	struct ksip_net *kn = ksip_pernet(net);

	/* Unregistering the hooks waits for packets in flight in them. */
	ksip_hooks_unregister(net);
	ksip_guard_exit(kn);
	ksip_net_flows_exit(kn);
	free_percpu(kn->stats);
}

static struct pernet_operations ksip_net_ops = {
	.init = ksip_net_init,
	.exit = ksip_net_exit,
	.id = &ksip_net_id,
	.size = sizeof(struct ksip_net),
};

static int __init ksip_init(void)
{
	int err;

	err = ksip_flow_cache_init();
	if (err)
		return err;
	err = register_pernet_subsys(&ksip_net_ops);
	if (err)
		goto cache;
	err = ksip_genl_init();
	if (err)
		goto pernet;
	pr_info("ksip: loaded, generic netlink family %s version %d\n", KSIP_GENL_NAME,
		KSIP_GENL_VERSION);
	return 0;
pernet:
	unregister_pernet_subsys(&ksip_net_ops);
cache:
	ksip_flow_cache_exit();
	return err;
}

static void __exit ksip_exit(void)
{
	/* No new requests first; then hooks and flows of every namespace. */
	ksip_genl_exit();
	unregister_pernet_subsys(&ksip_net_ops);
	rcu_barrier();	/* flows are freed from RCU callbacks */
	ksip_flow_cache_exit();
	pr_info("ksip: unloaded, %d live objects\n", atomic_read(&ksip_live_objects));
	WARN_ON(atomic_read(&ksip_live_objects));
}

module_init(ksip_init);
module_exit(ksip_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksip: kernel RTP/RTCP forwarding for a SIP proxy");
MODULE_ALIAS_GENL_FAMILY(KSIP_GENL_NAME);
