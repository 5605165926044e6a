// SPDX-License-Identifier: GPL-2.0
#include "proxy/authorize.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "proxy/proxy.h"
#include "shield/trusted.h"
#include "sip/build.h"
#include "sip/hdr.h"
#include "transport/netpath.h"

/*
 * How long a signature stays good: the longest a call lasts (its ringing
 * and max_call_duration) and an hour of slack. Without a duration limit,
 * and for SUBSCRIBE dialogs (ksipd holds no state for them), a week.
 */
#define ROUTE_SIG_SLACK 3600
#define ROUTE_SIG_LONGEST (7 * 86400)

static uint32_t sig_lifetime(const struct proxy *p, const struct sip_msg *m)
{
	const struct ksip_config *cfg = p->env.cfg;

	if (m->method != SIP_INVITE || !cfg->max_call_duration)
		return ROUTE_SIG_LONGEST;
	return cfg->max_call_duration + cfg->timer_c + ROUTE_SIG_SLACK;
}

/*
 * HMAC-SHA-256(route key, Call-ID NUL tag NUL expiry), truncated. The
 * caller's tag alone, since the callee's is not known when the INVITE
 * leaves. False when the ids do not fit (such a dialog lives only in
 * ksipd's memory; real Call-IDs are far shorter).
 */
static bool route_mac(const struct proxy *p, struct sip_span callid, struct sip_span tag,
		      uint32_t expiry, uint8_t mac[ROUTE_MAC_BYTES])
{
	uint8_t data[1024], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = 0;

	if (!p->env.route_key || !tag.len || callid.len + tag.len + 2 + 4 > sizeof(data))
		return false;
	memcpy(data, callid.p, callid.len);
	n += callid.len;
	data[n++] = 0;
	memcpy(data + n, tag.p, tag.len);
	n += tag.len;
	data[n++] = 0;
	for (int i = 3; i >= 0; i--)
		data[n++] = (uint8_t)(expiry >> (8 * i));
	if (!HMAC(EVP_sha256(), p->env.route_key, ROUTE_KEY_LEN, data, n, md, &mdlen) ||
	    mdlen < ROUTE_MAC_BYTES)
		return false;
	memcpy(mac, md, ROUTE_MAC_BYTES);
	return true;
}

void route_sign(const struct proxy *p, const struct sip_msg *m, time_t now, char *out, size_t len)
{
	struct sip_span callid = sip_hdr_first(m, SIP_HDR_CALL_ID)->value;
	uint32_t expiry = (uint32_t)now + sig_lifetime(p, m);
	uint8_t mac[ROUTE_MAC_BYTES];
	size_t o;

	out[0] = 0;
	if (len < ROUTE_SIG_HEX + sizeof(";" ROUTE_SIG_PARAM "=") ||
	    !route_mac(p, callid, naddr_tag(m, SIP_HDR_FROM), expiry, mac))
		return;
	o = (size_t)snprintf(out, len, ";" ROUTE_SIG_PARAM "=%08x", expiry);
	for (int i = 0; i < ROUTE_MAC_BYTES; i++)
		o += (size_t)snprintf(out + o, len - o, "%02x", mac[i]);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Does SIG (the parameter's value) sign CALLID with TAG, and is it still good at NOW? */
static bool sig_valid(const struct proxy *p, struct sip_span sig, struct sip_span callid,
		      struct sip_span tag, time_t now)
{
	uint8_t got[ROUTE_MAC_BYTES], want[ROUTE_MAC_BYTES];
	uint32_t expiry = 0;

	if (sig.len != ROUTE_SIG_HEX)
		return false;
	for (int i = 0; i < ROUTE_SIG_HEX; i++) {
		int v = hexval(sig.p[i]);

		if (v < 0)
			return false;
		if (i < 8)
			expiry = expiry << 4 | (uint32_t)v;
		else if (i % 2 == 0)
			got[(i - 8) / 2] = (uint8_t)(v << 4);
		else
			got[(i - 8) / 2] |= (uint8_t)v;
	}
	if ((uint32_t)now > expiry || !route_mac(p, callid, tag, expiry, want))
		return false;
	return !CRYPTO_memcmp(got, want, sizeof(got));
}

/*
 * A leading Route entry naming us with our signature over the Call-ID and
 * either tag: the caller's requests carry its tag in From, the callee's in To.
 */
static bool signed_route(const struct proxy *p, const struct sip_msg *m)
{
	struct sip_span callid = sip_hdr_first(m, SIP_HDR_CALL_ID)->value;
	struct sip_span ft = naddr_tag(m, SIP_HDR_FROM), tt = naddr_tag(m, SIP_HDR_TO);
	time_t now = time(NULL);
	struct sip_hdr_iter it;
	struct sip_span elem;

	sip_hdr_iter_init(&it, m, SIP_HDR_ROUTE);
	while (sip_hdr_iter_next(&it, &elem)) {
		struct sip_naddr na;
		struct sip_uri u;
		struct sip_span sig;

		if (!sip_naddr_parse(elem, &na) || !proxy_uri_is_us(p, na.uri))
			return false;
		if (sip_uri_parse(na.uri, &u) && sip_param_find(u.params, ROUTE_SIG_PARAM, &sig) &&
		    (sig_valid(p, sig, callid, ft, now) || sig_valid(p, sig, callid, tt, now)))
			return true;
	}
	return false;
}

/* Is the Request-URI in the domain we serve: the realm, or one of our addresses? */
static bool domain_is_ours(const struct proxy *p, const struct sip_msg *m)
{
	struct sip_uri u;

	/* Not a SIP URI at all: ours to refuse (416) once the sender authenticates. */
	if (!sip_uri_parse(m->ruri, &u) || (u.scheme != SIP_SCHEME_SIP && u.scheme != SIP_SCHEME_SIPS))
		return true;
	return span_ieq(u.host, p->env.cfg->realm) || netpath_is_local(u.host);
}

enum fwd_verdict authorize_forwarding(struct proxy *p, const struct sip_msg *m,
				      const struct sip_source *src, struct sip_span next_route,
				      struct fwd_grant *g)
{
	g->call = NULL;
	g->from = LEG_CALLER;
	if (naddr_tag(m, SIP_HDR_TO).len) {
		/* §12.2.2: in a dialog by Call-ID, From tag and To tag, or not at all. */
		g->call = call_find(p, m, &g->from);
		if (g->call || signed_route(p, m))
			return FWD_IN_DIALOG;
		return FWD_NO_DIALOG;
	}
	if (m->method == SIP_ACK)
		return FWD_NO_DIALOG;	/* an ACK always answers something: without a To tag, nothing */
	if (next_route.len || !domain_is_ours(p, m))
		return p->env.cfg->allow_foreign_domains ? FWD_AUTHENTICATE_FOREIGN : FWD_FOREIGN;
	if (trusted_match(p->env.cfg->trusted_peers, p->env.cfg->n_trusted_peers, &src->addr))
		return FWD_TRUSTED;
	return FWD_AUTHENTICATE;
}
