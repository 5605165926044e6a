/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Open TCP connections by peer address, across workers: the proxy sends
 * a response or request to a phone over the connection the phone opened
 * (RFC 3261 §18.2.2, and what RFC 5626 relies on), and that connection
 * belongs to the worker that accepted it. One mutex-protected hash table;
 * entries change only on accept and close.
 */
#ifndef KSIP_CONN_MAP_H
#define KSIP_CONN_MAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct conn_ref {
	int worker;
	uint64_t id;
};

void conn_map_add(const struct sockaddr_storage *peer, int worker, uint64_t id);
void conn_map_del(const struct sockaddr_storage *peer, uint64_t id);
bool conn_map_find(const struct sockaddr_storage *peer, struct conn_ref *out);
/* Entries left (0 once every connection is closed). */
unsigned int conn_map_size(void);

#endif
