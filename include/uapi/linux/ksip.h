/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ksip generic netlink API: in-kernel RTP/RTCP forwarding flows.
 *
 * Family KSIP_GENL_NAME, version KSIP_GENL_VERSION. Every command needs
 * CAP_NET_ADMIN in the user namespace owning the network namespace of the
 * socket; flows are per network namespace. Errors are a negative errno with
 * an extended ack message naming the offending attribute.
 *
 * Addresses are nested KSIP_ADDR_ATTR_* sets: exactly one of IPV4 (4 bytes,
 * network order) or IPV6 (16 bytes), and PORT (u16, host order, 1-65535;
 * 0 allowed only in EXPECT, meaning "any port").
 *
 * KSIP_CMD_FLOW_NEW   request: KSIP_ATTR_FLOW { LOCAL, SOURCE, PEER,
 *                     [EXPECT], [FLAGS], [TIMEOUT], [DSCP] }
 *                     (TIMEOUT at most KSIP_FLOW_TIMEOUT_MAX, DSCP at most
 *                     KSIP_FLOW_DSCP_MAX); -EEXIST if a flow already has LOCAL.
 *                     SOURCE and PEER are of one family, EXPECT of LOCAL's,
 *                     else -EAFNOSUPPORT. LOCAL may be of the other family
 *                     than SOURCE and PEER: packets arriving over IPv4 are
 *                     sent on over IPv6, or the reverse (new IP header, UDP
 *                     checksum carried over, TTL/hop limit and DS field kept
 *                     unless DSCP is set).
 *                     [OUTPUTS] may come with FLOW_NEW too (see FLOW_SET).
 * KSIP_CMD_FLOW_DEL   request: KSIP_ATTR_FLOW { LOCAL }; -ENOENT if none.
 * KSIP_CMD_FLOW_SET   request: KSIP_ATTR_FLOW { LOCAL, OUTPUTS } and nothing
 *                     else (-EINVAL): replaces the flow's extra outputs, all
 *                     at once (an empty OUTPUTS nest removes them; libnl
 *                     drops empty nests, so put it by hand); -ENOENT if no
 *                     flow has LOCAL. Every
 *                     packet the flow forwards to PEER is also copied to each
 *                     output, rewritten to come from the output's SOURCE and
 *                     go to its PEER (fan-out: paging groups, recording taps).
 *                     At most KSIP_FLOW_OUTPUTS_MAX outputs (-E2BIG); each
 *                     output has SOURCE and PEER (-EINVAL), of LOCAL's family
 *                     (-EAFNOSUPPORT); no two outputs, and no output and the
 *                     flow's PEER, with one PEER (-EEXIST); no output PEER
 *                     equal to the flow's LOCAL or SOURCE (-ELOOP). The
 *                     extack names the offending output by its index
 *                     ("output 3: ..."); a refused request changes nothing.
 *                     Outputs that stay (same SOURCE and PEER) keep their
 *                     counters. Packets arriving over a loopback device are
 *                     forwarded but not copied (a copy to a local address
 *                     would come back: loops between flows), nor are GSO
 *                     aggregates (counted as the output's DROPPED).
 * KSIP_CMD_FLOW_GET   doit: KSIP_ATTR_FLOW { LOCAL } -> one flow;
 *                     dumpit (NLM_F_DUMP): every flow of the namespace, resumable,
 *                     NLM_F_DUMP_INTR when the table changed during the dump.
 *                     Reply: KSIP_ATTR_FLOW { LOCAL, SOURCE, PEER, [EXPECT],
 *                     FLAGS, TIMEOUT, DSCP, PACKETS, BYTES, DROPPED, IDLE_MS,
 *                     [LATCHED], [OUTPUTS] } (OUTPUTS' entries carry their
 *                     own PACKETS, BYTES and DROPPED)
 * KSIP_CMD_FLOW_FLUSH request: nothing; removes every flow of the namespace.
 * KSIP_CMD_STATS_GET  reply: KSIP_ATTR_STATS { ... } for the namespace
 *                     (DROP_ERROR since flows across families; older
 *                     modules do not send it).
 * KSIP_CMD_EVENT      multicast on KSIP_GENL_MCGRP_EVENTS: KSIP_ATTR_EVENT
 *                     (enum ksip_event) and KSIP_ATTR_FLOW { LOCAL, [LATCHED] }.
 * KSIP_CMD_GUARD_SET  request: KSIP_ATTR_GUARD { PORT* } (at most
 *                     KSIP_GUARD_MAX_PORTS; none turns the check off). UDP
 *                     datagrams to these ports that are not well-framed SIP
 *                     are dropped before any socket sees them.
 * KSIP_CMD_GUARD_GET  reply: KSIP_ATTR_GUARD { PORT*, COUNTERS { enum
 *                     ksip_guard_counter: u64 } }.
 */
#ifndef _UAPI_LINUX_KSIP_H
#define _UAPI_LINUX_KSIP_H

#define KSIP_GENL_NAME		"ksip"
#define KSIP_GENL_VERSION	1
#define KSIP_GENL_MCGRP_EVENTS	"events"

enum ksip_cmd {
	KSIP_CMD_UNSPEC,
	KSIP_CMD_FLOW_NEW,
	KSIP_CMD_FLOW_DEL,
	KSIP_CMD_FLOW_GET,
	KSIP_CMD_FLOW_FLUSH,
	KSIP_CMD_STATS_GET,
	KSIP_CMD_EVENT,
	KSIP_CMD_GUARD_SET,
	KSIP_CMD_GUARD_GET,
	KSIP_CMD_FLOW_SET,
	__KSIP_CMD_MAX,
};

#define KSIP_CMD_MAX (__KSIP_CMD_MAX - 1)

enum ksip_attr {
	KSIP_ATTR_UNSPEC,
	KSIP_ATTR_FLOW,		/* nested: enum ksip_flow_attr */
	KSIP_ATTR_STATS,	/* nested: enum ksip_stats_attr */
	KSIP_ATTR_EVENT,	/* u32: enum ksip_event */
	KSIP_ATTR_PAD,
	KSIP_ATTR_GUARD,	/* nested: enum ksip_guard_attr */
	__KSIP_ATTR_MAX,
};

#define KSIP_ATTR_MAX (__KSIP_ATTR_MAX - 1)

enum ksip_flow_attr {
	KSIP_FLOW_ATTR_UNSPEC,
	KSIP_FLOW_ATTR_LOCAL,	/* nested addr: where media arrives (the key) */
	KSIP_FLOW_ATTR_SOURCE,	/* nested addr: our address on the other leg */
	KSIP_FLOW_ATTR_PEER,	/* nested addr: where media is sent */
	KSIP_FLOW_ATTR_EXPECT,	/* nested addr: only this source (port 0: any port) */
	KSIP_FLOW_ATTR_FLAGS,	/* u32: KSIP_FLOW_F_* */
	KSIP_FLOW_ATTR_TIMEOUT,	/* u32: idle seconds before removal, 0 = never */
	KSIP_FLOW_ATTR_DSCP,	/* u8: DSCP to mark sent packets with, 0-63 */
	KSIP_FLOW_ATTR_PACKETS,	/* u64: packets forwarded */
	KSIP_FLOW_ATTR_BYTES,	/* u64: UDP payload bytes forwarded */
	KSIP_FLOW_ATTR_DROPPED,	/* u64: packets dropped (wrong source) */
	KSIP_FLOW_ATTR_IDLE_MS,	/* u64: milliseconds since the last forwarded packet */
	KSIP_FLOW_ATTR_LATCHED,	/* nested addr: the source latched onto */
	KSIP_FLOW_ATTR_PAD,
	KSIP_FLOW_ATTR_OUTPUTS,	/* nested: KSIP_OUTPUTS_ATTR_OUTPUT, repeated */
	__KSIP_FLOW_ATTR_MAX,
};

#define KSIP_FLOW_ATTR_MAX (__KSIP_FLOW_ATTR_MAX - 1)
#define KSIP_FLOW_TIMEOUT_MAX (7 * 24 * 3600)	/* seconds: a week */
#define KSIP_FLOW_DSCP_MAX 63			/* DSCP is six bits */
#define KSIP_FLOW_OUTPUTS_MAX 16		/* extra outputs of one flow */

enum ksip_outputs_attr {
	KSIP_OUTPUTS_ATTR_UNSPEC,
	KSIP_OUTPUTS_ATTR_OUTPUT,	/* nested: enum ksip_output_attr */
	__KSIP_OUTPUTS_ATTR_MAX,
};

#define KSIP_OUTPUTS_ATTR_MAX (__KSIP_OUTPUTS_ATTR_MAX - 1)

/* One extra output of a flow. */
enum ksip_output_attr {
	KSIP_OUTPUT_ATTR_UNSPEC,
	KSIP_OUTPUT_ATTR_SOURCE,	/* nested addr: the copy is sent from here */
	KSIP_OUTPUT_ATTR_PEER,		/* nested addr: and to here */
	KSIP_OUTPUT_ATTR_PACKETS,	/* u64: copies sent (reply only) */
	KSIP_OUTPUT_ATTR_BYTES,		/* u64: their UDP payload bytes (reply only) */
	KSIP_OUTPUT_ATTR_DROPPED,	/* u64: copies not sent: no memory, no route (reply only) */
	KSIP_OUTPUT_ATTR_PAD,
	__KSIP_OUTPUT_ATTR_MAX,
};

#define KSIP_OUTPUT_ATTR_MAX (__KSIP_OUTPUT_ATTR_MAX - 1)

enum ksip_addr_attr {
	KSIP_ADDR_ATTR_UNSPEC,
	KSIP_ADDR_ATTR_IPV4,	/* binary, 4 bytes, network order */
	KSIP_ADDR_ATTR_IPV6,	/* binary, 16 bytes */
	KSIP_ADDR_ATTR_PORT,	/* u16, host order */
	__KSIP_ADDR_ATTR_MAX,
};

#define KSIP_ADDR_ATTR_MAX (__KSIP_ADDR_ATTR_MAX - 1)

/* Flow flags. */
#define KSIP_FLOW_F_EXPECT	(1U << 0)	/* drop packets not from EXPECT */
#define KSIP_FLOW_F_LATCH	(1U << 1)	/* first source becomes the reverse flow's PEER */
#define KSIP_FLOW_F_DSCP	(1U << 2)	/* mark with DSCP */
#define KSIP_FLOW_F_ALL		(KSIP_FLOW_F_EXPECT | KSIP_FLOW_F_LATCH | KSIP_FLOW_F_DSCP)

enum ksip_stats_attr {
	KSIP_STATS_ATTR_UNSPEC,
	KSIP_STATS_ATTR_FLOWS,		/* u32: flows in this namespace */
	KSIP_STATS_ATTR_FORWARDED,	/* u64: packets forwarded */
	KSIP_STATS_ATTR_BYTES,		/* u64: payload bytes forwarded */
	KSIP_STATS_ATTR_DROP_SOURCE,	/* u64: dropped, unexpected source */
	KSIP_STATS_ATTR_NO_ROUTE,	/* u64: dropped, no route to the peer */
	KSIP_STATS_ATTR_LATCHED,	/* u64: flows that latched */
	KSIP_STATS_ATTR_EXPIRED,	/* u64: flows removed by their idle timeout */
	KSIP_STATS_ATTR_PAD,
	KSIP_STATS_ATTR_DROP_ERROR,	/* u64: dropped, could not be rewritten (see below) */
	__KSIP_STATS_ATTR_MAX,
};

#define KSIP_STATS_ATTR_MAX (__KSIP_STATS_ATTR_MAX - 1)
/*
 * FORWARDED and BYTES count the copies sent to a flow's extra outputs as well
 * as the packets sent to PEER; a copy not sent counts in NO_ROUTE or
 * DROP_ERROR.
 *
 * DROP_ERROR counts packets of a flow that could not be sent: no memory to
 * make the headers writable or to grow them; for a flow across families, a
 * GSO aggregate, an IPv6 datagram with UDP checksum 0 (invalid, RFC 8200)
 * or one too large for an IPv4 packet.
 */

enum ksip_guard_attr {
	KSIP_GUARD_ATTR_UNSPEC,
	KSIP_GUARD_ATTR_PORT,		/* u16, host order, repeated */
	KSIP_GUARD_ATTR_COUNTERS,	/* nested: u64 per enum ksip_guard_counter */
	KSIP_GUARD_ATTR_PAD,
	__KSIP_GUARD_ATTR_MAX,
};

#define KSIP_GUARD_ATTR_MAX (__KSIP_GUARD_ATTR_MAX - 1)
#define KSIP_GUARD_MAX_PORTS 16		/* PORT attributes in one GUARD_SET */

/* What the framing check decided, counted per namespace. */
enum ksip_guard_counter {
	KSIP_GUARD_CNT_UNSPEC,
	KSIP_GUARD_CNT_PASSED,		/* well-framed SIP */
	KSIP_GUARD_CNT_KEEPALIVE,	/* CRLF keepalives, passed */
	KSIP_GUARD_CNT_BAD_SIZE,	/* dropped from here on */
	KSIP_GUARD_CNT_BAD_START,
	KSIP_GUARD_CNT_BAD_HEADER,
	KSIP_GUARD_CNT_NO_END,
	KSIP_GUARD_CNT_BAD_LENGTH,
	KSIP_GUARD_CNT_MISSING_HEADER,
	__KSIP_GUARD_CNT_MAX,
};

#define KSIP_GUARD_CNT_MAX (__KSIP_GUARD_CNT_MAX - 1)

enum ksip_event {
	KSIP_EVENT_UNSPEC,
	KSIP_EVENT_LATCHED,	/* a flow latched onto a source */
	KSIP_EVENT_IDLE,	/* a flow was removed by its idle timeout */
	__KSIP_EVENT_MAX,
};

#endif /* _UAPI_LINUX_KSIP_H */
