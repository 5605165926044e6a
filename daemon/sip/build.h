/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Building the messages a stateful proxy sends: a request forwarded to a
 * new target (RFC 3261 §16.6), a response passed back upstream (§16.7
 * step 9), and the ACK and CANCEL a proxy generates itself (§17.1.1.3,
 * §9.1), and the in-dialog requests ksipd originates. Everything is
 * written into a struct sip_out.
 */
#ifndef KSIP_SIP_BUILD_H
#define KSIP_SIP_BUILD_H

#include "sip/hdr.h"
#include "sip/msg.h"
#include "sip/reply.h"

/* A request with more headers is not forwarded: ours would make it exceed SIP_MAX_HEADERS. */
#define SIP_FORWARD_MAX_HEADERS (SIP_MAX_HEADERS - 4)

struct fwd_request {
	struct sip_span ruri;		/* new Request-URI; empty keeps the old one */
	const char *via;		/* our complete "Via: ...\r\n" line */
	const char *record_route;	/* "Record-Route: ...\r\n" line(s), or NULL */
	const char *extra;		/* more complete header lines of ours, or NULL */
	bool drop_auto_answer;		/* leave out the caller's auto-answer headers (sip_is_auto_answer) */
	unsigned int routes_to_drop;	/* leading Route entries that named us */
	const char *realm;		/* drop Proxy-Authorization for this realm */
	const struct sip_span *body;	/* replacement body, or NULL to keep */
	const struct sip_source *src;	/* where it came from: received/rport on its Via, or NULL */
};

void build_forward_request(struct sip_out *o, const struct sip_msg *m, const struct fwd_request *f);

/*
 * Does H ask the callee to answer by itself? Call-Info with answer-after
 * (BroadSoft), Alert-Info naming auto-answer or intercom (Polycom, Snom,
 * Yealink, Cisco), Answer-Mode and Priv-Answer-Mode (RFC 5373).
 */
bool sip_is_auto_answer(const struct sip_hdr *h);

/* The response without our top Via; BODY replaces the body when not NULL. */
void build_forward_response(struct sip_out *o, const struct sip_msg *m, const struct sip_span *body);

/*
 * ACK for a non-2xx final response (§17.1.1.3) or CANCEL (§9.1) of the
 * INVITE REQ we sent: same Request-URI, top Via, Route, From, Call-ID and
 * CSeq number; the ACK takes To from RESP.
 */
void build_ack(struct sip_out *o, const struct sip_msg *req, const struct sip_msg *resp);
void build_cancel(struct sip_out *o, const struct sip_msg *req);

/*
 * A request ksipd originates inside a dialog (§12.2.1.1), the BYE of a
 * hang-up: no body, no Route set (it goes straight to the leg's address).
 */
struct sip_request {
	enum sip_method method;
	const char *ruri;		/* the remote target (the leg's Contact) */
	const char *via;		/* our complete "Via: ...\r\n" line */
	const char *from, *to;		/* header values, tags included */
	const char *callid;
	uint32_t cseq;
	const char *reason;		/* Reason text (RFC 3326, cause 200), or NULL */
};

/* Sets o->overflow, sending nothing, when a field would break the message (CR, LF, NUL). */
void sip_build_request(struct sip_out *o, const struct sip_request *r);

/* The first element of the first Via header. */
bool top_via(const struct sip_msg *m, struct sip_via *via);
/* A header parameter of To or From ("tag"), empty span when absent. */
struct sip_span naddr_tag(const struct sip_msg *m, enum sip_hdr_id id);
/* The URI of the first Contact, empty span when there is none or it does not parse. */
struct sip_span contact_uri(const struct sip_msg *m);
/* The CSeq number, 0 when unparsable. */
uint32_t cseq_number(const struct sip_msg *m, struct sip_span *method);

#endif
