/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trusted peers (config key trusted_peers = CIDR ...): gateways and PBXes
 * whose initial requests the proxy forwards without a digest challenge
 * (docs/security.md), and which the shield never bans or rate-limits. The
 * shape of Kamailio's permissions module (address table,
 * allow_source_address), reduced to a list of IPv4 and IPv6 prefixes that
 * config.c parses once at start (config_parse_cidrs, the same parser as
 * shield_allow's).
 *
 * The list is read-only once loaded: any thread may match without a lock.
 */
#ifndef KSIP_SHIELD_TRUSTED_H
#define KSIP_SHIELD_TRUSTED_H

#include <stdbool.h>
#include <sys/socket.h>

#include "base/config.h"

/* Does ADDR (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as IPv4) lie in C? */
bool cidr_match(const struct ksip_cidr *c, const struct sockaddr_storage *addr);

/* Is ADDR inside one of the N prefixes of LIST? An empty list: nobody is. */
bool trusted_match(const struct ksip_cidr *list, int n, const struct sockaddr_storage *addr);

#endif
