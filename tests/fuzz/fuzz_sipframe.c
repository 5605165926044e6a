// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the framing check that runs inside ksip.ko, with a
 * differential check: whatever the kernel lets through as well-framed SIP,
 * ksipd's parser must be able to parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ksip_sipframe.h"
#include "sip/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m;
	unsigned char *copy = malloc(size ? size : 1);
	enum ksip_frame_verdict v;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	v = ksip_frame_check(copy, (unsigned int)size);
	if (v >= KSIP_FRAME__COUNT)
		abort();
	if (v == KSIP_FRAME_OK) {
		enum sip_parse_result r = sip_parse(&m, (const char *)copy, size);

		if (r == SIP_E_GARBAGE || r == SIP_E_TRUNCATED || r == SIP_E_BODY_SHORT)
			abort();	/* the kernel passed what ksipd calls broken framing */
	}
	free(copy);
	return 0;
}
