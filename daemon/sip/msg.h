/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SIP message model: a parsed message is a set of spans pointing into the
 * receive buffer. Nothing is copied and nothing is allocated, so a message
 * lives exactly as long as the buffer it was parsed from.
 */
#ifndef KSIP_SIP_MSG_H
#define KSIP_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sip_span {
	const char *p;
	uint32_t len;
};

#define SPAN_FMT "%.*s"
#define SPAN_ARG(s) (int)(s).len, (s).p

/* Headers the proxy and registrar look at; everything else is SIP_HDR_OTHER. */
enum sip_hdr_id {
	SIP_HDR_OTHER,
	SIP_HDR_VIA,
	SIP_HDR_FROM,
	SIP_HDR_TO,
	SIP_HDR_CALL_ID,
	SIP_HDR_CSEQ,
	SIP_HDR_CONTACT,
	SIP_HDR_CONTENT_LENGTH,
	SIP_HDR_CONTENT_TYPE,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_EXPIRES,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_REQUIRE,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_SUPPORTED,
	SIP_HDR_ROUTE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_SUBJECT,
	SIP_HDR_EVENT,
	SIP_HDR_ALLOW,
	SIP_HDR_USER_AGENT,
	SIP_HDR_CONTENT_ENCODING,
	SIP_HDR__COUNT
};

enum sip_method {
	SIP_METHOD_UNKNOWN,
	SIP_INVITE,
	SIP_ACK,
	SIP_BYE,
	SIP_CANCEL,
	SIP_REGISTER,
	SIP_OPTIONS,
	SIP_MESSAGE,
	SIP_INFO,
	SIP_PRACK,
	SIP_UPDATE,
	SIP_SUBSCRIBE,
	SIP_NOTIFY,
	SIP_PUBLISH,
	SIP_REFER,
	SIP_METHOD__COUNT
};

/*
 * Parse results. Values from SIP_E_BAD_REQUEST on describe a message whose
 * start line was understood: a request in that state deserves a 400 (or 505)
 * rather than a silent drop.
 */
enum sip_parse_result {
	SIP_PARSE_OK = 0,
	SIP_E_GARBAGE,		/* not a SIP start line at all: drop */
	SIP_E_TRUNCATED,	/* header section never ends */
	SIP_E_BAD_REQUEST,	/* marker, not returned */
	SIP_E_VERSION,		/* start line fine but not SIP/2.0 */
	SIP_E_HEADER,		/* a malformed header line */
	SIP_E_TOO_MANY_HEADERS,
	SIP_E_CONTENT_LENGTH,	/* Content-Length unparsable or conflicting */
	SIP_E_BODY_SHORT,	/* Content-Length larger than the body */
};

struct sip_hdr {
	uint8_t id;
	struct sip_span name;
	struct sip_span value;	/* trimmed, may contain folded line breaks */
};

#define SIP_MAX_HEADERS 96
#define SIP_MAX_MESSAGE 65535

struct sip_msg {
	const char *buf;
	uint32_t len;		/* bytes of this message (headers + body) */
	bool is_request;

	/* request line */
	enum sip_method method;
	struct sip_span method_name;
	struct sip_span ruri;
	/* status line */
	int status;
	struct sip_span reason;
	struct sip_span version;

	uint16_t nhdrs;
	struct sip_hdr hdrs[SIP_MAX_HEADERS];
	int16_t first[SIP_HDR__COUNT];	/* index into hdrs, -1 if absent */
	uint8_t count[SIP_HDR__COUNT];

	int64_t content_length;	/* -1 when absent */
	struct sip_span body;
	const char *error;	/* human readable reason when parse fails */
};

/*
 * Parse one message occupying exactly buf[0..len) (a datagram, or a frame
 * cut by sip_stream_frame()). On error m->error says why in words suitable
 * for a 400 reason phrase.
 */
enum sip_parse_result sip_parse(struct sip_msg *m, const char *buf, size_t len);

/*
 * Stream framing (TCP): how long is the message at the start of buf?
 * Returns >0 the message length, 0 when more bytes are needed, -1 when the
 * stream is broken (no valid Content-Length, or a header section beyond
 * SIP_MAX_MESSAGE). Leading CRLFs must be consumed by the caller.
 */
long sip_stream_frame(const char *buf, size_t len);

const struct sip_hdr *sip_hdr_first(const struct sip_msg *m, enum sip_hdr_id id);
enum sip_method sip_method_from(const char *p, size_t len);
const char *sip_method_name(enum sip_method m);

/* span helpers */
bool span_eq(struct sip_span s, const char *lit);
bool span_ieq(struct sip_span s, const char *lit);
bool span_ieq_span(struct sip_span a, struct sip_span b);
struct sip_span span_trim(struct sip_span s);
/* A NUL-terminated copy on the heap (NULL on no memory); the caller frees it. */
char *span_dup(struct sip_span s);
/* Into DST of CAP bytes (CAP > 0), cut to fit, always terminated. */
void span_copy(char *dst, size_t cap, struct sip_span s);
/* Parse an unsigned decimal; false on empty, junk or value > max. */
bool span_to_u32(struct sip_span s, uint32_t max, uint32_t *out);

#endif
