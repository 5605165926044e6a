#!/usr/bin/env python3
"""Calls through ksipd with SIPp on both ends (userspace media on the host).

Each scenario registers the callee from the port its SIPp will listen on,
runs a SIPp callee in the background and a SIPp caller in the foreground,
and checks both SIPp exit codes, what ksipd says about the call, the media
it relayed (real RTP-sized packets sent and received by this script), and
that no relay port, stream or call is left behind.
"""
import json
import os
import socket
import subprocess
import threading
import time

from ksiptest import Ksipd, Response, SipClient, Tap, free_port, rand_token, run_sipp, sipp_target, SIPP_DIR

T = Tap()
RTP_MIN = 31000 + (os.getpid() % 50) * 200
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw",
             "loopy": "loopy-pw"}


def new_server(**extra):
    conf = dict(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN, RTP_MIN + 99), t1_ms=100,
                t2_ms=400, t4_ms=500, timer_c=3, media_timeout=0, workers=2)
    conf.update(extra)
    d = Ksipd(**conf)
    for user, pw in PASSWORDS.items():
        d.add_user(user, pw)
    return d


def host(family):
    return "::1" if family == socket.AF_INET6 else "127.0.0.1"


def register_at(d, user, port, family=socket.AF_INET, keep=False):
    """REGISTER USER from PORT, the port its SIPp callee will then listen on."""
    if not keep:
        d.ctl("reg", "del", user, check=False)	# the phone of the last scenario is gone
    c = SipClient(d, family=family, bind_port=port)
    hp = ("[%s]:%d" if family == socket.AF_INET6 else "%s:%d") % (host(family), port)
    r, _ = c.register(user, PASSWORDS[user], ["<sip:%s@%s>" % (user, hp)])
    c.close()
    return r is not None and r.code == 200


def start_uas(d, scenario, port, family=socket.AF_INET, extra=()):
    cmd = ["sipp", "-sf", os.path.join(SIPP_DIR, scenario), "-i", host(family), "-p", str(port),
           "-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error", "-mp", str(free_port()),
           "-key", "realm", d.conf["realm"],
           "-trace_err", "-error_file", os.path.join(d.dir, "uas_%d_err.log" % port)] + list(extra)
    if "rtp" not in extra:
        cmd += ["-key", "rtp", str(free_port())]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=d.dir)


def finish(proc, timeout=45):
    try:
        out = proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0]
    return proc.returncode, out[-2500:]


def caller(d, scenario, callee, family=socket.AF_INET, rtp=None, extra=(), transport="u1"):
    args = ["-key", "rtp", str(rtp or free_port()), "-mp", str(free_port())] + list(extra)
    if family == socket.AF_INET6:
        args += ["-mi", "::1"]
    # The scenarios send to sip:CALLEE@[remote_ip]:[remote_port]: that is the digest uri too.
    return run_sipp(d, scenario, [["alice", "[authentication username=alice password=%s]" %
                                   PASSWORDS["alice"], callee]],
                    ipv6=family == socket.AF_INET6, extra=args, timeout=40, transport=transport,
                    auth_uri="%s@%s" % (callee, sipp_target(d, family == socket.AF_INET6)))


def bob_answers(d, uas_scenario, uas_extra=()):
    """Register bob from a fresh port and start his SIPp there; returns the running callee."""
    port = free_port()
    register_at(d, "bob", port)
    uas = start_uas(d, uas_scenario, port, extra=uas_extra)
    time.sleep(0.3)
    return uas


def call_bob(d, uas_scenario, uac_scenario, uas_extra=(), uac_extra=(), transport="u1"):
    """Bob answers with UAS_SCENARIO, alice calls with UAC_SCENARIO; (caller, callee) results."""
    uas = bob_answers(d, uas_scenario, uas_extra)
    uac = caller(d, uac_scenario, "bob", extra=uac_extra, transport=transport)
    return uac, finish(uas)


class Background(threading.Thread):
    """Run the SIPp caller while the test does other things (sends media, hangs up)."""

    def __init__(self, fn, *args, **kw):
        super().__init__(daemon=True)
        self.fn, self.args, self.kw, self.result = fn, args, kw, (None, "did not finish")
        self.start()

    def run(self):
        self.result = self.fn(*self.args, **self.kw)

    def wait(self):
        self.join(60)
        return self.result


def calls(d):
    return json.loads(d.ctl("--json", "call", "list").stdout)


def wait_call(d, state, callee=None, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in calls(d):
            if c["state"] == state and (callee is None or c["callee"] == callee):
                return c
        time.sleep(0.05)
    return None


def no_leaks(d, what):
    """Every call over: no active call, relay port, relay stream (checked each scenario)."""
    deadline = time.time() + 5
    while True:
        s = d.stats()
        ok = s["calls_active"] == 0 and s["relay_ports_in_use"] == 0 and s["relay_streams"] == 0
        if ok or time.time() > deadline:
            break
        time.sleep(0.1)
    T.ok(ok, "%s: nothing left: 0 active calls, 0 relay ports, 0 relay streams" % what,
         {k: s[k] for k in ("calls_active", "relay_ports_in_use", "relay_streams")})


def both_ok(what, uac, uas):
    T.ok(uac[0] == 0, "%s: the caller's scenario passes" % what, uac[1])
    T.ok(uas[0] == 0, "%s: the callee's scenario passes" % what, uas[1])


def sipp_final(d):
    """The final status a call_uac_fail caller logged."""
    for name in sorted(os.listdir(d.dir)):
        if name.startswith("call_uac_fail") and name.endswith("_logs.log"):
            with open(os.path.join(d.dir, name)) as f:
                text = f.read()
            os.unlink(os.path.join(d.dir, name))
            for line in text.splitlines():
                if "final: SIP/2.0 " in line:
                    return int(line.split("final: SIP/2.0 ")[1][:3])
    return None


def one_way(src, dst, to_relay, from_relay, count, first, bad, what):
    """COUNT packets from SRC to the relay port TO_RELAY must reach DST from FROM_RELAY, intact."""
    ok = 0
    for i in range(count):
        payload = bytes([0x80, 8]) + (first + i).to_bytes(2, "big") + os.urandom(168)
        src.sendto(payload, to_relay)
        try:
            data, came_from = dst.recvfrom(2048)
        except socket.timeout:
            bad.append("%s %d lost" % (what, i))
            continue
        if data == payload and came_from[:2] == from_relay:
            ok += 1
        else:
            bad.append("%s %d from %s" % (what, i, came_from))
    return ok


def relay_media(d, call, family, a_sock, b_sock, count=20):
    """Send COUNT packets each way through the relay; check where and how they arrive."""
    r = call["relay"][0]
    a_relay = (r["caller_side"].strip("[]"), r["caller_port"])
    b_relay = (r["callee_side"].strip("[]"), r["callee_port"])
    bad = []
    ok_ab = one_way(a_sock, b_sock, a_relay, b_relay, count, 0, bad, "a->b")
    ok_ba = one_way(b_sock, a_sock, b_relay, a_relay, count, 1000, bad, "b->a")
    return ok_ab, ok_ba, bad


def basic_call(d, family, label):
    bob_port = free_port()
    T.ok(register_at(d, "bob", bob_port, family), "%s: bob registers" % label)
    a_sock = socket.socket(family, socket.SOCK_DGRAM)
    b_sock = socket.socket(family, socket.SOCK_DGRAM)
    a_sock.bind((host(family), 0))
    b_sock.bind((host(family), 0))
    a_sock.settimeout(2)
    b_sock.settimeout(2)
    uas = start_uas(d, "call_uas.xml", bob_port, family,
                    extra=["-key", "rtp", str(b_sock.getsockname()[1])])
    time.sleep(0.3)
    bg = Background(caller, d, "call_uac.xml", "bob", family, rtp=a_sock.getsockname()[1],
                    extra=["-d", "4000"])
    call = wait_call(d, "confirmed", "bob")
    T.ok(call is not None, "%s: the call is confirmed in `ksipctl call list`" % label, calls(d))
    if call:
        T.ok(call["media"] == "userspace" and call["streams"] == 1,
             "%s: one stream relayed in userspace (no ksip.ko on this host)" % label, call)
        ab, ba, bad = relay_media(d, call, family, a_sock, b_sock)
        T.ok(ab == 20, "%s: 20 RTP packets caller->callee arrive intact from the relay's callee-side port"
             % label, bad)
        T.ok(ba == 20, "%s: 20 RTP packets callee->caller arrive intact from the relay's caller-side port"
             % label, bad)
        now = [c for c in calls(d) if c["id"] == call["id"]][0]
        T.ok(now["packets_from_caller"] == 20 and now["packets_from_callee"] == 20,
             "%s: the call's counters say 20 and 20" % label, now)
    uac = bg.wait()
    both_ok(label, uac, finish(uas))
    ended = [c for c in calls(d) if call and c["id"] == call["id"]]
    T.ok(ended and ended[0]["state"] == "ended" and ended[0]["reason"] == "BYE from caller",
         "%s: the call ended with the caller's BYE" % label, ended)
    a_sock.close()
    b_sock.close()
    no_leaks(d, label)


def main():
    d = new_server()
    try:
        run_all(d)
        drain(d)
    finally:
        rc = d.stop()
        T.ok(rc == 0, "ksipd (ASan/UBSan build) exits cleanly, no leak or error report",
             d.logtext()[-3000:])
        d.cleanup()
    timeout_server()
    T.done()


def run_all(d):
    basic_call(d, socket.AF_INET, "basic call IPv4")
    basic_call(d, socket.AF_INET6, "basic call IPv6")

    # The callee hangs up.
    both_ok("BYE from the callee", *call_bob(d, "call_uas_bye.xml", "call_uac_wait_bye.xml",
                                             uas_extra=["-d", "500"]))
    T.ok(any(c["reason"] == "BYE from callee" for c in calls(d)),
         "BYE from the callee: the call list says so", calls(d))
    no_leaks(d, "BYE from the callee")

    # The caller gives up while it rings.
    before = d.stats()["cancels_received"]
    both_ok("CANCEL before answer", *call_bob(d, "call_uas_ring.xml", "call_uac_cancel.xml",
                                              uac_extra=["-d", "500"]))
    T.ok(d.stats()["cancels_received"] == before + 1, "CANCEL before answer: one CANCEL taken")
    no_leaks(d, "CANCEL before answer")

    # The callee refuses: busy and decline pass through unchanged.
    for code in (486, 603):
        both_ok("callee answers %d" % code,
                *call_bob(d, "call_uas_busy.xml" if code == 486 else "call_uas_decline.xml",
                          "call_uac_fail.xml", uac_extra=["-trace_logs"]))
        got = sipp_final(d)
        T.ok(got == code, "callee answers %d: the caller gets %d" % (code, code), got)
        no_leaks(d, "callee answers %d" % code)

    # Nobody answers: Timer C (3 s here) cancels the branch; the caller gets 408.
    uas = bob_answers(d, "call_uas_ring.xml")
    t0 = time.time()
    uac = caller(d, "call_uac_fail.xml", "bob", extra=["-trace_logs"])
    both_ok("no answer", uac, finish(uas))
    got = sipp_final(d)
    T.ok(got == 408, "no answer: the caller gets 408 after Timer C", got)
    T.ok(2.5 < time.time() - t0 < 15, "no answer: Timer C fired after about 3 s (%.1f s)" % (time.time() - t0))
    no_leaks(d, "no answer")

    # Not registered, and no such user.
    for callee, code, what in (("carol", 480, "callee not registered"), ("nobody", 404, "unknown user")):
        uac = caller(d, "call_uac_fail.xml", callee, extra=["-trace_logs"])
        T.ok(uac[0] == 0, "%s: the caller's scenario passes" % what, uac[1])
        got = sipp_final(d)
        T.ok(got == code, "%s: the caller gets %d" % (what, code), got)
        no_leaks(d, what)

    # Forking: dave has two phones; one answers, the other is cancelled.
    p1, p2 = free_port(), free_port()
    T.ok(register_at(d, "dave", p1) and register_at(d, "dave", p2, keep=True) and len(d.bindings("dave")) == 2,
         "forking: dave registers two contacts")
    before = d.stats()["cancels_sent"]
    ringer = start_uas(d, "call_uas_ring.xml", p2)
    answerer = start_uas(d, "call_uas.xml", p1, extra=["-pause_msg_ign"])
    time.sleep(0.3)
    uac = caller(d, "call_uac.xml", "dave", extra=["-d", "500"])
    T.ok(uac[0] == 0, "forking: the caller's scenario passes", uac[1])
    r1, r2 = finish(answerer), finish(ringer)
    T.ok(r1[0] == 0, "forking: the phone that answered saw the whole call", r1[1])
    T.ok(r2[0] == 0, "forking: the other phone rang and was cancelled (CANCEL, 200, 487, ACK)", r2[1])
    T.ok(d.stats()["cancels_sent"] == before + 1, "forking: ksipd sent one CANCEL")
    d.ctl("reg", "del", "dave")
    no_leaks(d, "forking")

    # Hold with a re-INVITE, then BYE.
    both_ok("re-INVITE", *call_bob(d, "call_uas_reinvite.xml", "call_uac_reinvite.xml",
                                   uac_extra=["-d", "300"]))
    no_leaks(d, "re-INVITE")

    # Instant message.
    uas = bob_answers(d, "message_uas.xml")
    uac = run_sipp(d, "message_uac.xml", [["alice", "[authentication username=alice password=%s]" %
                                           PASSWORDS["alice"], "bob"]], timeout=20,
                   auth_uri="bob@" + sipp_target(d))
    both_ok("MESSAGE", uac, finish(uas))

    # The operator hangs up: BYE to both sides.
    uas = bob_answers(d, "call_uas.xml")
    bg = Background(caller, d, "call_uac_wait_bye.xml", "bob")
    call = wait_call(d, "confirmed", "bob")
    hung = d.ctl("call", "hangup", str(call["id"]), check=False) if call else None
    T.ok(hung is not None and hung.returncode == 0, "ksipctl call hangup succeeds",
         hung.stderr if hung else calls(d))
    both_ok("ksipctl call hangup", bg.wait(), finish(uas))
    T.ok(any(c["reason"] == "hung up by ksipctl" for c in calls(d)), "hangup: the call list says why")
    bad = d.ctl("call", "hangup", "999999", check=False)
    T.ok(bad.returncode != 0 and "no call" in bad.stderr, "hangup of an unknown call is an error",
         bad.stderr)
    no_leaks(d, "ksipctl call hangup")

    # TCP: a caller over TCP (SIPp), and a callee registered over TCP that answers on that connection.
    both_ok("caller over TCP", *call_bob(d, "call_uas.xml", "call_uac.xml", uac_extra=["-d", "300"],
                                         transport="t1"))
    no_leaks(d, "caller over TCP")
    tcp_callee(d)

    proxy_edges(d)
    response_classes(d)


def response_classes(d):
    """Every class of final answer from a callee, as the caller sees it (§16.7), and the ACKs."""
    d.ctl("reg", "del", "bob", check=False)
    bob = SipClient(d)
    r, _ = bob.register("bob", PASSWORDS["bob"], ["<sip:bob@127.0.0.1:%d>" % bob.local[1]])
    T.ok(r is not None and r.code == 200, "response classes: bob registers")
    alice = SipClient(d)
    alice.send(invite_raw(d, alice, "bob"))
    ch = (final_of(alice) or Response(b"")).get("proxy-authenticate") or ""
    for code, reason, want in ((302, "Moved Temporarily", 302), (404, "Not Found", 404),
                               (486, "Busy Here", 486), (500, "Server Internal Error", 500),
                               (503, "Service Unavailable", 500), (600, "Busy Everywhere", 600),
                               (603, "Decline", 603)):
        auth = alice.authorization(ch, "alice", PASSWORDS["alice"], method="INVITE",
                                   uri="sip:bob@ksip.test", nc=next_nc())
        alice.call_id = rand_token(16) + "@test"
        alice.send(invite_raw(d, alice, "bob", auth=auth))
        inv = request_of(bob, "INVITE", alice.call_id)
        if inv is None:
            T.ok(False, "callee answers %d: bob gets the INVITE" % code)
            continue
        extra = "Contact: <sip:bob@192.0.2.99:5060>" if code < 400 else ""
        bob.send(answer(inv.raw, code, reason, extra))
        ack = request_of(bob, "ACK", alice.call_id)
        got = final_of(alice, call_id=alice.call_id)
        T.ok(got is not None and got.code == want,
             "callee answers %d: the caller gets %d%s" % (code, want, " (§16.7: never a 503)" if code == 503 else ""),
             got and got.raw)
        T.ok(ack is not None and ack.raw.startswith(b"ACK ") and ";tag=tcpbob" in (ack.get("to") or ""),
             "callee answers %d: ksipd ACKs it hop by hop, with the callee's To tag" % code, ack and ack.raw)
        if code == 302:
            T.ok(got is not None and "192.0.2.99" in (got.get("contact") or ""),
                 "a redirect reaches the caller with its Contact", got and got.raw)
    # A callee's 200 without a To header is dropped (and the daemon lives); its 486 then ends the call.
    auth = alice.authorization(ch, "alice", PASSWORDS["alice"], method="INVITE", uri="sip:bob@ksip.test",
                               nc=next_nc())
    alice.call_id = rand_token(16) + "@test"
    alice.send(invite_raw(d, alice, "bob", auth=auth))
    inv = request_of(bob, "INVITE", alice.call_id)
    if inv is not None:
        bad = b"\r\n".join(l for l in answer(inv.raw, 200, "OK").split(b"\r\n") if not l.startswith(b"To:"))
        bob.send(bad)
        time.sleep(0.3)
        bob.send(answer(inv.raw, 486, "Busy Here"))
    got = final_of(alice, call_id=alice.call_id)
    T.ok(got is not None and got.code == 486 and d.proc.poll() is None,
         "a 200 without To from the callee is ignored; the later 486 reaches the caller", got and got.raw)
    # OPTIONS to a user is proxied like MESSAGE.
    auth = alice.authorization(ch, "alice", PASSWORDS["alice"], method="OPTIONS", uri="sip:bob@ksip.test",
                               nc=next_nc())
    alice.call_id = rand_token(16) + "@test"
    req = alice.request("OPTIONS", "alice", ruri="sip:bob@ksip.test",
                        extra="Proxy-Authorization: %s" % auth)
    alice.send(req.replace(b"To: <sip:alice@ksip.test>", b"To: <sip:bob@ksip.test>"))
    opt = request_of(bob, "OPTIONS", alice.call_id)
    T.ok(opt is not None and opt.raw.startswith(b"OPTIONS sip:bob@127.0.0.1"),
         "OPTIONS to a user reaches the user's contact", opt and opt.raw)
    if opt is not None:
        bob.send(answer(opt.raw, 200, "OK", "Allow: INVITE, ACK, BYE, OPTIONS"))
    got = final_of(alice, call_id=alice.call_id)
    T.ok(got is not None and got.code == 200 and "INVITE" in (got.get("allow") or ""),
         "and the user's own 200 comes back", got and got.raw)
    alice.close()
    bob.close()
    no_leaks(d, "response classes")


def answer(req, code, reason, extra=""):
    """A response to REQ (raw bytes) copying its Vias, From, To, Call-ID, CSeq and Record-Routes."""
    head = req.split(b"\r\n\r\n", 1)[0].decode()
    keep = [l for l in head.split("\r\n")[1:]
            if l.split(":", 1)[0].strip().lower() in ("via", "v", "from", "f", "to", "t", "call-id", "i",
                                                    "cseq", "record-route")]
    out = []
    for l in keep:
        if l.split(":", 1)[0].strip().lower() in ("to", "t") and ";tag=" not in l:
            l += ";tag=tcpbob"
        out.append(l)
    body = ""
    if "\r\n\r\n" in extra:
        extra, body = extra.split("\r\n\r\n", 1)
    lines = ["SIP/2.0 %d %s" % (code, reason)] + out + ([extra] if extra else []) + \
        ["Content-Length: %d" % len(body)]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def tcp_callee(d):
    label = "callee over TCP"
    d.ctl("reg", "del", "bob", check=False)
    c = SipClient(d, transport="tcp")
    r, _ = c.register("bob", PASSWORDS["bob"], ["<sip:bob@127.0.0.1:%d;transport=tcp>" % c.local[1]])
    T.ok(r is not None and r.code == 200, "%s: bob registers over TCP" % label, r and r.raw)
    media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    media.bind(("127.0.0.1", 0))
    bg = Background(caller, d, "call_uac.xml", "bob", extra=["-d", "500"])
    inv = c.recv(8)
    T.ok(inv is not None and inv.raw.startswith(b"INVITE ") and "SIP/2.0/TCP" in (inv.get("via") or ""),
         "%s: the INVITE arrives on bob's own connection, with a TCP Via" % label, inv and inv.raw)
    if inv is None or not inv.raw.startswith(b"INVITE "):
        bg.wait()
        c.close()
        return
    rr = inv.get("record-route") or ""
    T.ok("transport=tcp" in rr and rr.count("<sip:") == 2,
         "%s: two Record-Routes, the one facing bob with transport=tcp" % label, rr)
    contact = "Contact: <sip:bob@127.0.0.1:%d;transport=tcp>" % c.local[1]
    sdp = ("v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio %d RTP/AVP 8\r\n" % media.getsockname()[1])
    c.send(answer(inv.raw, 180, "Ringing", contact))
    c.send(answer(inv.raw, 200, "OK", contact + "\r\nContent-Type: application/sdp\r\n\r\n" + sdp))
    ack = c.recv(8)
    T.ok(ack is not None and ack.raw.startswith(b"ACK "), "%s: the ACK comes over TCP" % label, ack and ack.raw)
    bye = c.recv(8)
    T.ok(bye is not None and bye.raw.startswith(b"BYE "), "%s: alice's BYE comes over TCP" % label,
         bye and bye.raw)
    if bye is not None and bye.raw.startswith(b"BYE "):
        c.send(answer(bye.raw, 200, "OK"))
    uac = bg.wait()
    T.ok(uac[0] == 0, "%s: the caller's scenario passes" % label, uac[1])
    c.close()
    media.close()
    no_leaks(d, label)


def invite_raw(d, c, callee, extra="", auth=None, from_user="alice"):
    body = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    lines = extra + ("Proxy-Authorization: %s\r\n" % auth if auth else "") + \
        "Contact: <sip:%s@127.0.0.1:%d>\r\nContent-Type: application/sdp" % (from_user, c.local[1])
    req = c.request("INVITE", from_user, ruri="sip:%s@ksip.test" % callee, extra=lines, body=body)
    if "Max-Forwards" in extra:
        req = req.replace(b"Max-Forwards: 70\r\n", b"", 1)
    # request() puts the same user in From and To: make To the callee.
    req = req.replace(b"To: <sip:%s@ksip.test>" % from_user.encode(), b"To: <sip:%s@ksip.test>" % callee.encode())
    return req


NC = [10]


def next_nc():
    """Nonces are per second: every authenticated request here uses a fresh nonce-count."""
    NC[0] += 1
    return NC[0]


def final_of(c, timeout=3, call_id=None):
    """The next final response (of CALL_ID: earlier transactions may still retransmit)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = c.recv(deadline - time.time())
        if r is None:
            return None
        if r.code >= 200 and (call_id is None or r.get("call-id") == call_id):
            return r
    return None


def request_of(c, method, call_id, timeout=3):
    """The next METHOD request of CALL_ID that reaches C."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = c.recv(deadline - time.time())
        if r is None:
            return None
        if r.raw.startswith(method.encode() + b" ") and r.get("call-id") == call_id:
            return r
    return None


def proxy_edges(d):
    c = SipClient(d)
    c.send(invite_raw(d, c, "bob"))
    r = final_of(c)
    T.ok(r is not None and r.code == 407 and r.get("proxy-authenticate"),
         "an INVITE without credentials gets 407 with Proxy-Authenticate", r and r.raw)
    ch = r.get("proxy-authenticate") if r else ""
    # Right password, but the request claims to come from bob.
    auth = c.authorization(ch, "alice", PASSWORDS["alice"], method="INVITE", uri="sip:bob@ksip.test",
                           nc=next_nc())
    c.send(invite_raw(d, c, "bob", auth=auth, from_user="bob").replace(b'username="alice"', b'username="alice"'))
    r = final_of(c)
    T.ok(r is not None and r.code == 403, "credentials of alice in an INVITE from bob: 403", r and r.raw)
    auth = c.authorization(ch, "alice", "wrong", method="INVITE", uri="sip:bob@ksip.test", nc=next_nc())
    c.send(invite_raw(d, c, "bob", auth=auth))
    r = final_of(c)
    T.ok(r is not None and r.code == 407, "a wrong password in Proxy-Authorization: 407 again", r and r.raw)
    c.send(invite_raw(d, c, "bob", extra="Max-Forwards: 0\r\n"))
    r = final_of(c)
    T.ok(r is not None and r.code == 483, "Max-Forwards: 0 gets 483", r and r.raw)
    c.send(invite_raw(d, c, "bob", extra="Proxy-Require: frobnicate\r\n"))
    r = final_of(c)
    T.ok(r is not None and r.code == 420 and "frobnicate" in (r.get("unsupported") or ""),
         "Proxy-Require of an unknown extension gets 420 Unsupported", r and r.raw)
    c.send(c.request("CANCEL", "alice", ruri="sip:bob@ksip.test"))
    r = final_of(c)
    T.ok(r is not None and r.code == 481, "a CANCEL matching no INVITE gets 481", r and r.raw)
    c.close()

    # A request that comes back: loopy's phone is a reflector that sends everything back to ksipd.
    port = free_port()
    T.ok(register_at(d, "loopy", port), "loop: loopy registers")
    refl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    refl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    refl.bind(("127.0.0.1", port))
    refl.settimeout(0.2)
    stop = time.time() + 6

    def reflect():
        while time.time() < stop:
            try:
                data, _ = refl.recvfrom(65535)
            except socket.timeout:
                continue
            refl.sendto(data, ("127.0.0.1", d.port))
    th = threading.Thread(target=reflect, daemon=True)
    th.start()
    c = SipClient(d)
    c.send(invite_raw(d, c, "loopy"))
    r = final_of(c)
    ch = r.get("proxy-authenticate") if r else ""
    auth = c.authorization(ch, "alice", PASSWORDS["alice"], method="INVITE", uri="sip:loopy@ksip.test",
                           nc=next_nc())
    c.send(invite_raw(d, c, "loopy", auth=auth))
    r = final_of(c, timeout=6)
    T.ok(r is not None and r.code in (482, 483), "loop: the INVITE ends with 482 Loop Detected (or 483)",
         r and r.raw)
    T.ok(r is not None and r.code == 482, "loop: detected by the Via branch hash, before Max-Forwards ran out",
         r and r.raw)
    c.close()
    th.join()
    refl.close()
    d.ctl("reg", "del", "loopy")


def drain(d):
    """After the last scenario every transaction and call must disappear on its timers."""
    deadline = time.time() + 25
    while time.time() < deadline:
        s = d.stats()
        if s["transactions"] == 0 and s["branches"] == 0 and s["calls_listed"] == 0:
            break
        time.sleep(0.5)
    T.ok(s["transactions"] == 0 and s["branches"] == 0 and s["calls_listed"] == 0,
         "all transactions, branches and calls are freed on their timers",
         {k: s[k] for k in ("transactions", "branches", "calls_listed")})


def hung_up_by_ksipd(label, reason, **conf):
    """A call with no media that ksipd must end itself after about 2 s, with BYE to both legs."""
    d = new_server(**conf)
    try:
        uas = bob_answers(d, "call_uas.xml")
        t0 = time.time()
        uac = caller(d, "call_uac_wait_bye.xml", "bob")
        both_ok(label, uac, finish(uas))
        T.ok(1.5 < time.time() - t0 < 12, "%s: the BYEs came after about 2 s (%.1f s)" % (label, time.time() - t0))
        T.ok(any(c["reason"] == reason for c in calls(d)), "%s: the call list says why" % label, calls(d))
        T.ok(reason in d.logtext(), "%s: the log says why" % label)
        no_leaks(d, label)
    finally:
        rc = d.stop()
        T.ok(rc == 0, "%s: ksipd exits cleanly" % label, d.logtext()[-2000:])
        d.cleanup()


def timeout_server():
    hung_up_by_ksipd("media time-out", "media timeout", media_timeout=2)
    hung_up_by_ksipd("maximum duration", "maximum call duration", max_call_duration=2)


if __name__ == "__main__":
    main()
