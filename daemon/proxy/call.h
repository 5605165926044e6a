/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Calls: the dialog an INVITE creates (early -> confirmed -> ended) and
 * the media anchored for it. One state machine per call: the proxy reports
 * what it forwards (offers and answers from either leg, the answer, BYE,
 * failure) and the call decides what the relay does. Each leg sees only
 * relay addresses; each m= line gets a relay port pair per leg.
 */
#ifndef KSIP_CALL_H
#define KSIP_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "base/config.h"
#include "base/list.h"
#include "base/timer.h"
#include "media/media.h"
#include "proxy/call_info.h"
#include "sip/msg.h"
#include "sip/sdp.h"

struct proxy;
struct resp_ctx;
struct page_call;
struct call_tap;

enum leg { LEG_CALLER, LEG_CALLEE };

static inline enum leg other_leg(enum leg l)
{
	return l == LEG_CALLER ? LEG_CALLEE : LEG_CALLER;
}

/* Early dialogs a call remembers (forked INVITE: one per answering phone); more are signed only. */
#define CALL_EARLY_MAX 4

/* An early dialog: the To tag of a provisional, and the branch it came on. */
struct call_early_dlg {
	char tag[64];
	struct sockaddr_storage sig;
	enum ksip_transport sig_tp;
};

/*
 * The o= ksipd presents to one leg (RFC 4566 §5.2, RFC 3264 §8): its own
 * session id, and a version that grows when the SDP that leg gets changes.
 */
struct call_origin {
	uint64_t sess_id, version;
	uint64_t hash;			/* of the last SDP sent, o= left out */
	bool sent;
};

struct call {
	struct call *hnext;		/* chain in p->call_tab */
	struct list_head node;		/* in p->calls: all calls of the worker */
	struct list_head ended_node;	/* in p->ended once ended, oldest first */
	uint64_t hash;
	uint64_t id;			/* call_id_make(worker, seq): see call_info.h */
	enum call_state state;
	char *callid;
	char caller_tag[64], callee_tag[64];	/* callee_tag: "" until the 2xx */
	char caller_user[CALL_USER_MAX], callee_user[CALL_USER_MAX];
	char *caller_from, *callee_to;	/* header values with tags, for BYEs we send */
	char *contact[2];		/* each leg's Contact URI */
	struct sockaddr_storage sig[2];	/* each leg's signalling address */
	enum ksip_transport sig_tp[2];	/* and how it talks to us */
	struct sockaddr_storage relay_ip[2];	/* our address facing each leg */
	uint32_t cseq[2];		/* highest CSeq seen from each leg */
	time_t created;
	uint64_t invite_us;		/* stats_now_us() at the INVITE: call setup time */
	bool provisional_timed;		/* the first provisional's time is counted */
	uint64_t created_ms, answered_ms, ended_ms, last_media_ms;
	uint64_t final_packets[2];	/* counters at the end, when the media is gone */
	char reason[CALL_REASON_MAX];
	struct resp_ctx *invite;	/* the initial INVITE's, while it is pending */
	/* Before the answer (§12.1: a 1xx with a To tag): [CALL_EARLY_MAX], freed at the answer. */
	struct call_early_dlg *early;
	int nearly;
	int nstreams;			/* m= lines seen; a stream with port 0 has none open */
	struct media_stream s[SDP_MAX_MEDIA];	/* opened by call_sdp(), closed by call_end() */
	struct call_origin origin[2];	/* our o= toward each leg */
	const char *sdp_error;		/* why call_sdp() last refused an SDP (static) */
	struct call_tap *taps;		/* [CALL_TAPS_MAX] once tapped (proxy/tap.h) */
	int ntaps;
	struct timer t_check;		/* media time-out: every quarter of it, once answered */
	struct timer t_limit;		/* maximum duration, from the answer */
	struct timer t_free;		/* ended calls stay listed for a while */
	struct page_call *page;		/* a paging group's call: its other members (page.h) */
};

/* Our media address facing PEER: media_address of its family, else what the route selects. */
int relay_address_toward(const struct proxy *p, const struct sockaddr_storage *peer,
			 struct sockaddr_storage *local);

struct call *call_new(struct proxy *p, const struct sip_msg *invite,
		      const struct sockaddr_storage *caller_sig, enum ksip_transport caller_tp,
		      const struct sockaddr_storage *callee_sig, enum ksip_transport callee_tp);
/*
 * The call of an in-dialog message, and which leg sent it: by Call-ID, From
 * tag and To tag together, in either orientation (§12.2.2). The callee's
 * tag is the 2xx's, or before the answer one of the early dialogs'.
 */
struct call *call_find(struct proxy *p, const struct sip_msg *m, enum leg *from);
/* The call of Call-ID CALLID whose caller's tag is TAG, whatever the other tag; or NULL. */
struct call *call_lookup(struct proxy *p, struct sip_span callid, struct sip_span tag);
/* Where leg FROM's in-dialog request M goes: the other leg's signalling address. */
void call_route(const struct call *c, enum leg from, const struct sip_msg *m,
		struct sockaddr_storage *dst, enum ksip_transport *tp);

/*
 * SDP from leg FROM, about to be forwarded to the other leg: learn where
 * FROM wants media, open relay ports, and write the body the other leg
 * should see into OUT. Returns its length, 0 when the message carries no
 * SDP, or -1 when the SDP is unusable or no relay port is free (with
 * c->sdp_error saying which, for the 488's reason phrase).
 */
long call_sdp(struct proxy *p, struct call *c, enum leg from, const struct sip_msg *m,
	      char *out, size_t cap);

/* Counts the call setup time up to the first provisional passed upstream (once). */
void call_provisional_timed(struct proxy *p, struct call *c);
/* A provisional RESP from the branch at CALLEE_SIG: an early dialog when it has a To tag. */
void call_early(struct call *c, const struct sip_msg *resp,
		const struct sockaddr_storage *callee_sig, enum ksip_transport callee_tp);
void call_answered(struct proxy *p, struct call *c, const struct sip_msg *resp,
		   const struct sockaddr_storage *callee_sig, enum ksip_transport callee_tp);
void call_request_seen(struct call *c, enum leg from, const struct sip_msg *m);
/* The call is over: release its media now; it stays listed briefly. */
void call_end(struct proxy *p, struct call *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Hang up a confirmed call: BYE to both legs, then end it. */
void call_hangup(struct proxy *p, struct call *c, const char *reason);

void call_free_all(struct proxy *p);
/*
 * Room for one more call beside OTHERS (the conference members of the
 * worker): false when the live calls and OTHERS fill max_calls. Ended
 * calls, kept 10 s for `ksipctl call list` and late retransmissions, hold
 * memory but no line: when they are what fills max_calls, the oldest is
 * freed now, so max_calls bounds every call held and still lets that many
 * live at once, at any call rate. Only where no call is in use (before a
 * new request makes state).
 */
bool call_admit(struct proxy *p, uint32_t others);

/*
 * Stream I's fan-out outputs, both legs, as the call's users want them:
 * a paging group's members (what the caller sends, proxy/page.c) first,
 * then the recording taps (proxy/tap.c), at most MEDIA_OUTPUTS_MAX a leg
 * (past that the last taps go without, logged). -1 with errno when the
 * relay refuses them.
 */
int call_set_outputs(struct proxy *p, struct call *c, int i);

/* Packets relayed from each leg, summed over streams (netlink for kernel flows). */
void call_packets(struct proxy *p, struct call *c, uint64_t pkts[2]);

#endif
