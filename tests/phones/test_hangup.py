#!/usr/bin/env python3
"""Hang-up from either side, for either phone as caller.

Four calls: baresip calls linphone and baresip hangs up, then linphone hangs
up; linphone calls baresip and linphone hangs up, then baresip hangs up. Each
time the other phone must report the call ended (it got the BYE through
ksipd), the phone that hung up must report it too (its BYE was answered), and
ksipd must list no live call: the call shows as ended with the side whose BYE
ended it, and no call is active.
"""
import phonetest
from phonetest import PhoneTest, Tap, end_call, name, place_call, wait_packets

T = Tap()
t = T.t = PhoneTest(**phonetest.calls_conf())
try:
    T.ok(bool(t.wait_binding("alice")) and bool(t.wait_binding("bob")), "both phones registered")
    for caller, callee in ((t.alice, t.bob), (t.bob, t.alice)):
        for by in (caller, callee):
            label = "%s calls %s, %s hangs up" % (name(caller), name(callee), name(by))
            call = place_call(T, t, caller, callee, label)
            if call:
                n = wait_packets(t, call, 10, 10)
                T.ok(n[0] >= 10 and n[1] >= 10, "%s: media flows both ways" % label, n)
            end_call(T, t, by, callee if by is caller else caller, label)
            ended = t.wait_call(lambda c: call and c["call_id"] == call["call_id"], 2)
            side = "caller" if by is caller else "callee"
            T.ok(ended is not None and ended["state"] == "ended" and
                 ended["reason"] == "BYE from %s" % side,
                 "%s: ksipd lists the call ended by the BYE from the %s" % (label, side), ended)
            # The recordings of these calls are not checked; start the next call on fresh files.
            t.alice.received_wav()
            t.bob.received_wav()
    s = t.d.stats()
    T.ok(s["calls_active"] == 0 and s["relay_ports_in_use"] == 0 and s["relay_streams"] == 0,
         "after four calls: 0 calls active, 0 relay ports in use, 0 relay streams",
         {k: s[k] for k in ("calls_active", "relay_ports_in_use", "relay_streams")})
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
