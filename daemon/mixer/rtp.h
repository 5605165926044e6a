/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The RTP fixed header (RFC 3550 §5.1), read from and written to the wire.
 * The mixer needs no more of RTP than this: it terminates every member's
 * stream and sends its own.
 */
#ifndef KSIP_MIXER_RTP_H
#define KSIP_MIXER_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HEADER_LEN 12
/* 8 kHz G.711 in 20 ms packets: the only framing the mixer speaks. */
#define MIXER_RATE 8000
#define MIXER_FRAME 160
#define MIXER_TICK_MS 20

struct rtp_packet {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *payload;
	size_t len;
};

/*
 * Parse BUF (N bytes): version 2, CSRCs, header extension and padding
 * skipped and checked against N. false for anything that is not RTP.
 */
bool rtp_parse(const uint8_t *buf, size_t n, struct rtp_packet *p);
/* The 12-byte header of a packet we send, into BUF. */
void rtp_write_header(uint8_t *buf, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
		      uint32_t ssrc);

#endif
