#!/usr/bin/env python3
"""Both phones register with ksipd's embedded default configuration.

ksipd runs with its defaults (auth_algorithms = SHA-256 MD5: no digest
setting in its config). Each phone must register on its first attempt and
with the strongest algorithm it supports: linphone 5.1 answers SHA-256,
baresip 1.0.0 knows MD5 only. ksipd must hold each binding at the address the
phone registered from and count no failed authentication.

baresip 1.0.0 gives up on any 401 that carries a SHA-256 challenge (issue 14);
ksipd challenges it with MD5 alone (its User-Agent is in the default
digest_md5_agents). With phonetest.CALLS_AUTH_ALGORITHMS set (a ksipd without
that), baresip's checks here are TAP TODO: run, printed, not counted.
"""
import re
import time

import phonetest
from phonetest import PhoneTest, Tap

TODO = ("baresip 1.0.0 gives up on a SHA-256 challenge (ksipd's per-phone digest policy, "
        "issue 14)" if phonetest.CALLS_AUTH_ALGORITHMS else None)



def authorizations(log):
    """The digest parameters of every Authorization header in a phone's SIP trace (only
    REGISTER carries one: requests to other users are answered with Proxy-Authorization)."""
    return re.findall(r"(?m)^Authorization: *Digest (.*)$", log)


T = Tap()
t = T.t = PhoneTest(sip_trace=True)
try:
    T.ok("auth_algorithms" not in t.d.conf, "ksipd runs without a digest setting (its default)")

    b = t.wait_binding("bob")
    T.ok(len(b) == 1 and b[0]["source"] == t.net.links["li"].phone4 + ":5060",
         "linphone: ksipd holds one binding for bob, from the phone's address", b)
    # Asked again while linphonec says registered=-1: it answers so, now and then, for a
    # moment after its REGISTER's 200 OK (seen once, 2026-12-01) while ksipd holds the binding.
    said = None
    for _ in range(5):
        m = t.bob.mark()
        t.bob.command("status register")
        said = t.bob.wait_output(r"registered, identity=.*sip:bob@", since=m, timeout=2)
        if said is not None:
            break
    T.ok(said is not None, "linphone reports itself registered")
    log = open(t.bob.dir + "/linphone.log", errors="replace").read()
    auths = authorizations(log)
    T.ok(bool(auths) and all("algorithm=SHA-256" in a for a in auths),
         "linphone answers with SHA-256, the strongest it supports",
         auths or "no authenticated REGISTER in linphone.log")

    a = t.wait_binding("alice", timeout=10)
    T.ok(len(a) == 1 and a[0]["source"] == t.net.links["bs"].phone4 + ":5060",
         "baresip: ksipd holds one binding for alice, from the phone's address", a, todo=TODO)
    reported = re.search(r"alice@\S+: \{0/UDP/v4\} 200 OK", t.alice.logtext())
    T.ok(reported is not None, "baresip reports its registration 200 OK",
         "\n".join(ln for ln in t.alice.logtext().splitlines() if "reg" in ln.lower())[-800:],
         todo=TODO)
    auths = authorizations(t.alice.logtext())
    T.ok(bool(auths) and all("SHA-256" not in x for x in auths),
         "baresip answers with MD5, the only algorithm it has", auths or "it never answered",
         todo=TODO)

    time.sleep(0.5)		# a late retry would show as a failure below
    s = t.d.stats()
    T.ok(s["auth_failures"] == 0, "ksipd counted no failed authentication (first attempts)",
         {k: s[k] for k in ("auth_challenges", "auth_failures", "auth_stale")})
finally:
    rc = t.cleanup()
T.t = None
T.ok(rc == 0, "ksipd exits cleanly (status 0, no sanitizer report)", rc)
T.done()
