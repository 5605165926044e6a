// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for SDP: parse; when it parses, rewrite it for a relay
 * (ICE removed or passed, by the input's length), and the rewritten SDP
 * must parse again with the same streams, carry exactly one o= (ours),
 * every c= the relay's, and no ICE line unless passed.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sdp.h"

static const char relay_c[] = "c=IN IP4 203.0.113.1";
static const char relay_o[] = "o=- 12345 67 IN IP4 203.0.113.1";

/* Every line of the rewrite as it must be. */
static void check_lines(const char *p, size_t n, bool keep_ice)
{
	int origins = 0;

	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;
		struct sip_span line = { p, (uint32_t)(len && p[len - 1] == '\r' ? len - 1 : len) };

		if (line.len >= 2 && line.p[0] == 'c' && line.p[1] == '=' &&
		    (line.len != sizeof(relay_c) - 1 || memcmp(line.p, relay_c, line.len)))
			abort();	/* a c= that is not the relay's */
		if (line.len >= 2 && line.p[0] == 'o' && line.p[1] == '=') {
			if (line.len != sizeof(relay_o) - 1 || memcmp(line.p, relay_o, line.len))
				abort();	/* an o= that is not ours */
			origins++;
		}
		if (!keep_ice && sdp_is_ice_line(line))
			abort();
		p += len + (nl ? 1 : 0);
		n -= len + (nl ? 1 : 0);
	}
	if (origins != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdp_session s, again;
	static char out[16384];
	struct sdp_relay r = { .rtp_port = { 30000, 30002, 30004, 30006, 30008, 30010, 30012, 30014 },
			       .sess_id = 12345, .sess_version = 67, .keep_ice = size & 1 };
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
		if (sdp_parse((struct sip_span){ out, (uint32_t)n }, &again, &why) ||
		    again.nmedia != s.nmedia || !again.has_origin)
			abort();
		for (int i = 0; i < s.nmedia; i++)
			if (again.media[i].port != (s.media[i].port ? r.rtp_port[i] : 0))
				abort();
		check_lines(out, (size_t)n, r.keep_ice);
	}
	free(copy);
	return 0;
}
