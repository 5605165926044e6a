#!/usr/bin/env python3
"""Blind transfer: baresip transfers linphone to a third phone, all through ksipd.

alice (baresip, 440 Hz) calls bob (linphone, 1000 Hz); alice transfers bob to
carol (a second baresip, 700 Hz) with REFER. ksipd must relay the REFER and
its NOTIFYs in the dialog, and challenge the INVITE bob then sends to carol like
any other; carol must see the call come from bob, and once she answers bob
and carol talk through the relay (each hears the other's tone and not its
own) while alice's call has ended on every side.
"""
import phonetest
from phonetest import (ALICE_HZ, BOB_HZ, CAROL_HZ, PhoneTest, Tap, check_audio, end_call,
                       place_call, wait_packets)

T = Tap()
t = T.t = PhoneTest(carol=True, **phonetest.calls_conf())
try:
    T.ok(all(t.wait_binding(u) for u in ("alice", "bob", "carol")), "three phones registered")
    first = place_call(T, t, t.alice, t.bob, "alice calls bob")
    if not first:
        T.done()
    n = wait_packets(t, first, 100, 100)
    T.ok(n[0] >= 100 and n[1] >= 100, "alice and bob talk: 100+ packets relayed each way", n)
    bob_heard_alice = t.bob.received_wav()	# bob's next call records to a new file
    before = t.d.stats()

    am, bm, cm = t.alice.mark(), t.bob.mark(), t.carol.mark()
    r = t.alice.command("transfer", t.carol.aor)
    T.ok(r is not None and r.get("ok"), "baresip takes the transfer command", r)
    inc = t.carol.wait_incoming(cm)
    T.ok(inc is not None and inc.get("peeruri") == t.bob.aor,
         "carol's baresip reports an incoming call from bob", inc)
    t.carol.answer()
    T.ok(t.carol.wait_established(cm) is not None and
         t.bob.wait_output(r"Media streams established with sip:carol@", since=bm) is not None,
         "carol and linphone report their call established")
    second = t.wait_call(lambda c: c["state"] == "confirmed" and c["caller"] == "bob" and
                         c["callee"] == "carol", 5)
    T.ok(second is not None and second["media"] == "userspace",
         "ksipd lists bob -> carol confirmed, relayed in userspace", t.calls())
    T.ok(t.alice.wait_ended(am) is not None, "baresip (alice) reports its call ended")
    T.ok(t.bob.wait_output(r"Call \d+ with sip:alice@\S+ ended", since=bm) is not None,
         "linphone reports its call with alice ended")
    old = t.wait_call(lambda c: c["call_id"] == first["call_id"] and c["state"] == "ended", 5)
    T.ok(old is not None, "ksipd lists alice's call ended", t.calls())
    after = t.d.stats()
    refer = (after["requests_by_method"].get("REFER", 0) -
             before["requests_by_method"].get("REFER", 0))
    T.ok(refer >= 1, "the REFER went through ksipd", after["requests_by_method"])
    T.ok(after["auth_challenges"] > before["auth_challenges"],
         "ksipd challenged the INVITE the transfer caused",
         (before["auth_challenges"], after["auth_challenges"]))
    if second:
        n = wait_packets(t, second, 150, 150)
        T.ok(n[0] >= 150 and n[1] >= 150, "bob and carol talk: 150+ packets relayed each way", n)
    end_call(T, t, t.carol, t.bob, "carol hangs up")
    check_audio(T, bob_heard_alice, ALICE_HZ, BOB_HZ, "before the transfer linphone heard alice")
    check_audio(T, t.alice.received_wav(), BOB_HZ, ALICE_HZ, "baresip (alice) heard linphone")
    check_audio(T, t.bob.received_wav(), CAROL_HZ, BOB_HZ, "after it linphone heard carol", 1.5)
    check_audio(T, t.carol.received_wav(), BOB_HZ, CAROL_HZ, "carol heard linphone", 1.5)
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
