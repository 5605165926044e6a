#!/usr/bin/env python3
"""baresip <-> linphone calls through ksipd, with the audio checked both ways.

alice (baresip) sends 440 Hz, bob (linphone) 1000 Hz. Each phone records what
it receives; each recording must carry the other phone's tone for at least
1.5 s and none of its own. First alice calls bob and bob hangs up, then bob
calls alice and alice hangs up. ksipd's call list must show each call
confirmed, relayed in userspace, with at least 150 packets (3 s of 20 ms
packets) relayed from each side, and nothing live after the hang-up. The SDP
each phone received (baresip's SIP trace, linphone's log) must name none of
the other phone's addresses.
"""
import phonetest
from phonetest import (ALICE_HZ, BOB_HZ, PhoneTest, Tap, check_audio, end_call, place_call,
                       sdp_leaks, wait_packets)

T = Tap()
t = T.t = PhoneTest(sip_trace=True, **phonetest.calls_conf())
try:
    T.ok(bool(t.wait_binding("alice")) and bool(t.wait_binding("bob")),
         "both phones registered (auth_algorithms = %s)" %
         (phonetest.CALLS_AUTH_ALGORITHMS or "default"))
    for caller, callee, label in ((t.alice, t.bob, "baresip calls linphone"),
                                  (t.bob, t.alice, "linphone calls baresip")):
        call = place_call(T, t, caller, callee, label)
        if call:
            n = wait_packets(t, call, 150, 150)
            T.ok(n[0] >= 150 and n[1] >= 150,
                 "%s: ksipd relayed 150 or more packets each way" % label, n)
        end_call(T, t, callee, caller, label)
        a_wav, b_wav = t.alice.received_wav(), t.bob.received_wav()
        check_audio(T, a_wav, BOB_HZ, ALICE_HZ, "%s: baresip heard linphone's tone" % label, 1.5)
        check_audio(T, b_wav, ALICE_HZ, BOB_HZ, "%s: linphone heard baresip's tone" % label, 1.5)
    if not phonetest.LINPHONE_G711_ONLY:
        # linphone's default offer makes its INVITE over 1300 bytes: to baresip, registered over
        # UDP, it went over a TCP connection ksipd opened (RFC 3261 18.1.1), not a 513.
        st = t.d.stats()
        T.ok(st["tcp_connects"] >= 1 and st["tcp_connect_failed"] + st["tcp_connect_timeouts"] == 0,
             "linphone's large INVITE reached baresip over a TCP connection ksipd opened",
             {k: st[k] for k in ("tcp_connects", "tcp_connect_failed", "tcp_connect_timeouts")})
    # What each phone was told about the other: only the relay's addresses, never the phone's.
    todo = None if phonetest.O_LINE_REWRITTEN else phonetest.O_LINE_TODO
    li, bs = t.net.links["li"], t.net.links["bs"]
    leaks = sdp_leaks(t.alice.logtext(), [li.phone4, li.phone6])
    T.ok(not leaks, "the SDP baresip received names no address of linphone's", leaks, todo=todo)
    with open(t.bob.dir + "/linphone.log", errors="replace") as f:
        leaks = sdp_leaks(f.read(), [bs.phone4, bs.phone6])
    T.ok(not leaks, "the SDP linphone received names no address of baresip's", leaks, todo=todo)
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
