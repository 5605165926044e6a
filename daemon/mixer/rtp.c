// SPDX-License-Identifier: GPL-2.0
/* RTP headers (RFC 3550 §5.1): every length taken from the packet is checked against its size. */
#include "mixer/rtp.h"

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

bool rtp_parse(const uint8_t *buf, size_t n, struct rtp_packet *p)
{
	size_t off = RTP_HEADER_LEN;

	if (n < RTP_HEADER_LEN || buf[0] >> 6 != 2)
		return false;
	off += 4 * (size_t)(buf[0] & 0x0f);		/* CSRC list */
	if (buf[0] & 0x10) {				/* extension: 4-byte head, LEN words */
		if (n < off + 4)
			return false;
		off += 4 + 4 * (size_t)get16(buf + off + 2);
	}
	if (n < off)
		return false;
	if (buf[0] & 0x20) {				/* padding: its count is the last byte */
		size_t pad = buf[n - 1];

		if (pad == 0 || n - off < pad)
			return false;
		n -= pad;
	}
	p->marker = buf[1] & 0x80;
	p->pt = buf[1] & 0x7f;
	p->seq = get16(buf + 2);
	p->ts = get32(buf + 4);
	p->ssrc = get32(buf + 8);
	p->payload = buf + off;
	p->len = n - off;
	return true;
}

void rtp_write_header(uint8_t *buf, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
		      uint32_t ssrc)
{
	buf[0] = 0x80;
	buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	for (int i = 0; i < 4; i++) {
		buf[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
		buf[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	}
}
