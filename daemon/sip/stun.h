/* SPDX-License-Identifier: GPL-2.0 */
/*
 * STUN Binding on the SIP UDP port (RFC 5389, as RFC 5626 §4.4.2 uses it
 * for keepalives): a phone behind NAT asks what address and port its NAT
 * gives it, and each question keeps the NAT's mapping open. SIP starts
 * with a letter and STUN with two zero bits and a magic cookie, so the
 * first eight bytes tell them apart (RFC 5389 §6, RFC 7983 §7).
 *
 * Only what a keepalive needs: Binding requests are answered with
 * XOR-MAPPED-ADDRESS (and FINGERPRINT when the request had one); Binding
 * indications are keepalives that need no answer; a request naming a
 * comprehension-required attribute we do not know gets 420 with
 * UNKNOWN-ATTRIBUTES (§7.3.1). There are no credentials: a request with
 * MESSAGE-INTEGRITY gets the 420 too. Anything malformed is dropped.
 */
#ifndef KSIP_STUN_H
#define KSIP_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER 20
#define STUN_COOKIE 0x2112A442u
/* Larger than any Binding request a phone sends; more is not read (and dropped). */
#define STUN_MAX_REQUEST 548
/* Room for the largest answer stun_answer() writes. */
#define STUN_MAX_ANSWER 96

/*
 * Is BUF STUN rather than SIP: two zero bits first and the magic cookie
 * (§6)? Says nothing of its validity. Anything else is SIP, or garbage.
 */
bool stun_candidate(const void *buf, size_t len);

enum stun_verdict {
	STUN_ANSWER,		/* OUT holds the answer (a success or a 420) */
	STUN_KEEPALIVE,		/* a Binding indication: nothing to send */
	STUN_DROP,		/* malformed, or nothing we answer (a response, another method) */
};

/*
 * Look at the datagram BUF from FROM; when it asks, write the answer into
 * OUT (at least STUN_MAX_ANSWER bytes) and its length into *OUT_LEN.
 */
enum stun_verdict stun_answer(const void *buf, size_t len, const struct sockaddr_storage *from,
			      uint8_t *out, size_t *out_len);

/* CRC-32 (ISO 3309, as FINGERPRINT uses it). */
uint32_t stun_crc32(const uint8_t *p, size_t n);

#endif
