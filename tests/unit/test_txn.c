// SPDX-License-Identifier: GPL-2.0
/*
 * The transaction layer alone (linked with base/ and sip/ only), on a fake
 * clock: every datagram it writes goes to fake_send(), which notes when.
 * Each timer check names the exact millisecond the RFC 3261 value gives at
 * T1 = 500, T2 = 4000, T4 = 5000, and looks one millisecond early too, so
 * a wrong value fails.
 *
 *      UAC ---- stx ----[ txn_layer ]---- branch ---- UAS
 *                           |
 *                     fake_send(): what, how, when
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "txn/txn.h"

#define T1 500
#define T2 4000
#define T4 5000
#define TIMER_C 180000

/* --- the fake clock and the fake network -------------------------------- */

struct sent {
	uint64_t at;
	enum ksip_transport tp;
	struct sockaddr_storage from;	/* our address it left from (family 0: the route's) */
	char line[96];			/* first line: request line or status line */
};

static struct sent sent[4096];
static int nsent;
static uint64_t clock_ms;
static struct txn_layer *tl;
static struct ksip_stats st;
static uint32_t cap_stx, cap_branches;	/* caps of the next layer_new() (0: none) */

static void fake_send(void *arg, const struct sockaddr_storage *from,
		      const struct sockaddr_storage *dst, enum ksip_transport tp, const char *buf,
		      size_t len)
{
	struct sent *s = &sent[nsent < 4095 ? nsent++ : nsent];
	const char *eol = memchr(buf, '\r', len);
	size_t n = eol ? (size_t)(eol - buf) : len;

	(void)arg;
	(void)dst;
	s->at = clock_ms;
	s->tp = tp;
	s->from = *from;
	if (n >= sizeof(s->line))
		n = sizeof(s->line) - 1;
	memcpy(s->line, buf, n);
	s->line[n] = 0;
}

/* Free the layer while the handler arguments of the test that made it still exist. */
static void layer_end(void)
{
	txn_layer_free(tl);
	tl = NULL;
}

static void layer_new(uint32_t t1, uint32_t t2, uint32_t t4, uint32_t timer_c)
{
	struct txn_env env = {
		.timers = { .t1_ms = t1, .t2_ms = t2, .t4_ms = t4, .timer_c_ms = timer_c },
		.instance = 3,
		.max_stx = cap_stx,
		.max_branches = cap_branches,
		.st = &st,
		.send = fake_send,
	};

	txn_layer_free(tl);
	memset(&st, 0, sizeof(st));
	nsent = 0;
	clock_ms = 0;
	tl = txn_layer_new(&env);
	txn_set_now(tl, 0);
}

/* Move the clock to AT, stopping at each timer on the way so sends carry their exact time. */
static void advance_to(uint64_t at)
{
	for (;;) {
		int wait = txn_tick(tl, INT_MAX);

		if (clock_ms + (uint64_t)wait > at)
			break;
		clock_ms += (uint64_t)wait;
		txn_set_now(tl, clock_ms);
	}
	clock_ms = at;
	txn_set_now(tl, at);
	txn_tick(tl, 0);
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* How many sends since index FROM start with PREFIX. */
static int count_since(int from, const char *prefix)
{
	int n = 0;

	for (int i = from; i < nsent; i++)
		n += starts(sent[i].line, prefix);
	return n;
}

/* Do the sends since FROM that start with PREFIX happen exactly at WANT (N of them)? */
static bool sent_at(int from, const char *prefix, const uint64_t *want, int n)
{
	int k = 0;

	for (int i = from; i < nsent; i++) {
		if (!starts(sent[i].line, prefix))
			continue;
		if (k >= n || sent[i].at != want[k]) {
			diag("%s #%d at %llu, want %llu", prefix, k, (unsigned long long)sent[i].at,
			     k < n ? (unsigned long long)want[k] : 0ULL);
			return false;
		}
		k++;
	}
	if (k != n)
		diag("%s: %d sends, want %d", prefix, k, n);
	return k == n;
}

/* --- what the branches and server transactions report ------------------- */

struct report {
	int n;
	enum branch_event ev;
	int code;
	bool had_msg;
	bool timer_c;			/* the branch's timer_c_fired when it reported */
	uint64_t at;
};

static void on_branch(struct branch *b, enum branch_event ev, int code, const struct sip_msg *m,
		      void *arg)
{
	struct report *r = arg;

	r->n++;
	r->timer_c = b->timer_c_fired;
	r->ev = ev;
	r->code = code;
	r->had_msg = m != NULL;
	r->at = clock_ms;
}

static void on_stx_freed(struct stx *t, void *arg)
{
	uint64_t *at = arg;

	(void)t;
	*at = clock_ms;
}

/* --- messages ----------------------------------------------------------- */

static struct sockaddr_storage peer;

static void peer_init(void)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(5060);
	inet_pton(AF_INET, "192.0.2.20", &sin->sin_addr);
}

/* The request a branch sends, with our branch ID in its Via. */
static int request(char *out, size_t cap, const char *method, const char *id)
{
	return snprintf(out, cap,
			"%s sip:bob@192.0.2.20 SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=%s\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:alice@ksip.test>;tag=a\r\n"
			"To: <sip:bob@ksip.test>\r\n"
			"Call-ID: c1@ksip.test\r\n"
			"CSeq: 1 %s\r\n"
			"Content-Length: 0\r\n\r\n", method, id, method);
}

/* Feed a response with CODE to CSEQ_METHOD on branch ID; returns txn_response()'s answer. */
static bool respond(const char *id, int code, const char *cseq_method)
{
	char buf[1024];
	struct sip_msg m;
	int n = snprintf(buf, sizeof(buf),
			 "SIP/2.0 %d Whatever\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=%s\r\n"
			 "From: <sip:alice@ksip.test>;tag=a\r\n"
			 "To: <sip:bob@ksip.test>%s\r\n"
			 "Call-ID: c1@ksip.test\r\n"
			 "CSeq: 1 %s\r\n"
			 "Content-Length: 0\r\n\r\n", code, id, code > 100 ? ";tag=b" : "",
			 cseq_method);

	if (sip_parse(&m, buf, (size_t)n) != SIP_PARSE_OK)
		return false;
	return txn_response(tl, &m);
}

static struct branch *send_branch(const char *method, enum ksip_transport tp, char *id,
				  struct report *r)
{
	char buf[1024];
	int n;

	txn_branch_id(tl, 0x1234, id, 64);
	n = request(buf, sizeof(buf), method, id);
	return branch_send(tl, NULL, sip_method_from(method, strlen(method)), id, NULL, &peer, tp,
			   buf, (size_t)n, on_branch, r);
}

/* A request that came in from the UAC, now a server transaction. */
static struct stx *receive(const char *method, enum ksip_transport tp, uint64_t *freed_at)
{
	char buf[1024], key[256];
	struct sip_msg m;
	struct sip_source src = { .addr = peer, .addrlen = sizeof(struct sockaddr_in),
				  .transport = tp };
	int n = snprintf(buf, sizeof(buf),
			 "%s sip:bob@ksip.test SIP/2.0\r\n"
			 "Via: SIP/2.0/%s 192.0.2.20:5060;branch=z9hG4bKuac%d\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:alice@ksip.test>;tag=a\r\n"
			 "To: <sip:bob@ksip.test>\r\n"
			 "Call-ID: s1@ksip.test\r\n"
			 "CSeq: 1 %s\r\n"
			 "Content-Length: 0\r\n\r\n", method, tp == KSIP_TCP ? "TCP" : "UDP", nsent,
			 method);

	*freed_at = 0;
	if (sip_parse(&m, buf, (size_t)n) != SIP_PARSE_OK ||
	    stx_key(&m, m.method, key, sizeof(key)))
		return NULL;
	return stx_new(tl, &m, &src, key, on_stx_freed, freed_at);
}

/* --- client transactions ------------------------------------------------ */

static void test_timer_a_b(void)
{
	static const uint64_t want[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	struct report r = { 0 };
	char id[64];

	layer_new(T1, T2, T4, TIMER_C);
	send_branch("INVITE", KSIP_UDP, id, &r);
	advance_to(31999);
	ok(sent_at(0, "INVITE ", want, 7), "Timer A: INVITE over UDP at 0, 500, 1500 ... 31500");
	ok(r.n == 0, "no outcome before Timer B");
	advance_to(32000);
	ok(r.n == 1 && r.ev == BRANCH_FINAL && r.code == 408 && !r.had_msg,
	   "Timer B = 64*T1: a 408 of our own at 32000");
	ok(st.branches_freed == 1, "the timed-out branch is freed at once");
	ok(!respond(id, 200, "INVITE"), "a late answer is a stray");
	ok(st.responses_stray == 1, "and counted as one");
	layer_end();
}

static void test_no_retransmission_over_tcp(void)
{
	struct report r = { 0 };
	char id[64];

	layer_new(T1, T2, T4, TIMER_C);
	send_branch("INVITE", KSIP_TCP, id, &r);
	send_branch("OPTIONS", KSIP_TCP, id, &r);
	advance_to(31999);
	ok(nsent == 2 && sent[0].tp == KSIP_TCP, "TCP: each request sent once, no retransmission");
	advance_to(32000);
	ok(r.n == 2 && r.code == 408, "Timers B and F still run over TCP");
	layer_end();
}

/* A connection to the peer failed: its TCP branches end as 503s at once, others go on. */
static void test_transport_error(void)
{
	struct report r = { 0 }, ru = { 0 }, rp = { 0 };
	struct sockaddr_storage other = peer;
	char id[64], idu[64], idp[64];

	layer_new(T1, T2, T4, TIMER_C);
	send_branch("INVITE", KSIP_TCP, id, &r);
	send_branch("INVITE", KSIP_UDP, idu, &ru);
	send_branch("INVITE", KSIP_TCP, idp, &rp);
	respond(idp, 180, "INVITE");
	((struct sockaddr_in *)&other)->sin_port = htons(5999);
	ok(txn_transport_error(tl, &other, KSIP_TCP) == 0 && r.n == 0,
	   "a failed connection to another port of the peer ends nothing");
	advance_to(10);
	ok(txn_transport_error(tl, &peer, KSIP_TCP) == 1, "to the peer: one branch ended");
	ok(r.n == 1 && r.ev == BRANCH_FINAL && r.code == 503 && !r.had_msg,
	   "the unanswered TCP branch: a 503 of our own, at once (§16.9)");
	ok(ru.n == 0 && rp.n == 1 && rp.ev == BRANCH_PROVISIONAL,
	   "the UDP branch and the one that already rang are left to their timers");
	ok(!respond(id, 200, "INVITE") || r.n == 1, "a late answer on the failed branch changes nothing");
	layer_end();
}

static void test_timer_e_f(void)
{
	static const uint64_t want[] = { 0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500,
					 27500, 31500 };
	struct report r = { 0 };
	char id[64];

	layer_new(T1, T2, T4, TIMER_C);
	send_branch("OPTIONS", KSIP_UDP, id, &r);
	advance_to(31999);
	ok(sent_at(0, "OPTIONS ", want, 11), "Timer E doubles from T1 and stays at T2 = 4000");
	ok(r.n == 0, "no outcome before Timer F");
	advance_to(32000);
	ok(r.n == 1 && r.code == 408 && !r.had_msg, "Timer F = 64*T1: a 408 at 32000");
	layer_end();
}

static void test_timer_e_after_provisional_and_k(void)
{
	static const uint64_t want[] = { 1500, 5500, 9500 };
	struct report r = { 0 };
	char id[64];
	int from;

	layer_new(T1, T2, T4, TIMER_C);
	send_branch("OPTIONS", KSIP_UDP, id, &r);
	advance_to(600);
	ok(respond(id, 100, "OPTIONS"), "a 100 to the OPTIONS matches its branch");
	ok(r.n == 0, "a 100 stays in the transaction layer");
	from = nsent;
	advance_to(9500);
	ok(sent_at(from, "OPTIONS ", want, 3), "Timer E continues at T2 after a provisional");
	advance_to(10000);
	ok(respond(id, 200, "OPTIONS") && r.n == 1 && r.ev == BRANCH_FINAL && r.code == 200 &&
	   r.had_msg, "the 200 is the final outcome");
	from = nsent;
	advance_to(14999);
	ok(count_since(from, "OPTIONS ") == 0, "no retransmission once answered");
	ok(st.branches_freed == 0, "Timer K: still absorbing retransmissions at 14999");
	ok(respond(id, 200, "OPTIONS") && r.n == 1, "a retransmitted 200 is absorbed");
	advance_to(15000);
	ok(st.branches_freed == 1, "Timer K = T4: freed at 15000");
	layer_end();
}

static void test_timer_d(void)
{
	struct report r = { 0 };
	char id[64];

	layer_new(T1, T2, T4, TIMER_C);
	send_branch("INVITE", KSIP_UDP, id, &r);
	advance_to(1000);
	ok(respond(id, 486, "INVITE") && r.n == 1 && r.code == 486 && r.had_msg,
	   "486: the final outcome, with the message");
	ok(count_since(0, "ACK ") == 1, "our ACK for the 486 (§17.1.1.3)");
	advance_to(2000);
	ok(respond(id, 486, "INVITE") && count_since(0, "ACK ") == 2 && r.n == 1,
	   "a retransmitted 486 gets the ACK again and is not reported twice");
	advance_to(32999);
	ok(st.branches_freed == 0, "Timer D: the branch lingers at 32999");
	advance_to(33000);
	ok(st.branches_freed == 1, "Timer D = 64*T1: freed at 33000");
	layer_end();
}

static void test_cancel_waits_for_provisional(void)
{
	static const uint64_t want[] = { 800, 1300, 2300 };
	struct report r = { 0 };
	struct branch *b;
	char id[64];

	layer_new(T1, T2, T4, TIMER_C);
	b = send_branch("INVITE", KSIP_UDP, id, &r);
	advance_to(100);
	branch_cancel(tl, b);
	advance_to(799);
	ok(count_since(0, "CANCEL ") == 0, "§9.1: no CANCEL before a provisional");
	ok(count_since(0, "INVITE ") == 2, "the INVITE is still retransmitted meanwhile");
	advance_to(800);
	ok(respond(id, 180, "INVITE") && r.n == 1 && r.ev == BRANCH_PROVISIONAL && r.code == 180,
	   "the 180 is reported as a provisional");
	advance_to(2300);
	ok(sent_at(0, "CANCEL ", want, 3), "the CANCEL goes out with the 180, retransmitted at T1");
	ok(respond(id, 200, "CANCEL"), "the 200 to the CANCEL matches the branch");
	advance_to(10000);
	ok(count_since(0, "CANCEL ") == 3, "no CANCEL retransmission once it is answered");
	ok(respond(id, 487, "INVITE") && r.n == 2 && r.ev == BRANCH_FINAL && r.code == 487,
	   "the INVITE's 487 ends the branch");
	layer_end();
}

static void test_timer_c(void)
{
	struct report r = { 0 };
	struct branch *b;
	char id[64];

	layer_new(T1, T2, T4, TIMER_C);
	b = send_branch("INVITE", KSIP_UDP, id, &r);
	advance_to(1000);
	respond(id, 180, "INVITE");
	advance_to(1000 + TIMER_C - 1);
	ok(count_since(0, "CANCEL ") == 0, "a ringing branch is not cancelled before Timer C");
	advance_to(1000 + TIMER_C);
	ok(count_since(0, "CANCEL ") == 1 && b->timer_c_fired,
	   "Timer C, restarted by the 180, sends a CANCEL at 181000");
	ok(r.n == 1, "and reports nothing yet: the 487 will");
	/*
	 * Nobody answers the CANCEL: §16.10 ends the branch once 64*T1 have
	 * passed, noticed when the CANCEL's retransmission timer fires: at
	 * 31500 after it (T1 doubling to T2) it is too early, at 35500 not.
	 */
	advance_to(1000 + TIMER_C + 64 * T1 - 1);
	ok(r.n == 1 && count_since(0, "CANCEL ") == 11,
	   "the unanswered CANCEL is retransmitted and keeps the branch for 64*T1");
	advance_to(1000 + TIMER_C + 64 * T1 + T2);
	ok(r.n == 2 && r.code == 408 && !r.had_msg && r.timer_c &&
	   r.at == 1000 + TIMER_C + 35500, "then the branch ends as a 408, at 35500 after the CANCEL");

	/* Timer C below 64*T1, so it beats Timer B: a branch never answered at all. */
	layer_new(T1, T2, T4, 10000);
	memset(&r, 0, sizeof(r));
	send_branch("INVITE", KSIP_UDP, id, &r);
	advance_to(9999);
	ok(r.n == 0, "nothing before Timer C");
	advance_to(10000);
	ok(r.n == 1 && r.code == 408 && r.timer_c && count_since(0, "CANCEL ") == 0,
	   "Timer C on a branch with no provisional: a 408, no CANCEL");
	layer_end();
}

static void test_accepted_client(void)
{
	struct report r = { 0 };
	char id[64];

	layer_new(T1, T2, T4, TIMER_C);
	send_branch("INVITE", KSIP_UDP, id, &r);
	advance_to(1000);
	ok(respond(id, 200, "INVITE") && r.n == 1 && r.ev == BRANCH_FINAL && r.code == 200,
	   "the 200 is the final outcome");
	ok(count_since(0, "ACK ") == 0, "the ACK of a 2xx is not the transaction's (§17.1.1.3)");
	advance_to(2000);
	ok(respond(id, 200, "INVITE") && r.n == 2 && r.ev == BRANCH_2XX_AGAIN,
	   "RFC 6026 Accepted: a retransmitted 200 is passed on");
	advance_to(32999);
	ok(st.branches_freed == 0, "Timer M: still accepting at 32999");
	advance_to(33000);
	ok(st.branches_freed == 1, "freed at 64*T1 after the 200");
	layer_end();
}

static void test_small_t1(void)
{
	static const uint64_t want[] = { 0, 100, 300, 700, 1500, 3100, 6300 };
	struct report r = { 0 };
	char id[64];

	layer_new(100, 400, 500, TIMER_C);
	send_branch("INVITE", KSIP_UDP, id, &r);
	advance_to(6399);
	ok(sent_at(0, "INVITE ", want, 7) && r.n == 0, "T1 = 100: Timer A at 100, 300, 700 ...");
	advance_to(6400);
	ok(r.n == 1 && r.code == 408, "and Timer B at 6400");
	layer_end();
}

/* --- server transactions ------------------------------------------------ */

static void test_timer_g_h(void)
{
	static const uint64_t want[] = { 0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500,
					 27500, 31500 };
	uint64_t freed;
	struct stx *t;

	layer_new(T1, T2, T4, TIMER_C);
	t = receive("INVITE", KSIP_UDP, &freed);
	stx_reply(tl, t, 486, NULL, NULL);
	advance_to(31999);
	ok(sent_at(0, "SIP/2.0 486", want, 11), "Timer G: the 486 again at 500, 1500 ... then T2");
	ok(!freed, "Timer H not yet at 31999");
	advance_to(32000);
	ok(freed == 32000, "Timer H = 64*T1: freed at 32000 without an ACK");
	layer_end();
}

/*
 * Several listen addresses (issue 14): every copy of an answer leaves from
 * the address its request came in on, every copy of a request from the
 * address its branch was given.
 */
static bool all_from(int first, int n, const struct sockaddr_storage *want)
{
	for (int i = first; i < n; i++)
		if (sent[i].from.ss_family != want->ss_family ||
		    memcmp(&((struct sockaddr_in *)&sent[i].from)->sin_addr,
			   &((const struct sockaddr_in *)want)->sin_addr, 4) ||
		    ((struct sockaddr_in *)&sent[i].from)->sin_port !=
		    ((const struct sockaddr_in *)want)->sin_port)
			return false;
	return n > first;
}

static void test_sent_from(void)
{
	struct sockaddr_storage ours = { 0 };
	struct sockaddr_in *o4 = (struct sockaddr_in *)&ours;
	struct report r = { 0 };
	char buf[1024], id[64];
	uint64_t freed;
	struct stx *t;
	struct sip_msg m;
	int n, first;

	o4->sin_family = AF_INET;
	o4->sin_port = htons(5070);
	inet_pton(AF_INET, "198.51.100.2", &o4->sin_addr);
	layer_new(T1, T2, T4, TIMER_C);
	n = snprintf(buf, sizeof(buf),
		     "INVITE sip:bob@ksip.test SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKfrom1\r\n"
		     "Max-Forwards: 70\r\nFrom: <sip:alice@ksip.test>;tag=a\r\n"
		     "To: <sip:bob@ksip.test>\r\nCall-ID: from@ksip.test\r\n"
		     "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	{
		struct sip_source src = { .addr = peer, .addrlen = sizeof(struct sockaddr_in),
					  .transport = KSIP_UDP, .local = ours };
		char key[256];

		t = NULL;
		if (sip_parse(&m, buf, (size_t)n) == SIP_PARSE_OK &&
		    !stx_key(&m, m.method, key, sizeof(key)))
			t = stx_new(tl, &m, &src, key, on_stx_freed, &freed);
	}
	first = nsent;
	if (t)
		stx_reply(tl, t, 486, NULL, NULL);
	advance_to(4000);
	ok(t && nsent - first >= 3 && all_from(first, nsent, &ours),
	   "the answer and its retransmissions leave from the address the request came in on");
	layer_end();

	layer_new(T1, T2, T4, TIMER_C);
	txn_branch_id(tl, 0x99, id, sizeof(id));
	n = request(buf, sizeof(buf), "OPTIONS", id);
	first = nsent;
	branch_send(tl, NULL, SIP_OPTIONS, id, &ours, &peer, KSIP_UDP, buf, (size_t)n, on_branch, &r);
	advance_to(4000);
	ok(nsent - first >= 3 && all_from(first, nsent, &ours),
	   "a request and its retransmissions leave from the address given to its branch");
	layer_end();
}

static void test_timer_i(void)
{
	uint64_t freed;
	struct stx *t;
	int from;

	layer_new(T1, T2, T4, TIMER_C);
	t = receive("INVITE", KSIP_UDP, &freed);
	stx_reply(tl, t, 486, NULL, NULL);
	advance_to(700);
	stx_ack(tl, t);
	ok(t->state == STX_CONFIRMED, "the ACK confirms");
	from = nsent;
	advance_to(5699);
	ok(count_since(from, "SIP/2.0") == 0 && !freed, "no more 486 after the ACK; absorbing");
	advance_to(5700);
	ok(freed == 5700, "Timer I = T4 after the ACK");

	layer_new(T1, T2, T4, TIMER_C);
	t = receive("INVITE", KSIP_TCP, &freed);
	stx_reply(tl, t, 486, NULL, NULL);
	advance_to(700);
	ok(count_since(0, "SIP/2.0 486") == 1, "TCP: no Timer G");
	stx_ack(tl, t);
	advance_to(700);
	ok(freed == 700, "TCP: Timer I = 0");
	layer_end();
}

static void test_timer_j_and_retransmission(void)
{
	uint64_t freed;
	struct stx *t;

	layer_new(T1, T2, T4, TIMER_C);
	t = receive("OPTIONS", KSIP_UDP, &freed);
	stx_reply(tl, t, 200, NULL, NULL);
	advance_to(1000);
	stx_retransmission(tl, t);
	ok(count_since(0, "SIP/2.0 200") == 2, "a retransmitted request gets the 200 again");
	advance_to(31999);
	ok(count_since(0, "SIP/2.0 200") == 2, "but no Timer G for non-INVITE");
	ok(!freed, "Timer J not yet at 31999");
	advance_to(32000);
	ok(freed == 32000, "Timer J = 64*T1 over UDP");

	layer_new(T1, T2, T4, TIMER_C);
	t = receive("OPTIONS", KSIP_TCP, &freed);
	advance_to(300);
	stx_reply(tl, t, 200, NULL, NULL);
	advance_to(300);
	ok(freed == 300, "Timer J = 0 over TCP");

	layer_new(T1, T2, T4, TIMER_C);
	t = receive("INVITE", KSIP_UDP, &freed);
	stx_reply(tl, t, 100, NULL, NULL);
	stx_retransmission(tl, t);
	ok(count_since(0, "SIP/2.0 100") == 2, "a retransmitted INVITE gets the last provisional");
	stx_reply(tl, t, 486, NULL, NULL);
	stx_retransmission(tl, t);
	ok(count_since(0, "SIP/2.0 486") == 2 && count_since(0, "SIP/2.0 100") == 2,
	   "and after the final answer, that answer");
	layer_end();
}

static void test_accepted_server(void)
{
	static const char ok200[] = "SIP/2.0 200 OK\r\n\r\n", busy[] = "SIP/2.0 486 Busy\r\n\r\n";
	uint64_t freed;
	struct stx *t;

	layer_new(T1, T2, T4, TIMER_C);
	t = receive("INVITE", KSIP_UDP, &freed);
	stx_send_final(tl, t, 200, ok200, sizeof(ok200) - 1);
	ok(t->state == STX_ACCEPTED, "a 200 to the INVITE: Accepted (RFC 6026)");
	advance_to(1000);
	stx_send_final(tl, t, 200, ok200, sizeof(ok200) - 1);
	ok(count_since(0, "SIP/2.0 200") == 2, "a further 2xx is passed on");
	stx_send_final(tl, t, 486, busy, sizeof(busy) - 1);
	ok(count_since(0, "SIP/2.0 486") == 0, "anything else is not");
	stx_retransmission(tl, t);
	ok(count_since(0, "SIP/2.0") == 2, "a retransmitted INVITE is not answered (the UAS does)");
	stx_ack(tl, t);
	ok(t->state == STX_ACCEPTED && nsent == 2, "an ACK is absorbed, sending nothing");
	advance_to(31999);
	ok(!freed && count_since(0, "SIP/2.0 200") == 2, "no retransmission of a 2xx by us");
	advance_to(32000);
	ok(freed == 32000, "Timer L = 64*T1");
	layer_end();
}

static void test_stx_branches(void)
{
	struct report r = { 0 };
	char buf[1024], id[64];
	uint64_t freed;
	struct stx *t;
	struct branch *b;
	int n;

	layer_new(T1, T2, T4, TIMER_C);
	t = receive("OPTIONS", KSIP_TCP, &freed);
	txn_branch_id(tl, 1, id, sizeof(id));
	n = request(buf, sizeof(buf), "OPTIONS", id);
	b = branch_send(tl, t, SIP_OPTIONS, id, NULL, &peer, KSIP_UDP, buf, (size_t)n, on_branch, &r);
	advance_to(100);
	stx_reply(tl, t, 500, NULL, NULL);
	advance_to(100);
	ok(freed == 100 && !b->stx, "a freed stx (Timer J = 0, TCP) orphans its branch");
	ok(respond(id, 200, "OPTIONS") && r.n == 0, "which reports to nobody");
	layer_new(T1, T2, T4, TIMER_C);
	receive("INVITE", KSIP_UDP, &freed);
	advance_to(5);
	layer_end();
	ok(freed == 5 && st.stx_freed == 1, "freeing the layer frees its transactions");
}

/* --- branch ids and hostile responses ----------------------------------- */

static void test_branch_ids(void)
{
	char a[64], b[64];
	struct sip_span s;

	layer_new(T1, T2, T4, TIMER_C);
	txn_branch_id(tl, 0xabc, a, sizeof(a));
	txn_branch_id(tl, 0xabc, b, sizeof(b));
	ok(strcmp(a, b) && starts(a, "z9hG4bK"), "fresh ids, with the RFC 3261 magic cookie");
	s = (struct sip_span){ a, (uint32_t)strlen(a) };
	ok(txn_branch_is_ours(s), "an id we minted is ours");
	ok(txn_branch_has_loophash(s, 0xabc) && !txn_branch_has_loophash(s, 0xabd),
	   "it carries its loop hash");
	a[strlen(a) - 1] ^= 1;
	ok(!txn_branch_is_ours(s), "one MAC bit off: not ours");
	a[strlen(a) - 1] ^= 1;
	a[12] = a[12] == '0' ? '1' : '0';
	ok(!txn_branch_is_ours(s), "a changed loop hash under the old MAC: not ours");
	s = (struct sip_span){ "z9hG4bKks", 9 };
	ok(!txn_branch_is_ours(s) && !txn_branch_has_loophash(s, 0), "a bare prefix is not ours");
	s = (struct sip_span){ "z9hG4bKks0000000000000abc.0.1.zzzzzzzzzzzzzzzz", 47 };
	ok(!txn_branch_is_ours(s), "a made-up MAC is not ours");
	layer_end();
}

static void test_hostile_responses(void)
{
	char buf[512], id[64];
	struct report r = { 0 };
	struct sip_msg m;
	int n;

	layer_new(T1, T2, T4, TIMER_C);
	send_branch("INVITE", KSIP_UDP, id, &r);
	ok(!respond("z9hG4bKnotours", 200, "INVITE"), "an unknown branch is a stray");
	memset(buf, 'x', sizeof(buf));
	n = snprintf(buf, sizeof(buf), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=%s%s\r\n"
		     "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n", id,
		     "-a-branch-longer-than-any-id-we-make-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	ok(sip_parse(&m, buf, (size_t)n) == SIP_PARSE_OK && !txn_response(tl, &m),
	   "an overlong branch is a stray, not a prefix match");
	n = snprintf(buf, sizeof(buf), "SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n");
	ok(sip_parse(&m, buf, (size_t)n) == SIP_PARSE_OK && !txn_response(tl, &m),
	   "no Via: a stray");
	ok(r.n == 0 && st.responses_stray == 3, "none reached the branch; three strays counted");
	layer_end();
}

/* Issue 12: caps refuse before allocating; a final answer frees the stored request. */
static void test_caps_and_final(void)
{
	struct report r = { 0 };
	uint64_t freed[3];
	struct stx *t[3];
	char id[2][64];

	cap_stx = 2;
	cap_branches = 1;
	layer_new(T1, T2, T4, TIMER_C);
	t[0] = receive("INVITE", KSIP_UDP, &freed[0]);
	t[1] = receive("OPTIONS", KSIP_UDP, &freed[1]);
	ok(t[0] && t[1] && txn_stx_count(tl) == 2 && txn_stx_full(tl), "two server transactions fill a cap of 2");
	t[2] = receive("MESSAGE", KSIP_UDP, &freed[2]);
	ok(!t[2] && txn_stx_count(tl) == 2, "a third is refused (stx_new returns NULL)");
	ok(send_branch("OPTIONS", KSIP_UDP, id[0], &r) && txn_branches_full(tl, 1),
	   "one client transaction fills a cap of 1");
	ok(!send_branch("OPTIONS", KSIP_UDP, id[1], &r) && txn_branch_count(tl) == 1 &&
	   count_since(0, "OPTIONS") == 1, "a second is refused and nothing is sent");

	ok(t[0]->request.len > 0, "a proceeding server transaction keeps its request");
	stx_reply(tl, t[0], 486, NULL, NULL);
	ok(!t[0]->request.p && !t[0]->request.len && t[0]->last.len,
	   "once final it keeps the answer only");
	stx_reply(tl, t[0], 500, NULL, NULL);
	stx_retransmission(tl, t[0]);
	ok(count_since(0, "SIP/2.0 486") == 2 && !count_since(0, "SIP/2.0 500"),
	   "a retransmission gets the answer again; no local answer after the final one");
	advance_to(64 * T1);
	ok(freed[0] == 64 * T1 && txn_stx_count(tl) == 1 && !txn_stx_full(tl),
	   "Timer H frees it and makes room again");
	cap_stx = cap_branches = 0;
	layer_end();
}

/*
 * Transactions that have their final answer only wait out a timer for
 * retransmissions (up to 32 s): held within the caps, they give way to new
 * ones, so the caps bound memory without capping a steady request rate.
 */
static void test_caps_give_way(void)
{
	struct report r = { 0 };
	uint64_t freed[4];
	struct stx *t[4];
	char id[3][64];

	cap_stx = 2;
	cap_branches = 2;
	layer_new(T1, T2, T4, TIMER_C);
	t[0] = receive("OPTIONS", KSIP_UDP, &freed[0]);
	t[1] = receive("MESSAGE", KSIP_UDP, &freed[1]);
	stx_reply(tl, t[0], 200, NULL, NULL);
	ok(t[0] && t[1] && txn_stx_count(tl) == 2 && !txn_stx_full(tl),
	   "of two server transactions held (cap 2), the answered one does not count");
	advance_to(1000);
	t[2] = receive("INFO", KSIP_UDP, &freed[2]);
	ok(t[2] && freed[0] == 1000 && txn_stx_count(tl) == 2 && st.txn_done_early == 1,
	   "a third is taken: the answered one goes before its Timer J (freed handler run, counted)");
	ok(txn_stx_full(tl) && !receive("NOTIFY", KSIP_UDP, &freed[3]) && txn_stx_count(tl) == 2,
	   "with two proceeding, a fourth is refused: the cap still bounds what is held");
	ok(send_branch("OPTIONS", KSIP_UDP, id[0], &r) && send_branch("OPTIONS", KSIP_UDP, id[1], &r) &&
	   txn_branches_full(tl, 1), "two client transactions fill a cap of 2");
	ok(respond(id[0], 200, "OPTIONS") && r.n == 1 && !txn_branches_full(tl, 1),
	   "a final one, waiting out Timer K, does not count");
	ok(send_branch("OPTIONS", KSIP_UDP, id[2], &r) && txn_branch_count(tl) == 2 &&
	   st.txn_done_early == 2 && !respond(id[0], 200, "OPTIONS"),
	   "a third is sent: the final one went early (its retransmitted 200 is now stray)");
	ok(txn_branches_full(tl, 1) && !send_branch("OPTIONS", KSIP_UDP, id[0], &r),
	   "with two pending, a fourth is refused");

	/* An answered INVITE whose request still has a branch pending (a page's members). */
	cap_branches = 0;
	layer_new(T1, T2, T4, TIMER_C);
	clock_ms = 0;
	t[0] = receive("INVITE", KSIP_UDP, &freed[0]);
	{
		char buf[1024];
		int n;

		txn_branch_id(tl, 0x1234, id[0], 64);
		n = request(buf, sizeof(buf), "INVITE", id[0]);
		ok(t[0] && branch_send(tl, t[0], SIP_INVITE, id[0], NULL, &peer, KSIP_UDP, buf,
				       (size_t)n, on_branch, &r), "an INVITE forked to a branch");
	}
	stx_reply(tl, t[0], 200, NULL, NULL);
	t[1] = receive("OPTIONS", KSIP_UDP, &freed[1]);
	ok(t[1] && !receive("MESSAGE", KSIP_UDP, &freed[2]) && !freed[0],
	   "answered but with its branch still pending, it does not give way (its answers still "
	   "come to it): a third is refused");
	advance_to(500);
	ok(respond(id[0], 486, "INVITE") && receive("MESSAGE", KSIP_UDP, &freed[2]) && freed[0] == 500,
	   "once the branch is final it gives way");
	cap_stx = cap_branches = 0;
	layer_end();
}

int main(void)
{
	peer_init();
	test_timer_a_b();
	test_no_retransmission_over_tcp();
	test_transport_error();
	test_timer_e_f();
	test_timer_e_after_provisional_and_k();
	test_timer_d();
	test_cancel_waits_for_provisional();
	test_timer_c();
	test_accepted_client();
	test_small_t1();
	test_timer_g_h();
	test_sent_from();
	test_timer_i();
	test_timer_j_and_retransmission();
	test_accepted_server();
	test_stx_branches();
	test_branch_ids();
	test_hostile_responses();
	test_caps_and_final();
	test_caps_give_way();
	txn_layer_free(tl);
	return tap_done();
}
