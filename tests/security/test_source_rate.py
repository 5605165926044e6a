#!/usr/bin/env python3
"""A burst of unauthenticated requests from one source meets its token bucket.

    ns srv: ksipd, udp:0.0.0.0:PORT, source_rate 20/s, source_burst 50
        10.12.1.1 ==veth== 10.12.1.2  ns atk: 1000 OPTIONS + INVITE, no credentials, at once
        10.12.2.1 ==veth== 10.12.2.2  ns good: 30 OPTIONS during the burst, then a REGISTER

Promised (docs/security.md): the burst source gets at most source_burst + source_rate x
elapsed requests answered, the rest dropped unanswered and counted (rate_limited); another
source is unaffected; a request with credentials passes an empty bucket.
"""
import os
import socket
import time

from netns import Client, Topology
from ksiptest import Tap, rand_token

RATE, BURST, N = 20, 50, 1000
tap = Tap()
if os.geteuid():
    print("1..0 # SKIP needs root (network namespaces)")
    raise SystemExit(0)


def drain(c, until):
    """Call-IDs answered on C's socket until UNTIL (each counted once: 100 + 407 is one)."""
    seen = set()
    while time.time() < until:
        r = c.recv(timeout=max(0.01, until - time.time()))
        if r is not None:
            seen.add(r.get("call-id"))
    return seen


topo = Topology("rt", ["atk", "good"])
d = None
try:
    d = topo.ksipd(source_rate=RATE, source_burst=BURST, auth_algorithms="MD5")
    d.add_user("alice", "pw-alice-1")
    atk = Client(topo, "atk", d)
    atk.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    good = Client(topo, "good", d)

    t0 = time.time()
    for i in range(N):
        method = "INVITE" if i % 2 else "OPTIONS"
        atk.send(atk.request(method, "alice", call_id=rand_token(16), ruri="sip:alice@ksip.test"))
    good_ids = []
    for i in range(30):
        cid = rand_token(16)
        good_ids.append(cid)
        good.send(good.request("OPTIONS", "alice", call_id=cid))
    sent_for = time.time() - t0
    answered = drain(atk, time.time() + 1.5)
    elapsed = time.time() - t0
    bound = BURST + RATE * elapsed
    st = d.stats()
    tap.ok(BURST <= len(answered) <= bound,
           "%d requests in %.2f s from one source: %d answered (burst %d + %d/s x %.1f s = %.0f)"
           % (N, sent_for, len(answered), BURST, RATE, elapsed, bound))
    tap.ok(st["rate_limited"] >= N - bound, "the rest were dropped and counted (rate_limited %d)"
           % st["rate_limited"])
    got = drain(good, time.time() + 0.5)
    tap.ok(set(good_ids) <= got, "another source sent 30 OPTIONS meanwhile: all answered (%d)"
           % len(set(good_ids) & got))

    # Credentials pass an empty bucket: alice registers from the limited source.
    for i in range(200):
        atk.send(atk.request("OPTIONS", "alice", call_id=rand_token(16)))
    drain(atk, time.time() + 0.3)
    r = good.transact(good.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"]))
    ch = good.challenge_for(r, "MD5") if r else None
    before = d.stats()["rate_limited"]
    auth = atk.authorization(ch, "alice", "pw-alice-1") if ch else ""
    r = atk.transact(atk.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"], expires=60, auth=auth))
    tap.ok(r is not None and r.code == 200 and d.stats()["rate_limited"] == before,
           "a REGISTER with credentials from the emptied source is served", r.raw if r else "no answer")
    for i in range(100):
        atk.send(atk.request("OPTIONS", "alice", call_id=rand_token(16)))
    n = len(drain(atk, time.time() + 0.3))
    tap.ok(n <= RATE and d.stats()["rate_limited"] >= before + 100 - RATE,
           "while its requests without credentials are still limited (%d of 100 answered)" % n)
    atk.close()
    good.close()
    rc = d.stop()
    tap.ok(rc == 0, "ksipd exits cleanly (sanitizers quiet)", d.logtext()[-1500:])
finally:
    if d:
        d.cleanup()
    topo.cleanup()
tap.done()
