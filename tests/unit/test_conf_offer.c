// SPDX-License-Identifier: GPL-2.0
/*
 * The focus's offer/answer (conf/offer.c) and the room table (store/rooms.c):
 * which G.711 law and telephone-event a member gets from its offer, the
 * answer's m= lines, and hostile offers refused with a reason.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "conf/offer.h"
#include "store/rooms.h"
#include "tap.h"

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n"

static int read_offer(const char *body, int want, struct offer *o, const char **why)
{
	*why = NULL;
	return offer_read((struct sip_span){ body, (uint32_t)strlen(body) }, want, o, why);
}

static void choices(void)
{
	struct offer o;
	const char *why;

	ok(!read_offer(HEAD "m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
		       -1, &o, &why) && o.codec == MIXER_PCMA && o.pt == 8 && o.dtmf_pt == 101,
	   "PCMA first in the offer: PCMA, and telephone-event 101");
	ok(!read_offer(HEAD "m=audio 4000 RTP/AVP 18 0 8\r\n", -1, &o, &why) &&
	   o.codec == MIXER_PCMU && o.pt == 0 && o.dtmf_pt == -1,
	   "G.729 then PCMU: PCMU, no telephone-event");
	ok(!read_offer(HEAD "m=audio 4000 RTP/AVP 97 96\r\na=rtpmap:96 PCMU/8000\r\n"
		       "a=rtpmap:97 opus/48000/2\r\n", -1, &o, &why) && o.codec == MIXER_PCMU && o.pt == 96,
	   "a dynamic payload type mapped to PCMU is PCMU with that type");
	ok(read_offer(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 G722/8000\r\n", -1, &o, &why) &&
	   why, "payload type 0 remapped to something else is not PCMU: refused");
	ok(!read_offer(HEAD "m=video 5000 RTP/AVP 96\r\nm=audio 4000 RTP/AVP 0\r\n", -1, &o, &why) &&
	   o.audio == 1 && o.nmedia == 2, "the audio line after a video line is taken");
	ok(!read_offer(HEAD "m=audio 4000 RTP/AVP 0 8\r\n", MIXER_PCMA, &o, &why) &&
	   o.codec == MIXER_PCMA, "a re-INVITE keeps the member's law when offered");
	ok(read_offer(HEAD "m=audio 4000 RTP/AVP 0\r\n", MIXER_PCMA, &o, &why) && why &&
	   strstr(why, "Codec Change"), "a re-INVITE without the member's law is refused: %s", why);
}

static void refusals(void)
{
	static char big[8192];
	struct offer o;
	const char *why;
	size_t n;

	ok(read_offer(HEAD "m=audio 4000 RTP/AVP 18 9\r\n", -1, &o, &why) && why &&
	   !strcmp(why, "No G.711 Audio Offered"), "no G.711: refused with a reason");
	ok(read_offer(HEAD "m=audio 4000 RTP/SAVP 0\r\n", -1, &o, &why) && why,
	   "SRTP only: refused (the mixer reads the audio)");
	ok(read_offer(HEAD "m=audio 0 RTP/AVP 0\r\n", -1, &o, &why) && why,
	   "a disabled audio stream (port 0): refused");
	ok(read_offer("garbage", -1, &o, &why) && why, "not SDP: refused");
	n = (size_t)snprintf(big, sizeof(big), HEAD);
	for (int i = 0; i < 12; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "m=audio %d RTP/AVP 0\r\n", 4000 + 2 * i);
	ok(read_offer(big, -1, &o, &why) && why, "more m= lines than SDP_MAX_MEDIA: refused");
	n = (size_t)snprintf(big, sizeof(big), HEAD "m=audio 4000 RTP/AVP 0 8\r\n");
	for (int i = 0; i < 200 && n < sizeof(big) - 64; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "a=rtpmap:%d X/8000\r\n", 96 + i % 32);
	ok(!read_offer(big, -1, &o, &why) && o.codec == MIXER_PCMU,
	   "hundreds of rtpmap lines: bounded, PCMU still found");
}

static void answers(void)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	struct offer o;
	const char *why;
	char out[2048];
	long n;

	a->sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.5", &a->sin_addr);
	read_offer(HEAD "m=video 5000 RTP/AVP 96\r\nm=audio 4000 RTP/AVP 8 101\r\n"
		   "a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n", -1, &o, &why);
	n = offer_answer(&o, &ss, 30000, 7, 2, out, sizeof(out));
	ok(n > 0 && strstr(out, "o=ksip 7 2 IN IP4 203.0.113.5\r\n") &&
	   strstr(out, "c=IN IP4 203.0.113.5\r\n"), "the answer's o= and c= are ours");
	ok(n > 0 && strstr(out, "m=video 0 RTP/AVP 96\r\n") &&
	   strstr(out, "m=audio 30000 RTP/AVP 8 101\r\n") &&
	   strstr(out, "a=rtpmap:8 PCMA/8000\r\n") && strstr(out, "a=rtpmap:101 telephone-event/8000"),
	   "video refused with port 0, audio on our port with PCMA and telephone-event");
	ok(n > 0 && strstr(out, "a=recvonly\r\n"), "a sendonly offer is answered recvonly");
	ok(offer_answer(&o, &ss, 30000, 7, 2, out, 40) == -1, "an answer that does not fit: -1");
}

static void rooms(void)
{
	struct room_table *t = rooms_new();
	struct room_record r = { .name = "sales", .pin = "1234", .max_members = 5 }, got;

	ok(t && !rooms_put(t, &r) && rooms_exists(t, "sales") && !rooms_exists(t, "Sales"),
	   "a room is found by its exact name");
	ok(rooms_get(t, "sales", &got) && !strcmp(got.pin, "1234") && got.max_members == 5,
	   "its PIN and size come back");
	r.max_members = 9;
	ok(!rooms_put(t, &r) && rooms_count(t) == 1 && rooms_get(t, "sales", &got) &&
	   got.max_members == 9, "put again replaces");
	ok(rooms_del(t, "sales") && !rooms_del(t, "sales") && !rooms_exists(t, "sales") &&
	   rooms_count(t) == 0, "del removes it once");
	rooms_free(t);
}

int main(void)
{
	choices();
	refusals();
	answers();
	rooms();
	return tap_done();
}
