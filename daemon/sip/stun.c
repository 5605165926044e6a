// SPDX-License-Identifier: GPL-2.0
#include "sip/stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define BINDING_REQUEST 0x0001
#define BINDING_INDICATION 0x0011
#define BINDING_SUCCESS 0x0101
#define BINDING_ERROR 0x0111

#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define ATTR_ERROR_CODE 0x0009
#define ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define ATTR_FINGERPRINT 0x8028
#define FINGERPRINT_XOR 0x5354554eu

/* UNKNOWN-ATTRIBUTES lists at most this many: enough to say why, and a bounded answer. */
#define MAX_UNKNOWN 4

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

uint32_t stun_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

bool stun_candidate(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	return len >= STUN_HEADER && (p[0] & 0xc0) == 0 && get32(p + 4) == STUN_COOKIE;
}

/* What the request's attributes say, once they are found well formed. */
struct stun_req {
	bool fingerprint;
	int nunknown;
	uint16_t unknown[MAX_UNKNOWN];
};

/*
 * Walk the attributes of the LEN-byte message IN (§15): each length within
 * the message, FINGERPRINT last and right. False when malformed.
 */
static bool parse_attrs(const uint8_t *in, size_t len, struct stun_req *r)
{
	size_t off = STUN_HEADER;

	memset(r, 0, sizeof(*r));
	while (off < len) {
		uint16_t type, alen;
		size_t padded;

		if (len - off < 4)
			return false;
		type = get16(in + off);
		alen = get16(in + off + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return false;	/* runs past the message */
		if (r->fingerprint)
			return false;	/* §15.5: nothing may follow FINGERPRINT */
		if (type == ATTR_FINGERPRINT) {
			if (alen != 4 || get32(in + off + 4) != (stun_crc32(in, off) ^ FINGERPRINT_XOR))
				return false;
			r->fingerprint = true;
		} else if (type < 0x8000 && r->nunknown < MAX_UNKNOWN) {
			/* Comprehension-required, and we understand none in a request. */
			r->unknown[r->nunknown++] = type;
		}
		off += 4 + padded;
	}
	return true;
}

static size_t put_header(uint8_t *out, uint16_t type, const uint8_t *in)
{
	put16(out, type);
	put16(out + 2, 0);			/* set once the attributes are written */
	memcpy(out + 4, in + 4, 16);		/* the cookie and the transaction id */
	return STUN_HEADER;
}

/* §15.2: the address and port XORed with the cookie (and the transaction id for IPv6). */
static size_t put_xor_mapped(uint8_t *out, const uint8_t *in, const struct sockaddr_storage *from)
{
	uint8_t *v = out + 4;

	put16(out, ATTR_XOR_MAPPED_ADDRESS);
	v[0] = 0;
	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)from;

		put16(out + 2, 20);
		v[1] = 0x02;
		put16(v + 2, (uint16_t)(ntohs(s6->sin6_port) ^ (STUN_COOKIE >> 16)));
		for (int i = 0; i < 16; i++)
			v[4 + i] = s6->sin6_addr.s6_addr[i] ^ in[4 + i];	/* cookie, then id */
		return 24;
	}
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)from;

	put16(out + 2, 8);
	v[1] = 0x01;
	put16(v + 2, (uint16_t)(ntohs(s4->sin_port) ^ (STUN_COOKIE >> 16)));
	put32(v + 4, ntohl(s4->sin_addr.s_addr) ^ STUN_COOKIE);
	return 12;
}

/* ERROR-CODE 420 and UNKNOWN-ATTRIBUTES (§15.6, §15.9). */
static size_t put_unknown(uint8_t *out, const struct stun_req *r)
{
	static const char reason[] = "Unknown Attribute";
	size_t rlen = sizeof(reason) - 1, o, ulen = (size_t)r->nunknown * 2;

	put16(out, ATTR_ERROR_CODE);
	put16(out + 2, (uint16_t)(4 + rlen));
	out[4] = out[5] = 0;
	out[6] = 4;				/* class: 4xx */
	out[7] = 20;				/* number: 420 */
	memcpy(out + 8, reason, rlen);
	o = 4 + ((4 + rlen + 3) & ~(size_t)3);
	memset(out + 8 + rlen, 0, o - 8 - rlen);
	put16(out + o, ATTR_UNKNOWN_ATTRIBUTES);
	put16(out + o + 2, (uint16_t)ulen);
	for (int i = 0; i < r->nunknown; i++)
		put16(out + o + 4 + 2 * i, r->unknown[i]);
	memset(out + o + 4 + ulen, 0, ((ulen + 3) & ~(size_t)3) - ulen);
	return o + 4 + ((ulen + 3) & ~(size_t)3);
}

enum stun_verdict stun_answer(const void *buf, size_t len, const struct sockaddr_storage *from,
			      uint8_t *out, size_t *out_len)
{
	const uint8_t *in = buf;
	struct stun_req r;
	uint16_t type;
	size_t o;

	/* §6: two zero bits, the cookie, a length that is the rest of the datagram, in words. */
	if (len < STUN_HEADER || len > STUN_MAX_REQUEST || !stun_candidate(in, len) ||
	    get32(in + 4) != STUN_COOKIE || get16(in + 2) != len - STUN_HEADER || len % 4)
		return STUN_DROP;
	if (from->ss_family != AF_INET && from->ss_family != AF_INET6)
		return STUN_DROP;
	if (!parse_attrs(in, len, &r))
		return STUN_DROP;
	type = get16(in);
	if (type == BINDING_INDICATION)
		return STUN_KEEPALIVE;
	if (type != BINDING_REQUEST)
		return STUN_DROP;	/* responses are not ours; no other method is served here */
	if (r.nunknown) {
		o = put_header(out, BINDING_ERROR, in);
		o += put_unknown(out + o, &r);
	} else {
		o = put_header(out, BINDING_SUCCESS, in);
		o += put_xor_mapped(out + o, in, from);
	}
	if (r.fingerprint) {
		/* The length covers the FINGERPRINT before its CRC is taken (§15.5). */
		put16(out + 2, (uint16_t)(o + 8 - STUN_HEADER));
		put16(out + o, ATTR_FINGERPRINT);
		put16(out + o + 2, 4);
		put32(out + o + 4, stun_crc32(out, o) ^ FINGERPRINT_XOR);
		o += 8;
	}
	put16(out + 2, (uint16_t)(o - STUN_HEADER));
	*out_len = o;
	return STUN_ANSWER;
}
