/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which of our addresses faces a peer, and is an address one of ours.
 * The proxy writes the first into Via, Record-Route and SDP (a host with
 * one interface per leg must advertise a different address on each), and
 * asks the second of every Route entry.
 */
#ifndef KSIP_NETPATH_H
#define KSIP_NETPATH_H

#include <stdbool.h>
#include <sys/socket.h>

#include "sip/msg.h"

/* The local address the kernel would use to reach DST (port 0); -1 when unroutable. */
int netpath_local_toward(const struct sockaddr_storage *dst, struct sockaddr_storage *local);

/* Is ADDR (an IP literal, IPv6 with or without brackets) assigned to this host? */
bool netpath_is_local(struct sip_span host);

/* Parse an IP literal host and a port into SS; false when HOST is a name. */
bool netpath_sockaddr(struct sip_span host, uint32_t port, struct sockaddr_storage *ss);

/* "192.0.2.1" or "[2001:db8::1]": the form used in URIs and Via. */
void netpath_host_str(const struct sockaddr_storage *ss, char *out, size_t len);

#endif
