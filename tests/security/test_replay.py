#!/usr/bin/env python3
"""Attacker: replays captured digest credentials (issue 12, items 2 and 7).

    honest phone (alice) ---REGISTER + Authorization---> ksipd (loopback)
    attacker         ---the same Authorization, its own Contact---^

Each (nonce, nc) is accepted once over the nonce's whole life, the digest uri
must be the Request-URI, a nonce from before a restart is stale, and forged
nonces create no state.
"""
import os
import random
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, SipClient, Tap, parse_challenge, rand_token  # noqa: E402

tap = Tap()
HONEST = "<sip:alice@127.0.0.1:5999>"
EVIL = "<sip:alice@198.51.100.66:5060>"


def contacts(k, aor="alice"):
    return sorted(b["contact"] for b in k.bindings(aor))


def final(c, data, timeout=2.0):
    """Send DATA; the first final response to it (skips 100 Trying and other Call-IDs)."""
    cid = re.search(rb"Call-ID: (\S+)", data).group(1).decode()
    c.send(data)
    while True:
        r = c.recv(timeout)
        if r is None or (r.code >= 200 and r.get("call-id") == cid):
            return r


def challenge(c, user, method="REGISTER", ruri=None):
    c.call_id = rand_token(16) + "@test"
    r = final(c, c.request(method, user, ruri=ruri))
    if not r:
        return None, None
    hdr = "www-authenticate" if r.code == 401 else "proxy-authenticate"
    return r, next((v for v in r.all(hdr) if parse_challenge(v).get("algorithm") == "MD5"), None)


def register(c, user, auth, contact):
    return c.transact(c.request("REGISTER", user, [contact], auth=auth))


# One attacker address sends thousands of failing requests here on purpose: the shield
# (test_svcrack.py proves it) would ban it after auth_fail_limit, and this script is about
# what the nonce memory does with them, so the shield's automatic limits are off.
k = Ksipd(nonce_max_per_user=4, nonce_lifetime=3600, auth_fail_limit=0, source_rate=0)
try:
    for u in ("alice", "bob", "carol"):
        k.add_user(u, "pw-" + u)
    phone, attacker = SipClient(k), SipClient(k)

    # --- replay after many refreshes -----------------------------------------------------
    _, ch = challenge(phone, "alice")
    captured = [phone.authorization(ch, "alice", "pw-alice", nc=n) for n in range(1, 12)]
    answers = [register(phone, "alice", a, HONEST) for a in captured]
    tap.ok(all(r and r.code == 200 for r in answers),
           "honest phone: 1 challenge, then 10 refreshes by nc on the same nonce, all 200")
    refused = [register(attacker, "alice", a, EVIL) for a in captured]
    tap.ok(all(r and r.code == 401 and parse_challenge(r.get("www-authenticate")).get("stale") == "false"
               for r in refused),
           "every captured Authorization (nc 1..11) replayed with the attacker's Contact: 401",
           [r and r.code for r in refused])
    tap.ok(contacts(k) == [HONEST.strip("<>")], "the binding is still the phone's", contacts(k))
    tap.ok(k.stats()["auth_replays"] >= 11, "the replays are counted", k.stats()["auth_replays"])

    # --- the same (nonce, nc) replayed at once ---------------------------------------------
    a12 = phone.authorization(ch, "alice", "pw-alice", nc=12)
    r1, r2 = register(phone, "alice", a12, HONEST), register(attacker, "alice", a12, EVIL)
    tap.ok(r1 and r1.code == 200 and r2 and r2.code == 401,
           "a (nonce, nc) replayed right after its first use: 401", (r1 and r1.code, r2 and r2.code))
    tap.ok(contacts(k) == [HONEST.strip("<>")], "binding unchanged", contacts(k))

    # --- out of order inside the window ---------------------------------------------------
    codes = [register(phone, "alice", phone.authorization(ch, "alice", "pw-alice", nc=n), HONEST)
             for n in (100, 50, 50, 37, 36, 99)]
    codes = [r and r.code for r in codes]
    tap.ok(codes == [200, 200, 401, 200, 401, 200],
           "nc 100 then 50 (inside the 64 window) once, not twice; 37 yes, 36 (below it) no; 99 yes",
           codes)

    # --- digest uri is not the Request-URI -------------------------------------------------
    _, ch2 = challenge(attacker, "alice")
    a = phone.authorization(ch2, "alice", "pw-alice", uri="sip:elsewhere.example", nc=1)
    r = register(attacker, "alice", a, EVIL)
    tap.ok(r and r.code == 400, "REGISTER whose digest uri is another URI: 400 (RFC 7616 §3.4.6)",
           r and r.raw)
    # Credentials captured from an INVITE to bob, replayed to another callee (407 path).
    caller = SipClient(k)
    r, pch = challenge(caller, "alice", "INVITE", ruri="sip:bob@ksip.test")
    tap.ok(r and r.code == 407 and pch, "an INVITE without credentials is challenged (407)", r and r.raw)
    pa = caller.authorization(pch or "", "alice", "pw-alice", method="INVITE", uri="sip:bob@ksip.test", nc=1)
    caller.call_id = rand_token(16) + "@test"
    r = final(caller, caller.request("INVITE", "alice", ruri="sip:carol@ksip.test",
                                     extra="Proxy-Authorization: %s" % pa))
    tap.ok(r and r.code == 400, "INVITE credentials for sip:bob replayed to sip:carol: 400", r and r.raw)
    tap.ok(contacts(k) == [HONEST.strip("<>")], "binding unchanged", contacts(k))

    # --- dropped at the per-user cap: refused as stale, never accepted again ---------------
    cp = SipClient(k)
    chs = [challenge(cp, "carol")[1] for _ in range(5)]
    first = [register(cp, "carol", cp.authorization(x, "carol", "pw-carol", nc=1), "<sip:carol@127.0.0.1:5998>")
             for x in chs]
    tap.ok(all(r and r.code == 200 for r in first), "carol answers 5 nonces (cap 4 per user)")
    r = register(attacker, "carol", cp.authorization(chs[0], "carol", "pw-carol", nc=2),
                 "<sip:carol@198.51.100.66>")
    tap.ok(r and r.code == 401 and parse_challenge(r.get("www-authenticate"))["stale"] == "true",
           "her oldest nonce, dropped at the cap, is refused (401 stale=true) even with a new nc",
           r and r.raw)
    tap.ok(contacts(k, "carol") == ["sip:carol@127.0.0.1:5998"], "carol's binding unchanged",
           contacts(k, "carol"))

    # --- forged nonces create no state ------------------------------------------------------
    before = k.stats()
    flood = SipClient(k)
    n = 3000
    for i in range(n):
        forged = "%080x" % random.getrandbits(320)
        a = flood.authorization('Digest realm="ksip.test", nonce="%s", algorithm=MD5' % forged,
                                "alice", "pw-alice", nc=1)
        flood.send(flood.request("REGISTER", "alice", [EVIL], auth=a))
        if i % 100 == 99:	# stay within the socket buffers; every answer is read
            while flood.recv(0.2):
                pass
    while flood.recv(0.5):
        pass
    after = k.stats()
    tap.ok(after["nonces_tracked"] == before["nonces_tracked"] and after["nonce_bytes"] == before["nonce_bytes"],
           "%d REGISTERs with forged nonces (right password even): nonces_tracked stays %d, nonce_bytes %d"
           % (n, after["nonces_tracked"], after["nonce_bytes"]), (before, after))
    tap.ok(after["auth_failures"] - before["auth_failures"] >= n * 0.95,
           "and each is a counted failure (%d)" % (after["auth_failures"] - before["auth_failures"]))
    tap.ok(contacts(k) == [HONEST.strip("<>")], "binding unchanged", contacts(k))

    # --- a nonce minted by the previous process ----------------------------------------------
    _, old = challenge(phone, "alice")
    tracked = k.stats()["nonces_tracked"]
    rc = k.restart()
    tap.ok(rc == 0, "ksipd restarts cleanly (exit %d)" % rc)
    r = register(phone, "alice", phone.authorization(old, "alice", "pw-alice", nc=1), HONEST)
    st = parse_challenge(r.get("www-authenticate")) if r and r.code == 401 else {}
    tap.ok(r and r.code == 401 and st.get("stale") == "true",
           "a nonce from before the restart, right password: 401 stale=true", r and r.raw)
    tap.ok(k.stats()["nonces_tracked"] == 0 and tracked > 0,
           "the new process tracks nothing (%d before the restart)" % tracked)
    new = next(v for v in r.all("www-authenticate") if parse_challenge(v).get("algorithm") == "MD5") if r else ""
    r = register(phone, "alice", phone.authorization(new, "alice", "pw-alice", nc=1), HONEST)
    tap.ok(r and r.code == 200, "the phone answers the new nonce with its stored credentials: 200",
           r and r.raw)
    r = register(attacker, "alice", captured[-1], EVIL)
    tap.ok(r and r.code == 401 and contacts(k) == [HONEST.strip("<>")],
           "credentials captured before the restart are refused after it; binding unchanged",
           (r and r.raw, contacts(k)))
finally:
    rc = k.stop()
    tap.ok(rc == 0, "ksipd exited cleanly (status %d)" % rc, k.logtext()[-3000:])
    k.cleanup()

tap.done()
