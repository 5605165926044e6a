/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Open TCP connections by peer address, across workers: the proxy sends
 * a response or request to a phone over the connection the phone opened
 * (RFC 3261 §18.2.2, and what RFC 5626 relies on), and that connection
 * belongs to the worker that accepted it. One mutex-protected hash table;
 * entries change only on accept and close.
 *
 * The same table counts connections per source (an IPv4 address, an IPv6
 * /64: what one host or one site holds), so that tcp_max_per_source holds
 * over all workers: one place sees every accept, under one lock it already
 * takes. Both tables hash with the process's SipHash key (base/hash.h).
 */
#ifndef KSIP_CONN_MAP_H
#define KSIP_CONN_MAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct conn_ref {
	int worker;
	uint64_t id;
	void *conn;		/* the owning worker's own handle: only that worker may use it */
};

enum conn_map_result { CONN_MAP_OK, CONN_MAP_SOURCE_FULL, CONN_MAP_NOMEM, CONN_MAP_EXISTS };

/*
 * Add a connection from PEER, unless its source already holds
 * MAX_PER_SOURCE (then nothing is added) or memory is short.
 */
enum conn_map_result conn_map_add(const struct sockaddr_storage *peer, int worker, uint64_t id,
				  void *conn, unsigned int max_per_source);
/*
 * The same for a connection ksipd opens to PEER, unless one to PEER is in
 * the table already (CONN_MAP_EXISTS): one connect per destination.
 */
enum conn_map_result conn_map_add_new(const struct sockaddr_storage *peer, int worker, uint64_t id,
				      void *conn, unsigned int max_per_source);
/*
 * ALIAS as a second name of a connection already in the table (RFC 5923:
 * requests to ALIAS go over it). Not counted per source: it is no new
 * connection. Refused (CONN_MAP_EXISTS) when ALIAS names an entry already:
 * an alias never takes another connection's place. Removed by
 * conn_map_del(ALIAS, ID) when its connection closes.
 */
enum conn_map_result conn_map_add_alias(const struct sockaddr_storage *alias, int worker, uint64_t id,
					void *conn);
void conn_map_del(const struct sockaddr_storage *peer, uint64_t id);
bool conn_map_find(const struct sockaddr_storage *peer, struct conn_ref *out);
/* Entries left (0 once every connection is closed). */
unsigned int conn_map_size(void);
/* Connections open from PEER's source (its address, or its /64). */
unsigned int conn_map_source_count(const struct sockaddr_storage *peer);

#endif
