#!/usr/bin/env python3
"""Attacker: unauthenticated INVITEs, their retransmissions and ACKs; a caller past the caps and
the size limit (issue 12: stateless challenges, bounded state, sizes that tell the truth).

    attacker / caller (127.0.0.1, UDP) ----> ksipd (sanitizer build, loopback, 1 worker)
    bob's phone: a silent UDP socket on 127.0.0.1 that counts what reaches it, later also a
    TCP connection to ksipd from the same address and port

Promises checked (docs/security.md "Stateless challenges and bounded state"):
  - an INVITE without credentials gets exactly one datagram (407, no 100 Trying) and leaves no
    transaction; its retransmission gets one more, identical; nothing follows on a timer;
  - the ACK of that 407 is absorbed, not forwarded;
  - at max_calls a verified INVITE gets 503 with Retry-After, statelessly;
  - a verified INVITE over 1300 bytes once forwarded, towards a UDP-only phone behind NAT (its
    Contact names another host), gets 513 (tests/security/test_tcp_connect.py: not behind NAT); when
    the phone holds a TCP connection from its address, it goes over that (RFC 3261 §18.1.1).
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, SipClient, Tap, free_port  # noqa: E402

T = Tap()
NC = [0]


def invite(c, callee="bob", auth=None, body="", ctype="application/sdp", branch=None, cseq=None):
    extra = ("Proxy-Authorization: %s\r\n" % auth if auth else "") + \
        "Contact: <sip:alice@127.0.0.1:%d>" % c.local[1] + ("\r\nContent-Type: %s" % ctype if body else "")
    req = c.request("INVITE", "alice", ruri="sip:%s@ksip.test" % callee, extra=extra, body=body,
                    branch=branch, cseq=cseq)
    return req.replace(b"To: <sip:alice@ksip.test>", b"To: <sip:%s@ksip.test>" % callee.encode())


def phone_recv(phone):
    """What reaches bob's phone, but ksipd's NAT keepalives (its Contact looks NATed)."""
    data = phone.recv(65535)
    while data.startswith(b"OPTIONS ") and b"\r\nCall-ID: ksipka-" in data:
        data = phone.recv(65535)
    return data


def all_within(c, seconds):
    out, deadline = [], time.time() + seconds
    while time.time() < deadline:
        r = c.recv(max(0.05, deadline - time.time()))
        if r is not None:
            out.append(r)
    return out


def authed(c, d, callee="bob", **kw):
    """An INVITE with credentials for alice (the challenge fetched first)."""
    r = None
    c.send(invite(c, callee))
    for r in all_within(c, 0.5):
        if r.code == 407:
            break
    ch = r.get("proxy-authenticate") if r else ""
    NC[0] += 1
    auth = c.authorization(ch, "alice", "s3cret", method="INVITE", uri="sip:%s@ksip.test" % callee, nc=NC[0])
    c.call_id = "c%d-%s" % (NC[0], c.call_id)
    return invite(c, callee, auth=auth, **kw)


def main():
    d = Ksipd(auth_algorithms="MD5", workers=1, max_calls=3, media="userspace")
    # bob's phone registers from the socket it listens on: ksipd sends to where REGISTER came from.
    reg = SipClient(d, bind_port=free_port())
    phone = reg.sock
    try:
        d.add_user("alice", "s3cret")
        d.add_user("bob", "hunter2")
        # Its Contact names another host than the one it registers from: a phone behind NAT,
        # to which ksipd opens no TCP connection (docs/security.md, "Connections ksipd opens").
        r, _ = reg.register("bob", "hunter2", ["<sip:bob@192.0.2.10:%d>" % phone.getsockname()[1]])
        T.ok(r is not None and r.code == 200, "bob registers a UDP contact from behind NAT", r and r.raw)
        phone.settimeout(0.2)

        # 1. One datagram per unauthenticated INVITE, no state, no timer.
        c = SipClient(d)
        before = d.stats()
        req = invite(c, branch="z9hG4bKflood1")
        c.send(req)
        got = all_within(c, 2.0)
        T.ok([x.code for x in got] == [407], "an INVITE without credentials: exactly one datagram, a 407, "
             "no 100 Trying, nothing on Timer G (2 s)", [x.code for x in got])
        s = d.stats()
        T.ok(s["transactions"] == 0 and s["calls_listed"] == 0, "and no transaction or call is left",
             {k: s[k] for k in ("transactions", "calls_listed")})
        c.send(req)
        again = all_within(c, 1.0)
        T.ok([x.code for x in again] == [407] and again[0].get("to") == got[0].get("to"),
             "its retransmission gets one more 407, with the same To tag",
             [(x.code, x.get("to")) for x in again])
        # 2. Its ACK is absorbed: nothing reaches bob's phone, nothing comes back.
        to = got[0].get("to")
        ack = req.replace(b"INVITE sip:bob", b"ACK sip:bob", 1).replace(b"CSeq: 1 INVITE", b"CSeq: 1 ACK")
        ack = ack.replace(b"To: <sip:bob@ksip.test>", b"To: " + to.encode())
        c.send(ack)
        time.sleep(0.5)
        try:
            leaked = phone_recv(phone)
        except socket.timeout:
            leaked = None
        after = d.stats()
        T.ok(leaked is None and after["branches"] == 0, "the ACK of the stateless 407 is absorbed, not forwarded",
             leaked)
        T.ok(after["responses_by_code"].get("100", 0) == before["responses_by_code"].get("100", 0),
             "no 100 Trying was sent to the unverified sender")

        # 3. Too large for UDP once forwarded, no TCP connection to bob: 513, not 480.
        c2 = SipClient(d)
        big = authed(c2, d, body="x" * 1300, ctype="text/plain")
        c2.send(big)
        finals = [x for x in all_within(c2, 1.0) if x.code >= 200]
        T.ok(finals and finals[0].code == 513, "an INVITE over 1300 bytes once forwarded, towards a UDP-only "
             "phone behind NAT: 513 Message Too Large", [x.code for x in finals])
        try:
            leaked = phone_recv(phone)
        except socket.timeout:
            leaked = None
        T.ok(leaked is None, "and nothing reached the phone", leaked)
        # The same phone with a TCP connection from its address: §18.1.1 sends it over TCP.
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(phone.getsockname())
        tcp.connect(("127.0.0.1", d.port))
        tcp.settimeout(2.0)
        time.sleep(0.2)
        c2.send(authed(c2, d, body="x" * 1300, ctype="text/plain"))
        got = b""
        try:
            while b"\r\n\r\n" not in got:
                chunk = tcp.recv(65535)
                if not chunk:
                    break
                got += chunk
        except socket.timeout:
            pass
        T.ok(got.startswith(b"INVITE ") and b"\r\nVia: SIP/2.0/TCP " in got.split(b"\r\n\r\n")[0],
             "with a TCP connection from the phone's address, the large INVITE goes over it, Via TCP",
             repr(got[:600]) + " / " + repr([(x.code, x.reason) for x in all_within(c2, 0.5)]))
        tcp.close()

        # 4. At max_calls (3, one worker): 503 with Retry-After, and no transaction for it. Live
        # calls of the steps above count; ended ones, still listed, give way to new calls.
        st0 = d.stats()
        live_before, ended_before = st0["calls_active"], st0["calls_listed"] - st0["calls_active"]
        ringing, past = 0, None
        for i in range(4):
            c.send(authed(c, d))
            finals = [x for x in all_within(c, 0.7) if x.code >= 200]
            if finals:
                past = finals[0]
                break
            ringing += 1
        T.ok(past is not None and past.code == 503 and past.get("retry-after") == "5" and
             ended_before >= 1 and ringing == 3 - live_before,
             "past max_calls a verified INVITE gets 503 with Retry-After: 5, after %d ringing: the "
             "%d live calls of the steps above count, their %d ended ones gave way"
             % (ringing, live_before, ended_before), past and past.raw)
        T.ok(d.stats()["cap_rejects"] >= 1, "counted in cap_rejects")
        c.close()
        c2.close()
    finally:
        phone.close()
        rc = d.stop()
        T.ok(rc == 0, "ksipd exits cleanly (no sanitizer report)", d.logtext()[-2000:])
        d.cleanup()
    T.done()


main()
