#!/usr/bin/env python3
"""MESSAGE both ways between baresip and linphone, through ksipd.

Each phone sends a text with a random token to the other; the other must print
it as received from the sender's address of record (not from a Contact or
ksipd's address), and ksipd must challenge each MESSAGE (407) before relaying
it: the texts arrive although every MESSAGE goes out without credentials first.
No call is created for a MESSAGE.
"""
import phonetest
from ksiptest import rand_token
from phonetest import PhoneTest, Tap

T = Tap()
t = T.t = PhoneTest(**phonetest.calls_conf())
try:
    T.ok(bool(t.wait_binding("alice")) and bool(t.wait_binding("bob")), "both phones registered")
    before = t.d.stats()
    for sender, receiver, label in ((t.alice, t.bob, "baresip to linphone"),
                                    (t.bob, t.alice, "linphone to baresip")):
        text = "hello-from-%s-%s" % (sender.user, rand_token(8))
        sender.message(receiver.aor, text)
        frm = receiver.wait_message(text)
        T.ok(frm is not None, "%s: the text arrives" % label, text)
        T.ok(frm == sender.aor, "%s: from the sender's address of record %s" % (label, sender.aor),
             frm)
    after = t.d.stats()
    T.ok(t.calls() == [] and after["calls_active"] == 0, "no call was created for a MESSAGE",
         t.calls())
    grew = {k: after[k] - before[k] for k in after
            if isinstance(after[k], int) and k in before and after[k] != before[k]}
    # Two MESSAGEs, and linphone's delivery notification for the one it received.
    T.ok(grew.get("auth_challenges", 0) >= 2, "ksipd challenged each MESSAGE before relaying it",
         grew)
    print("# ksipd's counters moved by: " + ", ".join("%s +%d" % kv for kv in sorted(grew.items())))
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
