#!/usr/bin/env python3
"""baresip behind a NAT is called after the NAT's timeout: ksipd's keepalives keep it reachable.

baresip (alice, 440 Hz) sits behind a router namespace with nftables masquerade
whose UDP mappings live 5 s after their last packet (phonenet.py); it registers
with its private Contact and sends nothing on its own afterwards (regint 600, no
keepalive of its own). linphone (bob, 1000 Hz) is on ksipd's side. Two ksipds run
side by side, each with its own router, baresip and linphone:

- nat_keepalive_interval = 2: 8 s after the registrations (past the NAT timeout)
  ksipd has sent keepalives and baresip answered them; linphone calls baresip, the
  call arrives and is answered, 150+ packets are relayed each way, the router passes
  the relay's RTP to the phone's private address (the relay latched onto the NAT's
  public address: ksipd's namespace has no route to the private one), and each
  recording carries the other phone's tone and not its own.
- nat_keepalive_interval = 0 (the control, proof that the test can fail): no
  keepalive is sent, ksipd forwards linphone's INVITE towards the NAT's public
  address, and baresip never sees it.

About 25 s: both setups register at once and share the 8 s wait.
"""
import time

import phonetest
from phonenet import NAT_TIMEOUT
from phonetest import (ALICE_HZ, BOB_HZ, PhoneTest, Tap, check_audio, end_call, place_call,
                       wait_packets)

WAIT = NAT_TIMEOUT + 3		# after registering: every mapping not refreshed is gone
KEEPALIVE = 2

T = Tap()
on = off = None
rc_on = rc_off = 0


def registered_behind_nat(t, label):
    """baresip's binding: its private Contact, reached at the router's public address."""
    link = t.net.links["bs"]
    b = t.wait_binding("alice")
    T.ok(len(b) == 1 and b[0]["source"].startswith(link.public4 + ":") and
         link.phone4 in b[0]["contact"],
         "%s: baresip registers its private Contact (%s) from the router's address (%s)" %
         (label, link.phone4, link.public4), b)
    T.ok(bool(t.wait_binding("bob")), "%s: linphone registers" % label)
    return bool(b)


try:
    # A phone behind a NAT on UDP cannot take a request over 1300 bytes: RFC 3261 §18.1.1 wants
    # TCP for it and no TCP gets through the NAT to the phone, so ksipd answers 513
    # (docs/phones.md). linphone with its default codecs sends 1,417 bytes: G.711 only here.
    on = PhoneTest(nat=("bs",), nat_keepalive_interval=KEEPALIVE, linphone_g711_only=True,
                   **phonetest.calls_conf())
    off = PhoneTest(nat=("bs",), nat_keepalive_interval=0, linphone_g711_only=True,
                    **phonetest.calls_conf())
    T.t = on
    registered_behind_nat(on, "keepalives every %d s" % KEEPALIVE)
    registered_behind_nat(off, "keepalives off")
    print("# waiting %d s: the router forgets an idle mapping after %d s" % (WAIT, NAT_TIMEOUT),
          flush=True)
    time.sleep(WAIT)

    # With keepalives: the call arrives after the NAT timeout, the media goes through the NAT.
    label = "keepalives every %d s, called %d s after registering" % (KEEPALIVE, WAIT)
    st = on.d.stats()
    T.ok(st["nat_keepalives_sent"] >= 3 and st["nat_keepalives_answered"] >= 3 and
         st["nat_keepalive_expired"] == 0,
         "%s: ksipd sent keepalives (%d) and baresip answered them (%d)" %
         (label, st["nat_keepalives_sent"], st["nat_keepalives_answered"]), st)
    call = place_call(T, on, on.bob, on.alice, label)
    if call:
        n = wait_packets(on, call, 150, 150)
        T.ok(n[0] >= 150 and n[1] >= 150, "%s: ksipd relayed 150 or more packets each way" %
             label, n)
        through = on.net.nat_relayed("bs")
        T.ok(through >= 150, "%s: the router passed %d of the relay's packets to baresip's "
             "private address (the relay latched onto the NAT's address)" % (label, through))
    end_call(T, on, on.bob, on.alice, label)
    check_audio(T, on.alice.received_wav(), BOB_HZ, ALICE_HZ,
                "%s: baresip heard linphone's tone" % label, 1.5)
    check_audio(T, on.bob.received_wav(), ALICE_HZ, BOB_HZ,
                "%s: linphone heard baresip's tone" % label, 1.5)
    rc_on = on.cleanup()
    on = None

    # The control: without keepalives the NAT has forgotten baresip.
    T.t = off
    label = "keepalives off, called %d s or more after registering" % WAIT
    T.ok(off.d.stats()["nat_keepalives_sent"] == 0, "%s: ksipd sent no keepalive" % label)
    em = off.alice.mark()
    off.bob.call(off.alice.aor)
    sent = off.wait_call(lambda c: c["callee"] == "alice", 5)
    T.ok(sent is not None, "%s: ksipd takes linphone's call to baresip" % label, off.calls())
    inc = off.alice.wait_incoming(em, 5)
    T.ok(inc is None and not any(c["state"] == "confirmed" for c in off.calls()),
         "%s: the call does not reach baresip behind the NAT" % label, inc)
    off.bob.hangup()
finally:
    for t in (on, off):
        if t:
            rc = t.cleanup()
            if t is on:
                rc_on = rc
            else:
                rc_off = rc
T.t = None
T.ok(rc_on == 0 and rc_off == 0, "both ksipds exit cleanly (status 0, no sanitizer report)",
     (rc_on, rc_off))
T.done()
