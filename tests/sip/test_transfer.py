#!/usr/bin/env python3
"""Transfer through ksipd (RFC 3515 REFER, issue 14), on loopback:

    alice (SIPp, call_uac_refer.xml)       ksipd            bob (SIPp, call_uas_refer.xml)
      INVITE (407, then credentials) ------>  ------------------> 200, ACK
      REFER in the dialog (Refer-To carol) ->  ------------------> 202
      200 <---------------------------------  <------------------ NOTIFY (Event: refer, sipfrag 100)
      200 <---------------------------------  <------------------ NOTIFY (sipfrag 200, terminated)
      BYE ---------------------------------->  ------------------> 200

While the call is up (alice's SIPp pauses) the attacker sends, without credentials, a REFER
and a NOTIFY with the call's Call-ID but a guessed tag, a REFER with a made-up signed Route,
and a REFER outside any dialog: 481, 481, 481 and 407, and neither SIPp sees any of them
(an unexpected request would fail its scenario). Then the INVITE a transfer causes: bob's
INVITE to carol with Referred-By is challenged (407) like any other, and with bob's
credentials reaches carol with Referred-By intact.
"""
import json
import os
import re
import socket
import subprocess
import threading
import time

from ksiptest import Ksipd, Response, SipClient, Tap, free_port, rand_token, run_sipp, sipp_target, \
    SIPP_DIR

T = Tap()
PW = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}
RTP_MIN = 33000 + (os.getpid() % 50) * 100


def register_at(d, user, port):
    c = SipClient(d, bind_port=port)
    r, _ = c.register(user, PW[user], ["<sip:%s@127.0.0.1:%d>" % (user, port)])
    c.close()
    return r is not None and r.code == 200


def start_uas(d, scenario, port):
    cmd = ["sipp", "-sf", os.path.join(SIPP_DIR, scenario), "-i", "127.0.0.1", "-p", str(port),
           "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error", "-mp", str(free_port()),
           "-key", "realm", d.conf["realm"], "-key", "rtp", str(free_port()),
           "-trace_err", "-error_file", os.path.join(d.dir, "uas_err.log")]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=d.dir)


def finish(proc, timeout=40):
    try:
        out = proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0]
    return proc.returncode, out[-2500:]


class Background(threading.Thread):
    def __init__(self, fn, *args, **kw):
        super().__init__(daemon=True)
        self.fn, self.args, self.kw, self.result = fn, args, kw, (None, "did not finish")
        self.start()

    def run(self):
        self.result = self.fn(*self.args, **self.kw)


def wait_call(d, state, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in json.loads(d.ctl("--json", "call", "list").stdout):
            if c["state"] == state:
                return c
        time.sleep(0.05)
    return None


def raw_request(c, method, ruri, call_id, from_user, from_tag, to_user, to_tag=None, extra=()):
    """A request as the attacker writes it (SipClient.request puts one user in From and To)."""
    realm = c.realm
    lines = ["%s %s SIP/2.0" % (method, ruri),
             "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport" % (c.local[0], c.local[1], rand_token()),
             "Max-Forwards: 70",
             "From: <sip:%s@%s>;tag=%s" % (from_user, realm, from_tag),
             "To: <sip:%s@%s>%s" % (to_user, realm, ";tag=" + to_tag if to_tag else ""),
             "Call-ID: %s" % call_id, "CSeq: 7 %s" % method,
             "Contact: <sip:%s@%s:%d>" % (from_user, c.local[0], c.local[1])] + list(extra) + \
            ["Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def code(r):
    return r.code if r else None


d = Ksipd(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN, RTP_MIN + 49), t1_ms=100,
          t2_ms=400, t4_ms=500, timer_c=5, media_timeout=0, auth_fail_limit=0, source_rate=0)
try:
    for u, pw in PW.items():
        d.add_user(u, pw)
    realm = d.conf["realm"]

    # --- the transfer, with the attacker in the middle of it -------------------------------
    bob_port = free_port()
    T.ok(register_at(d, "bob", bob_port), "bob registers from the port his SIPp listens on")
    uas = start_uas(d, "call_uas_refer.xml", bob_port)
    time.sleep(0.3)
    before = d.stats()
    uac_bg = Background(run_sipp, d, "call_uac_refer.xml",
                        [["alice", "[authentication username=alice password=%s]" % PW["alice"],
                          "bob", "carol"]],
                        extra=["-key", "rtp", str(free_port()), "-mp", str(free_port()), "-d", "2500"],
                        timeout=30, auth_uri="bob@%s" % sipp_target(d))
    call = wait_call(d, "confirmed")
    T.ok(call is not None, "alice's call to bob is answered (call list: confirmed)")
    atk = SipClient(d)
    if call:
        cid = call["call_id"]
        # SIPp's tags: the caller's is "<call number>a", here 1a (call_uac_refer.xml).
        r = atk.transact(raw_request(atk, "REFER", "sip:bob@127.0.0.1:%d" % bob_port, cid, "alice",
                                     "1a", "bob", "guessed",
                                     ["Refer-To: <sip:mallory@%s>" % realm]))
        T.ok(code(r) == 481, "attacker's REFER with the call's Call-ID and alice's tag, a guessed "
             "To tag: 481", r and r.raw)
        r = atk.transact(raw_request(atk, "NOTIFY", "sip:alice@127.0.0.1", cid, "bob", "guessed",
                                     "alice", "1a", ["Event: refer",
                                                     "Subscription-State: terminated"]))
        T.ok(code(r) == 481, "attacker's NOTIFY into the call with a guessed From tag: 481",
             r and r.raw)
        route = "Route: <sip:127.0.0.1:%d;lr;ksig=%08x%s>" % (d.port, int(time.time()) + 3600,
                                                              "0" * 32)
        r = atk.transact(raw_request(atk, "REFER", "sip:bob@127.0.0.1:%d" % bob_port, rand_token(),
                                     "alice", rand_token(), "bob", rand_token(),
                                     [route, "Refer-To: <sip:mallory@%s>" % realm]))
        T.ok(code(r) == 481, "a REFER with a made-up signed Route (ksig): 481", r and r.raw)
        r = atk.transact(raw_request(atk, "REFER", "sip:bob@%s" % realm, rand_token(), "alice",
                                     rand_token(), "bob", None,
                                     ["Refer-To: <sip:mallory@%s>" % realm]))
        T.ok(code(r) == 407 and r.get("proxy-authenticate"),
             "a REFER outside any dialog without credentials: 407, like any initial request",
             r and r.raw)
    atk.close()

    uac_bg.join(45)
    uac = uac_bg.result
    uas_res = finish(uas)
    T.ok(uac[0] == 0, "alice: REFER answered 202, bob's NOTIFYs (Event: refer, sipfrag 100 then 200) "
         "received and answered, BYE answered (and nothing else reached her)", uac[1])
    T.ok(uas_res[0] == 0, "bob: the REFER to carol arrived in the dialog and got 202, his NOTIFY "
         "was answered 200, then the BYE (and nothing else reached him)", uas_res[1])
    after = d.stats()
    by = after["requests_by_method"]
    T.ok(by.get("REFER", 0) - before["requests_by_method"].get("REFER", 0) == 4 and
         by.get("NOTIFY", 0) - before["requests_by_method"].get("NOTIFY", 0) == 3,
         "ksipd saw 4 REFERs (alice's and the attacker's 3) and 3 NOTIFYs (bob's 2, the attacker's)",
         by)
    T.ok(after["relay_denied"] - before["relay_denied"] == 3,
         "the three forged in-dialog requests are counted in relay_denied",
         after["relay_denied"] - before["relay_denied"])

    # --- the INVITE a transfer causes: authenticated like any other -------------------------
    carol_port = free_port()
    T.ok(register_at(d, "carol", carol_port), "carol registers")
    carol = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    carol.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    carol.bind(("127.0.0.1", carol_port))
    carol.settimeout(3)
    bob = SipClient(d)
    sdp = "v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" \
          "m=audio %d RTP/AVP 8\r\n" % free_port()
    call_id = rand_token(12) + "@xfer"
    ruri = "sip:carol@%s" % realm

    def invite(auth=None):
        extra = ["Referred-By: <sip:alice@%s>" % realm, "Content-Type: application/sdp"]
        if auth:
            extra.append("Proxy-Authorization: " + auth)
        req = raw_request(bob, "INVITE", ruri, call_id, "bob", "bt1", "carol", None, extra)
        return req.replace(b"Content-Length: 0\r\n\r\n", b"Content-Length: %d\r\n\r\n%s" %
                           (len(sdp), sdp.encode()))

    r = bob.transact(invite())
    T.ok(code(r) == 407, "bob's INVITE to carol (Referred-By alice) without credentials: 407",
         r and r.raw)
    try:
        carol.recvfrom(65535)
        leaked = True
    except socket.timeout:
        leaked = False
    T.ok(not leaked, "and nothing reached carol")
    if r and r.code == 407:
        bob.send(raw_request(bob, "ACK", ruri, call_id, "bob", "bt1", "carol", r.get("to").split("tag=")[-1]))
        ch = r.get("proxy-authenticate")
        auth = bob.authorization(ch, "alice", PW["alice"], method="INVITE", uri=ruri)
        r2 = bob.transact(invite(auth))
        T.ok(code(r2) == 403, "bob with alice's credentials (the transferor's): 403, the From user "
             "must be the one who authenticates", r2 and r2.raw)
        auth = bob.authorization(ch, "bob", PW["bob"], method="INVITE", uri=ruri, nc=1)
        bob.send(invite(auth))
        try:
            data, _ = carol.recvfrom(65535)
        except socket.timeout:
            data = b""
        text = data.decode(errors="replace")
        T.ok(text.startswith("INVITE sip:carol@") and
             re.search(r"(?im)^Referred-By: <sip:alice@", text) and
             not re.search(r"(?im)^Proxy-Authorization:", text),
             "with bob's credentials the INVITE reaches carol, Referred-By intact, our credentials "
             "removed", text[:600])
        if data:
            req = Response(data)   # header access only
            head = text.split("\r\n\r\n")[0].split("\r\n")
            vias = [h for h in head if h.lower().startswith("via:")]
            lines = ["SIP/2.0 486 Busy Here"] + vias + \
                ["From: %s" % req.get("from"), "To: %s;tag=ct1" % req.get("to"),
                 "Call-ID: %s" % req.get("call-id"), "CSeq: %s" % req.get("cseq"),
                 "Content-Length: 0"]
            carol.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), ("127.0.0.1", d.port))
            final = None
            for _ in range(5):
                resp = bob.recv(3)
                if resp is None or resp.code >= 200:
                    final = resp
                    break
            T.ok(code(final) == 486, "carol's 486 comes back to bob", final and final.raw)
            if final:
                bob.send(raw_request(bob, "ACK", ruri, call_id, "bob", "bt1", "carol", "ct1"))
    bob.close()
    carol.close()
finally:
    rc = d.stop()
    T.ok(rc == 0, "ksipd exits cleanly, no sanitizer report (%d)" % rc, d.logtext()[-3000:])
    d.cleanup()

T.done()
