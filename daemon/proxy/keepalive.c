// SPDX-License-Identifier: GPL-2.0
#include "proxy/keepalive.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "ksip/endpoint.h"
#include "proxy/proxy.h"
#include "sip/hdr.h"
#include "store/location.h"
#include "transport/netpath.h"
#include "transport/worker.h"

/* Our keepalives' Call-IDs: this prefix, the binding's token in hex, a counter. */
#define KA_CALLID "ksipka-"

/* A UDP binding whose REGISTER came from elsewhere than its Contact: behind a NAT. */
static bool behind_nat(void *ctx, const struct binding_view *b)
{
	struct sockaddr_storage contact;
	struct sip_uri u;

	(void)ctx;
	if (b->transport != KSIP_UDP || !b->source.ss_family)
		return false;
	if (!sip_uri_parse((struct sip_span){ b->contact, (uint32_t)strlen(b->contact) }, &u))
		return false;
	/* A name in Contact: ksipd resolves none and reaches it at its source anyway. */
	if (!netpath_sockaddr(u.host, u.port ? u.port : 5060, &contact))
		return true;
	return !ksip_endpoint_equal(&contact, &b->source);
}

static bool send_keepalive(void *ctx, const struct binding_view *b)
{
	struct proxy *p = ctx;
	struct sip_out *o = &p->out;
	struct sockaddr_storage local;
	char host[INET6_ADDRSTRLEN + 2];
	uint64_t rnd = 0;

	if (transport_local(p->w, &b->local, &b->source, KSIP_UDP, &local))
		return false;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = p->now ^ ((uint64_t)p->ka_seq << 32);
	netpath_host_str(&local, host, sizeof(host));
	o->len = 0;
	o->overflow = false;
	/* To the Contact as registered, sent where the REGISTER came from (the NAT's mapping). */
	out_printf(o, "OPTIONS %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK%016" PRIx64 ";rport\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:keepalive@%s>;tag=%08x\r\n"
		   "To: <sip:%s@%s>\r\n"
		   "Call-ID: " KA_CALLID "%016" PRIx64 "-%u\r\n"
		   "CSeq: 1 OPTIONS\r\n"
		   "Content-Length: 0\r\n\r\n",
		   b->contact, host, ksip_endpoint_port(&local), rnd, p->env.cfg->realm,
		   (unsigned int)(rnd >> 32), b->aor, p->env.cfg->realm,
		   location_probe_token(b->aor, b->contact), p->ka_seq++);
	if (o->overflow || !transport_send(p->w, &b->local, &b->source, KSIP_UDP, o->buf, o->len))
		return false;
	STAT_INC(p->st, nat_keepalives_sent);
	return true;
}

/* Probe shard SHARD's bindings behind NAT. */
static void probe_shard(struct proxy *p, unsigned int shard)
{
	unsigned int expired = 0, skipped = 0;
	const struct loc_probe pr = {
		.wants = behind_nat,
		.send = send_keepalive,
		.ctx = p,
		.max = NAT_KEEPALIVE_PER_SHARD,
		.max_unanswered = NAT_KEEPALIVE_MISSES,
		.expired = &expired,
		.skipped = &skipped,
	};

	location_probe_shard(p->env.loc, shard, time(NULL), &pr);
	STAT_ADD(p->st, nat_keepalive_expired, expired);
	STAT_ADD(p->st, nat_keepalive_skipped, skipped);
}

int keepalive_tick(struct proxy *p, int max)
{
	uint64_t step = (uint64_t)p->env.cfg->nat_keepalive_interval * 1000 / LOCATION_SHARDS;
	unsigned int n = p->env.nworkers > 0 ? (unsigned int)p->env.nworkers : 1;

	if (!p->env.cfg->nat_keepalive_interval || !p->env.loc || !p->w)
		return max;
	if (!step)
		step = 1;
	if (!p->ka_next_ms)
		p->ka_next_ms = p->now + step;
	/* One slot per step; a late wake-up does not send two rounds at once. */
	if (p->now >= p->ka_next_ms) {
		unsigned int slot = p->ka_slot;

		p->ka_slot = (p->ka_slot + 1) % LOCATION_SHARDS;
		p->ka_next_ms = p->now + step;
		if (slot % n == (unsigned int)p->index)
			probe_shard(p, slot);
	}
	return p->ka_next_ms - p->now < (uint64_t)max ? (int)(p->ka_next_ms - p->now) : max;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool keepalive_response(struct proxy *p, const struct sip_msg *m)
{
	struct sip_span cid = sip_hdr_first(m, SIP_HDR_CALL_ID)->value;
	size_t pre = sizeof(KA_CALLID) - 1;
	struct sip_naddr na;
	struct sip_uri u;
	uint64_t token = 0;
	char aor[128];

	if (m->is_request || cid.len < pre + 16 || memcmp(cid.p, KA_CALLID, pre))
		return false;
	/* Ours by its Call-ID: whatever it says, no transaction of ours waits for it. */
	for (size_t i = 0; i < 16; i++) {
		int v = hexval(cid.p[pre + i]);

		if (v < 0)
			return true;
		token = token << 4 | (uint64_t)v;
	}
	if (!sip_naddr_parse(sip_hdr_first(m, SIP_HDR_TO)->value, &na) ||
	    !sip_uri_parse(na.uri, &u) || !u.user.len || u.user.len >= sizeof(aor))
		return true;
	memcpy(aor, u.user.p, u.user.len);
	aor[u.user.len] = 0;
	/* Any answer, even an error, shows the phone is there and the NAT open. */
	if (location_probe_answered(p->env.loc, aor, token))
		STAT_INC(p->st, nat_keepalives_answered);
	return true;
}
