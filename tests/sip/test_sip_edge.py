#!/usr/bin/env python3
"""Registrar and SIP core rules checked with hand-made packets: things SIPp
cannot send (replayed nonce-counts, SHA-256, malformed messages, floods)."""
import os
import random
import re
import socket
import sqlite3
import stat
import subprocess
import time

from ksiptest import KSIPCTL, Ksipd, SipClient, Tap, rand_token

tap = Tap()


def normalized(resp):
    """A response with the per-request values blanked, for comparing shapes."""
    text = resp.raw.decode(errors="replace")
    text = re.sub(r'nonce="[^"]*"', 'nonce=""', text)
    text = re.sub(r"(tag|branch|rport|received)=[^;\r\n,]*", r"\1=", text)
    text = re.sub(r"(Call-ID|CSeq|From|To): .*", r"\1:", text)
    text = re.sub(r"(SIP/2.0/\w+ [^:;]+):\d+", r"\1:PORT", text)
    return text


# Everything here comes from 127.0.0.1, including a guessing flood (below) whose log limit is
# checked and many requests without credentials: the shield (bans after auth_fail_limit
# failures, source_rate) would rightly stop them, so it is off for this instance; bans and
# rates have their own attackers in tests/security/.
k = Ksipd(min_expires=1, default_expires=300, max_expires=600, auth_fail_limit=0, source_rate=0)
try:
    k.add_user("alice", "pw-alice")
    k.add_user("bob", "pw-bob")

    # --- digest: algorithms, replay, retransmission, enumeration -------------------------
    c = SipClient(k)
    r = c.transact(c.request("REGISTER", "alice", ["<sip:alice@127.0.0.1:5999>"]))
    algs = [re.search(r"algorithm=([\w-]+)", v).group(1) for v in r.all("www-authenticate")] if r else []
    tap.ok(r and r.code == 401 and algs == ["SHA-256", "MD5"],
           "401 offers SHA-256 then MD5 (RFC 8760 order)", r and r.raw)
    tap.ok(r and all('qop="auth"' in v for v in r.all("www-authenticate")), "challenges ask for qop=auth")
    ch = c.challenge_for(r, "SHA-256")
    auth = c.authorization(ch, "alice", "pw-alice", alg="SHA-256", nc=1)
    req = c.request("REGISTER", "alice", ["<sip:alice@127.0.0.1:5999>"], auth=auth)
    r = c.transact(req)
    tap.ok(r and r.code == 200, "SHA-256 credentials accepted", r and r.raw)
    before = k.stats()
    r2 = c.transact(req)
    tap.ok(r2 and r2.code == 200 and k.stats()["retransmissions"] == before["retransmissions"] + 1,
           "an identical retransmission gets 200 again from the transaction cache", r2 and r2.raw)
    # Same credentials (same nc) in a new request: a replay.
    r3 = c.transact(c.request("REGISTER", "alice", ["<sip:alice@127.0.0.1:5999>"], auth=auth))
    tap.ok(r3 and r3.code == 401 and k.stats()["auth_replays"] == before["auth_replays"] + 1,
           "replayed nonce-count refused with a new challenge", r3 and r3.raw)
    auth2 = c.authorization(ch, "alice", "pw-alice", alg="SHA-256", nc=2)
    r4 = c.transact(c.request("REGISTER", "alice", ["<sip:alice@127.0.0.1:5999>"], auth=auth2))
    tap.ok(r4 and r4.code == 200, "the same nonce with nc=2 refreshes without a new challenge", r4 and r4.raw)
    auth1b = c.authorization(ch, "alice", "pw-alice", alg="SHA-256", nc=1)
    r5 = c.transact(c.request("REGISTER", "alice", ["<sip:alice@127.0.0.1:5999>"], auth=auth1b))
    tap.ok(r5 and r5.code == 401, "a lower nc with a fresh cnonce is refused too", r5 and r5.raw)

    md = SipClient(k)
    r, _ = md.register("bob", "pw-bob", ["<sip:bob@127.0.0.1:5998>"], alg="MD5")
    tap.ok(r and r.code == 200, "MD5 credentials accepted when both are offered", r and r.raw)

    wrong = SipClient(k)
    r, _ = wrong.register("bob", "not-bobs", ["<sip:bob@127.0.0.1:5997>"])
    unknown = SipClient(k)
    r_unknown, _ = unknown.register("nobody", "whatever", ["<sip:nobody@127.0.0.1:5996>"])
    tap.ok(r and r_unknown and r.code == 401 and r_unknown.code == 401,
           "wrong password and unknown user both get 401")
    # bob answered MD5 last, so he is offered MD5 alone (auto); an unknown name is offered what
    # a user drawn from the table is (docs/security.md, "Digest algorithms"): compared apart.
    def offered(resp):
        return [re.search(r"algorithm=([\w-]+)", v).group(1) for v in resp.all("www-authenticate")]

    def without_challenges(resp):
        return re.sub(r"WWW-Authenticate: .*\r\n", "", normalized(resp))
    tap.ok(r and r_unknown and without_challenges(r) == without_challenges(r_unknown),
           "wrong password and unknown user answers are identical but for nonces, tags and "
           "the algorithms offered", (r and normalized(r)) + "\n----\n" + (r_unknown and normalized(r_unknown)))
    tap.ok(r_unknown and offered(r_unknown) in (["SHA-256", "MD5"], ["MD5"]),
           "the unknown user is offered what alice (SHA-256, MD5) or bob (MD5) is",
           r_unknown and offered(r_unknown))

    # A guessing flood: every failure is counted, but the log is rate-limited (20 lines/s, base/log.h).
    g = SipClient(k)
    ch = g.challenge_for(g.transact(g.request("REGISTER", "bob", [])), "MD5")
    before = k.stats()["auth_failures"]
    for i in range(60):
        g.send(g.request("REGISTER", "bob", [], auth=g.authorization(ch, "bob", "guess-%d" % i)))
    answers = [g.recv(1.0) for _ in range(60)]
    logged = k.logtext().count("auth failed for 'bob'")
    tap.ok(all(a and a.code == 401 for a in answers) and k.stats()["auth_failures"] - before == 60,
           "60 wrong guesses: 60 challenges, 60 counted failures")
    tap.ok(logged <= 2 * 2 * 10, "but at most 20 log lines a second (%d logged)" % logged)

    ch = c.challenge_for(c.transact(c.request("REGISTER", "alice", [])), "MD5")
    r = c.transact(c.request("REGISTER", "alice", [], auth=c.authorization(ch, "alice", "pw-alice")))
    tap.ok(r and r.code == 200 and any("alice@127.0.0.1:5999" in v for v in r.all("contact")),
           "REGISTER without Contact is a query listing the bindings", r and r.raw)
    ch = c.challenge_for(c.transact(c.request("REGISTER", "bob", [])), "MD5")
    r = c.transact(c.request("REGISTER", "bob", ["<sip:bob@x.example>"],
                             auth=c.authorization(ch, "alice", "pw-alice")))
    tap.ok(r and r.code == 403, "alice may not register bob's AOR (403)", r and r.raw)

    # --- §10.3 rules -------------------------------------------------------------------
    s = SipClient(k)
    cid = rand_token() + "@order"

    def authed(user, pw, contacts, expires=None, cseq=None, call_id=None):
        ch = s.challenge_for(s.transact(s.request("REGISTER", user, contacts, expires, call_id=call_id,
                                                  cseq=(cseq or 1) - 1 if cseq else None)), "MD5")
        return s.transact(s.request("REGISTER", user, contacts, expires, call_id=call_id, cseq=cseq,
                                    auth=s.authorization(ch, user, pw)))

    r = authed("bob", "pw-bob", ["<sip:bob@10.9.9.1>"], expires=300, cseq=10, call_id=cid)
    tap.ok(r and r.code == 200, "bob registers a second contact", r and r.raw)
    contacts = r.all("contact") if r else []
    tap.ok(len(contacts) == 2 and all(re.search(r";expires=\d+", v) for v in contacts),
           "the 200 lists every binding with its remaining expires", contacts)
    r = authed("bob", "pw-bob", ["<sip:bob@10.9.9.1>"], expires=300, cseq=8, call_id=cid)
    tap.ok(r and r.code == 500, "same Call-ID with a lower CSeq is refused (§10.3 step 7)", r and r.raw)
    r = authed("bob", "pw-bob", ["<sip:bob@10.9.9.1>;expires=99999"], cseq=20, call_id=cid)
    exp = [b["expires"] for b in k.bindings("bob") if "10.9.9.1" in b["contact"]]
    tap.ok(r and r.code == 200 and exp and 590 <= exp[0] <= 600, "expires above max_expires is clamped",
           exp)
    r = authed("bob", "pw-bob", ["<sip:bob@10.9.9.2>;q=0.3;expires=2"], cseq=21, call_id=cid)
    tap.ok(r and r.code == 200 and any(b["q"] == 0.3 for b in k.bindings("bob")), "q-value kept",
           k.bindings("bob"))
    time.sleep(3.2)
    tap.ok(not any("10.9.9.2" in b["contact"] for b in k.bindings("bob")),
           "a binding with expires=2 is gone 3 s later", k.bindings("bob"))
    r = authed("bob", "pw-bob", ["*"], expires=10, cseq=22, call_id=cid)
    tap.ok(r and r.code == 400, "Contact: * without Expires: 0 is a 400", r and r.raw)

    # --- bad input ---------------------------------------------------------------------
    raw = SipClient(k)

    def ask(data, timeout=1.0):
        raw.send(data)
        return raw.recv(timeout)

    good = raw.request("OPTIONS", "alice", ruri="sip:ksip.test")
    r = ask(good)
    tap.ok(r and r.code == 200 and "REGISTER" in (r.get("allow") or ""), "OPTIONS to the server gets 200",
           r and r.raw)
    tap.ok(r and ";rport=%d" % raw.local[1] in r.raw.decode() and "received=127.0.0.1" in r.raw.decode(),
           "the response's top Via carries received and rport (RFC 3581)", r and r.raw)
    before = k.stats()
    tap.ok(ask(b"\x00\x01\x02garbage\r\n\r\n", 0.5) is None, "binary garbage gets no answer")
    tap.ok(ask(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0.5) is None, "HTTP gets no answer")
    tap.ok(k.stats()["garbage_dropped"] == before["garbage_dropped"] + 2, "garbage counted")
    r = ask(good.replace(b"Call-ID", b"X-Call-ID"))
    tap.ok(r is None or (r.code == 400 and "Call-ID" in r.reason), "missing Call-ID: 400 naming it",
           r and r.raw)
    r = ask(raw.request("OPTIONS", "alice").replace(b"Call-ID", b"X-Call-ID"))
    tap.ok(r and r.code == 400 and r.reason == "Missing Call-ID header", "400 reason says what is wrong",
           r and r.raw)
    r = ask(raw.request("OPTIONS", "alice").replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1))
    tap.ok(r and r.code == 505, "SIP/3.0 gets 505", r and r.raw)
    r = ask(raw.request("OPTIONS", "alice", extra="Require: 100rel, foo"))
    tap.ok(r and r.code == 420 and r.get("unsupported") == "100rel, foo",
           "unsupported Require gets 420 with Unsupported", r and r.raw)
    r = ask(raw.request("OPTIONS", "alice").replace(b"Content-Length: 0", b"Content-Length: 100"))
    tap.ok(r and r.code == 400 and "Content-Length" in r.reason,
           "Content-Length larger than the datagram gets 400 (RFC 3261 18.3)", r and r.raw)
    r = ask(raw.request("FROB", "alice"))
    tap.ok(r and r.code == 501 and r.get("allow"), "unknown method gets 501 with Allow", r and r.raw)
    r = ask(raw.request("SUBSCRIBE", "alice"))
    tap.ok(r and r.code == 405 and r.get("allow"), "a known method not served here gets 405", r and r.raw)
    r = ask(re.sub(rb"CSeq: (\d+) OPTIONS", rb"CSeq: \1 INVITE", raw.request("OPTIONS", "alice")))
    tap.ok(r and r.code == 400 and "CSeq" in r.reason, "CSeq method mismatch gets 400", r and r.raw)
    r = ask(raw.request("OPTIONS", "alice", extra="f: <sip:x@y>;tag=dup"))
    tap.ok(r and r.code == 400 and "From" in r.reason, "duplicate From (compact form) gets 400", r and r.raw)
    tap.ok(ask(raw.request("ACK", "alice"), 0.5) is None, "a stray ACK is never answered")

    # A bounded flood of mutated requests: no crash, still answering.
    rnd = random.Random(4475)
    base = raw.request("REGISTER", "alice", ["<sip:alice@127.0.0.1:5999>"], extra="Subject: " + "x" * 40)
    for i in range(3000):
        b = bytearray(base)
        for _ in range(rnd.randint(1, 8)):
            op = rnd.random()
            pos = rnd.randrange(len(b))
            if op < 0.4:
                b[pos] = rnd.randrange(256)
            elif op < 0.7:
                del b[pos:pos + rnd.randint(1, 20)]
            else:
                b[pos:pos] = rnd.choice([b"\r\n", b",", b";", b"<", b'"', b":", b"\x00", b" \r\n "]) * rnd.randint(1, 5)
        raw.sock.sendto(bytes(b), raw.server)
        if i % 200 == 0:
            time.sleep(0.01)
    raw.sock.settimeout(0.2)
    try:
        while raw.sock.recvfrom(65535):
            pass
    except socket.timeout:
        pass
    r = SipClient(k).transact(good)
    tap.ok(r and r.code == 200 and k.proc.poll() is None, "3000 mutated datagrams later ksipd still answers")

    # --- TCP framing and keepalives ----------------------------------------------------
    t = SipClient(k, "tcp")
    t.send(b"\r\n\r\n")
    t.sock.settimeout(2)
    tap.ok(t.sock.recv(16) == b"\r\n", "TCP double-CRLF ping answered with CRLF pong (RFC 5626)")
    two = t.request("OPTIONS", "alice") + t.request("OPTIONS", "alice")
    t.send(two)
    r1, r2 = t.recv(), t.recv()
    tap.ok(r1 and r2 and r1.code == 200 and r2.code == 200, "two requests in one segment, two answers")
    msg = t.request("OPTIONS", "alice")
    t.send(msg[:30])
    time.sleep(0.2)
    t.send(msg[30:])
    r = t.recv()
    tap.ok(r and r.code == 200, "a request split across segments is reassembled")
    t.send(b"OPTIONS sip:ksip.test SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n")
    t.sock.settimeout(2)
    try:
        closed = t.sock.recv(100) == b""
    except OSError:
        closed = True
    tap.ok(closed, "a TCP message without Content-Length closes the connection (cannot resync)")
    t6 = SipClient(k, "tcp", socket.AF_INET6)
    r = t6.transact(t6.request("OPTIONS", "alice"))
    tap.ok(r and r.code == 200, "OPTIONS over IPv6 TCP")

    # --- storage and control socket ----------------------------------------------------
    db = sqlite3.connect(k.db)
    row = db.execute("SELECT ha1_md5, ha1_sha256 FROM users WHERE name='alice'").fetchone()
    db.close()
    with open(k.db, "rb") as f:
        blob = f.read()
    tap.ok(row and len(row[0]) == 32 and len(row[1]) == 64 and b"pw-alice" not in blob,
           "users stored as MD5 and SHA-256 HA1, no plaintext password in the database")
    mode = stat.S_IMODE(os.stat(k.sock).st_mode)
    tap.ok(mode == 0o600, "control socket mode is 0600 (%o)" % mode)
    p = k.ctl("user", "add", "alice", "--password-stdin", stdin="x\n", check=False)
    tap.ok(p.returncode == 1 and "already exists" in p.stderr and p.stderr.count("\n") == 1,
           "adding an existing user: one clear line, exit 1", p.stderr)
    p = k.ctl("user", "del", "zed", check=False)
    tap.ok(p.returncode == 1 and "no such user" in p.stderr, "deleting a missing user fails clearly", p.stderr)
    p = subprocess.run([KSIPCTL, "--socket", "/nonexistent/ksipd.sock", "stats"], capture_output=True,
                       text=True)
    tap.ok(p.returncode == 1 and "cannot reach ksipd" in p.stderr, "no daemon: clear error", p.stderr)
    k.ctl("user", "passwd", "bob", "--password-stdin", stdin="new-bob\n")
    x = SipClient(k)
    r_old, _ = x.register("bob", "pw-bob", ["<sip:bob@127.0.0.1:5995>"])
    r_new, _ = x.register("bob", "new-bob", ["<sip:bob@127.0.0.1:5995>"])
    tap.ok(r_old and r_new and r_old.code == 401 and r_new.code == 200, "user passwd takes effect at once")
    k.ctl("reg", "del", "bob")
    tap.ok(not k.bindings("bob"), "reg del removes the AOR's bindings")
    k.ctl("user", "del", "alice")
    r, _ = SipClient(k).register("alice", "pw-alice", ["<sip:alice@127.0.0.1:5994>"])
    tap.ok(r and r.code == 401 and not k.bindings("alice"), "a deleted user can no longer register")
    st = k.stats()
    tap.ok(st["responses_by_code"].get("401", 0) > 0 and st["requests_by_method"].get("REGISTER", 0) > 0
           and st["parse_errors"] > 0, "stats count requests, responses by code and parse errors", st)
finally:
    rc = k.stop()
    tap.ok(rc == 0, "ksipd exited cleanly (status %d, 99 = sanitizer report)" % rc, k.logtext()[-4000:])
    k.cleanup()

# A bad configuration is one clear error naming the key.
p = subprocess.run([os.path.join(os.path.dirname(KSIPCTL), "ksipd"), "--config", "/dev/stdin"],
                   input="realm = x\nmin_expires = -4\n", capture_output=True, text=True, timeout=10)
tap.ok(p.returncode == 2 and "min_expires" in p.stderr and p.stderr.count("\n") == 1,
       "bad config value: exit 2 and one line naming the key", p.stderr)
p = subprocess.run([os.path.join(os.path.dirname(KSIPCTL), "ksipd"), "--config", "/dev/stdin"],
                   input="lissen = udp:127.0.0.1:5060\n", capture_output=True, text=True, timeout=10)
tap.ok(p.returncode == 2 and "lissen" in p.stderr, "unknown config key named", p.stderr)

tap.done()
