// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the proxy's message builders: whatever ksipd parses
 * and would forward must come out as a message that parses again, with
 * the same method or status, one more or one less Via, and the body intact.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m, out;
	static struct sip_out o;
	struct fwd_request f = { 0 };
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (size > 4096 || sip_parse(&m, copy, size) != SIP_PARSE_OK || !m.count[SIP_HDR_VIA] ||
	    m.nhdrs > SIP_FORWARD_MAX_HEADERS)
		goto out;	/* ksipd answers 513 rather than forward that many headers */
	if (m.is_request) {
		f.via = "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKksfuzz;rport\r\n";
		f.record_route = "Record-Route: <sip:192.0.2.1:5060;lr>\r\n";
		f.routes_to_drop = size % 3;
		f.realm = "ksip.test";
		build_forward_request(&o, &m, &f);
		if (o.overflow)
			goto out;
		if (sip_parse(&out, o.buf, o.len) != SIP_PARSE_OK || out.method != m.method ||
		    out.body.len != m.body.len || memcmp(out.body.p, m.body.p, m.body.len))
			abort();
		build_cancel(&o, &m);
		if (!o.overflow && m.count[SIP_HDR_TO] && m.count[SIP_HDR_CSEQ] &&
		    sip_parse(&out, o.buf, o.len) != SIP_PARSE_OK)
			abort();
	} else {
		build_forward_response(&o, &m, NULL);
		if (o.overflow)
			goto out;
		if (sip_parse(&out, o.buf, o.len) != SIP_PARSE_OK || out.status != m.status ||
		    out.body.len != m.body.len)
			abort();
	}
out:
	free(copy);
	return 0;
}
