// SPDX-License-Identifier: GPL-2.0
/*
 * The flow table of a network namespace: an rhashtable keyed by the local
 * address and port for RCU lookups on the fast path, and a list under the
 * namespace mutex for dumps, flushes and the idle scan.
 */
#include <linux/jiffies.h>
#include <linux/slab.h>

#include "ksip.h"
#include <uapi/linux/ksip.h>

const struct rhashtable_params ksip_flow_params = {
	.key_len = sizeof(struct ksip_addr),
	.key_offset = offsetof(struct ksip_flow, local),
	.head_offset = offsetof(struct ksip_flow, node),
	.automatic_shrinking = true,
};

#define KSIP_IDLE_SCAN_INTERVAL HZ
#define KSIP_IDLE_SCAN_BUDGET 4096	/* flows examined between yields */

int ksip_net_flows_init(struct ksip_net *kn)
{
	INIT_LIST_HEAD(&kn->flow_list);
	mutex_init(&kn->lock);
	INIT_DELAYED_WORK(&kn->idle_work, ksip_idle_work);
	return rhashtable_init(&kn->flows, &ksip_flow_params);
}

void ksip_net_flows_exit(struct ksip_net *kn)
{
	cancel_delayed_work_sync(&kn->idle_work);
	ksip_flow_flush(kn);
	rhashtable_destroy(&kn->flows);
}

static struct kmem_cache *ksip_flow_cache __read_mostly;

int ksip_flow_cache_init(void)
{
	/*
	 * The per-flow memory budget (docs/kernel.md): our own bytes plus the
	 * peer lock, whose size is the kernel's: 184 in all where a spinlock
	 * is 4 bytes, 224 on PREEMPT_RT where it is an rtmutex. Lock
	 * debugging makes locks larger still.
	 */
	if (!IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC) && !IS_ENABLED(CONFIG_DEBUG_SPINLOCK))
		BUILD_BUG_ON(sizeof(struct ksip_flow) > KSIP_FLOW_OWN_BYTES + sizeof(seqlock_t));
	/* The bit fields hold every value netlink lets through. */
	BUILD_BUG_ON(KSIP_FLOW_TIMEOUT_MAX >= 1U << KSIP_FLOW_TIMEOUT_BITS);
	BUILD_BUG_ON(KSIP_FLOW_F_ALL >= 1U << KSIP_FLOW_FLAGS_BITS);
	BUILD_BUG_ON(KSIP_FLOW_DSCP_MAX >= 1U << KSIP_FLOW_DSCP_BITS);
	ksip_flow_cache = KMEM_CACHE(ksip_flow, 0);
	return ksip_flow_cache ? 0 : -ENOMEM;
}

void ksip_flow_cache_exit(void)
{
	kmem_cache_destroy(ksip_flow_cache);
}

struct ksip_flow *ksip_flow_alloc(gfp_t gfp)
{
	struct ksip_flow *flow = kmem_cache_zalloc(ksip_flow_cache, gfp);

	if (!flow)
		return NULL;
	seqlock_init(&flow->peer_lock);
	INIT_LIST_HEAD(&flow->list);
	atomic_inc(&ksip_live_objects);
	return flow;
}

static void ksip_flow_free_rcu(struct rcu_head *head)
{
	struct ksip_flow *flow = container_of(head, struct ksip_flow, rcu);

	ksip_route_release(flow);
	/* No reader can reach the flow, so none its outputs either. */
	ksip_outputs_free_now(rcu_dereference_protected(flow->outputs, true));
	kmem_cache_free(ksip_flow_cache, flow);
	atomic_dec(&ksip_live_objects);
}

/* Free a flow that was never inserted, or once readers are done with it. */
void ksip_flow_free(struct ksip_flow *flow)
{
	call_rcu(&flow->rcu, ksip_flow_free_rcu);
}

/* The peer, consistent; returns the sequence it was read under (see ksip_route_get). */
unsigned int ksip_flow_get_peer(const struct ksip_flow *flow, struct ksip_addr *peer)
{
	unsigned int seq;

	do {
		seq = read_seqbegin(&flow->peer_lock);
		*peer = flow->peer;
	} while (read_seqretry(&flow->peer_lock, seq));
	return seq;
}

int ksip_flow_insert(struct ksip_net *kn, struct ksip_flow *flow)
{
	int err;

	lockdep_assert_held(&kn->lock);
	flow->last_seen = (u32)jiffies;
	err = rhashtable_lookup_insert_fast(&kn->flows, &flow->node, ksip_flow_params);
	if (err)
		return err;
	list_add_tail(&flow->list, &kn->flow_list);
	WRITE_ONCE(kn->nflows, kn->nflows + 1);
	kn->generation++;
	if (flow->timeout)
		mod_delayed_work(system_wq, &kn->idle_work, KSIP_IDLE_SCAN_INTERVAL);
	return 0;
}

void ksip_flow_remove(struct ksip_net *kn, struct ksip_flow *flow)
{
	lockdep_assert_held(&kn->lock);
	rhashtable_remove_fast(&kn->flows, &flow->node, ksip_flow_params);
	list_del(&flow->list);
	WRITE_ONCE(kn->nflows, kn->nflows - 1);
	kn->generation++;
	ksip_flow_free(flow);
}

struct ksip_flow *ksip_flow_lookup(struct ksip_net *kn, const struct ksip_addr *local)
{
	return rhashtable_lookup(&kn->flows, local, ksip_flow_params);
}

void ksip_flow_flush(struct ksip_net *kn)
{
	struct ksip_flow *flow, *tmp;

	mutex_lock(&kn->lock);
	list_for_each_entry_safe(flow, tmp, &kn->flow_list, list)
		ksip_flow_remove(kn, flow);
	mutex_unlock(&kn->lock);
}

void ksip_flow_read_stats(const struct ksip_flow *flow, u64 *packets, u64 *bytes, u64 *dropped)
{
	*packets = atomic64_read(&flow->packets);
	*bytes = atomic64_read(&flow->bytes);
	*dropped = atomic64_read(&flow->dropped);
}

/*
 * Once a second: remove flows whose timeout passed without a forwarded
 * packet, and tell listeners. Reschedules itself while timed flows exist.
 * The whole list is walked under the mutex (only writers take it, never the
 * fast path), yielding the CPU every KSIP_IDLE_SCAN_BUDGET flows.
 */
void ksip_idle_work(struct work_struct *work)
{
	struct ksip_net *kn = container_of(to_delayed_work(work), struct ksip_net, idle_work);
	struct ksip_flow *flow, *tmp;
	unsigned int visited = 0;
	bool timed = false;

	mutex_lock(&kn->lock);
	list_for_each_entry_safe(flow, tmp, &kn->flow_list, list) {
		u32 last = READ_ONCE(flow->last_seen);

		if (++visited % KSIP_IDLE_SCAN_BUDGET == 0)
			cond_resched();
		if (!flow->timeout)
			continue;
		if (time_after32((u32)jiffies, last + (u32)flow->timeout * HZ)) {
			ksip_genl_event(kn, KSIP_EVENT_IDLE, flow);
			atomic64_inc(&kn->expired);
			ksip_flow_remove(kn, flow);
			continue;
		}
		timed = true;
	}
	if (timed)
		mod_delayed_work(system_wq, &kn->idle_work, KSIP_IDLE_SCAN_INTERVAL);
	mutex_unlock(&kn->lock);
}
