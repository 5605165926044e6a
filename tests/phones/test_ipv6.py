#!/usr/bin/env python3
"""An IPv6 phone and an IPv4 phone call each other, audio checked both ways.

baresip (alice) registers over IPv6, linphone (bob) over IPv4. Each call's
legs must each get the relay address of their own family (ksipd's call list:
the caller's side of the relay in the caller's family, the callee's in the
callee's), the media must be relayed both ways and each recording must carry
the other phone's tone and not its own. The IPv4-to-IPv6 direction is TODO
while phonetest.O_LINE_REWRITTEN is False.
"""
import phonetest
from phonetest import (ALICE_HZ, BOB_HZ, PhoneTest, Tap, check_audio, end_call, name,
                       place_call, wait_packets)

T = Tap()
t = T.t = PhoneTest(ipv6=("bs",), **phonetest.calls_conf())
try:
    a, b = t.wait_binding("alice"), t.wait_binding("bob")
    T.ok(len(a) == 1 and a[0]["source"].startswith("[fd14:"),
         "baresip registered over IPv6", a)
    T.ok(len(b) == 1 and b[0]["source"].startswith("10.14."), "linphone registered over IPv4", b)
    for caller, callee, todo in ((t.alice, t.bob, None),
                                 (t.bob, t.alice, None if phonetest.O_LINE_REWRITTEN
                                  else phonetest.O_LINE_TODO)):
        label = "%s (IPv%s) calls %s" % (name(caller), 6 if caller is t.alice else 4, name(callee))
        T.todo = todo
        call = place_call(T, t, caller, callee, label)
        if call:
            r = call["relay"][0]
            v6 = {"caller_side": caller is t.alice, "callee_side": callee is t.alice}
            T.ok(all(r[k].startswith("[") == v6[k] for k in v6),
                 "%s: each leg faces a relay address of its own family" % label, r)
            n = wait_packets(t, call, 150, 150)
            T.ok(n[0] >= 150 and n[1] >= 150,
                 "%s: ksipd relayed 150 or more packets each way" % label, n)
            end_call(T, t, caller, callee, label)
            check_audio(T, t.alice.received_wav(), BOB_HZ, ALICE_HZ,
                        "%s: baresip heard linphone's tone" % label, 1.5)
            check_audio(T, t.bob.received_wav(), ALICE_HZ, BOB_HZ,
                        "%s: linphone heard baresip's tone" % label, 1.5)
        else:
            caller.hangup()	# whatever is left of the attempt
            T.todo = None	# holds whatever the gap
            T.ok(t.wait_no_live_call(), "%s: no live call left after the attempt" % label,
                 t.calls())
        T.todo = None
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
