// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for SDP: parse; when it parses, rewrite it for a relay,
 * and the rewritten SDP must parse again with the same streams.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdp_session s, again;
	static char out[16384];
	struct sdp_relay r = { .rtp_port = { 30000, 30002, 30004, 30006, 30008, 30010, 30012, 30014 } };
	char *copy = malloc(size ? size : 1);
	const char *why;
	long n;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r.addr.ss_family = AF_INET;
	((struct sockaddr_in *)&r.addr)->sin_addr.s_addr = htonl(0xcb007101);
	if (size < 8192 && sdp_parse((struct sip_span){ copy, (uint32_t)size }, &s, &why) == 0) {
		n = sdp_rewrite((struct sip_span){ copy, (uint32_t)size }, &s, &r, out, sizeof(out));
		if (n < 0)
			abort();	/* 16 KiB always holds the rewrite of an 8 KiB body */
		if (sdp_parse((struct sip_span){ out, (uint32_t)n }, &again, &why) || again.nmedia != s.nmedia)
			abort();
		for (int i = 0; i < s.nmedia; i++)
			if (again.media[i].port != (s.media[i].port ? r.rtp_port[i] : 0))
				abort();
	}
	free(copy);
	return 0;
}
