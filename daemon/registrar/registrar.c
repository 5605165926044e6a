// SPDX-License-Identifier: GPL-2.0
/* REGISTER processing, RFC 3261 §10.3 steps 1-8. */
#include "registrar/registrar.h"

#include <stdio.h>
#include <string.h>

#include "registrar/auth.h"
#include "store/location.h"
#include "base/log.h"
#include "sip/hdr.h"
#include "txn/cache.h"

#define MAX_REQUEST_CONTACTS 32

struct reg_request {
	char aor[128];
	struct loc_contact contacts[MAX_REQUEST_CONTACTS];
	int ncontacts;
	bool star;
	uint32_t cseq;
	struct sip_span callid;
};

static bool request_expires(const struct sip_msg *m, uint32_t *out)
{
	const struct sip_hdr *h = sip_hdr_first(m, SIP_HDR_EXPIRES);

	if (!h)
		return false;
	/* A malformed Expires header is ignored like an absent one (RFC 3261 §10.3 step 6). */
	return span_to_u32(h->value, UINT32_MAX, out);
}

/*
 * Collect the Contact values with their effective expiry. Returns 0, or an
 * HTTP-ish status (400, 423) with *why.
 */
static int collect_contacts(const struct registrar_ctx *c, const struct sip_msg *m,
			    struct reg_request *r, uint32_t *min_violation, const char **why)
{
	const struct ksip_config *cfg = c->cfg;
	struct sip_hdr_iter it;
	struct sip_span elem, v;
	uint32_t hdr_expires = 0;
	bool has_hdr_expires = request_expires(m, &hdr_expires);

	sip_hdr_iter_init(&it, m, SIP_HDR_CONTACT);
	while (sip_hdr_iter_next(&it, &elem)) {
		struct sip_naddr na;
		struct sip_uri uri;
		struct loc_contact *lc;
		uint32_t exp;

		if (!sip_naddr_parse(elem, &na)) {
			*why = "Malformed Contact";
			return 400;
		}
		if (na.star) {
			r->star = true;
			continue;
		}
		if (!sip_uri_parse(na.uri, &uri)) {
			*why = "Malformed Contact URI";
			return 400;
		}
		if (r->ncontacts >= MAX_REQUEST_CONTACTS) {
			*why = "Too Many Contacts";
			return 403;
		}
		if (sip_param_find(na.params, "expires", &v)) {
			if (!span_to_u32(v, UINT32_MAX, &exp))
				exp = has_hdr_expires ? hdr_expires : cfg->default_expires;
		} else {
			exp = has_hdr_expires ? hdr_expires : cfg->default_expires;
		}
		/* §10.3 step 6: 423 only for 0 < expires < min and below one hour. */
		if (exp && exp < cfg->min_expires && exp < 3600)
			*min_violation = 1;
		if (exp > cfg->max_expires)
			exp = cfg->max_expires;
		/* A URI given twice: the last one wins, as if sent in order. */
		lc = NULL;
		for (int i = 0; i < r->ncontacts; i++)
			if (r->contacts[i].uri.len == na.uri.len &&
			    !memcmp(r->contacts[i].uri.p, na.uri.p, na.uri.len))
				lc = &r->contacts[i];
		if (!lc)
			lc = &r->contacts[r->ncontacts++];
		lc->uri = na.uri;
		lc->expires = exp;
		lc->q = LOC_Q_NONE;
		if (sip_param_find(na.params, "q", &v) && !sip_qvalue_parse(v, &lc->q)) {
			*why = "Malformed q-value";
			return 400;
		}
	}
	if (r->star) {
		/* §10.3 step 6: "*" only alone and only with Expires: 0. */
		if (r->ncontacts || !has_hdr_expires || hdr_expires != 0) {
			*why = "Contact * needs Expires: 0 and no other Contact";
			return 400;
		}
	}
	return 0;
}

struct emit_ctx {
	struct sip_out *o;
	int n;
};

static void emit_contact(void *arg, const struct binding_view *b)
{
	struct emit_ctx *e = arg;

	out_printf(e->o, "Contact: <%s>;expires=%u", b->contact, b->expires_in);
	if (b->q != LOC_Q_NONE)
		out_printf(e->o, ";q=%u.%03u", b->q / 1000, b->q % 1000);
	out_str(e->o, "\r\n");
	e->n++;
}

static void add_date(struct sip_out *o, time_t now)
{
	char date[64];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	out_printf(o, "Date: %s\r\n", date);
}

/* Fill in the AOR from the To URI (§10.3 step 5): the user part names it. */
static int aor_of(const struct sip_msg *m, char *aor, size_t len)
{
	struct sip_naddr na;
	struct sip_uri uri;

	if (!sip_naddr_parse(sip_hdr_first(m, SIP_HDR_TO)->value, &na) ||
	    !sip_uri_parse(na.uri, &uri))
		return 400;
	if (uri.scheme != SIP_SCHEME_SIP && uri.scheme != SIP_SCHEME_SIPS)
		return 416;
	if (!uri.user.len || uri.user.len >= len)
		return 404;
	snprintf(aor, len, SPAN_FMT, SPAN_ARG(uri.user));
	return 0;
}

static void answer_bindings(const struct registrar_ctx *c, const struct sip_msg *m,
			    const struct sip_source *src, struct sip_out *o,
			    const struct reg_request *r)
{
	struct emit_ctx e = { o, 0 };

	sip_reply_start(o, m, src, 200, NULL);
	location_lookup(c->loc, r->aor, c->now, emit_contact, &e);
	add_date(o, c->now);
	sip_reply_finish(o);
}

void registrar_handle(const struct registrar_ctx *c, const struct sip_msg *m,
		      const struct sip_source *src, struct sip_out *o)
{
	struct reg_request r;
	struct auth_outcome auth;
	struct sip_cseq cs;
	struct loc_request lr;
	struct emit_ctx e = { o, 0 };
	enum loc_result res;
	const char *why = NULL;
	uint32_t min_violation = 0;
	uint64_t key = txn_key(m, src);
	int code;

	memset(&r, 0, sizeof(r));
	code = aor_of(m, r.aor, sizeof(r.aor));
	if (code) {
		sip_reply_simple(o, m, src, code, code == 404 ? "Not Found (no user in To)" : NULL);
		return;
	}
	/* A retransmission of a request we already accepted gets the same 200. */
	if (txn_cache_lookup(c->txc, key, c->now) == 200) {
		STAT_INC(c->st, retransmissions);
		answer_bindings(c, m, src, o, &r);
		return;
	}

	auth_check(c->auth, c->st, m, src, SIP_HDR_AUTHORIZATION, c->now, &auth);
	switch (auth.result) {
	case AUTH_OK:
		break;
	case AUTH_MALFORMED:
		sip_reply_simple(o, m, src, 400, auth.why);
		return;
	case AUTH_CHALLENGE:
	case AUTH_STALE:
		sip_reply_start(o, m, src, 401, NULL);
		auth_add_challenge(c->auth, o, m, false, auth.result == AUTH_STALE, c->now);
		sip_reply_finish(o);
		return;
	}
	/* §10.3 step 4: the authenticated user may only register its own AOR. */
	if (strcmp(auth.user, r.aor)) {
		sip_reply_simple(o, m, src, 403, "Forbidden (AOR is not yours)");
		return;
	}

	code = collect_contacts(c, m, &r, &min_violation, &why);
	if (code) {
		sip_reply_simple(o, m, src, code, why);
		return;
	}
	if (min_violation) {
		sip_reply_start(o, m, src, 423, NULL);
		out_printf(o, "Min-Expires: %u\r\n", c->cfg->min_expires);
		sip_reply_finish(o);
		return;
	}
	sip_cseq_parse(sip_hdr_first(m, SIP_HDR_CSEQ)->value, &cs);

	lr = (struct loc_request){
		.aor = r.aor,
		.callid = sip_hdr_first(m, SIP_HDR_CALL_ID)->value,
		.cseq = cs.seq,
		.contacts = r.contacts,
		.ncontacts = r.ncontacts,
		.remove_all = r.star,
		.now = c->now,
		.src = (const struct sockaddr *)&src->addr,
		.transport = src->transport,
		.max_contacts = c->cfg->max_contacts,
	};
	sip_reply_start(o, m, src, 200, NULL);
	res = location_apply(c->loc, &lr, emit_contact, &e);
	switch (res) {
	case LOC_OK:
		add_date(o, c->now);
		sip_reply_finish(o);
		txn_cache_store(c->txc, key, 200, c->now);
		log_debug("REGISTER %s: %d contacts, %d bindings", r.aor, r.ncontacts, e.n);
		return;
	case LOC_E_STALE_CSEQ:
		/* §10.3 step 7: the update is aborted; the RFC names no code, we follow common use. */
		sip_reply_simple(o, m, src, 500, "Stale CSeq for this Call-ID");
		return;
	case LOC_E_TOO_MANY:
		sip_reply_simple(o, m, src, 403, "Too Many Contacts");
		return;
	case LOC_E_NOMEM:
		sip_reply_simple(o, m, src, 500, "Out of memory");
		return;
	}
}
