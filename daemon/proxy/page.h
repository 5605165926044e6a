/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Paging groups (issue 17), as a forking proxy that keeps every answer.
 *
 * An INVITE to a group forks to every registered contact of every member,
 * each copy with the headers that make phones answer at once and an offer
 * of its own: the page's audio stream points at a relay port pair reserved
 * for that member (other streams are declined, port 0). The first 2xx goes
 * to the caller as in any call: that member is the call's callee, its
 * audio path the call's relay stream. Each later 2xx is ksipd's own: ksipd
 * ACKs it, keeps the member's dialog (struct page_leg), and has the relay
 * copy what the caller sends to that member as one more output of the
 * stream (media_set_outputs()), sent from the member's own port pair, the
 * one it was offered. Nothing forwards what arrives at a member's port:
 * the members are heard by nobody (one-way), and no member's packets reach
 * the call's own port to be latched onto. When the call ends, whatever
 * ended it, ksipd BYEs every member still there and CANCELs those still
 * ringing; a member that hangs up gets its 200 from ksipd and loses its
 * output.
 *
 * A page outlives its first answer: when the callee hangs up while other
 * members listen, ksipd answers its BYE itself and one of those members
 * takes the callee's place on the stream (its copies become the stream's
 * own forwarding, its port pair goes back). From then on ksipd is the far
 * end of the caller's dialog: the caller's BYE is answered here and ends
 * the page. When the member in the callee's place hangs up the next one
 * takes it; when none is left the caller gets ksipd's BYE.
 * docs/architecture.md, "Paging groups", says why this shape.
 */
#ifndef KSIP_PROXY_PAGE_H
#define KSIP_PROXY_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "media/media.h"
#include "proxy/call.h"
#include "sip/msg.h"
#include "store/record.h"

struct proxy;
struct call;
struct branch;
struct sip_source;

/* Members' dialogs a page call keeps: the first answer is the call's own, the rest are outputs. */
#define PAGE_LEGS_MAX MEDIA_OUTPUTS_MAX

/*
 * The auto-answer headers (RFC 3261 §20.9 Call-Info with the answer-after
 * parameter phones took from BroadSoft; the Alert-Info form Polycom, Yealink
 * and Snom phones know). baresip 1.0.0 honours neither (docs/operations.md).
 */
#define PAGE_CALL_INFO "Call-Info: <sip:%s>;answer-after=0\r\n"
#define PAGE_ALERT_INFO "Alert-Info: <http://www.notused.com>;info=alert-autoanswer\r\n"

/* A member that answered after the first, in a dialog of ksipd's. */
struct page_leg {
	char tag[64];			/* its To tag */
	char *to;			/* its To header value, tag included */
	char *contact;			/* its Contact URI: our ACK and BYE go there */
	struct sockaddr_storage sig;	/* where its INVITE went (its registration's source) */
	enum ksip_transport sig_tp;
	struct sockaddr_storage rtp;	/* where it wants the caller's RTP (port included) */
	uint16_t rtcp;
	int stream;			/* the call's stream its audio comes from; -1: none */
	uint16_t port;			/* our RTP port its copies leave from (RTCP +1); 0 */
	bool live;			/* answered and not hung up */
	bool in_callee_place;		/* gets the stream's own forwarding (the callee hung up) */
};

/* A contact the INVITE was forked to, and the port pair it was offered. */
struct page_target {
	struct sockaddr_storage dst;
	enum ksip_transport tp;
	uint16_t port;			/* 0 once taken by its leg or released */
};

#define PAGE_TARGETS_MAX 16		/* proxy.c's MAX_TARGETS */

struct page_call {
	int stream;			/* the call's paged stream (the first open), or -1 */
	unsigned int n;			/* legs used (live or gone) */
	struct page_leg leg[PAGE_LEGS_MAX];
	unsigned int ntgt;
	struct page_target tgt[PAGE_TARGETS_MAX];
	uint32_t cseq;			/* our last CSeq in the members' dialogs */
	bool callee_gone;		/* the callee hung up: ksipd is the caller's far end */
};

/* Is USER a paging group? Its record into *G. */
bool page_lookup(struct proxy *p, const char *user, struct page_record *g);
/* Every member's registered contacts, as targets (proxy.c's collector and its context). */
struct binding_view;
void page_collect(struct proxy *p, const struct page_record *g,
		  void (*fn)(void *ctx, const struct binding_view *b), void *ctx);
/* The auto-answer header lines, into OUT. */
void page_headers(const struct proxy *p, char *out, size_t len);
/*
 * Before forking to the target at DST: a relay port pair of its own for
 * the page's stream, written into *PORT (-1 when none is free or the call
 * has targets enough). Held until the call ends, or taken by the member's
 * output.
 */
int page_target_add(struct proxy *p, struct call *c, const struct sockaddr_storage *dst,
		    enum ksip_transport tp, uint16_t *port);
/* The branch offered PORT went to DST over TP in the end (a TCP connection of §18.1.1). */
void page_target_sent(struct call *c, uint16_t port, const struct sockaddr_storage *dst,
		      enum ksip_transport tp);
/*
 * The offer the caller's SDP became for the members (LEN bytes) as one
 * member gets it: the page's stream at PORT (RTCP PORT + 1, or PORT under
 * rtcp-mux), every other stream declined (port 0). Its length in OUT (CAP
 * bytes), or -1 when it does not fit.
 */
long page_offer(const struct call *c, const char *sdp, long len, uint16_t port, char *out,
		size_t cap);

/* Stream I's outputs for LEG that the page wants (its live members, for the caller's leg). */
unsigned int page_outputs_of(const struct call *c, int i, int leg, struct media_output *o);

/* A member's 2xx after the first (call C, branch B): ACK it, keep it, copy the audio to it. */
void page_member_answered(struct proxy *p, struct call *c, const struct branch *b,
			  const struct sip_msg *m);
/* A 2xx again: true (ACKed again) when it is from one of ksipd's members, not the callee. */
bool page_2xx_again(struct proxy *p, struct call *c, const struct branch *b,
		    const struct sip_msg *m);
/*
 * A request inside one of ksipd's member dialogs (a BYE): answered here
 * and true; false when M belongs to no such dialog.
 */
bool page_member_request(struct proxy *p, const struct sip_msg *m, const struct sip_source *src);
/*
 * Request M from leg FROM of page call C, in the call's own dialog: true
 * when ksipd answered it here (the callee's BYE while members listen, and
 * everything once the callee is gone), false when it is forwarded as in
 * any call.
 */
bool page_dialog_request(struct proxy *p, struct call *c, enum leg from, const struct sip_msg *m,
			 const struct sip_source *src);
/* Call C ends (any reason): BYE every member still there, CANCEL those still ringing. */
void page_call_end(struct proxy *p, struct call *c);
/* The call's streams are closed (outputs with them): the members' relay ports go back. */
void page_ports_release(struct proxy *p, struct page_call *pc);
/* The call is freed: what it still holds goes back to the pool. */
void page_call_free(struct proxy *p, struct page_call *pc);

#endif
