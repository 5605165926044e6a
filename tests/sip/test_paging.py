#!/usr/bin/env python3
"""Paging groups (issue 17) at the SIP level: ksipctl page add/list/del and their
refusals, then a page through ksipd to members played by this script.

    caller (this script, UDP)            members m1..m3 (this script: one UDP SIP socket
      INVITE sip:grp@ksip.test  --->  ksipd  ---> and one RTP socket each; m4 has no phone)
      RTP -> relay (caller side)         relay (members' side) ---> each member's RTP port

Each member answers every INVITE at once with a recvonly answer, counts the
RTP datagrams that reach its RTP port and answers BYE with 200. Expected: an
INVITE to the group is challenged (407) without credentials; with them, each
registered member gets one INVITE carrying both auto-answer headers and a
one-way (a=sendonly) offer, the unregistered member is skipped; the caller
gets one 200; every RTP packet the caller sends reaches every member (the
first answer's as the call's flow, the others' as outputs of that flow); a
member that hangs up gets 200 from ksipd and no more packets. Then the
callee (whose 200 the caller got) hangs up: ksipd answers its BYE (again
when repeated), the caller gets no BYE, the last member gets every packet
in the callee's place and the callee none; the caller's re-INVITE gets 488
and her INFO 480 from ksipd, none of it reaching the callee. When the caller
hangs up the member still there gets a BYE, and no call, stream or relay
port is left. Ports: SIP 51000-51999, RTP relay 32000-32099.
"""
import json
import os
import random
import re
import socket
import threading
import time

from ksiptest import Ksipd, Response, SipClient, Tap, parse_challenge, rand_token

T = Tap()
REALM = "ksip.test"
RTP_MIN = 32000
PW = {u: u + "-pw" for u in ["alice"] + ["m%d" % i for i in range(1, 18)]}


def pg_port():
    """A port in this test's SIP range, free for UDP on 127.0.0.1 (and TCP, for ksipd)."""
    for _ in range(200):
        port = random.randint(51000, 51999)
        socks = []
        try:
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, typ)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port in 51000-51999")


def start():
    port = pg_port()
    d = Ksipd(listen="udp:127.0.0.1:%d" % port, auth_algorithms="MD5",
              rtp_ports="%d-%d" % (RTP_MIN, RTP_MIN + 99), t1_ms=100, t2_ms=400, t4_ms=500,
              timer_c=5, media_timeout=0, workers=2)
    d.port = port
    for u, pw in PW.items():
        d.add_user(u, pw)
    return d


def pages(d):
    return json.loads(d.ctl("--json", "page", "list").stdout)


# --- ksipctl page -------------------------------------------------------------------------
d = start()
try:
    p = d.ctl("page", "add", "grp", "m1", "m2", "m3", "m4", check=False)
    T.ok(p.returncode == 0, "page add grp with four users", p.stderr)
    T.ok(pages(d) == [{"name": "grp", "members": ["m1", "m2", "m3", "m4"]}],
         "page list --json shows the group and its members in order", pages(d))
    text = d.ctl("page", "list").stdout
    T.ok(re.search(r"^grp\s+m1,m2,m3,m4$", text, re.M) is not None, "page list: one line per group",
         text)
    p = d.ctl("page", "add", "bad", "m1", "nobody", check=False)
    T.ok(p.returncode == 1 and "no such user 'nobody'" in p.stderr and len(pages(d)) == 1,
         "a group with an unknown member is refused and nothing is saved", p.stderr)
    p = d.ctl("page", "add", "big", *["m%d" % i for i in range(1, 18)], check=False)
    T.ok(p.returncode == 1 and "too many members: 17 (at most 16)" in p.stderr and len(pages(d)) == 1,
         "a group of 17 is refused (MEDIA_OUTPUTS_MAX is 16)", p.stderr)
    p = d.ctl("page", "add", "sixteen", *["m%d" % i for i in range(1, 17)], check=False)
    T.ok(p.returncode == 0 and len(pages(d)[1]["members"]) == 16, "a group of 16 is taken", p.stderr)
    d.ctl("page", "del", "sixteen")
    p = d.ctl("page", "add", "alice", "m1", check=False)
    T.ok(p.returncode == 1 and "is a user" in p.stderr, "a group may not take a user's name", p.stderr)
    for bad in ("two words", "a<b>", "x@y", ""):
        p = d.ctl("page", "add", bad, "m1", check=False)
        T.ok(p.returncode == 1 and "invalid paging group name" in p.stderr,
             "the name %r (not a SIP user part) is refused" % bad, p.stderr)
    p = d.ctl("page", "add", "dup", "m1", "m1", check=False)
    T.ok(p.returncode == 1 and "named twice" in p.stderr, "a member named twice is refused", p.stderr)
    p = d.ctl("page", "del", "nosuch", check=False)
    T.ok(p.returncode == 1 and "no such paging group" in p.stderr, "page del of no group: an error",
         p.stderr)
    p = d.ctl("user", "add", "grp", "--password-stdin", stdin="pw\n", check=False)
    T.ok(p.returncode == 1 and "is a paging group" in p.stderr,
         "user add with a group's name is refused", p.stderr)
    # Rooms and groups share the Request-URI's user part with users: one name, one meaning.
    p = d.ctl("room", "add", "grp", check=False)
    T.ok(p.returncode == 1 and "is a paging group" in p.stderr,
         "room add with a group's name is refused", p.stderr)
    d.ctl("room", "add", "hall")
    p = d.ctl("page", "add", "hall", "m1", check=False)
    T.ok(p.returncode == 1 and "is a conference room" in p.stderr,
         "page add with a room's name is refused", p.stderr)
    d.ctl("room", "del", "hall")
    d.ctl("page", "add", "solo", "m17")
    d.ctl("user", "del", "m17")
    T.ok([g["name"] for g in pages(d)] == ["grp"],
         "deleting a group's only member deletes the group (no foreign keys do it)", pages(d))
    d.add_user("m17", PW["m17"])
    rc = d.restart()
    T.ok(rc == 0 and pages(d) == [{"name": "grp", "members": ["m1", "m2", "m3", "m4"]}],
         "groups survive a restart (the store)", d.logtext()[-2000:])
finally:
    pass


# --- SIP: members played by this script -----------------------------------------------------
class Member(threading.Thread):
    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_ = name
        self.port = pg_port()
        self.sip = None
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp_port = self.rtp.getsockname()[1]
        self.tag = rand_token(8)
        self.invites, self.acks, self.byes, self.responses = [], [], [], []
        self.others = []	# any other request
        self.dialog = None	# (ksipd's address, the INVITE's header lines): for our own BYE
        self.packets = 0
        self.stop = False
        self.lock = threading.Lock()

    def register(self, d):
        """REGISTER from the port the member then listens on."""
        c = SipClient(d, bind_port=self.port)
        r, _ = c.register(self.name_, PW[self.name_],
                          ["<sip:%s@127.0.0.1:%d>" % (self.name_, self.port)])
        c.close()
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sip.bind(("127.0.0.1", self.port))
        return r is not None and r.code == 200

    def run(self):
        self.sip.settimeout(0.05)
        self.rtp.setblocking(False)
        while not self.stop:
            try:
                while True:
                    self.rtp.recv(2048)
                    with self.lock:
                        self.packets += 1
            except BlockingIOError:
                pass
            try:
                data, src = self.sip.recvfrom(65535)
            except socket.timeout:
                continue
            self.handle(data.decode(errors="replace"), src)

    def handle(self, text, src):
        head = text.split("\r\n\r\n", 1)[0]
        first = head.split("\r\n", 1)[0]
        if first.startswith("SIP/2.0"):
            self.responses.append(Response(text.encode()))
            return
        method = first.split(" ", 1)[0]
        hdrs = head.split("\r\n")[1:]
        keep = [h for h in hdrs if re.match(r"(?i)(via|from|to|call-id|cseq|record-route):", h)]
        if method == "INVITE":
            self.invites.append(text)
            time.sleep(getattr(self, "delay", 0))
            sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                   "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n" % self.rtp_port)
            out = ["SIP/2.0 200 OK"] + [h + (";tag=" + self.tag if re.match(r"(?i)to:", h) else "")
                                        for h in keep] + \
                  ["Contact: <sip:%s@127.0.0.1:%d>" % (self.name_, self.port),
                   "Content-Type: application/sdp", "Content-Length: %d" % len(sdp)]
            self.dialog = (src, hdrs)
            self.sip.sendto(("\r\n".join(out) + "\r\n\r\n" + sdp).encode(), src)
        elif method == "ACK":
            self.acks.append(text)
        elif method == "BYE":
            self.byes.append(text)
            out = ["SIP/2.0 200 OK"] + [h for h in keep if not re.match(r"(?i)record-route:", h)] + \
                  ["Content-Length: 0"]
            self.sip.sendto(("\r\n".join(out) + "\r\n\r\n").encode(), src)
        else:
            self.others.append(text)

    def count(self):
        with self.lock:
            return self.packets

    def bye(self):
        """A BYE in our dialog (we are its UAS: From is the INVITE's To with our tag)."""
        src, hdrs = self.dialog

        def get(n):
            return next(h.split(":", 1)[1].strip() for h in hdrs if h.lower().startswith(n + ":"))
        rr = [h.split(":", 1)[1].strip() for h in hdrs if h.lower().startswith("record-route:")]
        msg = ["BYE %s SIP/2.0" % re.search(r"<([^>]+)>", get("contact")).group(1),
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (self.port, rand_token()),
               "Max-Forwards: 70", "From: %s;tag=%s" % (get("to"), self.tag), "To: %s" % get("from"),
               "Call-ID: %s" % get("call-id"), "CSeq: 1 BYE"] + \
              ["Route: %s" % r for r in rr] + ["Content-Length: 0"]
        return ("\r\n".join(msg) + "\r\n\r\n").encode(), src

    def hang_up(self):
        """Our BYE, from our own socket; ksipd's answer."""
        data, src = self.bye()
        self.sip.sendto(data, src)
        wait_for(lambda: self.responses, 5)
        return self.responses[0] if self.responses else None


def wait_for(cond, limit=10.0):
    """Poll COND until true or LIMIT seconds pass (a bound on the wait, not an assertion)."""
    end = time.time() + limit
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class Caller:
    def __init__(self, d):
        self.d = d
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", pg_port()))
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.callid = rand_token(16) + "@pg"
        self.tag = rand_token(8)
        self.cseq = 0

    def send(self, method, ruri, extra=(), body="", cseq=None):
        self.cseq = cseq or self.cseq + 1
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (self.port, rand_token()),
                 "Max-Forwards: 70", "From: <sip:alice@%s>;tag=%s" % (REALM, self.tag),
                 "To: %s" % getattr(self, "to", "<%s>" % ruri), "Call-ID: %s" % self.callid,
                 "CSeq: %d %s" % (self.cseq, method),
                 "Contact: <sip:alice@127.0.0.1:%d>" % self.port] + list(extra)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), ("127.0.0.1", self.d.port))

    def recv(self, want=None, timeout=5.0):
        """The next response (with a code in WANT when given), skipping 1xx and keepalives."""
        end = time.time() + timeout
        while time.time() < end:
            self.sock.settimeout(max(0.05, end - time.time()))
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            if not data.startswith(b"SIP/2.0"):
                continue
            r = Response(data)
            if r.code >= 200 and (want is None or r.code in want):
                return r
        return None

    def sdp(self):
        return ("v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n" % self.rtp.getsockname()[1])

    def invite(self, ruri, password, extra=()):
        self.send("INVITE", ruri, extra=list(extra), body=self.sdp())
        r = self.recv()
        if not r or r.code != 407:
            return r
        ch = parse_challenge(r.get("proxy-authenticate"))
        from ksiptest import digest_response
        cn = rand_token(8)
        resp = digest_response("MD5", "alice", ch["realm"], password, "INVITE", ruri, ch["nonce"], 1, cn)
        auth = ('Digest username="alice", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=MD5, cnonce="%s", qop=auth, nc=00000001' % (ch["realm"], ch["nonce"], ruri,
                                                                       resp, cn))
        self.send("ACK", ruri, cseq=self.cseq)
        self.send("INVITE", ruri, extra=["Proxy-Authorization: " + auth] + list(extra),
                  body=self.sdp())
        return self.recv()

    def in_dialog(self, method, ok):
        self.to = ok.get("to")
        target = re.search(r"<([^>]+)>", ok.get("contact")).group(1)
        routes = [r for v in reversed(ok.all("record-route")) for r in reversed(v.split(", "))]
        self.last = (method, target, routes)
        self.send(method, target, extra=["Route: %s" % r for r in routes],
                  cseq=self.cseq if method == "ACK" else None)


def relay_of(ok):
    body = ok.raw.decode(errors="replace").split("\r\n\r\n", 1)[1]
    ip = re.search(r"c=IN IP4 (\S+)", body).group(1)
    port = int(re.search(r"m=audio (\d+)", body).group(1))
    return ip, port, body


d.ctl("user", "add", "m4x", "--password-stdin", stdin="pw\n")	# a user of no group
members = [Member("m%d" % i) for i in (1, 2, 3)]
T.ok(all(m.register(d) for m in members), "members m1, m2, m3 register (m4 has no phone)")
for m in members:
    m.start()
try:
    caller = Caller(d)
    caller.send("INVITE", "sip:grp@%s" % REALM, body=caller.sdp())
    r = caller.recv()
    T.ok(r is not None and r.code == 407 and not any(m.invites for m in members),
         "an INVITE to a group without credentials is challenged (407) and rings nobody",
         r and r.raw)
    caller.send("ACK", "sip:grp@%s" % REALM, cseq=caller.cseq)

    caller = Caller(d)
    caller.send("MESSAGE", "sip:grp@%s" % REALM)
    r = caller.recv()
    T.ok(r is not None and r.code == 407, "a MESSAGE to a group is challenged too", r and r.raw)

    # Authenticated, but not an INVITE: a group takes calls only.
    caller = Caller(d)
    caller.send("MESSAGE", "sip:grp@%s" % REALM, body="")
    r = caller.recv()
    if r is not None and r.code == 407:
        ch = parse_challenge(r.get("proxy-authenticate"))
        from ksiptest import digest_response
        ruri = "sip:grp@%s" % REALM
        resp = digest_response("MD5", "alice", ch["realm"], PW["alice"], "MESSAGE", ruri, ch["nonce"],
                               1, "c0ffee")
        caller.send("MESSAGE", ruri, extra=['Proxy-Authorization: Digest username="alice", '
                                            'realm="%s", nonce="%s", uri="%s", response="%s", '
                                            'algorithm=MD5, cnonce="c0ffee", qop=auth, nc=00000001'
                                            % (ch["realm"], ch["nonce"], ruri, resp)])
        r = caller.recv()
    T.ok(r is not None and r.code == 405 and "INVITE" in (r.get("allow") or ""),
         "an authenticated MESSAGE to a group: 405 with Allow", r and r.raw)

    # A member whose answer aims its media at ksipd's own relay port: no copies (they would loop).
    evil = Member("m7")
    T.ok(evil.register(d), "m7 registers (a member that lies in its SDP)")
    evil.rtp_port = RTP_MIN + 1	# ksipd's relay range: its SDP names 127.0.0.1:32001
    evil.start()
    d.ctl("page", "add", "liar", "m8", "m7")
    real = Member("m8")
    T.ok(real.register(d), "m8 registers")
    real.start()
    evil.delay = 0.3	# answers second: its copies would be an output of the call's flow
    c = Caller(d)
    r = c.invite("sip:liar@%s" % REALM, PW["alice"])
    T.ok(r is not None and r.code == 200 and real.tag in (r.get("to") or ""),
         "the page to m7 and m8 is answered, m8 first", r and r.raw)
    if r is not None:
        c.in_dialog("ACK", r)
    wait_for(lambda: evil.acks and real.acks, 5)
    log = d.logtext()
    T.ok(evil.acks and "media address is refused: the collector is one of ksipd's relay ports" in log,
         "a member whose answer names ksipd's relay port is ACKed but gets no copies (logged)",
         log[-1500:])
    if r is not None:
        c.in_dialog("BYE", r)
        c.recv()
    wait_for(lambda: evil.byes and real.byes, 5)
    for m in (evil, real):
        m.stop = True
    d.ctl("page", "del", "liar")

    # A group none of whose members has a phone: nobody to ring.
    d.ctl("page", "add", "empty", "m5", "m6")
    caller = Caller(d)
    r = caller.invite("sip:empty@%s" % REALM, PW["alice"])
    T.ok(r is not None and r.code == 480, "a group with no phone registered: 480", r and r.raw)
    if r is not None:
        caller.send("ACK", "sip:empty@%s" % REALM, cseq=caller.cseq)

    # The caller's own auto-answer headers are left out; ksipd writes the page's.
    OWN = ["Call-Info: <sip:evil.example>;answer-after=9", "Answer-Mode: Auto",
           "Alert-Info: <http://x.example/>;info=intercom", "Call-Info: <http://x.example/a.png>;purpose=icon"]
    caller = Caller(d)
    ok = caller.invite("sip:grp@%s" % REALM, PW["alice"], OWN)
    T.ok(ok is not None and ok.code == 200, "the authenticated INVITE to the group gets 200",
         ok and ok.raw)
    T.ok(wait_for(lambda: all(m.invites for m in members)),
         "each registered member gets the INVITE", [len(m.invites) for m in members])
    T.ok(all(len(m.invites) == 1 for m in members), "exactly one each (m4, not registered, skipped)",
         [len(m.invites) for m in members])
    ci = "Call-Info: <sip:%s>;answer-after=0" % REALM
    ai = "Alert-Info: <http://www.notused.com>;info=alert-autoanswer"
    T.ok(all(m.invites and ci in m.invites[0] and ai in m.invites[0] for m in members),
         "each forwarded INVITE carries Call-Info answer-after=0 and Alert-Info autoanswer",
         members[0].invites[:1])
    T.ok(all(m.invites and len(re.findall(r"answer-after", m.invites[0])) == 1 and
             "Answer-Mode" not in m.invites[0] and "intercom" not in m.invites[0] and
             "purpose=icon" in m.invites[0] for m in members),
         "and none of the caller's own auto-answer headers (its other Call-Info passes)",
         members[0].invites[:1])
    offered = [int(re.search(r"m=audio (\d+)", m.invites[0]).group(1)) if m.invites else 0
               for m in members]
    T.ok(all(RTP_MIN <= o < RTP_MIN + 100 for o in offered) and len(set(offered)) == 3,
         "each member is offered a relay port pair of its own (%s)" % offered,
         members[0].invites[:1])
    ip, port, body = relay_of(ok)
    T.ok(ip == "127.0.0.1" and RTP_MIN <= port < RTP_MIN + 100 and port not in offered,
         "the caller's answer points at the relay (the call's own port)", body)
    caller.in_dialog("ACK", ok)
    T.ok(wait_for(lambda: all(m.acks for m in members)),
         "every member's 200 is ACKed (one by the caller, the others by ksipd)",
         [len(m.acks) for m in members])

    N = 50
    pkt = b"\x80\x00" + b"\x00" * 10 + b"\xd5" * 160
    for i in range(N):
        caller.rtp.sendto(pkt[:2] + i.to_bytes(2, "big") + pkt[4:], (ip, port))
        time.sleep(0.002)
    T.ok(wait_for(lambda: all(m.count() >= N for m in members)),
         "every RTP packet of the caller reaches every member (%d each)" % N,
         [m.count() for m in members])
    # One-way: what a member sends to the port it was offered reaches nobody.
    for m, o in zip(members, offered):
        for i in range(10):
            m.rtp.sendto(pkt, ("127.0.0.1", o))
    time.sleep(0.3)	# only lets stray packets arrive; the check below does not depend on it
    caller.rtp.setblocking(False)
    heard = 0
    try:
        while True:
            caller.rtp.recv(2048)
            heard += 1
    except BlockingIOError:
        pass
    T.ok(heard == 0 and all(m.count() == N for m in members),
         "the members' own packets reach neither the caller nor each other (one-way)",
         (heard, [m.count() for m in members]))
    calls = [c for c in json.loads(d.ctl("--json", "call", "list").stdout) if c["state"] != "ended"]
    T.ok(len(calls) == 1 and calls[0]["state"] == "confirmed" and calls[0]["callee"] == "grp",
         "ksipctl call list: one page call in progress", calls)

    # A recording tap on the page: its copies join the members' outputs, neither replaces the other.
    coll = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    coll.bind(("127.0.0.1", 0))
    coll.setblocking(False)
    p = d.ctl("call", "tap", str(calls[0]["id"]), "127.0.0.1:%d" % coll.getsockname()[1],
              check=False)
    T.ok(p.returncode == 0, "the page call can be tapped", p.stderr)
    base = [m.count() for m in members]
    for i in range(N):
        caller.rtp.sendto(pkt, (ip, port))
        time.sleep(0.002)
    got = [0]

    def collected():
        try:
            while True:
                coll.recv(2048)
                got[0] += 1
        except BlockingIOError:
            pass
        return got[0] >= N
    T.ok(wait_for(lambda: all(m.count() >= b + N for m, b in zip(members, base))) and
         wait_for(collected),
         "with the tap, every member and the collector get every packet",
         ([m.count() - b for m, b in zip(members, base)], got[0]))
    coll.close()

    # One member hangs up: 200 from ksipd, and it hears no more.
    # ksipd's own ACK has one Via (its own); the caller's, forwarded, has two.
    gone = next(m for m in members if m.acks and len(re.findall(r"(?im)^via:", m.acks[0])) == 1)
    # The same BYE from another port (tags travel in clear): not the member, nothing ends.
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    other.settimeout(2)
    data, src = gone.bye()
    other.sendto(data, src)
    try:
        spoof = Response(other.recvfrom(65535)[0])
    except socket.timeout:
        spoof = None
    other.close()
    base_gone = gone.count()
    for i in range(10):
        caller.rtp.sendto(pkt, (ip, port))
    T.ok((spoof is None or spoof.code != 200) and wait_for(lambda: gone.count() >= base_gone + 10),
         "a BYE in a member's dialog from another port is not the member's: it still hears the page",
         spoof and spoof.raw)
    r = gone.hang_up()
    T.ok(r is not None and r.code == 200, "a member ksipd answered for hangs up: 200 from ksipd",
         r and r.raw)
    before = gone.count()
    stay = [m for m in members if m is not gone]
    base = [m.count() for m in stay]
    for i in range(N):
        caller.rtp.sendto(pkt, (ip, port))
        time.sleep(0.002)
    T.ok(wait_for(lambda: all(m.count() >= b + N for m, b in zip(stay, base))),
         "the others still get every packet", [m.count() for m in stay])
    T.ok(gone.count() == before, "the member that hung up gets none", (before, gone.count()))

    # The callee (its 200 went to the caller, who ACKed it: two Vias) hangs up: the page goes on.
    callee = next(m for m in stay if m.acks and len(re.findall(r"(?im)^via:", m.acks[0])) == 2)
    listener = next(m for m in stay if m is not callee)

    def requests_to_caller(limit):
        """Requests (not responses) reaching the caller's SIP socket within LIMIT seconds."""
        got, end = [], time.time() + limit
        while time.time() < end:
            caller.sock.settimeout(max(0.05, end - time.time()))
            try:
                data = caller.sock.recvfrom(65535)[0]
            except socket.timeout:
                break
            if not data.startswith(b"SIP/2.0"):
                got.append(data.decode(errors="replace"))
        return got
    callee.responses.clear()
    r = callee.hang_up()
    T.ok(r is not None and r.code == 200,
         "the callee (the caller's dialog) hangs up while a member listens: 200 from ksipd",
         r and r.raw)
    # (Her socket also holds retransmissions of the earlier spoofed BYE: another dialog.)
    got = [x for x in requests_to_caller(1.0) if x.startswith("BYE") and
           re.search(r"(?im)^from:.*;tag=%s\b" % callee.tag, x)]
    T.ok(not got, "the caller gets no BYE: the page goes on", got)
    before_callee, base = callee.count(), listener.count()
    for i in range(N):
        caller.rtp.sendto(pkt, (ip, port))
        time.sleep(0.002)
    T.ok(wait_for(lambda: listener.count() >= base + N) and callee.count() == before_callee,
         "the member left gets every packet (in the callee's place), the callee none",
         (listener.count() - base, callee.count() - before_callee))
    callee.responses.clear()
    r = callee.hang_up()
    T.ok(r is not None and r.code == 200, "the callee's BYE again (our 200 lost): 200 again",
         r and r.raw)
    # Its dialog is over: anything else it sends in it gets 481 from ksipd, reaching nobody.
    data, src = callee.bye()
    callee.responses.clear()
    callee.sip.sendto(data.replace(b"BYE ", b"INFO ", 1).replace(b"CSeq: 1 BYE", b"CSeq: 2 INFO"),
                      src)
    wait_for(lambda: callee.responses, 5)
    r = callee.responses[0] if callee.responses else None
    T.ok(r is not None and r.code == 481 and
         not [x for x in requests_to_caller(0.5) if x.startswith("INFO")],
         "the old callee's INFO in its dialog: 481 from ksipd, nothing to the caller", r and r.raw)
    caller.in_dialog("INVITE", ok)
    r = caller.recv()
    T.ok(r is not None and r.code == 488, "the caller's re-INVITE: 488 from ksipd (nothing to "
         "renegotiate)", r and r.raw)
    caller.send("ACK", caller.last[1], extra=["Route: %s" % x for x in caller.last[2]],
                cseq=caller.cseq)
    caller.in_dialog("INFO", ok)
    r = caller.recv()
    T.ok(r is not None and r.code == 480, "the caller's INFO: 480 from ksipd", r and r.raw)
    T.ok(len(callee.invites) == 1 and not callee.others and len(callee.acks) == 1,
         "none of it (re-INVITE, ACK, INFO) reaches the callee that left",
         (len(callee.invites), len(callee.acks), callee.others))
    calls = [c for c in json.loads(d.ctl("--json", "call", "list").stdout) if c["state"] != "ended"]
    T.ok(len(calls) == 1 and calls[0]["state"] == "confirmed",
         "the page is still one confirmed call", calls)

    caller.in_dialog("BYE", ok)
    r = caller.recv()
    T.ok(r is not None and r.code == 200, "the caller hangs up: 200 (from ksipd)", r and r.raw)
    T.ok(wait_for(lambda: listener.byes), "the member still in the page gets a BYE",
         len(listener.byes))
    T.ok(not gone.byes and not callee.byes, "the members that left get none",
         (gone.byes, callee.byes))
    st = {}

    def idle():
        st.update(json.loads(d.ctl("--json", "stats").stdout))
        return st["calls_active"] == 0 and st["relay_ports_in_use"] == 0 and st["relay_streams"] == 0
    T.ok(wait_for(idle), "no call, relay port (the members' own included) or stream is left",
         {k: st.get(k) for k in ("calls_active", "relay_ports_in_use", "relay_streams")})

    # A plain call: the caller's auto-answer headers are dropped (auto_answer_headers = drop)...
    def direct(m):
        c = Caller(d)
        before = len(m.invites)
        r = c.invite("sip:%s@%s" % (m.name_, REALM), PW["alice"], OWN)
        got = m.invites[before] if wait_for(lambda: len(m.invites) > before, 5) else ""
        if r is not None and r.code == 200:
            c.in_dialog("ACK", r)
            c.in_dialog("BYE", r)
            c.recv()
        return got
    got = direct(stay[0])
    T.ok(got and "answer-after" not in got and "Answer-Mode" not in got and "intercom" not in got
         and "purpose=icon" in got,
         "a call to a user: the caller's auto-answer headers are left out by default", got)
    # ... and forwarded with auto_answer_headers = pass.
    d.conf["auto_answer_headers"] = "pass"
    d.restart()
    got = direct(stay[0])
    T.ok(got and "answer-after=9" in got and "Answer-Mode: Auto" in got and "intercom" in got,
         "with auto_answer_headers = pass they reach the callee", got)
finally:
    for m in members:
        m.stop = True
    rc = d.stop()
    T.ok(rc == 0, "ksipd exits cleanly (no sanitizer report)", d.logtext()[-3000:])
    if os.environ.get("PG_KEEP"):
        print("# kept " + d.dir)
    else:
        d.cleanup()
T.done()
