#!/usr/bin/env python3
"""SIGHUP (systemctl reload) re-reads the configuration file without a restart: log_level,
trusted_peers and shield_allow take effect, users added to the database by hand are loaded,
calls' process and sockets stay; a file with an error changes nothing and ksipd keeps running.
As root, a second daemon in a namespace of its own with shield = nftables: the reload refills
the table's allow sets."""
import hashlib
import os
import signal
import sqlite3
import subprocess
import time

from ksiptest import Ksipd, SipClient, Tap

tap = Tap()
d = Ksipd(auth_algorithms="MD5")


def write_conf(**changes):
    d.conf.update(changes)
    with open(os.path.join(d.dir, "ksipd.conf"), "w") as f:
        for k, v in d.conf.items():
            f.write("%s = %s\n" % (k, v))


def hup(expect):
    """SIGHUP, then wait (bounded) for the log line saying how it went."""
    before = d.logtext().count(expect)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        if d.logtext().count(expect) > before:
            return True
        time.sleep(0.05)
    return False


def invite_unknown(c):
    """An initial INVITE without credentials from 127.0.0.1 to a user who does not exist."""
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" \
          "m=audio 40000 RTP/AVP 0\r\n"
    req = c.request("INVITE", "gw", ruri="sip:nobody@%s" % c.realm,
                    contacts=["<sip:gw@%s>" % c.hostport(c.local)],
                    extra="Content-Type: application/sdp", body=sdp)
    c.send(req)
    deadline = time.time() + 5
    while time.time() < deadline:
        r = c.recv(timeout=1)
        if r and r.code >= 200:
            return r
    return None


def debug_lines():
    return d.logtext().count("debug: REGISTER")


try:
    pid = d.proc.pid
    d.add_user("alice", "pw-alice")
    c = SipClient(d)

    r = invite_unknown(c)
    tap.ok(r is not None and r.code == 407, "before: an INVITE from 127.0.0.1 is challenged (407)",
           r and r.code)
    r, _ = c.register("alice", "pw-alice", ["<sip:alice@127.0.0.1:5999>"])
    tap.ok(r is not None and r.code == 200 and debug_lines() == 0,
           "before: log_level info, a REGISTER logs no debug line", d.logtext()[-2000:])

    write_conf(log_level="debug", trusted_peers="127.0.0.1/32")
    tap.ok(hup("reloaded: log_level debug, 1 trusted_peers"), "SIGHUP: the log says what was reloaded",
           d.logtext()[-2000:])
    tap.ok(d.proc.poll() is None and d.proc.pid == pid, "ksipd still runs, the same process")
    tap.ok("only at a restart" not in d.logtext(), "only reloadable keys changed: no restart asked for")

    r, _ = c.register("alice", "pw-alice", ["<sip:alice@127.0.0.1:5999>"])
    tap.ok(r is not None and r.code == 200 and debug_lines() == 1,
           "after: log_level debug, the REGISTER is logged at debug", d.logtext()[-2000:])
    r = invite_unknown(c)
    tap.ok(r is not None and r.code != 407,
           "after: 127.0.0.1 is a trusted peer, its INVITE is not challenged (%s)" % (r and r.code))
    p = d.ctl("ban", "add", "127.0.0.1", check=False)
    tap.ok(p.returncode == 1 and "trusted" in p.stderr, "ksipctl ban add refuses the new trusted peer",
           p.stderr)
    tap.ok(len(d.bindings("alice")) == 1, "bindings survive the reload")

    # A user written to the database by another tool is loaded by the reload.
    ha1 = lambda h: h(b"carol:ksip.test:pw-carol").hexdigest()
    db = sqlite3.connect(d.db, timeout=10)
    db.execute("INSERT INTO users(name, realm, ha1_md5, ha1_sha256) VALUES(?,?,?,?)",
               ("carol", "ksip.test", ha1(hashlib.md5), ha1(hashlib.sha256)))
    db.commit()
    db.close()
    r, _ = c.register("carol", "pw-carol", ["<sip:carol@127.0.0.1:5998>"])
    tap.ok(r is not None and r.code != 200, "a user only in the database is not known yet (%s)" %
           (r and r.code))
    tap.ok(hup("reloaded:"), "SIGHUP again")
    r, _ = c.register("carol", "pw-carol", ["<sip:carol@127.0.0.1:5998>"])
    tap.ok(r is not None and r.code == 200, "after the reload carol registers (%s)" % (r and r.code))

    # A broken file changes nothing: the old values stay, ksipd runs on.
    write_conf(log_level="loud", trusted_peers="")
    tap.ok(hup("not reloaded: the running configuration stays"),
           "a bad file: reported, the running configuration stays", d.logtext()[-1500:])
    tap.ok("key 'log_level': expected error, warn, info or debug: 'loud'" in d.logtext(),
           "the bad line is reported with its key")
    r = invite_unknown(c)
    tap.ok(r is not None and r.code != 407, "127.0.0.1 is still trusted")
    n = debug_lines()
    r, _ = c.register("alice", "pw-alice", ["<sip:alice@127.0.0.1:5999>"])
    tap.ok(r is not None and r.code == 200 and debug_lines() == n + 1, "log_level is still debug")

    # A key that needs a restart is named as such, and its running value stays.
    write_conf(log_level="info", trusted_peers="", max_calls="10")
    tap.ok(hup("take effect only at a restart"), "a key that needs a restart: the log says so")
    r = invite_unknown(c)
    tap.ok(r is not None and r.code == 407, "trusted_peers emptied: challenged again (%s)" %
           (r and r.code))
    # Attacker's view: the file gone, then a burst of SIGHUPs. Each is one bounded re-read.
    os.rename(os.path.join(d.dir, "ksipd.conf"), os.path.join(d.dir, "ksipd.conf.away"))
    tap.ok(hup("not reloaded"), "the file removed: not reloaded, ksipd runs on")
    tap.ok("cannot open" in d.logtext(), "and the log says it cannot open it")
    os.rename(os.path.join(d.dir, "ksipd.conf.away"), os.path.join(d.dir, "ksipd.conf"))
    before = d.logtext().count("reloaded:")
    for _ in range(50):
        d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 20
    while time.time() < deadline and d.logtext().count("reloaded:") == before:
        time.sleep(0.05)
    r, _ = c.register("alice", "pw-alice", ["<sip:alice@127.0.0.1:5999>"])
    n = d.logtext().count("reloaded:") - before
    tap.ok(d.proc.poll() is None and r is not None and r.code == 200 and 1 <= n <= 50,
           "50 SIGHUPs at once: between 1 and 50 reloads (%d: pending signals merge), REGISTER "
           "still served" % n)
    c.close()
    rc = d.stop()
    tap.ok(rc == 0, "clean stop after the reloads (status %d)" % rc)
finally:
    d.cleanup()

# The nftables allow sets follow the reload (root only: a network namespace of our own).
if os.geteuid() == 0:
    NS = "ksip-i16reload-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", NS], check=True)
    d = None
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        d = Ksipd(netns=NS, shield="nftables", shield_allow="192.0.2.7 2001:db8::/32")

        def allow_sets():
            p = subprocess.run(["ip", "netns", "exec", NS, "nft", "list", "set", "inet", "ksip", "allow4"],
                               capture_output=True, text=True, timeout=10)
            q = subprocess.run(["ip", "netns", "exec", NS, "nft", "list", "set", "inet", "ksip", "allow6"],
                               capture_output=True, text=True, timeout=10)
            return p.stdout + q.stdout

        before = allow_sets()
        tap.ok("192.0.2.7" in before and "2001:db8::/32" in before and "198.51.100.0/24" not in before,
               "nftables: allow4/allow6 hold shield_allow at start", before)
        write_conf(shield_allow="198.51.100.0/24", trusted_peers="203.0.113.9")
        tap.ok(hup("reloaded:"), "SIGHUP with new shield_allow and trusted_peers")
        after = allow_sets()
        tap.ok("198.51.100.0/24" in after and "203.0.113.9" in after and "192.0.2.7" not in after
               and "2001:db8::" not in after, "the allow sets now hold exactly the new lists", after)
        rc = d.stop()
        tap.ok(rc == 0, "clean stop (%d)" % rc)
    finally:
        if d:
            d.cleanup()
        subprocess.run(["ip", "netns", "del", NS])
tap.done()
