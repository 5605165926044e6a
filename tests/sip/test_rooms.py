#!/usr/bin/env python3
"""Conference rooms (issue 17): ksipctl room, and ksipd as the focus, on loopback.

    member (Python UA, UDP)  --SIP-->  ksipd (focus)  --RTP-->  mixer room
      alice 500 Hz, bob 1000 Hz, carol 700 Hz ... each its own tone, PCMU or PCMA

The members here are this script: each registers nothing (rooms need no
binding), authenticates its INVITE (407), ACKs the 200, and sends 20 ms G.711
packets of its own tone to the port the focus's answer names while it records
what comes back. A member must hear every other member's tone and not its
own; a member that left, or that has not keyed the room's PIN, is not heard.
The hostile side: unknown rooms, offers without G.711, full rooms, INFO
bodies that are huge or malformed, PINs guessed until the focus hangs up.
"""
import json
import math
import os
import re
import socket
import struct
import threading
import time

from ksiptest import Ksipd, SipClient, Tap, rand_token

T = Tap()
RTP_MIN = 30000 + (os.getpid() % 10) * 200	# this test's relay ports: 30000-31999
PASSWORDS = {u: u + "-pw-r7" for u in ("alice", "bob", "carol", "dave", "eve", "mallory")}
HZ = {"alice": 500, "bob": 1000, "carol": 700, "dave": 1300, "eve": 1700, "mallory": 1900}
REALM = "ksip.test"
PROMPT_HZ = 440		# the mixer's PIN prompt (daemon/mixer/prompt.c): no member's tone


# --- G.711 (ITU-T G.711), to send tones and read what comes back -----------------

def ulaw_enc(x):
    sign = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 0x84
    exp = next((e for e in range(7, -1, -1) if x & (0x80 << e)), 0)
    return ~(sign | (exp << 4) | ((x >> (exp + 3)) & 0x0F)) & 0xFF


def ulaw_dec(b):
    b = ~b & 0xFF
    t = (((b & 0x0F) << 3) + 0x84) << ((b & 0x70) >> 4)
    return (0x84 - t) if b & 0x80 else (t - 0x84)


def alaw_enc(x):
    sign = 0x80 if x >= 0 else 0
    x = min(abs(x), 32767) >> 3
    if x < 32:
        v = x >> 1
    else:
        exp = next(e for e in range(7, 0, -1) if x >= (16 << e))
        v = (exp << 4) | ((x >> exp) & 0x0F)
    return (v | sign) ^ 0x55


def alaw_dec(b):
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


ULAW_DEC = [ulaw_dec(i) for i in range(256)]
ALAW_DEC = [alaw_dec(i) for i in range(256)]


def goertzel_share(samples, hz, rate=8000):
    """The part of SAMPLES' energy at HZ (0..1)."""
    n = len(samples)
    energy = sum(x * x for x in samples)
    if not n or not energy:
        return 0.0
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - k * s1 * s2) * 2 / (n * energy)


# --- a member: SIP dialog with the focus, RTP in and out --------------------------

def offer(port, pts, dtmf=True, v6=False):
    names = {0: "PCMU/8000", 8: "PCMA/8000", 18: "G729/8000", 9: "G722/8000"}
    fmts = list(pts) + ([101] if dtmf else [])
    addr = "IP6 ::1" if v6 else "IP4 127.0.0.1"
    body = ("v=0\r\no=- 1 1 IN %s\r\ns=-\r\nc=IN %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP %s\r\n" % (addr, addr, port, " ".join(map(str, fmts))))
    for pt in pts:
        body += "a=rtpmap:%d %s\r\n" % (pt, names[pt])
    if dtmf:
        body += "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
    return body + "a=ptime:20\r\na=sendrecv\r\n"


class Member:
    def __init__(self, d, user, room, pts=(0,), dtmf=True, hz=None, v6=False):
        self.d, self.user, self.room, self.v6 = d, user, room, v6
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        self.sip = SipClient(d, family=fam)
        self.rtp = socket.socket(fam, socket.SOCK_DGRAM)
        self.rtp.bind(("::1" if v6 else "127.0.0.1", 0))
        self.rtp.settimeout(0.05)
        self.port = self.rtp.getsockname()[1]
        self.pts, self.dtmf = pts, dtmf
        self.hz = hz or HZ[user]
        self.call_id = rand_token(16) + "@rooms"
        self.tag = rand_token(8)
        self.cseq = 0
        self.remote_tag = self.target = None
        self.relay = None
        self.pt = None
        self.contact = "<sip:%s@%s>" % (user, self.sip.hostport(self.sip.local))
        self.received = []		# (pt, payload) of every RTP packet that came back
        self.requests = []		# requests the focus sent us (BYE)
        self.stop_rtp = threading.Event()
        self.sending = threading.Event()
        self.sending.set()
        self.thread = None
        self.seq, self.ts = 0, 0

    def request(self, method, body="", ctype="application/sdp", auth=None, to_tag=None, branch=None,
                cseq=None, extra=""):
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        tt = to_tag if to_tag is not None else self.remote_tag
        lines = ["%s %s SIP/2.0" % (method, self.target or "sip:%s@%s" % (self.room, REALM)),
                 "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport" % (self.sip.hostport(self.sip.local),
                                                               branch or rand_token()),
                 "Max-Forwards: 70",
                 "From: <sip:%s@%s>;tag=%s" % (self.user, REALM, self.tag),
                 "To: <sip:%s@%s>%s" % (self.room, REALM, ";tag=" + tt if tt else ""),
                 "Call-ID: " + self.call_id,
                 "CSeq: %d %s" % (cseq, method),
                 "Contact: " + self.contact]
        if auth:
            lines.append("Proxy-Authorization: " + auth)
        if extra:
            lines += extra.rstrip("\r\n").split("\r\n")
        if body:
            lines.append("Content-Type: " + ctype)
        lines.append("Content-Length: %d" % len(body.encode()))
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def wait(self, cseq_method, timeout=4):
        """The final response to our CSeq_METHOD request; requests that come meanwhile are kept."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.sip.recv(max(0.05, deadline - time.time()))
            if r is None:
                continue
            if r.code == 0:
                self.answer_request(r)
                continue
            if r.get("call-id") == self.call_id and r.code >= 200 and \
                    (r.get("cseq") or "").endswith(cseq_method):
                return r
        return None

    def answer_request(self, r):
        """A request from the focus (its BYE): 200, as a UA does."""
        self.requests.append(r)
        lines = ["SIP/2.0 200 OK"] + ["%s: %s" % (k.title(), v) for k, v in r.headers
                                      if k in ("via", "from", "to", "call-id", "cseq")]
        self.sip.send(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())

    def join(self, sdp=None):
        """INVITE the room (407, then with credentials); the final response. ACKs a 200."""
        body = sdp if sdp is not None else offer(self.port, self.pts, self.dtmf, self.v6)
        branch = rand_token()
        self.sip.send(self.request("INVITE", body, to_tag="", branch=branch))
        r = self.wait("INVITE")
        if r is None or r.code != 407:
            return r
        tag = re.search(r";tag=([^;>\s]+)", r.get("to")).group(1)
        self.sip.send(self.request("ACK", to_tag=tag, branch=branch, cseq=self.cseq))
        auth = self.sip.authorization(r.get("proxy-authenticate"), self.user, PASSWORDS[self.user],
                                      method="INVITE", uri="sip:%s@%s" % (self.room, REALM))
        self.sip.send(self.request("INVITE", body, auth=auth, to_tag=""))
        r = self.wait("INVITE")
        if r is not None and r.code == 200:
            self.confirm(r)
        elif r is not None and r.code >= 300:
            tag = re.search(r";tag=([^;>\s]+)", r.get("to") or "")
            via = re.search(r"branch=([^;\s]+)", r.get("via")).group(1)[len("z9hG4bK"):]
            self.sip.send(self.request("ACK", to_tag=tag.group(1) if tag else "", branch=via,
                                       cseq=self.cseq))
        return r

    def confirm(self, ok):
        self.remote_tag = re.search(r";tag=([^;>\s]+)", ok.get("to")).group(1)
        self.target = re.search(r"<([^>]+)>", ok.get("contact")).group(1)
        body = ok.raw.split(b"\r\n\r\n", 1)[1].decode()
        self.answer = body
        port = int(re.search(r"m=audio (\d+)", body).group(1))
        ip = re.search(r"c=IN IP[46] (\S+)", body).group(1)
        self.relay = (ip, port)
        self.pt = int(re.search(r"m=audio \d+ RTP/AVP (\d+)", body).group(1))
        m = re.search(r"a=rtpmap:(\d+) telephone-event", body)
        self.dtmf_pt = int(m.group(1)) if m else None
        self.sip.send(self.request("ACK", cseq=self.cseq))

    def bye(self):
        self.sip.send(self.request("BYE"))
        return self.wait("BYE")

    # RTP
    def start_media(self):
        self.thread = threading.Thread(target=self._media, daemon=True)
        self.thread.start()

    def _packet(self):
        enc = alaw_enc if self.pt == 8 else ulaw_enc
        payload = bytes(enc(int(12000 * math.sin(2 * math.pi * self.hz * (self.ts + k) / 8000)))
                        for k in range(160))
        pkt = struct.pack("!BBHII", 0x80, self.pt, self.seq & 0xFFFF, self.ts & 0xFFFFFFFF,
                          hash(self.user) & 0xFFFFFFFF) + payload
        self.seq += 1
        self.ts += 160
        return pkt

    def _media(self):
        nxt = time.monotonic()
        while not self.stop_rtp.is_set():
            now = time.monotonic()
            if now >= nxt:
                if self.sending.is_set():
                    self.rtp.sendto(self._packet(), self.relay)
                nxt += 0.02
                if nxt < now - 0.2:
                    nxt = now
            try:
                data, _ = self.rtp.recvfrom(2048)
                if len(data) >= 12:
                    self.received.append((data[1] & 0x7F, data[12:]))
            except socket.timeout:
                pass
            except OSError:
                return

    def send_dtmf(self, digits):
        """RFC 4733 events for DIGITS: 3 packets each, the last with the end bit sent 3 times."""
        codes = {str(i): i for i in range(10)}
        codes.update({"*": 10, "#": 11})
        self.sending.clear()
        time.sleep(0.05)
        for d in digits:
            for i in range(6):
                end = 0x80 if i >= 3 else 0
                dur = 160 * (i + 1) if i < 3 else 160 * 4
                pkt = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | self.dtmf_pt,
                                  self.seq & 0xFFFF, self.ts & 0xFFFFFFFF, hash(self.user) & 0xFFFFFFFF)
                pkt += struct.pack("!BBH", codes[d], end | 10, dur)
                self.rtp.sendto(pkt, self.relay)
                self.seq += 1
                time.sleep(0.02)
            self.ts += 160 * 6
            time.sleep(0.06)
        self.sending.set()

    def audio(self, since=0):
        """Decoded samples of what came back from index SINCE, in our codec only."""
        dec = ALAW_DEC if self.pt == 8 else ULAW_DEC
        out = []
        for pt, payload in self.received[since:]:
            if pt == self.pt:
                out.extend(dec[b] for b in payload)
        return out

    def close(self):
        self.stop_rtp.set()
        if self.thread:
            self.thread.join(2)
        self.rtp.close()
        self.sip.close()


def rooms(d):
    return {r["name"]: r for r in json.loads(d.ctl("--json", "room", "list").stdout)}


def hears(m, others, since, label):
    """M's audio from index SINCE holds each of OTHERS' tones and not its own."""
    s = m.audio(since)[-8000 * 2:]	# the last 2 s at most
    shares = {o.user: goertzel_share(s, o.hz) for o in others}
    own = goertzel_share(s, m.hz)
    T.ok(len(s) >= 4000 and all(v > 0.08 for v in shares.values()) and own < 0.02,
         "%s: %s hears %s and not itself" % (label, m.user, ", ".join(o.user for o in others) or "nobody"),
         "samples %d, shares %s, own %.4f" % (len(s), shares, own))


def settle(members, seconds=2.5):
    time.sleep(seconds)
    return [len(m.received) for m in members]


# --- the scenarios ----------------------------------------------------------------

def ctl_commands(d):
    def fails(args, what, needle):
        p = d.ctl(*args, check=False)
        T.ok(p.returncode != 0 and needle in p.stderr, "room add refuses %s" % what, p.stderr)

    fails(["room", "add", "bad room"], "a name that is no SIP user part", "invalid room name")
    fails(["room", "add", "x" * 70], "a name longer than 63 bytes", "invalid room name")
    fails(["room", "add", "alice"], "a user's name", "is a user")
    fails(["room", "add", "r0", "--pin", "12a4"], "a PIN with a letter", "--pin")
    fails(["room", "add", "r0", "--pin", "1" * 17], "a PIN of 17 digits", "--pin")
    fails(["room", "add", "r0", "--pin", ""], "an empty PIN", "--pin")
    fails(["room", "add", "r0", "--max", "1"], "--max 1", "--max")
    fails(["room", "add", "r0", "--max", "65"], "--max 65", "--max")
    fails(["room", "add", "r0", "--max", "x"], "--max x", "--max")
    p = d.ctl("--json", "room", "add", "r0", "--pin", "0042", "--max", "3", check=False)
    T.ok(p.returncode == 0 and json.loads(p.stdout) == {"room": "r0", "result": "added"},
         "room add r0 --pin --max --json answers JSON", p.stdout + p.stderr)
    fails(["room", "add", "r0"], "a room that exists", "exists")
    p = d.ctl("user", "add", "r0", "--password-stdin", stdin="pw\n", check=False)
    T.ok(p.returncode != 0 and "conference room" in p.stderr, "user add refuses a room's name",
         p.stderr)
    r = rooms(d).get("r0")
    T.ok(r == {"name": "r0", "pin": True, "max_members": 3, "members": []},
         "room list --json: r0 with a PIN (not shown), 3 members at most, empty", r)
    p = d.ctl("room", "list")
    T.ok(p.returncode == 0 and re.search(r"^r0\s+yes\s+0/3", p.stdout, re.M) and "0042" not in p.stdout,
         "room list (table) shows r0 and never its PIN", p.stdout)
    p = d.ctl("room", "add", "r1", check=False)
    T.ok(p.returncode == 0 and rooms(d)["r1"]["max_members"] == 4,
         "a room without --max takes room_max_members (4 here)", p.stdout + p.stderr)
    for args, what in ((["room", "del", "nosuch"], "room del of an unknown room"),
                       (["room", "kick", "nosuch", "alice"], "room kick in an unknown room"),
                       (["room", "kick", "r1", "alice"], "room kick of someone not there"),
                       (["room", "kick", "r1"], "room kick without a member")):
        p = d.ctl(*args, check=False)
        T.ok(p.returncode != 0, "%s fails" % what, p.stdout + p.stderr)
    p = d.ctl("room", "add", "json", check=False)
    q = d.ctl("room", "del", "json", check=False)
    T.ok(p.returncode == 0 and q.returncode == 0 and "json" not in rooms(d),
         "a room named 'json' is added and deleted (the name is not taken for --json)",
         p.stderr + q.stderr)
    p = d.ctl("--json", "room", "del", "r0", check=False)
    T.ok(p.returncode == 0 and json.loads(p.stdout)["result"] == "deleted" and "r0" not in rooms(d),
         "room del --json removes r0", p.stdout + p.stderr)
    d.restart()
    T.ok("r1" in rooms(d) and rooms(d)["r1"]["max_members"] == 4, "rooms outlive a restart (SQLite)")


def refusals(d):
    m = Member(d, "alice", "nosuch")
    r = m.join()
    T.ok(r is not None and r.code == 404, "INVITE to no user and no room: 404", r and r.raw)
    m.close()
    m = Member(d, "alice", "r1", pts=(18, 9))
    r = m.join()
    T.ok(r is not None and r.code == 488, "an offer without G.711 (G.729, G.722): 488 '%s'"
         % (r.reason if r else ""), r and r.raw)
    m.close()
    m = Member(d, "alice", "r1")
    sdp = offer(m.port, (0,)).replace("RTP/AVP", "RTP/SAVP")
    r = m.join(sdp)
    T.ok(r is not None and r.code == 488, "an SRTP-only offer: 488", r and r.raw)
    m.close()
    m = Member(d, "alice", "r1")
    m.sip.send(m.request("INVITE", offer(m.port, (0,)), to_tag=""))
    r = m.wait("INVITE")
    T.ok(r is not None and r.code == 407, "an INVITE to a room without credentials: 407", r and r.raw)
    m.close()


def mixing(d, room, users, codecs, label, v6=()):
    """USERS join ROOM (codecs[i] offered; those in V6 over IPv6), each sends its tone; each
    hears the others only."""
    ms = [Member(d, u, room, pts=c, v6=u in v6) for u, c in zip(users, codecs)]
    ok = True
    for m in ms:
        r = m.join()
        ok &= T.ok(r is not None and r.code == 200, "%s: %s joins %s (200)" % (label, m.user, room),
                   r and r.raw)
    if not ok:
        for m in ms:
            m.close()
        return None
    for m in ms:
        m.start_media()
    marks = settle(ms)
    time.sleep(2.0)
    for i, m in enumerate(ms):
        hears(m, [o for o in ms if o is not m], marks[i], label)
    return ms


def scenario_three(d):
    d.ctl("room", "add", "three", "--max", "3")
    ms = mixing(d, "three", ["alice", "bob", "carol"], [(0,), (0,), (0,)], "3 members (carol IPv6)",
                v6=("carol",))
    if not ms:
        return
    info = rooms(d)["three"]
    T.ok(len(info["members"]) == 3 and all(x["admitted"] and x["rx_packets"] > 50 and
                                           x["tx_packets"] > 50 for x in info["members"]),
         "room list: 3 admitted members, packets counted both ways", info)
    T.ok({x["user"] for x in info["members"]} == {"alice", "bob", "carol"},
         "room list names the members by user", info)
    T.ok(ms[2].relay[0] == "::1" and "c=IN IP6 ::1" in ms[2].answer,
         "carol (IPv6) gets the focus's IPv6 address in her answer", ms[2].answer)
    full = Member(d, "dave", "three")
    r = full.join()
    T.ok(r is not None and r.code == 486 and "Full" in r.reason,
         "a 4th member of a room of 3: 486 Room Full", r and r.raw)
    full.close()
    # the same dialog's INVITE again, without a To tag: no second member
    a = ms[0]
    target, a.target = a.target, None	# to the room again, as an initial INVITE
    a.sip.send(a.request("INVITE", offer(a.port, (0,)), to_tag=""))
    r = a.wait("INVITE")
    T.ok(r is not None and r.code in (407, 482), "an INVITE repeating a member's dialog (no To tag) "
         "makes no second member (%s)" % (r.code if r else None), r and r.raw)
    if r is not None and r.code == 407:
        auth = a.sip.authorization(r.get("proxy-authenticate"), a.user, PASSWORDS[a.user],
                                   method="INVITE", uri="sip:three@" + REALM)
        a.sip.send(a.request("INVITE", offer(a.port, (0,)), to_tag="", auth=auth))
        r = a.wait("INVITE")
        T.ok(r is not None and r.code == 482, "with credentials: 482 Merged Request", r and r.raw)
    a.target = target
    T.ok(len(rooms(d)["three"]["members"]) == 3, "still 3 members")
    # OPTIONS and a re-INVITE inside a member's dialog
    a.sip.send(a.request("OPTIONS"))
    r = a.wait("OPTIONS")
    T.ok(r is not None and r.code == 200 and "INFO" in (r.get("allow") or ""),
         "OPTIONS in a member's dialog: 200 with Allow", r and r.raw)
    a.sip.send(a.request("INVITE", offer(a.port, (0,))))
    r = a.wait("INVITE")
    same = r is not None and r.code == 200 and r.raw.split(b"\r\n\r\n", 1)[1].decode() == a.answer
    T.ok(same, "a re-INVITE with the same offer gets the same answer (same o= version)", r and r.raw)
    if r is not None and r.code == 200:
        a.sip.send(a.request("ACK", cseq=a.cseq))
    a.sip.send(a.request("INVITE", offer(a.port, (8,))))
    r = a.wait("INVITE")
    T.ok(r is not None and r.code == 488, "a re-INVITE that drops the member's codec: 488", r and r.raw)
    # a member leaving stops being heard
    c = ms[2]
    r = c.bye()
    T.ok(r is not None and r.code == 200, "carol's BYE: 200", r and r.raw)
    time.sleep(0.5)
    marks = [len(m.received) for m in ms[:2]]
    time.sleep(2.5)
    for i, m in enumerate(ms[:2]):
        s = m.audio(marks[i])
        other = ms[1 - i]
        share_c = goertzel_share(s, c.hz)
        T.ok(len(s) >= 8000 and share_c < 0.02 and goertzel_share(s, other.hz) > 0.3,
             "after carol left, %s hears %s and no more carol" % (m.user, other.user),
             "samples %d, carol %.4f, %s %.4f" % (len(s), share_c, other.user,
                                                  goertzel_share(s, other.hz)))
    T.ok(len(rooms(d)["three"]["members"]) == 2, "room list: 2 members after the BYE")
    # kick: the focus sends bob a BYE
    p = d.ctl("--json", "room", "kick", "three", "bob", check=False)
    b = ms[1]
    b.wait("NOTHING", timeout=1.5)
    T.ok(p.returncode == 0 and json.loads(p.stdout).get("hung_up") == 1 and
         any(x.raw.startswith(b"BYE ") for x in b.requests),
         "room kick three bob: bob gets a BYE from the focus", (p.stdout, p.stderr, b.requests))
    bye = next((x for x in b.requests if x.raw.startswith(b"BYE ")), None)
    T.ok(bye is not None and b.tag in (bye.get("to") or "") and b.remote_tag in (bye.get("from") or ""),
         "the BYE is in bob's dialog (his tag in To, the focus's in From)", bye and bye.raw)
    # room del: the last member gets a BYE
    d.ctl("room", "del", "three")
    a.wait("NOTHING", timeout=1.5)
    T.ok(any(x.raw.startswith(b"BYE ") for x in a.requests), "room del: alice gets a BYE")
    for m in ms:
        m.close()


def scenario_five_mixed_laws(d):
    d.ctl("room", "add", "five", "--max", "5")
    ms = mixing(d, "five", ["alice", "bob", "carol", "dave", "eve"],
                [(0,), (8,), (8, 0), (0, 8), (18, 8)], "5 members, PCMU and PCMA")
    if not ms:
        return
    laws = {x["user"]: x["codec"] for x in rooms(d)["five"]["members"]}
    T.ok(laws == {"alice": "PCMU", "bob": "PCMA", "carol": "PCMA", "dave": "PCMU", "eve": "PCMA"},
         "each member gets the first G.711 law of its offer", laws)
    for m in ms:
        m.close()
    d.ctl("room", "del", "five")


def scenario_pin(d):
    d.ctl("room", "add", "locked", "--pin", "4321")
    a, b = Member(d, "alice", "locked"), Member(d, "bob", "locked")
    for m in (a, b):
        r = m.join()
        if not T.ok(r is not None and r.code == 200,
                    "PIN room: %s is answered (200) before its PIN" % m.user, r and r.raw):
            a.close()
            b.close()
            return
        m.start_media()
    time.sleep(1.0)
    st = {x["user"]: x["admitted"] for x in rooms(d)["locked"]["members"]}
    T.ok(st == {"alice": False, "bob": False}, "before their PINs, neither is admitted", st)
    mark = len(b.received)
    time.sleep(1.5)
    s = b.audio(mark)
    T.ok(len(s) >= 4000 and goertzel_share(s, a.hz) < 0.02, "bob does not hear alice before the PIN",
         "samples %d, alice %.4f" % (len(s), goertzel_share(s, a.hz)))
    blocks = [s[i:i + 400] for i in range(0, len(s) - 399, 400)]	# 50 ms each
    loud = [blk for blk in blocks if sum(x * x for x in blk) / 400 > 300 ** 2]
    beeps = [blk for blk in loud if goertzel_share(blk, PROMPT_HZ) > 0.6]
    T.ok(len(loud) >= 5 and len(beeps) >= 0.5 * len(loud),
         "bob hears the PIN prompt (%d Hz beeps) instead" % PROMPT_HZ,
         "%d blocks, %d loud, %d of them at %d Hz" % (len(blocks), len(loud), len(beeps), PROMPT_HZ))
    # alice: a wrong PIN by RFC 4733 events, then the right one
    a.send_dtmf("1111#")
    time.sleep(0.5)
    T.ok(not rooms(d)["locked"]["members"][0]["admitted"] or
         not {x["user"]: x["admitted"] for x in rooms(d)["locked"]["members"]}["alice"],
         "a wrong PIN (RFC 4733) is refused")
    a.send_dtmf("4321#")
    time.sleep(0.5)
    st = {x["user"]: x["admitted"] for x in rooms(d)["locked"]["members"]}
    T.ok(st.get("alice") is True, "the right PIN by RFC 4733 events admits alice", st)
    # bob: the PIN by SIP INFO (application/dtmf-relay), one digit each
    for dg in "4321#":
        b.sip.send(b.request("INFO", "Signal=%s\r\nDuration=160\r\n" % dg, ctype="application/dtmf-relay"))
        r = b.wait("INFO")
        if r is None or r.code != 200:
            break
    T.ok(r is not None and r.code == 200, "INFO digits: 200 each", r and r.raw)
    time.sleep(0.3)
    st = {x["user"]: x["admitted"] for x in rooms(d)["locked"]["members"]}
    T.ok(st.get("bob") is True, "the right PIN by SIP INFO admits bob", st)
    marks = [len(a.received), len(b.received)]
    time.sleep(2.5)
    hears(a, [b], marks[0], "PIN room")
    hears(b, [a], marks[1], "PIN room")
    # hostile INFO
    for body, ctype, code, what in (("Signal=1\r\n" + "x" * 5000, "application/dtmf-relay", 413, "a 5 KB body"),
                                    ("1", "text/plain", 415, "an unknown content type"),
                                    ("Signal=12345\r\n", "application/dtmf-relay", 400, "a malformed signal"),
                                    ("%%", "application/dtmf", 400, "a non-digit")):
        a.sip.send(a.request("INFO", body, ctype=ctype))
        r = a.wait("INFO")
        T.ok(r is not None and r.code == code, "INFO with %s: %d" % (what, code), r and r.raw)
    # carol guesses three times: the focus hangs up
    c = Member(d, "carol", "locked")
    r = c.join()
    T.ok(r is not None and r.code == 200, "carol joins the PIN room", r and r.raw)
    for guess in ("0000#", "1234#", "9999#"):
        for dg in guess:
            c.sip.send(c.request("INFO", dg, ctype="application/dtmf"))
            c.wait("INFO")
    c.wait("NOTHING", timeout=1.0)
    T.ok(any(x.raw.startswith(b"BYE ") for x in c.requests),
         "three wrong PINs: the focus sends carol a BYE")
    T.ok("carol" not in {x["user"] for x in rooms(d)["locked"]["members"]},
         "carol is no longer a member")
    stats = d.stats()
    T.ok(stats.get("auth_failures_source", 0) >= 4,
         "each wrong PIN counts as a failed authentication of its source (shield)",
         {k: v for k, v in stats.items() if "auth" in k})
    for m in (a, b, c):
        m.close()
    d.ctl("room", "del", "locked")


def scenario_flood(d):
    """Joins beyond the room's size: each 486, nothing kept; then the room works."""
    d.ctl("room", "add", "small", "--max", "2")
    ms = [Member(d, u, "small") for u in ("alice", "bob")]
    for m in ms:
        m.join()
    codes = []
    for i in range(20):
        x = Member(d, "mallory", "small")
        r = x.join()
        codes.append(r.code if r else None)
        x.close()
    T.ok(codes == [486] * 20, "20 more INVITEs to a full room of 2: 20 x 486", codes)
    T.ok(len(rooms(d)["small"]["members"]) == 2, "the room still has its 2 members")
    for m in ms:
        m.bye()
        m.close()
    time.sleep(0.2)
    T.ok(rooms(d)["small"]["members"] == [], "after both BYEs the room is empty")
    d.ctl("room", "del", "small")


def scenario_media_timeout():
    """A member that sends nothing for media_timeout (2 s here) gets a BYE; one that sends stays."""
    d = Ksipd(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN + 180, RTP_MIN + 199),
              media_timeout=2, workers=1)
    try:
        for u in ("alice", "bob"):
            d.add_user(u, PASSWORDS[u])
        d.ctl("room", "add", "quiet")
        mute, talker = Member(d, "alice", "quiet"), Member(d, "bob", "quiet")
        ok = all(T.ok(r is not None and r.code == 200, "media time-out: %s joins" % m.user)
                 for m, r in ((m, m.join()) for m in (mute, talker)))
        if ok:
            talker.start_media()
            mute.wait("NOTHING", timeout=6)
            T.ok(any(x.raw.startswith(b"BYE ") for x in mute.requests) and
                 b"media timeout" in next(x.raw for x in mute.requests if x.raw.startswith(b"BYE ")),
                 "a member silent for media_timeout gets a BYE (Reason: media timeout)")
            T.ok([x["user"] for x in rooms(d)["quiet"]["members"]] == ["bob"] and not talker.requests,
                 "the member that sends stays in the room", rooms(d)["quiet"])
        for m in (mute, talker):
            m.close()
        T.ok(d.stop() == 0, "media time-out: ksipd exits cleanly")
    finally:
        d.cleanup()


def scenario_pin_ban():
    """PIN guessing across calls: auth_fail_limit (3 here) wrong PINs, one more bans the source."""
    d = Ksipd(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN + 160, RTP_MIN + 179),
              auth_fail_limit=3, workers=1, source_rate=0)
    try:
        d.add_user("mallory", PASSWORDS["mallory"])
        d.ctl("room", "add", "vault", "--pin", "73195")
        guesses = iter(["00000#", "11111#", "22222#", "33333#", "44444#", "55555#"])
        calls = []
        for n in range(2):
            m = Member(d, "mallory", "vault")
            r = m.join()
            calls.append(r.code if r else None)
            if r is None or r.code != 200:
                m.close()
                break
            for g in ([next(guesses) for _ in range(3)] if n == 0 else [next(guesses)]):
                for dg in g:
                    m.sip.send(m.request("INFO", dg, ctype="application/dtmf"))
                    m.wait("INFO", timeout=1)
            m.wait("NOTHING", timeout=0.5)
            m.close()
        T.ok(calls == [200, 200], "PIN guessing: two calls answered", calls)
        bans = json.loads(d.ctl("--json", "ban", "list").stdout)
        T.ok(any(b.get("source") == "127.0.0.1" and b.get("reason") == "auth_failures" for b in bans),
             "the 4th wrong PIN (auth_fail_limit 3) bans the guessing source", bans)
        m = Member(d, "mallory", "vault")
        m.sip.send(m.request("INVITE", offer(m.port, (0,)), to_tag=""))
        r = m.wait("INVITE", timeout=1.5)
        T.ok(r is None, "the banned source's next INVITE goes unanswered", r and r.raw)
        m.close()
        T.ok(d.stop() == 0, "PIN guessing: ksipd exits cleanly")
    finally:
        d.cleanup()


def main():
    d = Ksipd(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN, RTP_MIN + 199), t1_ms=100,
              t2_ms=400, room_max_members=4, auth_fail_limit=50, workers=2,
              source_rate=0)	# the flood below is bounded by the room, not the per-source rate
    try:
        for u, pw in PASSWORDS.items():
            d.add_user(u, pw)
        ctl_commands(d)
        refusals(d)
        scenario_three(d)
        scenario_five_mixed_laws(d)
        scenario_pin(d)
        scenario_flood(d)
        T.ok(d.proc.poll() is None, "ksipd is still running")
        rc = d.stop()
        T.ok(rc == 0, "ksipd exits cleanly (no sanitizer report)", d.logtext()[-3000:])
    finally:
        d.cleanup()
    scenario_media_timeout()
    scenario_pin_ban()
    T.done()


if __name__ == "__main__":
    main()
