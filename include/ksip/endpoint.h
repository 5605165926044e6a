/* SPDX-License-Identifier: GPL-2.0 */
/* "ADDR:PORT" endpoints as written in configs and on command lines. */
#ifndef KSIP_ENDPOINT_H
#define KSIP_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

/* "1.2.3.4:5000" or "[2001:db8::1]:5000"; without ":PORT" only when port_optional (port 0). */
int ksip_parse_endpoint(const char *s, bool port_optional, struct sockaddr_storage *out);
void ksip_format_endpoint(const struct sockaddr_storage *ss, char *out, size_t len);
socklen_t ksip_sockaddr_len(const struct sockaddr_storage *ss);

/* Same family and address (IPv6: all 16 bytes; anything not IPv6 compares as IPv4)... */
bool ksip_endpoint_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* ...and the same port too. */
bool ksip_endpoint_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
uint16_t ksip_endpoint_port(const struct sockaddr_storage *ss);
void ksip_endpoint_set_port(struct sockaddr_storage *ss, uint16_t port);

#endif
