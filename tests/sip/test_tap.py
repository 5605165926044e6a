#!/usr/bin/env python3
"""Recording taps: `ksipctl call tap ID ADDR:PORT` (issue 17), userspace relay.

Alice (IPv4) calls bob (IPv4) through ksipd with an audio and a video
stream (the hand-built phones of test_sdp_relay.py, so every packet is
known). A collector on loopback is tapped onto the call: it must receive
exactly the packets of both directions of both streams (count and payload),
RTP on its port and RTCP on the port above, each direction from the tap's
own relay port that `call list --json` names, while the phones receive
what they did before and the call's own counters count only them. Then:
untap stops the copies; a tap ends with its call and its ports go back to
the pool. Hostile: unknown or malformed call ids, garbage addresses, not
unicast, one of ksipd's relay ports or its SIP port (loops), a family the
call's media is not of, a collector tapped twice, a fifth tap; each refused
with a clear error and nothing taken.
"""
import json
import os
import socket
import time

from ksiptest import Ksipd, Tap, rand_token
from test_sdp_relay import (PASSWORDS, Dialog, Phone, body_of, media_ports, recv_request, register,
                            reply, sdp)

T = Tap()
# Relay range and collector ports of this test: 47000-47999 (SIP is above 50000).
RTP_MIN = 47000 + (os.getpid() % 8) * 100
RTP_MAX = RTP_MIN + 79
COLLECTOR = RTP_MIN + 90		# RTP; RTCP at +1; more taps at +2, +4, +6 (outside rtp_ports)
PACKETS = 20
RTCP = 5


def calls(d):
    return json.loads(d.ctl("--json", "call", "list").stdout)


def call_of(d, call_id_hdr):
    return next((c for c in calls(d) if c["call_id"] == call_id_hdr), None)


def drain(sock, quiet=0.3):
    """Every datagram SOCK gets until it has been quiet for QUIET seconds: [(data, (ip, port))]."""
    got = []
    sock.settimeout(quiet)
    while True:
        try:
            got.append(sock.recvfrom(2048))
        except socket.timeout:
            return got


def collector(port):
    socks = []
    for p in (port, port + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", p))
        socks.append(s)
    return socks


class Call:
    """An answered call alice -> bob, two streams, its relay addresses and ksipd's id."""

    def __init__(self, d, label):
        self.label = label
        self.alice, self.bob = Phone(d, "alice", socket.AF_INET), Phone(d, "bob", socket.AF_INET)
        self.ok = False
        T.ok(register(d, self.bob), "%s: bob registers" % label)
        self.dlg = Dialog(self.alice, "bob")
        self.dlg.invite(sdp("alice", socket.AF_INET, *self.alice.ports()))
        inv = recv_request(self.bob, "INVITE", self.dlg.call_id)
        if inv is None:
            T.ok(False, "%s: the INVITE reaches bob" % label)
            return
        self.b_relay = [("127.0.0.1", p) for p in media_ports(body_of(inv))]
        self.tag = rand_token(8)
        self.bob.sip.send(reply(inv, 200, "OK", self.tag, self.bob.contact,
                                sdp("bob", socket.AF_INET, *self.bob.ports())))
        ok = self.dlg.final()
        if ok is None or ok.code != 200:
            T.ok(False, "%s: alice gets the 200" % label, ok and ok.raw)
            return
        self.dlg.confirm(ok)
        recv_request(self.bob, "ACK", self.dlg.call_id)
        self.a_relay = [("127.0.0.1", p) for p in media_ports(body_of(ok))]
        c = call_of(d, self.dlg.call_id)
        self.id = c and str(c["id"])
        self.ok = bool(c and c["state"] == "confirmed" and c["media"] == "userspace" and c["streams"] == 2)
        T.ok(self.ok, "%s: call %s confirmed, two streams relayed in userspace" % (label, self.id), c)

    def talk(self, what, n=PACKETS, rtcp=RTCP):
        """N packets each way on each stream (payloads unique: WHAT), and RTCP from alice's audio.
        Returns {(stream, leg): [payloads]} sent, leg 0 = alice (the caller)."""
        sent = {}
        for i in range(2):
            for leg, src, to in ((0, self.alice, self.a_relay[i]), (1, self.bob, self.b_relay[i])):
                sent[(i, leg)] = []
                for k in range(n):
                    p = bytes([0x80, 0x60 + i]) + k.to_bytes(2, "big") + ("%s/%d/%d" % (what, i, leg)).encode() \
                        + os.urandom(40)
                    src.rtp[i].sendto(p, to)
                    sent[(i, leg)].append(p)
        sent["rtcp"] = []
        for k in range(rtcp):
            p = bytes([0x81, 200]) + k.to_bytes(2, "big") + ("%s/rtcp" % what).encode()
            self.alice.rtp[0].sendto(p, (self.a_relay[0][0], self.a_relay[0][1] + 1))
            sent["rtcp"].append(p)
        return sent

    def phones_got(self, sent):
        """Each phone received exactly the other's packets, per stream, and nothing else."""
        good = True
        for i in range(2):
            for leg, dst in ((0, self.bob), (1, self.alice)):
                got = [data for data, _ in drain(dst.rtp[i])]
                good &= sorted(got) == sorted(sent[(i, leg)])
        return good

    def reinvite(self, a_video, b_video, version):
        """Alice re-offers with her video port A_VIDEO (0: video off), bob answers with B_VIDEO;
        the relay addresses follow. True when the 200 came."""
        self.dlg.a.sip.send(self.dlg.request("INVITE", sdp("alice", socket.AF_INET, self.alice.ports()[0], a_video,
                                                            version=version)))
        r = recv_request(self.bob, "INVITE", self.dlg.call_id)
        if r is None:
            return False
        self.bob.sip.send(reply(r, 200, "OK", self.tag, self.bob.contact,
                                sdp("bob", socket.AF_INET, self.bob.ports()[0], b_video, version=version)))
        ok = self.dlg.final()
        if ok is None or ok.code != 200:
            return False
        self.dlg.a.sip.send(self.dlg.request("ACK", cseq=self.dlg.cseq))
        recv_request(self.bob, "ACK", self.dlg.call_id)
        self.b_relay = [("127.0.0.1", p) for p in media_ports(body_of(r))]
        self.a_relay = [("127.0.0.1", p) for p in media_ports(body_of(ok))]
        return True

    def hangup(self):
        self.dlg.a.sip.send(self.dlg.request("BYE"))
        bye = recv_request(self.bob, "BYE", self.dlg.call_id)
        if bye is not None:
            self.bob.sip.send(reply(bye, 200, "OK", self.tag))
        r = self.dlg.final()
        T.ok(r is not None and r.code == 200, "%s: BYE answered" % self.label, r and r.raw)

    def close(self):
        self.alice.close()
        self.bob.close()


def refused(d, args, words, what):
    p = d.ctl("call", "--", *args, check=False)	# "--": an argument may start with '-'

    T.ok(p.returncode != 0 and all(w in p.stderr for w in words),
         "refused: %s (%s)" % (what, p.stderr.strip()), {"rc": p.returncode, "out": p.stdout, "err": p.stderr})


def tapped(d, c):
    """The copies a tap made: collector gets every packet of both directions once, RTP and RTCP."""
    label = c.label
    rtp, rtcp = collector(COLLECTOR)
    before = d.stats()
    p = d.ctl("call", "tap", c.id, "127.0.0.1:%d" % COLLECTOR, check=False)
    T.ok(p.returncode == 0 and "tapped to 127.0.0.1:%d" % COLLECTOR in p.stdout,
         "%s: `call tap %s 127.0.0.1:%d` succeeds" % (label, c.id, COLLECTOR), p.stdout + p.stderr)
    info = call_of(d, c.dlg.call_id)
    taps = info and info.get("taps") or []
    T.ok(len(taps) == 1 and taps[0]["collector"] == "127.0.0.1:%d" % COLLECTOR and len(taps[0]["from"]) == 2,
         "%s: `call list --json` shows the tap and its source ports for both streams" % label, info)
    if len(taps) != 1:
        return
    src = {(i, 0): taps[0]["from"][i]["caller"] for i in range(2)}
    src.update({(i, 1): taps[0]["from"][i]["callee"] for i in range(2)})
    ports = set(src.values())
    T.ok(len(ports) == 4 and all(RTP_MIN <= x <= RTP_MAX and x % 2 == 0 for x in ports),
         "%s: four distinct even source ports from the relay range %d-%d" % (label, RTP_MIN, RTP_MAX), src)
    after_tap = d.stats()
    T.ok(after_tap["relay_ports_in_use"] == before["relay_ports_in_use"] + 8,
         "%s: the tap holds 4 port pairs of the pool (2 streams x 2 directions)" % label,
         (before["relay_ports_in_use"], after_tap["relay_ports_in_use"]))
    text = d.ctl("call", "list").stdout
    T.ok("tap -> 127.0.0.1:%d (RTCP port %d)" % (COLLECTOR, COLLECTOR + 1) in text,
         "%s: `call list` shows the tap under the call" % label, text)

    sent = c.talk("tap1")
    T.ok(c.phones_got(sent), "%s: each phone receives exactly the other's %d packets per stream, "
         "nothing more" % (label, PACKETS))
    got = drain(rtp)
    by_src = {}
    for data, (ip, port) in got:
        by_src.setdefault((ip, port), []).append(data)
    for (i, leg), port in sorted(src.items()):
        T.ok(sorted(by_src.get(("127.0.0.1", port), [])) == sorted(sent[(i, leg)]),
             "%s: the collector gets the %d %s packets of %s, byte for byte, from 127.0.0.1:%d"
             % (label, PACKETS, ("audio", "video")[i], ("alice", "bob")[leg], port),
             {"got": len(by_src.get(("127.0.0.1", port), [])), "sources": list(by_src)})
    T.ok(len(got) == 4 * PACKETS, "%s: and nothing else: %d copies on its RTP port" % (label, 4 * PACKETS),
         len(got))
    g = drain(rtcp)
    T.ok(sorted(x for x, _ in g) == sorted(sent["rtcp"]) and
         all(s == ("127.0.0.1", src[(0, 0)] + 1) for _, s in g),
         "%s: alice's %d RTCP packets reach the collector's port + 1, from the tap's RTP port + 1"
         % (label, RTCP), g)
    info = call_of(d, c.dlg.call_id)
    T.ok(info and info["packets_from_caller"] == 2 * PACKETS + RTCP and
         info["packets_from_callee"] == 2 * PACKETS,
         "%s: the call's counters count the phones only (%d and %d)" % (label, 2 * PACKETS + RTCP, 2 * PACKETS),
         info)
    T.ok(info and info["taps"][0]["copies"] == 4 * PACKETS + RTCP and info["taps"][0]["errors"] == 0,
         "%s: the tap counts %d copies, no error" % (label, 4 * PACKETS + RTCP), info and info["taps"])
    s = d.stats()
    T.ok(s["relay_fanout_sent"] - before["relay_fanout_sent"] == 4 * PACKETS + RTCP,
         "%s: stats relay_fanout_sent grew by %d" % (label, 4 * PACKETS + RTCP),
         (before["relay_fanout_sent"], s["relay_fanout_sent"]))

    hostile(d, c)
    reoffers(d, c, rtp, before["relay_ports_in_use"])

    p = d.ctl("--json", "call", "untap", c.id, "127.0.0.1:%d" % COLLECTOR, check=False)
    T.ok(p.returncode == 0 and json.loads(p.stdout or "{}").get("removed") == 1,
         "%s: `call untap ID ADDR:PORT` removes it" % label, p.stdout + p.stderr)
    sent = c.talk("untapped", n=10, rtcp=2)
    T.ok(c.phones_got(sent), "%s: the phones still get each other's packets" % label)
    T.ok(not drain(rtp) and not drain(rtcp), "%s: the collector gets no more copies" % label)
    info = call_of(d, c.dlg.call_id)
    T.ok(info and not info["taps"] and d.stats()["relay_ports_in_use"] == before["relay_ports_in_use"],
         "%s: no tap listed, its 4 pairs back in the pool" % label, info)
    refused(d, ("untap", c.id, "127.0.0.1:%d" % COLLECTOR), ["no tap to"], "untap of a tap that is gone")
    rtp.close()
    rtcp.close()


def reoffers(d, c, rtp, base):
    """BASE: relay ports in use by the untapped call (2 streams). Video turned off by a re-INVITE: the tap's video ports go back; on again: the tap follows."""
    label = c.label
    T.ok(c.reinvite(0, 0, 2), "%s: re-INVITE turning video off (port 0) answered" % label)
    T.ok(d.stats()["relay_ports_in_use"] == base, "%s: video's relay pairs and the tap's for it are "
         "back: 2 pairs for the call's audio, 2 for its tap (as many ports as before the tap)" % label, d.stats()["relay_ports_in_use"])
    T.ok(c.reinvite(c.alice.ports()[1], c.bob.ports()[1], 3), "%s: re-INVITE turning video on again" % label)
    info = call_of(d, c.dlg.call_id)
    tap = info and info["taps"] and info["taps"][0]
    T.ok(tap and tap["from"][1]["caller"] and tap["from"][1]["callee"] and
         d.stats()["relay_ports_in_use"] == 2 * base, "%s: the reopened video stream is tapped again" % label,
         (d.stats()["relay_ports_in_use"], base, info))
    if not tap:
        return
    sent = c.talk("reoffer", n=4, rtcp=0)
    T.ok(c.phones_got(sent), "%s: the phones talk on both streams after the re-offers" % label)
    got = {}
    for data, (_, port) in drain(rtp):
        got.setdefault(port, []).append(data)
    src = {(i, leg): tap["from"][i][("caller", "callee")[leg]] for i in range(2) for leg in range(2)}
    T.ok(all(sorted(got.get(src[k], [])) == sorted(sent[k]) for k in src) and sum(map(len, got.values())) == 16,
         "%s: the collector gets all 16 packets, each from its stream's and direction's port" % label,
         {p: len(v) for p, v in got.items()})


def hostile(d, c):
    label = c.label
    before = d.stats()["relay_ports_in_use"]
    tgt = "127.0.0.1:%d" % (COLLECTOR + 2)
    refused(d, ("tap", "999999999", tgt), ["no call 999999999"], "an unknown call id")
    for bad in ("abc", "-1", "", "1e3"):
        refused(d, ("tap", bad, tgt), ["no call"], "call id %r" % bad)
    for bad in ("nonsense", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "1.2.3.4:5x",
                "pbx.example:5060", "127.0.0.1:5060:1", "x" * 300):
        refused(d, ("tap", c.id, bad), ["not an address"], "collector %r" % bad[:40])
    for bad in ("224.0.0.1:5004", "255.255.255.255:5004", "0.0.0.0:5004"):
        refused(d, ("tap", c.id, bad), ["unicast"], "collector %s (not unicast)" % bad)
    refused(d, ("tap", c.id, "127.0.0.1:65535"), ["1-65534"], "collector port 65535 (no room for RTCP)")
    for port, what in ((c.a_relay[0][1], "the relay port alice sends to"),
                       (c.b_relay[1][1] + 1, "the RTCP relay port bob's video uses"),
                       (RTP_MIN + 60, "a relay port no call uses yet"),
                       (RTP_MIN - 1, "the port below the relay range (its RTCP would be in it)")):
        refused(d, ("tap", c.id, "127.0.0.1:%d" % port), ["relay ports", "loop"], "%s (%d)" % (what, port))
    refused(d, ("tap", c.id, "127.0.0.1:%d" % d.port), ["SIP port"], "ksipd's own SIP port")
    refused(d, ("tap", c.id, "127.0.0.1:%d" % c.bob.ports()[0]), ["where one of the call's phones"],
            "bob's own RTP port (he gets alice's audio there anyway)")
    refused(d, ("tap", c.id, "[::1]:%d" % (COLLECTOR + 2)), ["family"], "an IPv6 collector for IPv4 media")
    refused(d, ("tap", c.id, "127.0.0.1:%d" % COLLECTOR), ["tapped to", "already"], "the same collector twice")
    T.ok(d.stats()["relay_ports_in_use"] == before, "%s: the refusals took no port" % label)
    for k in (2, 4, 6):
        p = d.ctl("call", "tap", c.id, "127.0.0.1:%d" % (COLLECTOR + k), check=False)
        T.ok(p.returncode == 0, "%s: tap %d of 4 (port %d) taken" % (label, k // 2 + 1, COLLECTOR + k),
             p.stderr)
    refused(d, ("tap", c.id, "127.0.0.1:%d" % (COLLECTOR + 8)), ["4 taps already"], "a fifth tap")
    T.ok(d.stats()["relay_ports_in_use"] == before + 3 * 8, "%s: three more taps hold 12 more pairs" % label)
    for k in (2, 4):
        p = d.ctl("call", "untap", c.id, "127.0.0.1:%d" % (COLLECTOR + k), check=False)
        T.ok(p.returncode == 0 and "1 tap removed" in p.stdout, "%s: untap of port %d" % (label, COLLECTOR + k),
             p.stdout + p.stderr)
    # The last extra one goes with `untap ID` below the main check (all taps): keep it for now.
    p = d.ctl("call", "untap", c.id, "127.0.0.1:%d" % (COLLECTOR + 6), check=False)
    T.ok(p.returncode == 0, "%s: untap of port %d" % (label, COLLECTOR + 6), p.stderr)
    T.ok(d.stats()["relay_ports_in_use"] == before, "%s: their ports are back" % label)
    refused(d, ("untap", "999999999"), ["no call"], "untap of an unknown call")
    refused(d, ("untap", c.id, "garbage"), ["not an address"], "untap of a garbage address")


def ends_with_call(d, c):
    """A call hung up with two taps on: taps and their ports go with it, copies stop."""
    label = c.label
    rtp, rtcp = collector(COLLECTOR)
    base = d.stats()["relay_ports_in_use"]
    for k in (0, 2):
        d.ctl("call", "tap", c.id, "127.0.0.1:%d" % (COLLECTOR + k))
    T.ok(d.stats()["relay_ports_in_use"] == base + 16, "%s: two taps hold 8 pairs" % label)
    sent = c.talk("end", n=3, rtcp=0)
    c.phones_got(sent)
    T.ok(len(drain(rtp)) == 12, "%s: the collector gets 12 copies (3 per stream and direction)" % label)
    c.hangup()
    deadline = time.time() + 5
    while time.time() < deadline and d.stats()["relay_ports_in_use"]:
        time.sleep(0.1)
    s = d.stats()
    T.ok(s["relay_ports_in_use"] == 0 and s["relay_streams"] == 0 and s["calls_active"] == 0,
         "%s: the call ended: every relay port is back, the taps' too" % label, s)
    info = call_of(d, c.dlg.call_id)
    T.ok(info and info["state"] == "ended" and info["taps"] == [], "%s: the ended call lists no tap" % label, info)
    refused(d, ("tap", c.id, "127.0.0.1:%d" % (COLLECTOR + 4)), ["has ended"], "a tap on an ended call")
    for src, to in ((c.alice, c.a_relay[0]), (c.bob, c.b_relay[0])):
        src.rtp[0].sendto(b"\x80\x60late", to)
    T.ok(not drain(rtp) and not drain(rtcp), "%s: nothing reaches the collector after the end" % label)
    rtp.close()
    rtcp.close()


def main():
    d = Ksipd(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN, RTP_MAX), media_timeout=0)
    try:
        for user, pw in PASSWORDS.items():
            d.add_user(user, pw)
        c = Call(d, "tapped call")
        if c.ok:
            tapped(d, c)
            ends_with_call(d, c)
        c.close()
    finally:
        rc = d.stop()
        T.ok(rc == 0, "ksipd (ASan/UBSan build) exits cleanly", d.logtext()[-3000:])
        d.cleanup()
    T.done()


if __name__ == "__main__":
    main()
