// SPDX-License-Identifier: GPL-2.0
/*
 * The location table alone (store/location.c): bindings added, refreshed,
 * removed and expired under the §10.3 rules it enforces (Call-ID/CSeq
 * order, max contacts, all or nothing), and what it reports for
 * persistence, seen through a fake backend that records each change.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksip/endpoint.h"
#include "store/location.h"
#include "tap.h"

#define NOW 1700000000

/* The fake backend: every change the table reports, in order. */
enum change_kind { CH_SAVE, CH_REMOVE, CH_REMOVE_AOR };

struct change {
	enum change_kind kind;
	char aor[64], contact[128], callid[64];
	uint32_t cseq;
	uint16_t q;
	time_t expires_at;
	uint16_t port;
};

static struct change changes[64];
static int nchanges;

static struct change *record(enum change_kind kind, const char *aor, const char *contact)
{
	struct change *c = &changes[nchanges < 63 ? nchanges++ : 63];

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	snprintf(c->aor, sizeof(c->aor), "%s", aor);
	snprintf(c->contact, sizeof(c->contact), "%s", contact ? contact : "");
	return c;
}

static void fake_save(void *arg, const struct binding_view *b, time_t expires_at)
{
	struct change *c = record(CH_SAVE, b->aor, b->contact);

	(*(int *)arg)++;
	snprintf(c->callid, sizeof(c->callid), "%s", b->callid);
	c->cseq = b->cseq;
	c->q = b->q;
	c->expires_at = expires_at;
	if (b->source.ss_family == AF_INET)
		c->port = ntohs(((const struct sockaddr_in *)&b->source)->sin_port);
}

static void fake_remove(void *arg, const char *aor, const char *contact)
{
	(*(int *)arg)++;
	record(CH_REMOVE, aor, contact);
}

static void fake_remove_aor(void *arg, const char *aor)
{
	(*(int *)arg)++;
	record(CH_REMOVE_AOR, aor, NULL);
}

static const struct binding_persist_ops fake_ops = {
	.save = fake_save,
	.remove = fake_remove,
	.remove_aor = fake_remove_aor,
};

/* What a lookup or an apply emitted, in order. */
struct seen {
	int n;
	char contact[8][128];
	uint32_t expires_in[8];
	uint16_t q[8];
};

static void collect(void *ctx, const struct binding_view *b)
{
	struct seen *s = ctx;

	if (s->n >= 8)
		return;
	snprintf(s->contact[s->n], sizeof(s->contact[0]), "%s", b->contact);
	s->expires_in[s->n] = b->expires_in;
	s->q[s->n] = b->q;
	s->n++;
}

static struct sockaddr_in src4;

static struct sip_span span(const char *s)
{
	return (struct sip_span){ s, (uint32_t)strlen(s) };
}

static struct loc_contact contact(const char *uri, uint32_t expires, uint16_t q)
{
	return (struct loc_contact){ span(uri), expires, q };
}

static enum loc_result apply(struct location *l, const char *aor, const char *callid,
			     uint32_t cseq, time_t now, const struct loc_contact *c, int n,
			     bool remove_all, uint32_t max, struct seen *out)
{
	const struct loc_request rq = {
		.aor = aor,
		.callid = span(callid),
		.cseq = cseq,
		.contacts = c,
		.ncontacts = n,
		.remove_all = remove_all,
		.now = now,
		.src = (const struct sockaddr *)&src4,
		.transport = KSIP_UDP,
		.max_contacts = max,
	};

	if (out)
		memset(out, 0, sizeof(*out));
	nchanges = 0;
	return location_apply(l, &rq, out ? collect : NULL, out);
}

static int lookup(struct location *l, const char *aor, time_t now, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return location_lookup(l, aor, now, collect, s);
}

static void test_add_refresh_remove(void)
{
	int reported = 0;
	struct location *l = location_new(&fake_ops, &reported);
	struct loc_contact two[2] = {
		contact("sip:alice@10.0.0.1:5060", 300, 500),
		contact("sip:alice@10.0.0.2:5060", 600, LOC_Q_NONE),
	};
	struct loc_contact c;
	struct location_usage u;
	struct seen s;

	ok(l != NULL, "a table with a persistence handler");
	ok(apply(l, "alice", "cid-1", 1, NOW, two, 2, false, 10, &s) == LOC_OK, "two contacts added");
	ok(s.n == 2 && !strcmp(s.contact[0], "sip:alice@10.0.0.1:5060") &&
	   !strcmp(s.contact[1], "sip:alice@10.0.0.2:5060"), "both emitted, in the order sent");
	ok(s.expires_in[0] == 300 && s.expires_in[1] == 600 && s.q[0] == 500 &&
	   s.q[1] == LOC_Q_NONE, "expiry and q as given (no q kept as 'none')");
	ok(nchanges == 2 && changes[0].kind == CH_SAVE && changes[1].kind == CH_SAVE &&
	   !strcmp(changes[0].aor, "alice") && !strcmp(changes[0].contact, two[0].uri.p) &&
	   !strcmp(changes[0].callid, "cid-1") && changes[0].cseq == 1 &&
	   changes[0].expires_at == NOW + 300 && changes[0].q == 500 && changes[0].port == 5070,
	   "two saves reported with AOR, contact, Call-ID, CSeq, absolute expiry, q, source");

	/* §10.3 step 7: same Call-ID needs a higher CSeq. */
	c = contact("sip:alice@10.0.0.1:5060", 900, 100);
	ok(apply(l, "alice", "cid-1", 1, NOW + 10, &c, 1, false, 10, NULL) == LOC_E_STALE_CSEQ &&
	   nchanges == 0, "same Call-ID, same CSeq: refused, nothing reported");
	ok(apply(l, "alice", "cid-1", 0, NOW + 10, &c, 1, false, 10, NULL) == LOC_E_STALE_CSEQ,
	   "same Call-ID, lower CSeq: refused");
	lookup(l, "alice", NOW + 10, &s);
	ok(s.n == 2 && s.expires_in[0] == 290 && s.q[0] == 500, "a refused refresh changed nothing");

	ok(apply(l, "alice", "cid-1", 2, NOW + 10, &c, 1, false, 10, &s) == LOC_OK, "refresh");
	ok(nchanges == 1 && changes[0].kind == CH_SAVE && changes[0].expires_at == NOW + 910 &&
	   changes[0].cseq == 2 && changes[0].q == 100, "one save reported for the refresh");
	ok(s.n == 2 && !strcmp(s.contact[0], "sip:alice@10.0.0.1:5060") && s.expires_in[0] == 900 &&
	   s.q[0] == 100, "refreshed in place: same position, new expiry and q");
	ok(apply(l, "alice", "cid-other", 1, NOW + 10, &c, 1, false, 10, NULL) == LOC_OK,
	   "another Call-ID may use any CSeq");

	c = contact("sip:alice@10.0.0.2:5060", 0, LOC_Q_NONE);
	ok(apply(l, "alice", "cid-1", 3, NOW + 20, &c, 1, false, 10, &s) == LOC_OK && s.n == 1,
	   "expires 0 removes that contact only");
	ok(nchanges == 1 && changes[0].kind == CH_REMOVE &&
	   !strcmp(changes[0].contact, "sip:alice@10.0.0.2:5060"), "its removal is reported");

	c = contact("sip:nobody@10.0.0.9", 0, LOC_Q_NONE);
	ok(apply(l, "ghost", "x", 1, NOW, &c, 1, false, 10, &s) == LOC_OK && s.n == 0 &&
	   nchanges == 0, "removing from an unknown AOR: nothing to do, nothing reported");
	ok(lookup(l, "ghost", NOW, &s) == 0, "and no AOR was created for it");

	location_usage(l, &u);
	ok(u.aors == 1 && u.bindings == 1 && u.bytes > 0, "usage: 1 AOR, 1 binding");
	ok(location_remove_aor(l, "alice") == 1, "remove_aor says how many went");
	ok(reported > 0 && changes[nchanges - 1].kind == CH_REMOVE_AOR &&
	   !strcmp(changes[nchanges - 1].aor, "alice"), "one remove_aor reported");
	location_usage(l, &u);
	ok(u.aors == 0 && u.bindings == 0, "the table is empty again");
	location_free(l);
}

static void test_remove_all(void)
{
	struct location *l = location_new(&fake_ops, &(int){ 0 });
	struct loc_contact two[2] = {
		contact("sip:bob@10.0.0.1", 300, LOC_Q_NONE),
		contact("sip:bob@10.0.0.2", 300, LOC_Q_NONE),
	};
	struct seen s;

	apply(l, "bob", "cid-b", 5, NOW, two, 2, false, 10, NULL);
	ok(apply(l, "bob", "cid-b", 5, NOW, NULL, 0, true, 10, NULL) == LOC_E_STALE_CSEQ &&
	   nchanges == 0, "Contact: * with a stale CSeq of the same Call-ID: refused");
	ok(apply(l, "bob", "cid-b", 6, NOW, NULL, 0, true, 10, &s) == LOC_OK && s.n == 0,
	   "Contact: * removes every binding");
	ok(nchanges == 2 && changes[0].kind == CH_REMOVE && changes[1].kind == CH_REMOVE,
	   "one removal reported per binding");
	ok(lookup(l, "bob", NOW, &s) == 0, "nothing left to look up");
	location_free(l);
}

static void test_expiry(void)
{
	int reported = 0;
	struct location *l = location_new(&fake_ops, &reported);
	struct loc_contact c[2] = {
		contact("sip:carol@10.0.0.1", 10, LOC_Q_NONE),
		contact("sip:carol@10.0.0.2", 100, LOC_Q_NONE),
	};
	struct seen s;

	apply(l, "carol", "cid-c", 1, NOW, c, 2, false, 10, NULL);
	ok(lookup(l, "carol", NOW + 9, &s) == 2, "both current before the first expires");
	ok(lookup(l, "carol", NOW + 10, &s) == 1 && !strcmp(s.contact[0], "sip:carol@10.0.0.2"),
	   "a binding whose time is up is not looked up, even before it is pruned");
	nchanges = 0;
	ok(location_expire(l, NOW + 10) == 1, "expire drops the one whose time is up");
	ok(nchanges == 1 && changes[0].kind == CH_REMOVE &&
	   !strcmp(changes[0].contact, "sip:carol@10.0.0.1"), "and reports its removal");
	ok(location_expire(l, NOW + 10) == 0, "a second pass finds nothing");
	nchanges = 0;
	ok(location_expire(l, NOW + 1000) == 1 && nchanges == 1, "the last one expires too");
	ok(lookup(l, "carol", NOW, &s) == 0, "the AOR is gone");

	/* A REGISTER prunes what expired before judging the request. */
	apply(l, "carol", "cid-c", 1, NOW, c, 1, false, 1, NULL);
	ok(apply(l, "carol", "cid-d", 1, NOW + 20, &c[1], 1, false, 1, NULL) == LOC_OK,
	   "an expired binding does not count against max_contacts");
	ok(nchanges == 2 && changes[0].kind == CH_REMOVE && changes[1].kind == CH_SAVE,
	   "its removal is reported before the new save");
	location_free(l);
}

static void test_max_contacts(void)
{
	struct location *l = location_new(&fake_ops, &(int){ 0 });
	struct loc_contact c[3] = {
		contact("sip:dave@10.0.0.1", 300, LOC_Q_NONE),
		contact("sip:dave@10.0.0.2", 300, LOC_Q_NONE),
		contact("sip:dave@10.0.0.3", 300, LOC_Q_NONE),
	};
	struct loc_contact swap[2] = {
		contact("sip:dave@10.0.0.1", 0, LOC_Q_NONE),
		contact("sip:dave@10.0.0.3", 300, LOC_Q_NONE),
	};
	struct seen s;

	ok(apply(l, "dave", "cid", 1, NOW, c, 3, false, 2, NULL) == LOC_E_TOO_MANY &&
	   nchanges == 0 && lookup(l, "dave", NOW, &s) == 0,
	   "three contacts with max 2: refused whole, nothing added or reported");
	ok(apply(l, "dave", "cid", 2, NOW, c, 2, false, 2, NULL) == LOC_OK, "two fit");
	ok(apply(l, "dave", "cid", 3, NOW, &c[2], 1, false, 2, NULL) == LOC_E_TOO_MANY &&
	   lookup(l, "dave", NOW, &s) == 2, "a third is refused");
	ok(apply(l, "dave", "cid", 4, NOW, swap, 2, false, 2, NULL) == LOC_OK &&
	   lookup(l, "dave", NOW, &s) == 2 && !strcmp(s.contact[1], "sip:dave@10.0.0.3"),
	   "removing one and adding one in the same request fits");
	location_free(l);
}

static void test_order_and_q(void)
{
	struct location *l = location_new(NULL, NULL);
	struct loc_contact c[3] = {
		contact("sip:erin@10.0.0.1", 300, 100),
		contact("sip:erin@10.0.0.2", 300, 1000),
		contact("sip:erin@10.0.0.3", 300, 500),
	};
	struct seen s;

	ok(l != NULL, "a table without persistence (nothing reported)");
	apply(l, "erin", "cid", 1, NOW, c, 3, false, 10, NULL);
	/*
	 * The table keeps registration order and reports q as stored; it does
	 * not sort by q (the registrar's 200 lists them in this order, and the
	 * proxy forks to all of them in parallel).
	 */
	ok(lookup(l, "erin", NOW, &s) == 3 && s.q[0] == 100 && s.q[1] == 1000 && s.q[2] == 500 &&
	   !strcmp(s.contact[1], "sip:erin@10.0.0.2"),
	   "lookup returns every binding in registration order with its q");
	location_free(l);
}

static void test_restore(void)
{
	int reported = 0;
	struct location *l = location_new(&fake_ops, &reported);
	struct binding_view v = {
		.aor = "frank", .contact = "sip:frank@10.0.0.1", .callid = "cid-f", .cseq = 7,
		.q = 300, .transport = KSIP_TCP,
	};
	struct loc_contact c = contact("sip:frank@10.0.0.1", 300, LOC_Q_NONE);
	struct seen s;

	ok(location_restore(l, &v, NOW + 50) == 0, "a binding restored");
	ok(reported == 0, "restoring reports nothing (it came from the disk)");
	ok(location_restore(l, &v, NOW + 50) == -1, "the same contact twice: refused");
	ok(lookup(l, "frank", NOW, &s) == 1 && s.expires_in[0] == 50 && s.q[0] == 300,
	   "looked up with its remaining time and q");
	ok(apply(l, "frank", "cid-f", 7, NOW, &c, 1, false, 10, NULL) == LOC_E_STALE_CSEQ,
	   "its Call-ID and CSeq still order later requests");
	location_free(l);
}

/* Hostile: values the table cannot hold fail cleanly and leave nothing behind. */
static void test_hostile(void)
{
	struct location *l = location_new(&fake_ops, &(int){ 0 });
	size_t n = 70000;
	char *huge = malloc(n + 1);
	struct loc_contact c;
	struct location_usage u;
	struct seen s;

	memset(huge, 'a', n);
	huge[n] = 0;
	memcpy(huge, "sip:", 4);
	c = (struct loc_contact){ { huge, (uint32_t)n }, 300, LOC_Q_NONE };
	ok(apply(l, "gina", "cid", 1, NOW, &c, 1, false, 10, &s) == LOC_E_NOMEM && nchanges == 0,
	   "a contact longer than 64 KiB: refused, nothing reported");
	location_usage(l, &u);
	ok(u.aors == 0 && u.bindings == 0, "and no empty AOR is left behind");
	ok(location_remove_aor(l, "nobody") == 0, "removing an unknown AOR removes nothing");
	free(huge);
	location_free(l);
	location_free(NULL);
}


/* NAT keepalives (issue 14): the prober's view of one shard. */
struct probe_log {
	int wanted, sent;
	bool refuse_send;
};

static bool probe_wants(void *ctx, const struct binding_view *b)
{
	struct probe_log *pl = ctx;

	pl->wanted++;
	return strstr(b->contact, "nat") != NULL;	/* the test's "behind NAT" */
}

static bool probe_send(void *ctx, const struct binding_view *b)
{
	struct probe_log *pl = ctx;

	(void)b;
	if (pl->refuse_send)
		return false;
	pl->sent++;
	return true;
}

/* Probe every shard once; returns how many bindings were handled. */
static int probe_all(struct location *l, time_t now, unsigned int max, struct probe_log *pl,
		     unsigned int *expired, unsigned int *skipped)
{
	const struct loc_probe pr = {
		.wants = probe_wants, .send = probe_send, .ctx = pl, .max = max,
		.max_unanswered = 3, .expired = expired, .skipped = skipped,
	};
	int n = 0;

	for (unsigned int i = 0; i < LOCATION_SHARDS; i++)
		n += location_probe_shard(l, i, now, &pr);
	return n;
}

static void test_nat_probes(void)
{
	int reported = 0;
	struct location *l = location_new(&fake_ops, &reported);
	struct loc_contact c[2] = {
		contact("sip:dave@192.168.1.5:5060;nat", 3600, LOC_Q_NONE),
		contact("sip:dave@203.0.113.5", 3600, LOC_Q_NONE),
	};
	struct probe_log pl = { 0 };
	unsigned int expired = 0, skipped = 0;
	struct seen s;
	char aor[32];

	apply(l, "dave", "cid-n", 1, NOW, c, 2, false, 10, NULL);
	ok(probe_all(l, NOW, 8, &pl, &expired, &skipped) == 1 && pl.sent == 1 && pl.wanted == 2,
	   "a round probes the binding behind NAT only");
	probe_all(l, NOW + 1, 8, &pl, &expired, &skipped);
	ok(location_probe_answered(l, "dave", location_probe_token("dave", "sip:dave@192.168.1.5:5060;nat")),
	   "an answer names its binding by token");
	ok(!location_probe_answered(l, "dave", location_probe_token("dave", "sip:dave@10.9.9.9")) &&
	   !location_probe_answered(l, "eve", location_probe_token("dave", "sip:dave@192.168.1.5:5060;nat")),
	   "a token of another contact or AOR names nothing");
	for (int i = 0; i < 3; i++)
		probe_all(l, NOW + 2 + i, 8, &pl, &expired, &skipped);
	ok(lookup(l, "dave", NOW + 5, &s) == 2 && !expired,
	   "answered, then three unanswered: still there");
	nchanges = 0;
	probe_all(l, NOW + 6, 8, &pl, &expired, &skipped);
	ok(expired == 1 && lookup(l, "dave", NOW + 6, &s) == 1 &&
	   !strcmp(s.contact[0], "sip:dave@203.0.113.5"), "the fourth round expires it, the other stays");
	ok(nchanges == 1 && changes[0].kind == CH_REMOVE, "and its removal is reported");

	/* A refresh counts as an answer; a probe that could not be sent is not unanswered. */
	apply(l, "dave", "cid-n", 2, NOW + 7, c, 1, false, 10, NULL);
	pl.refuse_send = true;
	expired = 0;
	for (int i = 0; i < 6; i++)
		probe_all(l, NOW + 8 + i, 8, &pl, &expired, &skipped);
	ok(!expired && lookup(l, "dave", NOW + 14, &s) == 2, "probes not sent never expire a binding");
	pl.refuse_send = false;

	/* Bounded: at most MAX per shard and call, the rest counted as skipped. */
	location_remove_aor(l, "dave");
	for (int i = 0; i < 200; i++) {
		struct loc_contact one = contact("sip:u@192.168.1.9;nat", 3600, LOC_Q_NONE);

		snprintf(aor, sizeof(aor), "nat%d", i);
		apply(l, aor, "cid-b", 1, NOW, &one, 1, false, 10, NULL);
	}
	pl.sent = 0;
	skipped = 0;
	{
		int n = probe_all(l, NOW, 1, &pl, &expired, &skipped);

		ok(n <= LOCATION_SHARDS && n + (int)skipped == 200 && pl.sent == n,
		   "200 bindings, one per shard and call: %d probed, %u skipped", n, skipped);
	}
	location_free(l);
}

/* The local address of AOR's only binding, formatted ("-" when none). */
static void local_of_cb(void *ctx, const struct binding_view *b)
{
	char *out = ctx;

	if (b->local.ss_family)
		ksip_format_endpoint(&b->local, out, 64);
	else
		snprintf(out, 64, "-");
}

static const char *register_on(struct location *l, const char *aor, const struct sockaddr *local)
{
	static char out[64];
	const struct loc_contact c = contact("sip:x@192.0.2.1:5070", 600, 1000);
	const struct loc_request rq = {
		.aor = aor, .callid = span("cid-local"), .cseq = 1, .contacts = &c, .ncontacts = 1,
		.now = NOW, .src = (const struct sockaddr *)&src4, .local = local,
		.transport = KSIP_UDP, .max_contacts = 10,
	};

	snprintf(out, sizeof(out), "?");
	if (location_apply(l, &rq, NULL, NULL) != LOC_OK)
		return "refused";
	location_lookup(l, aor, NOW, local_of_cb, out);
	return out;
}

/*
 * Our address a REGISTER came in on is kept as a number into a table of
 * them (store/local_addrs.h): each binding still gives its own back, and
 * past 255 distinct addresses a new one is not kept (nor anything else lost).
 */
static void test_local_addresses(void)
{
	struct location *l = location_new(NULL, NULL);
	struct sockaddr_storage a, b6;
	char aor[32];
	int back = 0;

	ksip_parse_endpoint("198.51.100.7:5060", false, &a);
	ksip_parse_endpoint("[2001:db8::7]:5061", false, &b6);
	ok(!strcmp(register_on(l, "v4", (struct sockaddr *)&a), "198.51.100.7:5060"),
	   "an IPv4 local address and port come back from the binding");
	ok(!strcmp(register_on(l, "v6", (struct sockaddr *)&b6), "[2001:db8::7]:5061"),
	   "an IPv6 one too");
	ok(!strcmp(register_on(l, "none", NULL), "-"), "no local address: none comes back");
	/* 253 more distinct addresses fill the table (255 with the two above). */
	for (int i = 0; i < 253; i++) {
		struct sockaddr_storage x;
		char text[32];

		snprintf(text, sizeof(text), "10.9.%d.%d:5060", i / 200, i % 200 + 1);
		ksip_parse_endpoint(text, false, &x);
		snprintf(aor, sizeof(aor), "fill%d", i);
		back += !strcmp(register_on(l, aor, (struct sockaddr *)&x), text);
	}
	ok(back == 253, "255 distinct local addresses each come back (%d of 253 more)", back);
	{
		struct sockaddr_storage x;

		ksip_parse_endpoint("10.9.9.9:5060", false, &x);
		ok(!strcmp(register_on(l, "past", (struct sockaddr *)&x), "-"),
		   "the 256th is not kept: that binding has none, and is registered all the same");
	}
	ok(!strcmp(register_on(l, "again", (struct sockaddr *)&a), "198.51.100.7:5060"),
	   "an address already numbered still comes back for a new binding");
	location_free(l);
}

int main(void)
{
	src4.sin_family = AF_INET;
	src4.sin_port = htons(5070);
	inet_pton(AF_INET, "192.0.2.1", &src4.sin_addr);
	test_add_refresh_remove();
	test_remove_all();
	test_expiry();
	test_max_contacts();
	test_order_and_q();
	test_restore();
	test_hostile();
	test_nat_probes();
	test_local_addresses();
	return tap_done();
}
