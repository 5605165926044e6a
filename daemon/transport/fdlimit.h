/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Descriptors: ksipd raises its soft RLIMIT_NOFILE to the hard limit at
 * start, and, unless tcp_max_connections is set, gives TCP what is left of
 * the limit once everything long-lived is open and room is kept for what
 * opens later (relay sockets, SQLite's journal, ksipctl clients). Then a
 * flood of connections meets the TCP cap, a clean refusal, before accept()
 * meets EMFILE (which tcp.c survives too, by pausing the listener).
 */
#ifndef KSIP_FDLIMIT_H
#define KSIP_FDLIMIT_H

#include <stdint.h>

/*
 * Opened after start that are neither TCP nor relay sockets: ksipctl
 * clients, SQLite's journal and temporary files, a netlink socket to
 * ksip.ko, a log reopened. Generous: a descriptor left spare costs nothing.
 */
#define FDLIMIT_SLACK 16
/*
 * The most connections the cap derived from a large limit allows (a hard
 * limit is often 2^20): an abusive connection may hold its read buffer
 * (64 KiB) and its write queue (tcp_write_queue_max), so past this the
 * operator says how many, with tcp_max_connections.
 */
#define FDLIMIT_TCP_AUTO_MAX 65536

/* Raise the soft limit to the hard one; log both. Returns the soft limit now in force. */
uint64_t fdlimit_raise(void);
/* The soft limit in force. */
uint64_t fdlimit_current(void);
/* Descriptors this process has open now. */
unsigned int fdlimit_in_use(void);
/*
 * The TCP cap a limit of NOFILE leaves when IN_USE are open and relay
 * sockets may take up to MEDIA_PORTS (one per port of rtp_ports: the
 * userspace relay binds a socket per port; with ksip.ko fewer, but a call
 * may fall back). Media gets at most half of what is spare: with a small
 * limit both still work. At least 1, at most FDLIMIT_TCP_AUTO_MAX.
 */
unsigned int fdlimit_tcp_cap(uint64_t nofile, unsigned int in_use, unsigned int media_ports);

#endif
