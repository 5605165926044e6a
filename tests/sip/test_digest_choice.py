#!/usr/bin/env python3
"""Which digest algorithms ksipd offers whom (docs/security.md, "Digest algorithms"),
against a live ksipd with the embedded defaults (auth_algorithms = SHA-256 MD5,
digest_md5_agents = baresip):

- a REGISTER from baresip's User-Agent gets exactly one challenge, MD5; any other
  gets SHA-256 then MD5; the same for the proxy's 407 to an INVITE (From user);
- after a SHA-256 authentication the user gets SHA-256 first, after an MD5 one MD5
  alone; remembered across a restart; `ksipctl user set` forgets it;
- `--digest md5` / `sha256` force one algorithm, in challenges and in credentials;
- attacker: a forged User-Agent changes only its own challenge; unknown names are
  answered like users (no enumeration); auth_algorithms = SHA-256 never offers MD5,
  not even to baresip; the challenges stay stateless.
"""
import json
import re

from ksiptest import Ksipd, SipClient, Tap, rand_token

tap = Tap()

BARESIP = "baresip v1.0.0 (x86_64/linux)"
LINPHONE = "Linphone Desktop/5.1.2 (Debian GNU/Linux) LinphoneCore/5.1.2"


def offered(resp, header="www-authenticate"):
    return [re.search(r"algorithm=([\w-]+)", v).group(1) for v in resp.all(header)] if resp else None


def ua(agent):
    return "User-Agent: %s" % agent if agent else ""


def challenge(k, user, agent=None):
    """The algorithms of the 401 to an unauthenticated REGISTER for USER, and the response."""
    c = SipClient(k)
    r = c.transact(c.request("REGISTER", user, ["<sip:%s@127.0.0.1:5990>" % user],
                             extra=ua(agent)))
    c.close()
    return (offered(r) if r and r.code == 401 else ["no 401: %s" % (r and r.code)]), r


def register(k, user, password, alg, agent=None):
    """401, then credentials with ALG (which must have been offered); the final code."""
    c = SipClient(k)
    contact = ["<sip:%s@127.0.0.1:5990>" % user]
    r = c.transact(c.request("REGISTER", user, contact, extra=ua(agent)))
    ch = c.challenge_for(r, alg) if r else None
    if not ch:
        c.close()
        return "%s not offered (%s)" % (alg, offered(r))
    auth = c.authorization(ch, user, password, alg=alg)
    r = c.transact(c.request("REGISTER", user, contact, auth=auth, extra=ua(agent)))
    c.close()
    return r.code if r else None


def register_forced(k, user, password, alg, agent=None):
    """Credentials with ALG whatever the challenge offered (an attacker's or a broken phone's)."""
    c = SipClient(k)
    contact = ["<sip:%s@127.0.0.1:5990>" % user]
    r = c.transact(c.request("REGISTER", user, contact, extra=ua(agent)))
    ch = r.all("www-authenticate")[0] if r and r.code == 401 else None
    if not ch:
        c.close()
        return None
    auth = c.authorization(ch, user, password, alg=alg)
    r = c.transact(c.request("REGISTER", user, contact, auth=auth, extra=ua(agent)))
    c.close()
    return r.code if r else None


def invite_challenge(k, user, agent=None):
    """The algorithms of the 407 to an unauthenticated INVITE from USER (to alice)."""
    c = SipClient(k)
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" \
          "m=audio 40000 RTP/AVP 0\r\n"
    req = c.request("INVITE", user, ruri="sip:alice@%s" % k.conf["realm"],
                    extra="Contact: <sip:%s@127.0.0.1>\r\nContent-Type: application/sdp\r\n%s"
                    % (user, ua(agent)), body=sdp)
    # request() puts USER in From and To; an INVITE's To names the callee.
    req = req.replace(b"To: <sip:%s@" % user.encode(), b"To: <sip:alice@", 1)
    r = c.transact(req)
    if r and r.code == 407:
        c.transact(ack_for(c, req, r))
    c.close()
    return offered(r, "proxy-authenticate") if r and r.code == 407 else ["no 407: %s" % (r and r.code)]


def ack_for(c, req, resp):
    """The ACK of a non-2xx final response (§17.1.1.3): same branch, the response's To."""
    head = req.decode().split("\r\n\r\n")[0].split("\r\n")
    keep = [h for h in head[1:] if h.split(":")[0] in ("Via", "From", "Call-ID", "Max-Forwards")]
    cseq = re.search(r"CSeq: (\d+)", req.decode()).group(1)
    lines = ["ACK %s SIP/2.0" % head[0].split()[1]] + keep + \
        ["To: %s" % resp.get("to"), "CSeq: %s ACK" % cseq, "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def users(k):
    return {u["name"]: u for u in json.loads(k.ctl("--json", "user", "list").stdout)}


# Every request here comes from 127.0.0.1, many without credentials: the shield is off.
k = Ksipd(auth_fail_limit=0, source_rate=0)
try:
    k.add_user("alice", "pw-alice")
    k.add_user("bare", "pw-bare")
    k.add_user("lin", "pw-lin")
    k.add_user("fresh", "pw-fresh")

    # --- no enumeration: before anything is known, users and unknown names look alike ----
    for agent in (None, BARESIP, LINPHONE):
        known, _ = challenge(k, "fresh", agent)
        unknown, _ = challenge(k, "nosuch" + rand_token(4), agent)
        tap.ok(known == unknown, "%s: a default user and an unknown name are offered the same (%s, %s)"
               % (agent or "no User-Agent", known, unknown))

    # --- the User-Agent policy ---------------------------------------------------------------
    algs, _ = challenge(k, "bare", BARESIP)
    tap.ok(algs == ["MD5"], "REGISTER from baresip: exactly one challenge, MD5", algs)
    algs, _ = challenge(k, "bare", LINPHONE)
    tap.ok(algs == ["SHA-256", "MD5"], "from linphone: SHA-256, then MD5", algs)
    tap.ok(register(k, "bare", "pw-bare", "MD5", BARESIP) == 200,
           "baresip's MD5 answer to its one challenge is accepted: 200")
    tap.ok(users(k)["bare"]["last_algorithm"] == "MD5" and users(k)["bare"]["digest"] == "auto",
           "user list --json: bare is auto, last algorithm MD5", users(k).get("bare"))
    algs, _ = challenge(k, "bare")
    tap.ok(algs == ["MD5"], "bare's next challenge is MD5 alone, whatever the User-Agent", algs)

    tap.ok(users(k)["lin"]["last_algorithm"] is None, "lin: nothing known yet (null)",
           users(k).get("lin"))
    tap.ok(register(k, "lin", "pw-lin", "SHA-256", LINPHONE) == 200,
           "linphone answers SHA-256: 200")
    tap.ok(users(k)["lin"]["last_algorithm"] == "SHA-256", "remembered: SHA-256",
           users(k).get("lin"))
    algs, _ = challenge(k, "lin")
    tap.ok(algs == ["SHA-256", "MD5"], "after a SHA-256 authentication: SHA-256 first", algs)

    # --- attacker: a forged User-Agent only downgrades its own challenge ------------------
    algs, _ = challenge(k, "lin", BARESIP)
    tap.ok(algs == ["MD5"], "a forged baresip User-Agent for lin gets MD5 alone", algs)
    algs, _ = challenge(k, "lin", LINPHONE)
    tap.ok(algs == ["SHA-256", "MD5"] and users(k)["lin"]["last_algorithm"] == "SHA-256",
           "lin's own phone still gets SHA-256 first: challenges change nothing", algs)

    # --- the proxy's 407 (the From user), stateless -------------------------------------------
    algs = invite_challenge(k, "lin", BARESIP)
    tap.ok(algs == ["MD5"], "INVITE from baresip: 407 with MD5 alone", algs)
    algs = invite_challenge(k, "lin", LINPHONE)
    tap.ok(algs == ["SHA-256", "MD5"], "INVITE from linphone for lin: SHA-256, then MD5", algs)
    algs = invite_challenge(k, "bare")
    tap.ok(algs == ["MD5"], "INVITE from bare (last MD5): MD5 alone", algs)
    st = k.stats()
    tap.ok(st["transactions"] == 0 and st["calls_started"] == 0,
           "the 407s left no transaction and no call behind (stateless)", st)

    # --- the per-user setting -------------------------------------------------------------
    k.ctl("user", "add", "forced", "--digest", "md5", "--password-stdin", stdin="pw-forced\n")
    k.ctl("user", "add", "strict", "--digest", "sha256", "--password-stdin", stdin="pw-strict\n")
    u = users(k)
    tap.ok(u["forced"]["digest"] == "md5" and u["strict"]["digest"] == "sha256",
           "user add --digest: the setting is listed", u)
    algs, _ = challenge(k, "forced", LINPHONE)
    tap.ok(algs == ["MD5"], "--digest md5: MD5 alone, even to linphone", algs)
    tap.ok(register_forced(k, "forced", "pw-forced", "SHA-256", LINPHONE) == 401,
           "SHA-256 credentials with forced's right password: refused (401)")
    tap.ok(register(k, "forced", "pw-forced", "MD5", LINPHONE) == 200, "MD5 ones: 200")
    algs, _ = challenge(k, "strict", BARESIP)
    tap.ok(algs == ["SHA-256"], "--digest sha256: SHA-256 alone, even to baresip", algs)
    tap.ok(register_forced(k, "strict", "pw-strict", "MD5", BARESIP) == 401,
           "MD5 credentials with strict's right password: refused (401)")
    tap.ok(invite_challenge(k, "strict", BARESIP) == ["SHA-256"], "the 407 to strict: SHA-256 alone")

    k.ctl("user", "set", "lin", "--digest", "md5")
    algs, _ = challenge(k, "lin", LINPHONE)
    tap.ok(algs == ["MD5"] and users(k)["lin"]["last_algorithm"] is None,
           "user set lin --digest md5: MD5 alone, the remembered algorithm forgotten", algs)
    k.ctl("user", "set", "lin", "--digest", "both")
    algs, _ = challenge(k, "lin", BARESIP)
    tap.ok(algs == ["SHA-256", "MD5"], "--digest both: both, even to baresip", algs)
    k.ctl("user", "set", "lin", "--digest", "auto")
    k.ctl("user", "passwd", "lin", "--password-stdin", stdin="pw-lin2\n")
    tap.ok(users(k)["lin"]["digest"] == "auto" and register(k, "lin", "pw-lin2", "SHA-256") == 200,
           "user passwd keeps the setting; the new password works")
    for bad in ("sha1", "MD5", "", "auto both"):
        p = k.ctl("user", "set", "lin", "--digest", bad, check=False)
        tap.ok(p.returncode == 1 and "--digest" in p.stderr,
               "user set --digest %r: refused with a message" % bad, p.stderr)
    p = k.ctl("user", "set", "nosuch", "--digest", "md5", check=False)
    tap.ok(p.returncode == 1 and "no such user" in p.stderr, "user set of an unknown user: refused",
           p.stderr)
    p = k.ctl("user", "add", "x1", "--digest", "sha1", "--password-stdin", stdin="pw\n", check=False)
    tap.ok(p.returncode == 1 and "x1" not in users(k), "user add --digest sha1: refused, not added",
           p.stderr)

    # --- no enumeration with mixed users: an unknown name answers like some user, stably --------
    shapes = set()
    stable = True
    for i in range(60):
        name = "probe%d" % i
        a, _ = challenge(k, name, LINPHONE)
        b, _ = challenge(k, name, LINPHONE)
        stable &= a == b
        shapes.add(tuple(a))
    tap.ok(stable, "each unknown name is offered the same algorithms every time")
    tap.ok(shapes <= {("SHA-256", "MD5"), ("MD5",), ("SHA-256",)} and len(shapes) >= 2,
           "and unknown names show the users' shapes, MD5 alone among them: %s" % sorted(shapes))
    before = {i: challenge(k, "probe%d" % i, LINPHONE)[0] for i in range(20)}
    ulist = users(k)

    # --- persisted: the settings, the last algorithms, the decoys ------------------------------
    rc = k.restart()
    tap.ok(rc == 0, "ksipd restarts cleanly (exit %d)" % rc)
    u = users(k)
    ulist = "%s\n%s" % (ulist, u)
    tap.ok(u["bare"]["last_algorithm"] == "MD5" and u["lin"]["last_algorithm"] == "SHA-256" and
           u["forced"]["digest"] == "md5" and u["strict"]["digest"] == "sha256",
           "after the restart: the last algorithms and the settings are back", u)
    tap.ok(challenge(k, "bare")[0] == ["MD5"] and challenge(k, "lin", LINPHONE)[0] == ["SHA-256", "MD5"],
           "and the challenges follow them")
    after = {i: challenge(k, "probe%d" % i, LINPHONE)[0] for i in range(20)}
    tap.ok(before == after, "unknown names get the same challenges as before the restart",
           "%s\n%s\n%s" % (before, after, ulist))
finally:
    rc = k.stop()
    tap.ok(rc == 0, "ksipd exits cleanly, no sanitizer report (%d)" % rc, k.logtext()[-3000:])
    k.cleanup()

# --- the operator's hard limit: auth_algorithms = SHA-256 ----------------------------------------
k = Ksipd(auth_fail_limit=0, source_rate=0, auth_algorithms="SHA-256")
try:
    k.add_user("bare", "pw-bare")
    k.ctl("user", "add", "forced", "--digest", "md5", "--password-stdin", stdin="pw-forced\n")
    algs, _ = challenge(k, "bare", BARESIP)
    tap.ok(algs == ["SHA-256"], "auth_algorithms = SHA-256: baresip is offered SHA-256 alone", algs)
    tap.ok(invite_challenge(k, "bare", BARESIP) == ["SHA-256"], "the 407 too")
    tap.ok(register_forced(k, "bare", "pw-bare", "MD5", BARESIP) == 401,
           "MD5 credentials with the right password: refused")
    algs, _ = challenge(k, "forced", BARESIP)
    tap.ok(algs == ["SHA-256"], "an md5 user is offered SHA-256 (looks like anyone) ...", algs)
    tap.ok(register_forced(k, "forced", "pw-forced", "MD5") == 401 and
           register(k, "forced", "pw-forced", "SHA-256") == 401,
           "... and cannot authenticate with either")
    p = k.ctl("user", "set", "bare", "--digest", "md5")
    tap.ok("warning" in p.stdout and "cannot authenticate" in p.stdout,
           "user set --digest md5 under auth_algorithms = SHA-256 warns", p.stdout)
finally:
    rc = k.stop()
    tap.ok(rc == 0, "ksipd exits cleanly (%d)" % rc, k.logtext()[-3000:])
    k.cleanup()

tap.done()
