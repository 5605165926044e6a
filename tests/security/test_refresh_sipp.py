#!/usr/bin/env python3
"""The other side of test_replay.py: the replay defence never costs an honest
phone its password prompt. SIPp registers once with credentials, then keeps
refreshing by nonce-count on the same nonce.

Hours of simulated time: what the server sees of a phone that refreshes every
minute for hours is one nonce used with nc = 2, 3, ... N+1 within its
lifetime; the wall-clock interval does not matter to it. So part 1 runs 200
refreshes (more than three hours of one-minute refreshes, far more than any
window) against nonce_lifetime = 3600: exactly one 401, the first. Part 2
shrinks the lifetime to 2 s with refreshes every 0.5 s, so the nonce goes
stale several times: each time the phone gets 401 stale=true and answers with
its stored credentials (the scenario fails on a 401 without stale=true).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, Tap, run_sipp  # noqa: E402

tap = Tap()
FIELDS = [["alice", "[authentication username=alice password=s3cret]"]]


def count_401(st):
    return st["responses_by_code"].get("401", 0)


def registers(st):
    return st["requests_by_method"].get("REGISTER", 0)


def refresh_run(k, refreshes, pause_ms, timeout):
    return run_sipp(k, "register_refresh_many.xml", FIELDS, timeout=timeout,
                    extra=["-set", "refreshes", str(refreshes), "-set", "pause_ms", str(pause_ms)])


# SIPp reads only the first challenge and knows MD5 alone.
k = Ksipd(auth_algorithms="MD5", nonce_lifetime=3600)
try:
    k.add_user("alice", "s3cret")
    before = k.stats()
    rc, out = refresh_run(k, 200, 10, 60)
    after = k.stats()
    tap.ok(rc == 0, "200 refreshes by nc on one nonce (lifetime 3600 s): the scenario passes", out)
    tap.ok(registers(after) - registers(before) == 201, "201 REGISTERs reached ksipd (%d)"
           % (registers(after) - registers(before)))
    tap.ok(count_401(after) - count_401(before) == 1,
           "exactly one 401 in 201 REGISTERs: the first challenge (%d)" % (count_401(after) - count_401(before)))
    tap.ok(after["auth_replays"] == before["auth_replays"] and after["auth_stale"] == before["auth_stale"],
           "no refresh was taken for a replay or a stale nonce", after)
    tap.ok(after["nonces_tracked"] == 1, "one nonce tracked for the phone (%d)" % after["nonces_tracked"])
    tap.ok(len(k.bindings("alice")) == 1, "one binding", k.bindings("alice"))
finally:
    rc = k.stop()
    tap.ok(rc == 0, "ksipd exited cleanly (status %d)" % rc, k.logtext()[-3000:])
    k.cleanup()

k = Ksipd(auth_algorithms="MD5", nonce_lifetime=2)
try:
    k.add_user("alice", "s3cret")
    before = k.stats()
    rc, out = refresh_run(k, 16, 500, 60)
    after = k.stats()
    n401 = count_401(after) - count_401(before)
    stale = after["auth_stale"] - before["auth_stale"]
    tap.ok(rc == 0, "16 refreshes every 0.5 s with nonce_lifetime = 2: the scenario passes "
           "(every later 401 said stale=true)", out)
    tap.ok(registers(after) - registers(before) == 17 + stale,
           "17 REGISTERs plus one re-authentication per stale nonce (%d)" % (registers(after) - registers(before)))
    tap.ok(n401 == 1 + stale and 2 <= stale <= 4,
           "401s: the first challenge plus one stale=true per expired nonce, no other (%d = 1 + %d)"
           % (n401, stale))
    tap.ok(after["auth_failures"] == before["auth_failures"] and after["auth_replays"] == before["auth_replays"],
           "no failure, no replay: the password was never in question", after)
finally:
    rc = k.stop()
    tap.ok(rc == 0, "ksipd exited cleanly (status %d)" % rc, k.logtext()[-3000:])
    k.cleanup()

tap.done()
