// SPDX-License-Identifier: GPL-2.0
/* The STUN Binding codec (sip/stun.c): answers, and hostile datagrams dropped. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "sip/stun.h"
#include "tap.h"

static uint8_t req[2048], out[STUN_MAX_ANSWER];
static size_t out_len;

static size_t header(uint16_t type, uint16_t len)
{
	req[0] = (uint8_t)(type >> 8);
	req[1] = (uint8_t)type;
	req[2] = (uint8_t)(len >> 8);
	req[3] = (uint8_t)len;
	req[4] = 0x21;
	req[5] = 0x12;
	req[6] = 0xa4;
	req[7] = 0x42;
	for (int i = 8; i < 20; i++)
		req[i] = (uint8_t)(i * 7);
	return 20;
}

static size_t attr(size_t off, uint16_t type, uint16_t len)
{
	req[off] = (uint8_t)(type >> 8);
	req[off + 1] = (uint8_t)type;
	req[off + 2] = (uint8_t)(len >> 8);
	req[off + 3] = (uint8_t)len;
	memset(req + off + 4, 'x', (len + 3u) & ~3u);
	return off + 4 + ((len + 3u) & ~3u);
}

static void set_len(size_t total)
{
	req[2] = (uint8_t)((total - 20) >> 8);
	req[3] = (uint8_t)(total - 20);
}

static size_t fingerprint(size_t off)
{
	uint32_t crc;

	set_len(off + 8);
	req[off] = 0x80;
	req[off + 1] = 0x28;
	req[off + 2] = 0;
	req[off + 3] = 4;
	crc = stun_crc32(req, off) ^ 0x5354554eu;
	req[off + 4] = (uint8_t)(crc >> 24);
	req[off + 5] = (uint8_t)(crc >> 16);
	req[off + 6] = (uint8_t)(crc >> 8);
	req[off + 7] = (uint8_t)crc;
	return off + 8;
}

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s->sin_addr);
	return ss;
}

static enum stun_verdict ask(size_t len, const struct sockaddr_storage *from)
{
	out_len = 0;
	return stun_answer(req, len, from, out, &out_len);
}

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The first attribute of the answer of type T, or NULL. */
static const uint8_t *find(uint16_t t)
{
	for (size_t o = 20; o + 4 <= out_len; o += 4 + ((g16(out + o + 2) + 3u) & ~3u))
		if (g16(out + o) == t)
			return out + o;
	return NULL;
}

int main(void)
{
	struct sockaddr_storage from = v4("198.51.100.7", 40123), from6 = { 0 };
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&from6;
	const uint8_t *a;
	size_t n;

	ok(stun_crc32((const uint8_t *)"123456789", 9) == 0xcbf43926u, "CRC-32 check value");
	ok(!stun_candidate("OPTIONS sip:x SIP/2.0", 21) && !stun_candidate("SIP/2.0 200 OK", 14),
	   "SIP requests and responses are not STUN");
	header(0x0001, 0);
	ok(stun_candidate(req, 20), "a Binding request is");
	req[7] ^= 1;
	ok(!stun_candidate(req, 20) && !stun_candidate(req, 19),
	   "without the magic cookie, or shorter than a header, it is not (SIP's garbage)");
	ok(stun_answer("\r\n\r\n", 4, &from, out, &out_len) == STUN_DROP,
	   "a CRLF keepalive is no STUN message (the transport takes it first)");

	/* A plain Binding request. */
	n = header(0x0001, 0);
	ok(ask(n, &from) == STUN_ANSWER && out_len == 32 && g16(out) == 0x0101,
	   "Binding request: success response of 32 bytes");
	ok(!memcmp(out + 4, req + 4, 16), "same cookie and transaction id");
	a = find(0x0020);
	ok(a && g16(a + 2) == 8 && a[5] == 1 && (g16(a + 6) ^ 0x2112) == 40123 &&
	   (((uint32_t)g16(a + 8) << 16 | g16(a + 10)) ^ 0x2112a442u) == 0xc6336407u,
	   "XOR-MAPPED-ADDRESS is 198.51.100.7:40123");
	ok(g16(out + 2) == out_len - 20, "answer length field matches");

	/* IPv6: the address XORed with cookie and transaction id. */
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(5062);
	inet_pton(AF_INET6, "2001:db8::42", &s6->sin6_addr);
	n = header(0x0001, 0);
	ok(ask(n, &from6) == STUN_ANSWER && out_len == 44, "IPv6 request: 44-byte answer");
	a = find(0x0020);
	{
		uint8_t ip[16];

		for (int i = 0; a && i < 16; i++)
			ip[i] = a[8 + i] ^ req[4 + i];
		ok(a && a[5] == 2 && (g16(a + 6) ^ 0x2112) == 5062 &&
		   !memcmp(ip, &s6->sin6_addr, 16), "IPv6 XOR-MAPPED-ADDRESS decodes to the source");
	}

	/* FINGERPRINT: checked on the way in, added on the way out. */
	n = fingerprint(header(0x0001, 0));
	ok(ask(n, &from) == STUN_ANSWER && (a = find(0x8028)) != NULL, "with FINGERPRINT: answered with one");
	ok(a && (((uint32_t)g16(a + 4) << 16 | g16(a + 6)) ^ 0x5354554eu) ==
	   stun_crc32(out, (size_t)(a - out)), "the answer's FINGERPRINT is right");
	req[n - 1] ^= 1;
	ok(ask(n, &from) == STUN_DROP, "a wrong FINGERPRINT: dropped");
	n = attr(fingerprint(header(0x0001, 0)), 0x8022, 4);
	set_len(n);
	ok(ask(n, &from) == STUN_DROP, "an attribute after FINGERPRINT: dropped");

	/* Hostile headers. */
	n = header(0x0001, 0);
	ok(ask(19, &from) == STUN_DROP, "truncated header (19 bytes): dropped");
	req[7] = 0x43;
	ok(ask(n, &from) == STUN_DROP, "wrong magic cookie (an RFC 3489 client): dropped");
	header(0x0001, 4);
	ok(ask(20, &from) == STUN_DROP, "length field longer than the datagram: dropped");
	header(0x0001, 0);
	ok(ask(24, &from) == STUN_DROP, "datagram longer than the length field: dropped");
	header(0x0001, 2);
	ok(ask(22, &from) == STUN_DROP, "length not a multiple of 4: dropped");
	req[0] = 0x40;
	ok(ask(20, &from) == STUN_DROP, "top bits set: not STUN");

	/* Hostile attributes. */
	n = attr(header(0x0001, 0), 0x8022, 4);
	req[22] = 0xff;
	req[23] = 0xff;
	set_len(n);
	ok(ask(n, &from) == STUN_DROP, "attribute length 65535 past the end: dropped");
	n = attr(header(0x0001, 0), 0x8022, 8);
	req[23] = 9;	/* padded to 12: 4 more than there is */
	set_len(n);
	ok(ask(n, &from) == STUN_DROP, "attribute padding past the end: dropped");
	n = header(0x0001, 0);
	memset(req + 20, 0, 4);
	req[20] = 0x80;
	req[21] = 0x22;
	set_len(24);
	ok(ask(24, &from) == STUN_ANSWER, "an empty comprehension-optional attribute: fine");
	header(0x0001, 0);
	set_len(22);
	ok(ask(22, &from) == STUN_DROP, "half an attribute header: dropped");
	n = header(0x0001, 0);
	while (n < STUN_MAX_REQUEST + 4)
		n = attr(n, 0x8022, 60);
	set_len(n);
	ok(ask(n, &from) == STUN_DROP, "huge (%zu bytes, over %d): dropped", n, STUN_MAX_REQUEST);

	/* Comprehension-required attributes we do not know: 420 naming them (at most four). */
	n = attr(attr(header(0x0001, 0), 0x0006, 5), 0x0008, 20);	/* USERNAME, MESSAGE-INTEGRITY */
	set_len(n);
	ok(ask(n, &from) == STUN_ANSWER && g16(out) == 0x0111, "unknown required attributes: error response");
	a = find(0x0009);
	ok(a && a[6] == 4 && a[7] == 20, "ERROR-CODE 420");
	a = find(0x000a);
	ok(a && g16(a + 2) == 4 && g16(a + 4) == 0x0006 && g16(a + 6) == 0x0008,
	   "UNKNOWN-ATTRIBUTES lists USERNAME and MESSAGE-INTEGRITY");
	n = header(0x0001, 0);
	for (int i = 0; i < 20; i++)
		n = attr(n, (uint16_t)(0x0100 + i), 0);
	set_len(n);
	ok(ask(n, &from) == STUN_ANSWER && (a = find(0x000a)) && g16(a + 2) == 8 &&
	   out_len <= STUN_MAX_ANSWER, "twenty unknown: four listed, answer of %zu bytes", out_len);

	/* Other classes and methods. */
	header(0x0011, 0);
	ok(ask(20, &from) == STUN_KEEPALIVE && !out_len, "Binding indication: a keepalive, no answer");
	header(0x0101, 0);
	ok(ask(20, &from) == STUN_DROP, "a success response sent to us: dropped");
	header(0x0003, 0);
	ok(ask(20, &from) == STUN_DROP, "another method (Allocate): dropped");

	/* Random datagrams with a STUN header: never more than the bound, never a crash. */
	srand(14);
	{
		int answered = 0, bad = 0;

		for (int i = 0; i < 20000; i++) {
			size_t len = 20 + (size_t)(rand() % 140);
			enum stun_verdict v;

			header((uint16_t)(rand() % 2 ? 0x0001 : rand() & 0x3fff), (uint16_t)(len - 20));
			for (size_t k = 20; k < len; k++)
				req[k] = (uint8_t)rand();
			if (rand() % 4 == 0)
				req[2 + rand() % 2] = (uint8_t)rand();
			v = ask(len, &from);
			answered += v == STUN_ANSWER;
			bad += v == STUN_ANSWER && (out_len > STUN_MAX_ANSWER || out_len < 20);
		}
		ok(!bad, "20000 random datagrams: %d answered, each within %d bytes", answered,
		   STUN_MAX_ANSWER);
	}
	return tap_done();
}
