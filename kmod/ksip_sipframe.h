/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SIP datagram framing check, shared by ksip.ko and userspace (where it is
 * unit-tested and fuzzed). Pure C: no kernel or libc headers.
 */
#ifndef _KSIP_SIPFRAME_H
#define _KSIP_SIPFRAME_H

enum ksip_frame_verdict {
	KSIP_FRAME_OK,			/* a well-framed request or response */
	KSIP_FRAME_KEEPALIVE,		/* CRLF, CRLFCRLF, or a STUN message (RFC 5626) */
	KSIP_FRAME_BAD_SIZE,		/* shorter than any SIP message, or too long */
	KSIP_FRAME_BAD_START,		/* no Request-Line or Status-Line with SIP/2.0 */
	KSIP_FRAME_BAD_HEADER,		/* header line without name/colon, or with control bytes */
	KSIP_FRAME_NO_END,		/* the header section has no empty line */
	KSIP_FRAME_BAD_LENGTH,		/* Content-Length unparsable or beyond the body */
	KSIP_FRAME_MISSING_HEADER,	/* Via, From, To, Call-ID or CSeq absent */
	KSIP_FRAME__COUNT,
};

#define KSIP_FRAME_MIN 20
#define KSIP_FRAME_MAX 65507		/* largest UDP payload over IPv4 */

/* Check LEN bytes at P; bounded by LEN, no allocation, no recursion. */
enum ksip_frame_verdict ksip_frame_check(const unsigned char *p, unsigned int len);

/* Short names of the verdicts, for counters. */
extern const char *const ksip_frame_verdict_names[KSIP_FRAME__COUNT];

#endif /* _KSIP_SIPFRAME_H */
