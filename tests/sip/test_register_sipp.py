#!/usr/bin/env python3
"""Registrar behaviour with SIPp as the real peer, over UDP, TCP and IPv6.

Each check runs a SIPp scenario (tests/sipp/*.xml) against a live ksipd and
then looks at the daemon's state through ksipctl.
"""
import signal
import time

from ksiptest import Ksipd, Tap, free_port, run_sipp

tap = Tap()


def auth_field(user, password):
    return [user, "[authentication username=%s password=%s]" % (user, password)]


# SIPp only reads the first challenge and knows MD5 alone: offer MD5 here
# (the default SHA-256-first order is covered by test_sip_edge.py).
k = Ksipd(auth_algorithms="MD5", min_expires=60)
try:
    k.add_user("alice", "s3cret")
    k.add_user("bob", "hunter2")
    k.add_user("carol", "pw-carol")

    for transport, ipv6, label in (("u1", False, "UDP"), ("t1", False, "TCP"), ("u1", True, "IPv6 UDP"),
                                   ("t1", True, "IPv6 TCP")):
        before = k.stats()
        rc, out = run_sipp(k, "register_refresh.xml", [auth_field("alice", "s3cret")], transport, ipv6)
        after = k.stats()
        tap.ok(rc == 0, "%s: REGISTER challenged, authenticated, refreshed" % label, out)
        tap.ok(after["auth_challenges"] - before["auth_challenges"] == 1,
               "%s: the refresh reused the nonce without a new challenge" % label,
               "challenges %d -> %d" % (before["auth_challenges"], after["auth_challenges"]))
        want = "transport=%s" % ("tcp" if transport == "t1" else "udp")
        tap.ok(any(want in b["contact"].lower() and b["transport"] == ("tcp" if transport == "t1" else "udp")
                   for b in k.bindings("alice")), "%s: binding recorded with its transport" % label,
               k.bindings("alice"))

    before = k.stats()
    rc, out = run_sipp(k, "register_rejected.xml", [auth_field("bob", "wrong")])
    tap.ok(rc == 0, "wrong password gets 401 again", out)
    rc, out = run_sipp(k, "register_rejected.xml", [auth_field("mallory", "whatever")])
    tap.ok(rc == 0, "unknown user gets 401 again", out)
    after = k.stats()
    tap.ok(after["auth_failures"] - before["auth_failures"] == 2, "both counted as auth failures",
           after)
    tap.ok(not k.bindings("bob") and not k.bindings("mallory"), "no binding for refused users")

    # carol's runs share one local port, so her contact URIs stay the same between runs.
    carol_port = free_port()
    rc, out = run_sipp(k, "register_too_brief.xml", [auth_field("carol", "pw-carol")], port=carol_port)
    tap.ok(rc == 0, "Expires: 10 below min_expires gets 423 with Min-Expires", out)
    tap.ok(not k.bindings("carol"), "423 left no binding")

    rc, out = run_sipp(k, "register_two_contacts.xml", [auth_field("carol", "pw-carol")], port=carol_port)
    tap.ok(rc == 0, "two contacts in one REGISTER, both listed in the 200", out)
    tap.ok(len(k.bindings("carol")) == 2, "carol has two bindings", k.bindings("carol"))
    rc, out = run_sipp(k, "register_remove_one.xml", [auth_field("carol", "pw-carol")], port=carol_port)
    rest = k.bindings("carol")
    tap.ok(rc == 0 and len(rest) == 1 and "-desk@" not in rest[0]["contact"],
           "Expires: 0 removed exactly the named contact", out + str(rest))

    rc, out = run_sipp(k, "register_two_contacts.xml", [auth_field("carol", "pw-carol")], port=carol_port)
    before_restart = sorted(b["contact"] for b in k.bindings())
    rc_stop = k.restart()
    after_restart = sorted(b["contact"] for b in k.bindings())
    tap.ok(rc_stop == 0, "ksipd stops cleanly on SIGTERM (exit %d, no sanitizer report)" % rc_stop,
           k.logtext()[-3000:])
    tap.ok(before_restart and before_restart == after_restart,
           "all %d bindings survive a restart" % len(before_restart),
           "%s\n%s" % (before_restart, after_restart))

    rc, out = run_sipp(k, "register_refresh.xml", [auth_field("alice", "s3cret")])
    tap.ok(rc == 0, "users and the nonce secret survive a restart (register works after it)", out)

    rc, out = run_sipp(k, "register_remove_all.xml", [auth_field("carol", "pw-carol")], port=carol_port)
    tap.ok(rc == 0 and not k.bindings("carol"), "Contact: * with Expires: 0 removed every binding",
           out + str(k.bindings("carol")))

    # Crash: bindings committed before the kill are kept (store_flush_ms bounds the loss).
    rc, out = run_sipp(k, "register_two_contacts.xml", [auth_field("carol", "pw-carol")], port=carol_port)
    time.sleep(0.6)
    k.restart(signal.SIGKILL)
    tap.ok(len(k.bindings("carol")) == 2, "bindings written before a SIGKILL are restored",
           k.bindings("carol"))
finally:
    rc = k.stop()
    tap.ok(rc == 0, "ksipd exited cleanly (status %d)" % rc, k.logtext()[-3000:])
    k.cleanup()

# Stale nonce with a short lifetime, in its own instance.
k = Ksipd(auth_algorithms="MD5", nonce_lifetime=2)
try:
    k.add_user("dave", "pw-dave")
    before = k.stats()
    rc, out = run_sipp(k, "register_stale.xml", [auth_field("dave", "pw-dave")])
    after = k.stats()
    tap.ok(rc == 0, "expired nonce answered with stale=true, then re-authenticated", out)
    tap.ok(after["auth_stale"] - before["auth_stale"] == 1, "stale nonce counted once", after)
finally:
    rc = k.stop()
    tap.ok(rc == 0, "ksipd exited cleanly (status %d)" % rc, k.logtext()[-3000:])
    k.cleanup()

tap.done()
