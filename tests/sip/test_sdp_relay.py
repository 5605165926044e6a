#!/usr/bin/env python3
"""The SDP rewrite end to end: an IPv4 phone calls an IPv6 phone through ksipd.

Both phones are this script (hand-built SIP on 127.0.0.1 and ::1). The call
has an SRTP audio stream and a video stream, ICE attributes on both sides.
Checked: each side's SDP holds nothing of the other side (no address, no
user name, no ICE) and only the relay's address of its own family; RTP
sent by each side on each stream reaches the other through the userspace
relay intact; the o= version stays put across an identical re-offer and
grows by one when ksipd's SDP changes; hostile SDP gets a 488 that says why.
"""
import json
import os
import re
import socket
import time

from ksiptest import Ksipd, SipClient, Tap, rand_token

T = Tap()
RTP_MIN = 42000 + (os.getpid() % 40) * 100
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw"}
CRYPTO = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
PACKETS = 20


def sdp(user, family, audio, video, direction="sendrecv", version=1):
    ip, typ = ("::1", "IP6") if family == socket.AF_INET6 else ("127.0.0.1", "IP4")
    return ("v=0\r\no={u} 4711 {v} IN {t} {ip}\r\ns=-\r\nc=IN {t} {ip}\r\nt=0 0\r\n"
            "a=ice-ufrag:{u}frag\r\na=ice-pwd:{u}pwd0123456789abcdefghij\r\n"
            "m=audio {a} RTP/SAVP 0\r\na=rtcp:{a1} IN {t} {ip}\r\n{crypto}\r\n"
            "a=candidate:1 1 UDP 2130706431 {ip} {a} typ host\r\n"
            "a=candidate:2 1 UDP 1694498815 198.51.100.{n} {a} typ srflx raddr {ip} rport {a}\r\n"
            "a={d}\r\n"
            "m=video {vp} RTP/AVP 96\r\nc=IN {t} {ip}\r\na=rtpmap:96 H264/90000\r\n"
            "a=candidate:1 1 UDP 2130706431 {ip} {vp} typ host\r\na=end-of-candidates\r\n").format(
        u=user, v=version, t=typ, ip=ip, a=audio, a1=audio + 1, vp=video, crypto=CRYPTO, d=direction,
        n=7 if user == "alice" else 9)


def body_of(msg):
    return msg.raw.split(b"\r\n\r\n", 1)[1].decode(errors="replace") if msg else ""


def origin(body):
    m = re.search(r"^o=(\S+) (\d+) (\d+) IN (IP[46]) (\S+)\r$", body, re.M)
    return m.groups() if m else None


def media_ports(body):
    return [int(p) for p in re.findall(r"^m=\w+ (\d+) ", body, re.M)]


class Phone:
    """One user agent: a SIP socket and an RTP socket per stream, of one family."""

    def __init__(self, d, user, family, transport="udp", media_family=None, port=None):
        self.d, self.user = d, user
        self.family = media_family or family	# of its media: what the SDP says
        self.ip = "::1" if self.family == socket.AF_INET6 else "127.0.0.1"
        self.sip = SipClient(d, family=family, transport=transport, port=port)
        self.rtp = []
        for _ in range(2):	# audio, video
            s = socket.socket(self.family, socket.SOCK_DGRAM)
            s.bind((self.ip, 0))
            s.settimeout(2)
            self.rtp.append(s)
        self.contact = "<sip:%s@%s%s>" % (user, self.sip.hostport(self.sip.local),
                                          "" if transport == "udp" else ";transport=" + transport)
        self.tag = rand_token(8)

    def ports(self):
        return [s.getsockname()[1] for s in self.rtp]

    def close(self):
        self.sip.close()
        for s in self.rtp:
            s.close()


def header_lines(msg, names):
    head = msg.raw.split(b"\r\n\r\n", 1)[0].decode()
    return [l for l in head.split("\r\n")[1:] if l.split(":", 1)[0].strip().lower() in names]


def reply(req, code, reason, tag, contact=None, body=""):
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for l in header_lines(req, ("via", "from", "to", "call-id", "cseq", "record-route")):
        if l.lower().startswith("to:") and ";tag=" not in l:
            l += ";tag=" + tag
        lines.append(l)
    if contact:
        lines.append("Contact: " + contact)
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


class Dialog:
    """Alice's side of a call: builds her requests (initial and in-dialog)."""

    def __init__(self, alice, callee):
        self.a, self.callee = alice, callee
        self.call_id = rand_token(16) + "@sdp-test"
        self.cseq = 0
        self.remote_tag = None
        self.remote_target = None
        self.routes = []
        self.nc = 0

    def request(self, method, body="", auth=None, cseq=None, branch=None, to_tag=None, ruri=None):
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        tt = to_tag if to_tag is not None else self.remote_tag
        lines = ["%s %s SIP/2.0" % (method, ruri or self.remote_target or "sip:%s@ksip.test" % self.callee),
                 "Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport" % (self.a.sip.transport.upper(),
                                                              self.a.sip.hostport(self.a.sip.local),
                                                              branch or rand_token()),
                 "Max-Forwards: 70",
                 "From: <sip:%s@ksip.test>;tag=%s" % (self.a.user, self.a.tag),
                 "To: <sip:%s@ksip.test>%s" % (self.callee, ";tag=" + tt if tt else ""),
                 "Call-ID: " + self.call_id,
                 "CSeq: %d %s" % (cseq, method),
                 "Contact: " + self.a.contact]
        lines += ["Route: " + r for r in self.routes]
        if auth:
            lines.append("Proxy-Authorization: " + auth)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def final(self, timeout=4):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.a.sip.recv(deadline - time.time())
            if r is None:
                return None
            if r.code >= 200 and r.get("call-id") == self.call_id:
                return r
        return None

    def ack_failure(self, resp, cseq, branch):
        """The ACK of a non-2xx final response: same branch, the response's To tag (§17.1.1.3)."""
        tag = re.search(r";tag=([^;>\s]+)", resp.get("to") or "")
        self.a.sip.send(self.request("ACK", cseq=cseq, branch=branch, to_tag=tag.group(1) if tag else ""))

    def invite(self, body, challenge=None):
        """An initial INVITE, authenticated; returns the final response."""
        ruri = "sip:%s@ksip.test" % self.callee
        if challenge is None:
            branch = rand_token()
            self.a.sip.send(self.request("INVITE", body, branch=branch, to_tag=""))
            r = self.final()
            if r is None or r.code != 407:
                return r, None
            self.ack_failure(r, self.cseq, branch)
            challenge = r.get("proxy-authenticate")
        self.nc += 1
        auth = self.a.sip.authorization(challenge, self.a.user, PASSWORDS[self.a.user], method="INVITE", uri=ruri,
                                        nc=self.nc)
        branch = rand_token()
        self.a.sip.send(self.request("INVITE", body, auth=auth, branch=branch, to_tag=""))
        return branch, challenge

    def confirm(self, ok):
        """Take the dialog from the 2xx (§12.1.2) and ACK it."""
        self.remote_tag = re.search(r";tag=([^;>\s]+)", ok.get("to")).group(1)
        self.remote_target = re.search(r"<([^>]+)>", ok.get("contact")).group(1)
        self.routes = list(reversed([v for h in ok.all("record-route") for v in h.split(",")]))
        self.a.sip.send(self.request("ACK", cseq=self.cseq))


def recv_request(phone, method, call_id, timeout=4):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = phone.sip.recv(deadline - time.time())
        if r is None:
            return None
        if r.raw.startswith(method.encode() + b" ") and r.get("call-id") == call_id:
            return r
    return None


def register(d, phone):
    r, _ = phone.sip.register(phone.user, PASSWORDS[phone.user], [phone.contact])
    return r is not None and r.code == 200


def nothing_of(body, other, label, what):
    """BODY (what one side got) must hold nothing of OTHER (the other phone)."""
    leaks = [s for s in (other.ip if other.family == socket.AF_INET else "IP6", other.user,
                         "198.51.100.", "candidate", "ice-") if s in body]
    if other.family == socket.AF_INET6:
        leaks += [s for s in ("::1",) if s in body]
    leaks += ["port %d" % p for p in other.ports() if re.search(r"\b%d\b" % p, body)]
    T.ok(not leaks, "%s: %s holds nothing of the other side (address, family, user, ICE, ports)"
         % (label, what), {"leaks": leaks, "body": body})


def relay_both_ways(label, alice, bob, a_relay, b_relay):
    """PACKETS per stream each way; each must arrive intact, from the relay port facing the receiver."""
    for i, kind in enumerate(("audio", "video")):
        for src, dst, to, frm, name in ((alice, bob, a_relay[i], b_relay[i], "alice->bob"),
                                        (bob, alice, b_relay[i], a_relay[i], "bob->alice")):
            good, bad = 0, []
            for n in range(PACKETS):
                payload = bytes([0x80, 0x60 + i]) + n.to_bytes(2, "big") + os.urandom(160)
                src.rtp[i].sendto(payload, to)
                try:
                    data, came = dst.rtp[i].recvfrom(2048)
                except socket.timeout:
                    bad.append("%d lost" % n)
                    continue
                if data == payload and came[:2] == frm:
                    good += 1
                else:
                    bad.append("%d from %s" % (n, came))
            T.ok(good == PACKETS, "%s: %d %s packets %s arrive byte for byte from the relay's %s"
                 % (label, PACKETS, kind, name, frm[0]), bad)


def calls(d):
    return json.loads(d.ctl("--json", "call", "list").stdout)


def v4_to_v6(d):
    label = "IPv4 alice -> IPv6 bob"
    alice = Phone(d, "alice", socket.AF_INET)
    bob = Phone(d, "bob", socket.AF_INET6)
    T.ok(register(d, bob), "%s: bob registers over IPv6" % label)
    dlg = Dialog(alice, "bob")
    offer = sdp("alice", socket.AF_INET, *alice.ports())
    branch, challenge = dlg.invite(offer)
    inv = recv_request(bob, "INVITE", dlg.call_id)
    T.ok(inv is not None, "%s: the INVITE reaches bob over IPv6" % label)
    if inv is None:
        return None
    got = body_of(inv)
    o = origin(got)
    T.ok(o and o[0] == "-" and o[3] == "IP6" and o[4] == "::1",
         "%s: bob's o= is ksipd's, with its IPv6 address" % label, got)
    T.ok(got.count("c=IN IP6 ::1\r\n") == 2 and "a=rtcp:%d IN IP6 ::1" % (media_ports(got)[0] + 1) in got,
         "%s: both c= and a=rtcp carry the relay's IPv6 address" % label, got)
    nothing_of(got, alice, label, "the offer bob gets")
    T.ok(CRYPTO + "\r\n" in got and "RTP/SAVP 0" in got and "a=rtpmap:96 H264/90000" in got,
         "%s: SRTP key, profile and codecs pass unchanged" % label, got)
    b_relay = [("::1", p) for p in media_ports(got)]
    T.ok(len(b_relay) == 2 and all(p for _, p in b_relay) and b_relay[0][1] != b_relay[1][1],
         "%s: audio and video each have their own relay port" % label, got)
    bob_tag = rand_token(8)
    answer = sdp("bob", socket.AF_INET6, *bob.ports())
    bob.sip.send(reply(inv, 180, "Ringing", bob_tag, bob.contact))
    bob.sip.send(reply(inv, 200, "OK", bob_tag, bob.contact, answer))
    ok = dlg.final()
    T.ok(ok is not None and ok.code == 200, "%s: alice gets the 200" % label, ok and ok.raw)
    if ok is None or ok.code != 200:
        return None
    dlg.confirm(ok)
    got_a = body_of(ok)
    o_a = origin(got_a)
    T.ok(o_a and o_a[0] == "-" and o_a[3] == "IP4" and o_a[4] == "127.0.0.1",
         "%s: alice's o= is ksipd's, with its IPv4 address" % label, got_a)
    T.ok(got_a.count("c=IN IP4 127.0.0.1\r\n") == 2, "%s: both c= in alice's answer are the IPv4 relay"
         % label, got_a)
    nothing_of(got_a, bob, label, "the answer alice gets")
    a_relay = [("127.0.0.1", p) for p in media_ports(got_a)]
    ack = recv_request(bob, "ACK", dlg.call_id)
    T.ok(ack is not None, "%s: the ACK reaches bob" % label)

    call = next((c for c in calls(d) if c["state"] == "confirmed" and c["callee"] == "bob"), None)
    T.ok(call and call["media"] == "userspace" and call["streams"] == 2 and
         [r["caller_side"] for r in call["relay"]] == ["127.0.0.1"] * 2 and
         [r["callee_side"] for r in call["relay"]] == ["[::1]"] * 2,
         "%s: `ksipctl call list`: two streams in userspace, IPv4 facing alice, IPv6 facing bob"
         % label, call)
    T.ok(d.stats()["relay_streams_cross_family"] == 2, "%s: stats count 2 cross-family streams" % label,
         d.stats())
    relay_both_ways(label, alice, bob, a_relay, b_relay)
    call = next((c for c in calls(d) if call and c["id"] == call["id"]), None)
    T.ok(call and call["packets_from_caller"] == 2 * PACKETS and call["packets_from_callee"] == 2 * PACKETS,
         "%s: the call's counters say %d and %d" % (label, 2 * PACKETS, 2 * PACKETS), call)

    # Re-offers: o= version stays with an identical SDP, grows by one when ksipd's SDP changes.
    def reinvite(body, bob_body):
        dlg.a.sip.send(dlg.request("INVITE", body))
        r = recv_request(bob, "INVITE", dlg.call_id)
        if r is None:
            return None, None
        bob.sip.send(reply(r, 200, "OK", bob_tag, bob.contact, bob_body))
        ok2 = dlg.final()
        if ok2 is None or ok2.code != 200:
            return body_of(r), None
        dlg.a.sip.send(dlg.request("ACK", cseq=dlg.cseq))
        recv_request(bob, "ACK", dlg.call_id)
        return body_of(r), body_of(ok2)

    b1, a1 = reinvite(sdp("alice", socket.AF_INET, *alice.ports(), version=2), answer)
    T.ok(b1 and origin(b1) == o and media_ports(b1) == media_ports(got),
         "%s: identical re-offer (only alice's own version grew): bob's o= keeps session and version"
         % label, {"first": o, "now": b1 and origin(b1)})
    T.ok(a1 and origin(a1) == o_a, "%s: identical answer: alice's o= unchanged" % label,
         {"first": o_a, "now": a1 and origin(a1)})
    b2, a2 = reinvite(sdp("alice", socket.AF_INET, *alice.ports(), "sendonly", version=3),
                      sdp("bob", socket.AF_INET6, *bob.ports(), "recvonly", version=2))
    T.ok(b2 and origin(b2)[:2] == o[:2] and int(origin(b2)[2]) == int(o[2]) + 1 and "a=sendonly" in b2,
         "%s: hold (a=sendonly): bob's o= version grows by one, same session id" % label,
         {"first": o, "now": b2 and origin(b2)})
    T.ok(a2 and origin(a2)[:2] == o_a[:2] and int(origin(a2)[2]) == int(o_a[2]) + 1,
         "%s: answer a=recvonly: alice's o= version grows by one" % label,
         {"first": o_a, "now": a2 and origin(a2)})
    nothing_of(a2 or "", bob, label, "the re-INVITE's answer alice gets")
    b3, _ = reinvite(sdp("alice", socket.AF_INET, *alice.ports(), "sendonly", version=4),
                     sdp("bob", socket.AF_INET6, *bob.ports(), "recvonly", version=3))
    T.ok(b3 and origin(b3) == origin(b2), "%s: the same hold again: bob's o= version stays" % label,
         {"before": origin(b2) if b2 else None, "now": b3 and origin(b3)})

    # An in-dialog OPTIONS answered with capabilities (port 0): no offer/answer, no media change.
    dlg.a.sip.send(dlg.request("OPTIONS"))
    opt = recv_request(bob, "OPTIONS", dlg.call_id)
    if opt is not None:
        bob.sip.send(reply(opt, 200, "OK", bob_tag, bob.contact,
                           sdp("bob", socket.AF_INET6, 0, 0).replace("a=sendrecv", "a=inactive")))
    r = dlg.final()
    T.ok(r is not None and r.code == 200 and body_of(r) == "",
         "%s: SDP in an OPTIONS answer goes on empty (no offer/answer there, nothing of bob)" % label,
         r and r.raw)
    now = next((c for c in calls(d) if c["id"] == call["id"]), None) if call else None
    T.ok(now and all(x["open"] for x in now["relay"]), "%s: ... and the streams stay open" % label, now)

    dlg.a.sip.send(dlg.request("BYE"))
    bye = recv_request(bob, "BYE", dlg.call_id)
    if bye is not None:
        bob.sip.send(reply(bye, 200, "OK", bob_tag))
    r = dlg.final()
    T.ok(r is not None and r.code == 200, "%s: BYE answered" % label, r and r.raw)
    alice.close()
    bob.close()
    return challenge


NC = [100]


def hostile(d, challenge):
    """SDP that cannot be relayed: a 488 whose reason says why; the daemon carries on.
    Over TCP: UDP datagrams above 16 KiB never reach the SDP code."""
    alice = Phone(d, "alice", socket.AF_INET, "tcp")
    base = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    cases = [
        ("1000 m= lines", base + "".join("m=audio %d RTP/AVP 0\r\n" % (2000 + 2 * i) for i in range(1000)),
         "Too many media streams"),
        ("c= with a host name", base.replace("c=IN IP4 127.0.0.1", "c=IN IP4 phone.example") +
         "m=audio 4000 RTP/AVP 0\r\n", "not an IP address"),
        ("c= of an unknown family", base.replace("IN IP4 127.0.0.1\r\nt", "IN IPX 127.0.0.1\r\nt") +
         "m=audio 4000 RTP/AVP 0\r\n", "Unknown address type"),
        ("no c= anywhere", base.replace("c=IN IP4 127.0.0.1\r\n", "") + "m=audio 4000 RTP/AVP 0\r\n",
         "without a c="),
        ("o= of garbage", base.replace("o=- 1 1 IN IP4 127.0.0.1", "o=\x01garbage") +
         "m=audio 4000 RTP/AVP 0\r\n", "o="),
        ("a=rtcp with a bogus port", base + "m=audio 4000 RTP/AVP 0\r\na=rtcp:99999\r\n", "a=rtcp"),
        # Relayed SDP is bounded too: more than fits the output buffer is refused, not cut.
        ("a 30 kB line", base + "m=audio 4000 RTP/AVP 0\r\na=x-junk:" + "z" * 30000 + "\r\n",
         "SDP too large"),
    ]
    for what, body, why in cases:
        dlg = Dialog(alice, "bob")
        NC[0] += 1
        dlg.nc = NC[0]	# one nonce for all: a fresh nonce-count each time
        branch, _ = dlg.invite(body, challenge)
        r = dlg.final()
        T.ok(r is not None and r.code == 488 and why in r.reason,
             "hostile SDP, %s: 488 \"%s\"" % (what, r and r.reason), r and r.raw[:300])
        if r is not None:
            dlg.ack_failure(r, dlg.cseq, branch)
    alice.close()
    s = d.stats()
    T.ok(s["relay_streams"] == 0 and s["relay_ports_in_use"] == 0,
         "hostile SDP: no relay port or stream left open", s)


def dual_stack(d, challenge):
    """Alice talks SIP over IPv4 but offers IPv6 media; bob is IPv4 all through."""
    label = "alice SIP over IPv4, media over IPv6"
    alice = Phone(d, "alice", socket.AF_INET, media_family=socket.AF_INET6)
    bob = Phone(d, "bob", socket.AF_INET)
    d.ctl("reg", "del", "bob", check=False)	# bob's IPv6 phone of the first call is gone
    T.ok(register(d, bob), "%s: bob registers over IPv4" % label)
    dlg = Dialog(alice, "bob")
    NC[0] += 1
    dlg.nc = NC[0]
    dlg.invite(sdp("alice", socket.AF_INET6, *alice.ports()), challenge)
    inv = recv_request(bob, "INVITE", dlg.call_id)
    got = body_of(inv)
    T.ok(inv is not None and origin(got) and origin(got)[3] == "IP4" and "IP6" not in got and
         "::1" not in got, "%s: bob's offer is all IPv4 (the relay's)" % label, got)
    if inv is None:
        return
    bob_tag = rand_token(8)
    bob.sip.send(reply(inv, 200, "OK", bob_tag, bob.contact, sdp("bob", socket.AF_INET, *bob.ports())))
    ok = dlg.final()
    got_a = body_of(ok)
    T.ok(ok is not None and origin(got_a) and origin(got_a)[3:] == ("IP6", "::1") and
         got_a.count("c=IN IP6 ::1\r\n") == 2 and "127.0.0.1" not in got_a,
         "%s: alice's answer gives her the relay's IPv6 address, the family of her media" % label, got_a)
    if ok is None or ok.code != 200:
        return
    dlg.confirm(ok)
    recv_request(bob, "ACK", dlg.call_id)
    relay_both_ways(label, alice, bob, [("::1", p) for p in media_ports(got_a)],
                    [("127.0.0.1", p) for p in media_ports(got)])
    dlg.a.sip.send(dlg.request("BYE"))
    bye = recv_request(bob, "BYE", dlg.call_id)
    if bye is not None:
        bob.sip.send(reply(bye, 200, "OK", bob_tag))
    r = dlg.final()
    T.ok(r is not None and r.code == 200, "%s: BYE answered" % label, r and r.raw)
    alice.close()
    bob.close()


def media_address():
    """media_address = 127.0.0.2: both legs see it, and the relay speaks from it."""
    label = "media_address 127.0.0.2"
    d = Ksipd(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN + 100, RTP_MIN + 199), media_timeout=0,
              media_address="127.0.0.2 [::1]")
    try:
        for user, pw in PASSWORDS.items():
            d.add_user(user, pw)
        alice, bob = Phone(d, "alice", socket.AF_INET), Phone(d, "bob", socket.AF_INET)
        T.ok(register(d, bob), "%s: bob registers" % label)
        dlg = Dialog(alice, "bob")
        dlg.invite(sdp("alice", socket.AF_INET, *alice.ports()))
        inv = recv_request(bob, "INVITE", dlg.call_id)
        got = body_of(inv)
        T.ok(origin(got) and origin(got)[4] == "127.0.0.2" and got.count("c=IN IP4 127.0.0.2\r\n") == 2,
             "%s: bob's o= and c= carry the configured address" % label, got)
        if inv is not None:
            tag = rand_token(8)
            bob.sip.send(reply(inv, 200, "OK", tag, bob.contact, sdp("bob", socket.AF_INET, *bob.ports())))
            ok = dlg.final()
            got_a = body_of(ok)
            T.ok(origin(got_a) and origin(got_a)[4] == "127.0.0.2", "%s: so do alice's" % label, got_a)
            if ok is not None and ok.code == 200:
                dlg.confirm(ok)
                relay_both_ways(label, alice, bob, [("127.0.0.2", p) for p in media_ports(got_a)],
                                [("127.0.0.2", p) for p in media_ports(got)])
                dlg.a.sip.send(dlg.request("BYE"))
                bye = recv_request(bob, "BYE", dlg.call_id)
                if bye is not None:
                    bob.sip.send(reply(bye, 200, "OK", tag))
                dlg.final()
        alice.close()
        bob.close()
    finally:
        rc = d.stop()
        T.ok(rc == 0, "%s: ksipd exits cleanly" % label, d.logtext()[-2000:])
        d.cleanup()
    for value, what in (("192.0.2.55", "an address not of this host"),
                        ("pbx.example", "a host name"), ("127.0.0.1 127.0.0.2", "two IPv4 addresses"),
                        ("0.0.0.0", "the wildcard")):
        try:
            bad = Ksipd(media_address=value)
            started = True
            bad.cleanup()
        except RuntimeError as e:
            started, err = False, str(e)
        T.ok(not started and "media_address" in err, "media_address = %s (%s): ksipd refuses to start, "
             "naming the key" % (value, what), None if not started else "it started")


def main():
    d = Ksipd(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN, RTP_MIN + 99), media_timeout=0,
              t1_ms=100, t2_ms=400, t4_ms=500, timer_c=5)
    try:
        for user, pw in PASSWORDS.items():
            d.add_user(user, pw)
        challenge = v4_to_v6(d)
        if challenge:
            dual_stack(d, challenge)
            hostile(d, challenge)
        deadline = time.time() + 5
        while time.time() < deadline and d.stats()["relay_streams"]:
            time.sleep(0.1)
        s = d.stats()
        T.ok(s["relay_streams"] == 0 and s["relay_ports_in_use"] == 0 and s["calls_active"] == 0,
             "nothing left: no call, relay stream or port", s)
    finally:
        rc = d.stop()
        T.ok(rc == 0, "ksipd (ASan/UBSan build) exits cleanly", d.logtext()[-3000:])
        d.cleanup()
    media_address()
    T.done()


if __name__ == "__main__":
    main()
