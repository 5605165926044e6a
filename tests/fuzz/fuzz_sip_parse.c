// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the SIP parser and everything that reads its spans
 * (header value parsers, digest credentials, stream framing, and building
 * a response from a hostile request).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/digest.h"
#include "sip/hdr.h"
#include "sip/msg.h"
#include "sip/reply.h"

static void exercise_values(const struct sip_msg *m)
{
	for (int i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		struct sip_span rest = h->value, elem, v;
		struct sip_via via;
		struct sip_naddr na;
		struct sip_uri uri;
		struct sip_cseq cs;
		struct digest_creds dc;
		const char *why;
		uint16_t q;

		switch (h->id) {
		case SIP_HDR_VIA:
			while (sip_list_next(&rest, &elem))
				sip_via_parse(elem, &via);
			break;
		case SIP_HDR_CONTACT:
		case SIP_HDR_FROM:
		case SIP_HDR_TO:
		case SIP_HDR_ROUTE:
			while (sip_list_next(&rest, &elem)) {
				if (!sip_naddr_parse(elem, &na))
					continue;
				sip_uri_parse(na.uri, &uri);
				sip_param_find(na.params, "tag", &v);
				if (sip_param_find(na.params, "q", &v))
					sip_qvalue_parse(v, &q);
			}
			break;
		case SIP_HDR_CSEQ:
			sip_cseq_parse(h->value, &cs);
			break;
		case SIP_HDR_AUTHORIZATION:
		case SIP_HDR_PROXY_AUTHORIZATION:
			digest_parse_credentials(h->value, &dc, &why);
			break;
		default:
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m;
	static struct sip_out o;
	struct sip_source src = { .addrlen = sizeof(struct sockaddr_in), .transport = KSIP_UDP };
	char *copy;

	/* An exact-size heap copy so ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	((struct sockaddr_in *)&src.addr)->sin_family = AF_INET;
	sip_stream_frame(copy, size);
	if (sip_parse(&m, copy, size) != SIP_E_GARBAGE) {
		exercise_values(&m);
		if (m.is_request && m.count[SIP_HDR_VIA])
			sip_reply_simple(&o, &m, &src, 400, m.error);
	}
	free(copy);
	return 0;
}
