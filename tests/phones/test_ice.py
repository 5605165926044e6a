#!/usr/bin/env python3
"""A linphone with ICE on calls baresip: ksipd removes ICE, the call goes through the relay.

linphone offers ICE host candidates (its own addresses); ksipd is the media
relay, so the SDP it forwards must carry no ICE attribute: baresip must see
neither a=candidate nor a=ice-*, the call must be relayed with both tones
heard. TAP TODO while phonetest.ICE_REMOVED is False.
"""
import re

import phonetest
from phonetest import (ALICE_HZ, BOB_HZ, PhoneTest, Tap, check_audio, end_call, place_call,
                       wait_packets)

T = Tap()
t = T.t = PhoneTest(linphone_ice=True, sip_trace=True, **phonetest.calls_conf())
try:
    T.ok(bool(t.wait_binding("alice")) and bool(t.wait_binding("bob")), "both phones registered")
    T.todo = None if phonetest.ICE_REMOVED else phonetest.ICE_TODO
    call = place_call(T, t, t.bob, t.alice, "linphone (ICE) calls baresip")
    if call:
        n = wait_packets(t, call, 150, 150)
        T.ok(n[0] >= 150 and n[1] >= 150, "ksipd relayed 150 or more packets each way", n)
        end_call(T, t, t.bob, t.alice, "hang-up")
        check_audio(T, t.alice.received_wav(), BOB_HZ, ALICE_HZ, "baresip heard linphone", 1.5)
        check_audio(T, t.bob.received_wav(), ALICE_HZ, BOB_HZ, "linphone heard baresip", 1.5)
        ice = re.findall(r"(?m)^a=(?:candidate|ice-[a-z]+|remote-candidates)[^\r\n]*",
                         t.alice.logtext())
        T.ok(not ice, "baresip received no ICE attribute", ice[:6])
    else:
        t.bob.hangup()
        T.todo = None	# holds whatever the gap
        T.ok(t.wait_no_live_call(), "no live call left after the attempt", t.calls())
    T.todo = None
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
