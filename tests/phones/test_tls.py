#!/usr/bin/env python3
"""baresip over TLS (issue 15) <-> linphone over UDP, through ksipd, audio checked both ways.

alice (baresip) registers over TLS to ksipd's port 5061 (outbound ";transport=tls", ksipd's
self-signed certificate; Debian's baresip 1.0.0 does not verify it) and keeps that connection;
bob (linphone) stays on UDP. ksipd must hold alice's binding as a TLS one, and bridge the
calls across transports: alice calls bob and bob hangs up, then bob calls alice (reached over
her TLS connection) and alice hangs up; each recording carries the other phone's tone.
"""
import re

import phonetest
from phonetest import (ALICE_HZ, BOB_HZ, PhoneTest, Tap, check_audio, end_call, place_call,
                       wait_packets)

T = Tap()
t = T.t = PhoneTest(sip_trace=True, baresip_tls=True, **phonetest.calls_conf())
try:
    a = t.wait_binding("alice", timeout=10)
    T.ok(len(a) == 1 and a[0]["transport"] == "tls", "baresip registered over TLS: a tls binding", a)
    T.ok(re.search(r"alice@\S+: \{0/TLS/v4\} 200 OK", t.alice.logtext()) is not None,
         "baresip reports its registration over TLS 200 OK",
         "\n".join(ln for ln in t.alice.logtext().splitlines() if "reg" in ln.lower())[-800:])
    T.ok(bool(t.wait_binding("bob")), "linphone registered over UDP")
    for caller, callee, label in ((t.alice, t.bob, "baresip (TLS) calls linphone (UDP)"),
                                  (t.bob, t.alice, "linphone (UDP) calls baresip (TLS)")):
        call = place_call(T, t, caller, callee, label)
        if call:
            n = wait_packets(t, call, 150, 150)
            T.ok(n[0] >= 150 and n[1] >= 150,
                 "%s: ksipd relayed 150 or more packets each way" % label, n)
        end_call(T, t, callee, caller, label)
        check_audio(T, t.alice.received_wav(), BOB_HZ, ALICE_HZ,
                    "%s: baresip heard linphone's tone" % label, 1.5)
        check_audio(T, t.bob.received_wav(), ALICE_HZ, BOB_HZ,
                    "%s: linphone heard baresip's tone" % label, 1.5)
    st = t.d.stats()
    T.ok(st["tls_handshakes"] >= 1 and st["tls_handshake_failed"] == 0,
         "ksipd counted baresip's handshake, no failed one",
         {k: st[k] for k in ("tls_handshakes", "tls_handshake_failed")})
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
