/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the control thread may know of calls: call ids, and plain copies of
 * a worker's calls taken by their owner. The control thread never reads a
 * struct call; it holds the worker's lock around these functions (the
 * worker runs its calls under the same lock) and works on the copies after
 * releasing it.
 */
#ifndef KSIP_CALL_INFO_H
#define KSIP_CALL_INFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "base/config.h"
#include "media/media.h"
#include "sip/sdp.h"

struct proxy;

enum call_state { CALL_TRYING, CALL_EARLY, CALL_CONFIRMED, CALL_ENDED };

const char *call_state_name(enum call_state s);

/*
 * A call id is the owning worker's sequence number with the worker's index
 * in the low bits, so `ksipctl call hangup ID` finds the worker without
 * asking them all.
 */
#define CALL_ID_WORKER_BITS 6
_Static_assert(KSIP_MAX_WORKERS <= 1 << CALL_ID_WORKER_BITS,
	       "call ids must have room for every worker's index");

static inline uint64_t call_id_make(int worker, uint64_t seq)
{
	return seq << CALL_ID_WORKER_BITS | (uint64_t)worker;
}

static inline int call_id_worker(uint64_t id)
{
	return (int)(id & ((1u << CALL_ID_WORKER_BITS) - 1));
}

#define CALL_USER_MAX 64
#define CALL_REASON_MAX 96
#define CALL_TAPS_MAX 4		/* recording taps on one call (proxy/tap.h) */

/* One call, as `ksipctl call list` shows it. */
struct call_info {
	uint64_t id;
	enum call_state state;
	char caller[CALL_USER_MAX], callee[CALL_USER_MAX];	/* user parts */
	char reason[CALL_REASON_MAX];	/* why it ended; "" while it lives */
	const char *callid;		/* the Call-ID: valid during the callback only */
	const char *media;		/* "none", "kernel" or "userspace" */
	const char *media_why;		/* userspace although ksip.ko is loaded: why (static); or NULL */
	time_t created;
	unsigned long duration;		/* seconds since the answer (to the end, once ended) */
	int nstreams;
	struct {
		struct sockaddr_storage ip[2];	/* our address facing each leg */
		uint16_t port[2];		/* the RTP port offered to each leg */
		bool open;
	} s[SDP_MAX_MEDIA];
	/*
	 * Packets from each leg: final counts once ended, else what userspace
	 * relays counted. Live kernel flows are not in it: they are listed in
	 * FLOW for the caller to add with media_flow_count() once it has
	 * released the worker's lock (no netlink under a worker's lock).
	 */
	uint64_t pkts[2];
	int nflows;
	struct media_flow_ref flow[2 * SDP_MAX_MEDIA];
	int ntaps;
	struct {
		struct sockaddr_storage to;	/* the collector (RTP; RTCP to port + 1) */
		uint16_t port[SDP_MAX_MEDIA][2];	/* where copies of each stream and leg come from */
		uint64_t copies, errors;	/* by the userspace relay; ksip.ko's added from FLOW */
	} tap[CALL_TAPS_MAX];
};

typedef void (*call_info_fn)(void *arg, const struct call_info *ci);

/* Every call of P's worker, in no order. The caller holds the worker's lock. */
void proxy_calls_snapshot(struct proxy *p, call_info_fn fn, void *arg);
/*
 * Hang up call ID if it is P's and still in progress (BYE to both legs
 * once answered, else CANCEL). -1 when there is no such call. The caller
 * holds the worker's lock.
 */
int proxy_call_hangup(struct proxy *p, uint64_t id, const char *reason);
/*
 * `ksipctl call tap ID ADDR:PORT`: copy both directions of every stream of
 * call ID to the collector TO (RTP to its port, RTCP to the port above),
 * now and for streams opened later, until the call ends or the tap is
 * removed. 0, or -1 with why in ERR: no such call, ended, CALL_TAPS_MAX
 * taps already, tapped to TO already, TO not a unicast address or one of
 * our relay or SIP ports (the copies would loop), no free relay port,
 * refused by the relay. The caller holds the worker's lock.
 */
int proxy_call_tap(struct proxy *p, uint64_t id, const struct sockaddr_storage *to, char *err,
		   size_t errlen);
/* Remove call ID's tap to TO, or all its taps (TO NULL): how many, or -1 (no such call). */
int proxy_call_untap(struct proxy *p, uint64_t id, const struct sockaddr_storage *to);

#endif
