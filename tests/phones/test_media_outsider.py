#!/usr/bin/env python3
"""Attacker: an outsider sends RTP to a live call's relay ports; neither phone may hear it.

alice (baresip, 440 Hz) calls bob (linphone, 1000 Hz). Once both phones'
media flows (the relay has latched onto each), a third namespace with no phone
sends 150 PCMU packets of a 2000 Hz tone (3 s at 20 ms) to each of the call's
two relay ports, from its own address. The relay must forward only what comes
from each leg's phone: the recordings carry the phones' tones and no 2000 Hz,
and the call goes on undisturbed.
"""
import os
import random
import socket
import time

import phonetest
import tone
from phonenet import socket_in
from phonetest import (ALICE_HZ, BOB_HZ, PhoneTest, Tap, check_audio, end_call, place_call,
                       wait_packets)

EVIL_HZ = 2000
T = Tap()
t = T.t = PhoneTest(outsider=True, **phonetest.calls_conf())
try:
    T.ok(bool(t.wait_binding("alice")) and bool(t.wait_binding("bob")), "both phones registered")
    call = place_call(T, t, t.alice, t.bob, "call")
    if not call:
        T.done()
    n = wait_packets(t, call, 50, 50)
    T.ok(n[0] >= 50 and n[1] >= 50, "both phones' media reaches the relay", n)

    ev = t.net.links["ev"]
    s = socket_in(ev.ns, socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ev.phone4, 0))
    r = call["relay"][0]
    targets = [(r["caller_side"], r["caller_port"]), (r["callee_side"], r["callee_port"])]
    ssrc, seq0 = random.getrandbits(32), random.getrandbits(16)
    sent = 0
    for i in range(150):
        pkt = tone.pcmu_rtp(EVIL_HZ, seq0 + i, 160 * i, ssrc)
        for dst in targets:
            s.sendto(pkt, dst)
            sent += 1
        time.sleep(0.02)
    s.close()
    T.ok(sent == 300, "the outsider sent 150 packets of %d Hz to each relay port" % EVIL_HZ, sent)
    c = t.wait_call(lambda c: c["call_id"] == call["call_id"], 2)
    T.ok(c is not None and c["state"] == "confirmed", "the call is still confirmed", c)
    end_call(T, t, t.alice, t.bob, "hang-up")
    for wav, label, want, own in ((t.alice.received_wav(), "baresip's recording", BOB_HZ, ALICE_HZ),
                                  (t.bob.received_wav(), "linphone's recording", ALICE_HZ, BOB_HZ)):
        check_audio(T, wav, want, own, label, 2.5)
        if wav and os.path.exists(wav):
            a = tone.Analysis(wav, [EVIL_HZ, want])
            T.ok(a.tone_seconds(EVIL_HZ) == 0, "%s: none of the outsider's %d Hz" %
                 (label, EVIL_HZ), a.summary())
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
