/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The media relay of one worker: kernel flows through ksip.ko when it is
 * loaded, else sockets relayed by the worker itself (the safety net, and
 * for a stream a module too old to bridge address families refuses). Both
 * latch: the first packet from a leg fixes where the other leg's packets go
 * (symmetric RTP through NAT).
 *
 * Threading: a struct media and its streams belong to one worker and are
 * used only by the thread that holds that worker's lock (the worker while
 * it runs callbacks and timers, the control thread while it takes a
 * snapshot). Nothing here locks. The port pool is shared and thread-safe.
 *
 * media/ knows nothing of calls: its callers name a stream, and the owner
 * of the stream (a call) decides when to open, update and close it.
 */
#ifndef KSIP_MEDIA_H
#define KSIP_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/config.h"
#include "sip/sdp.h"

struct ksip_stats;
struct ksip_genl;
struct port_pool;
struct adopted_ports;
struct media_relay;
struct media_fanout;
struct media;

/*
 * What the media relays need of the daemon, filled in by the top at
 * start-up (struct ksipd embeds one) and read-only once workers run, but
 * for ADOPTED, which only the main thread touches.
 */
struct media_env {
	const struct ksip_config *cfg;	/* rtp_port_min/max, kernel_flow_timeout */
	struct port_pool *ports;	/* relay port pairs, shared by the workers */
	bool kernel;			/* ksip.ko forwards media (else the workers do) */
	struct adopted_ports *adopted;	/* kernel flows found at start-up (media_adopt) */
};

/*
 * One m= line of a call: a relay port pair facing each leg. The owner
 * fills in what the legs' SDP says (remote, remote_rtcp, remote_known,
 * dir) and calls media_update(); media/ keeps the rest.
 */
struct media_stream {
	bool open;			/* relay ports allocated */
	bool kernel;			/* forwarded by ksip.ko rather than ksipd */
	struct sockaddr_storage relay_ip[2];	/* our address facing each leg */
	uint16_t relay_port[2];		/* RTP port offered to each leg (RTCP is +1) */
	struct sockaddr_storage remote[2];	/* where each leg's phone wants RTP */
	uint16_t remote_rtcp[2];
	bool remote_known[2];
	enum sdp_dir dir[2];
	struct media_relay *relay;	/* userspace relay sockets, when not in the kernel */
	bool flow_up[2];		/* kernel flow whose local side is relay_port[leg] */
	const char *why_userspace;	/* with ksip.ko loaded, why this stream is not in it */
	struct media_fanout *fanout;	/* media_set_outputs(): each leg's outputs, or NULL */
};

/*
 * Can ksip.ko forward between a leg of family FAM_A and one of FAM_B? Its
 * flows take LOCAL, SOURCE and PEER of one family today (ksip_netlink.c
 * answers EAFNOSUPPORT otherwise), so an IPv4<->IPv6 call is relayed in
 * userspace. The one place to change when the module bridges families.
 */

/*
 * The relay of worker WORKER (for logs): counters go to ST, userspace relay
 * sockets into the epoll set EPFD. NULL when ENV asks for kernel media and
 * no netlink socket opens.
 */
struct media *media_new(const struct media_env *env, struct ksip_stats *st, int epfd, int worker);
void media_free(struct media *m);
/* Shutting down: forget the kernel so live calls' flows stay in place. */
void media_detach_kernel(struct media *m);

/*
 * Allocate the stream's relay port pairs (and userspace sockets) on
 * RELAY_IP[leg], our address facing each leg. -1 when no pair is free;
 * the stream is then closed and holds nothing.
 */
int media_open(struct media *m, struct media_stream *s, const struct sockaddr_storage relay_ip[2]);
/* The legs' addresses changed: (re)install forwarding in each direction that is known. */
void media_update(struct media *m, struct media_stream *s);
/*
 * LEG is another phone now (the owner changed remote[LEG]): forget what
 * was latched from the old one and send to the new address from now on.
 */
void media_leg_moved(struct media *m, struct media_stream *s, int leg);
/* Stop forwarding and release the ports. A closed stream may be closed again. */
void media_close(struct media *m, struct media_stream *s);
/* The local address of LEG's kernel flow: K = 0 for RTP, 1 for RTCP. */
void media_flow_local(const struct media_stream *s, int leg, int k, struct sockaddr_storage *a);
/*
 * Packets from each leg, and ms since the last packet in either direction
 * (UINT64_MAX: none yet). Kernel flows are asked over netlink, and put back
 * if they idled out while the stream lives.
 *
 * The owner polls this (a call every quarter of its media time-out) rather
 * than being called back per packet: kernel flows cannot call back at
 * all, and for the userspace relay one look per check costs less than a
 * callback per batch of RTP.
 */
void media_counters(struct media *m, struct media_stream *s, uint64_t pkts[2], uint64_t *idle_ms);
/*
 * Free relays closed since the last call. The owner of the epoll loop
 * calls it after each batch of events: an event already returned for a
 * closed relay's socket must still find its memory.
 */
void media_reap(struct media *m);

/*
 * Counting without the worker's lock: media_stream_flows() copies, under
 * the lock, what the stream counted itself (userspace relay) into PKTS and
 * the kernel flows still to be read into FLOWS (at most 2), returning how
 * many; media_flow_count() then reads one of them on any thread, on a
 * netlink socket of the caller's own (*G, opened on first use; the caller
 * closes it with ksip_genl_close). So no netlink is spoken under a lock.
 */
struct media_flow_ref {
	struct sockaddr_storage local;	/* the flow's local side (RTP) */
	int leg;			/* whose packets it counts */
};
int media_stream_flows(const struct media_stream *s, uint64_t pkts[2],
		       struct media_flow_ref flows[2]);
void media_flow_count(struct ksip_genl **g, const struct media_flow_ref *f, uint64_t pkts[2]);
/*
 * The same for fan-out: copies ksip.ko sent to (and dropped for) the output
 * to TO of flow F and of its RTCP flow (to TO's port + 1), added to *SENT
 * and *DROPPED.
 */
void media_flow_output_count(struct ksip_genl **g, const struct media_flow_ref *f,
			     const struct sockaddr_storage *to, uint64_t *sent, uint64_t *dropped);

/*
 * Fan-out (issue 17: paging groups, recording taps): what LEG's phone sends
 * on stream S (RTP, and RTCP) is also copied to each output, sent from the
 * output's FROM (our address and RTP port; RTCP from the port above) to TO
 * (RTP; RTCP to TO_RTCP). In ksip.ko as extra outputs of the kernel flow
 * (KSIP_CMD_FLOW_SET), else by the userspace relay. Replaces the stream's
 * previous outputs for LEG; N = 0 removes them. At most MEDIA_OUTPUTS_MAX;
 * -1 with errno when refused. The caller owns FROM's ports.
 */
#define MEDIA_OUTPUTS_MAX 16	/* KSIP_FLOW_OUTPUTS_MAX */
struct media_output {
	struct sockaddr_storage from;
	struct sockaddr_storage to;
	uint16_t to_rtcp;
};
int media_set_outputs(struct media *m, struct media_stream *s, int leg,
		      const struct media_output *o, unsigned int n);
/*
 * Would media_set_outputs() take O for LEG of S? 0 or a negative errno, the
 * rules of KSIP_CMD_FLOW_SET (uapi/linux/ksip.h) checked for both relays:
 * -E2BIG over MEDIA_OUTPUTS_MAX; -EAFNOSUPPORT an address not of the
 * family of our address facing LEG; -EINVAL a port 0, or a FROM port with
 * no room for RTCP above it; -EEXIST two outputs with one FROM, or two
 * outputs or an output and LEG's peer (the other phone) with one TO; -ELOOP a TO that is one of the
 * stream's relay ports or an output's FROM. *BAD: the offending index.
 */
int media_outputs_check(const struct media_stream *s, int leg, const struct media_output *o,
			unsigned int n, unsigned int *bad);
/*
 * Copies sent to output I of LEG (by the userspace relay; a kernel flow's
 * are read with media_flow_count()) and copies it could not send.
 */
void media_output_counters(const struct media_stream *s, int leg, unsigned int i, uint64_t *sent,
			   uint64_t *errors);

/* At start-up: can the relay bind each media_address? -1 (logged) when one is not ours. */
int media_check_addresses(const struct ksip_config *cfg);
/* At start-up, main thread: reserve the ports of kernel flows a previous ksipd left. */
int media_adopt(struct media_env *env);
/* Release adopted ports whose flows have idled out. Main thread, every few seconds. */
void media_adopt_sweep(struct media_env *env);
/* At exit: forget the adopted ports (the pool goes with the caller). */
void media_env_release(struct media_env *env);

#endif
