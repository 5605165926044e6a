#!/usr/bin/env python3
"""svcrack (Debian's sipvicious) guesses alice's password from a namespace of its own.

    ns srv: ksipd, udp:0.0.0.0:PORT, auth_fail_limit 10 / 60 s, ban_time 8 s
        10.12.1.1 ==veth== 10.12.1.2  ns atk: svcrack -u alice -d 60 wrong passwords
        10.12.2.1 ==veth== 10.12.2.2  ns good: alice's phone, right password

Promised (docs/security.md): after auth_fail_limit failures the source is banned: its
requests get no answer at all (svcrack gives up; a raw REGISTER gets nothing); alice
still registers from elsewhere; the ban ends after ban_time and the source is answered
again; `ksipctl ban del` lifts a ban at once.
"""
import json
import os
import shutil
import subprocess
import time

from netns import Client, Topology
from ksiptest import Tap

# The ban outlasts svcrack's patience (--maximumtime 3 s without an answer), so it gives up.
LIMIT, BAN = 10, 8
tap = Tap()
if not shutil.which("svcrack") or os.geteuid():
    print("1..0 # SKIP needs root and svcrack (scripts/deps.sh installs sipvicious)")
    raise SystemExit(0)

topo = Topology("cr", ["atk", "good"])
d = None
try:
    d = topo.ksipd(auth_fail_limit=LIMIT, auth_fail_window=60, ban_time=BAN,
                   auth_algorithms="MD5", realm="ksip.test")
    d.add_user("alice", "correct-horse-battery-7")
    words = os.path.join(d.dir, "words.txt")
    with open(words, "w") as f:
        f.write("".join("guess%03d\n" % i for i in range(60)))

    # svcrack runs in the background; what the ban promises is checked while it is on.
    t0 = time.time()
    crack = subprocess.Popen(["ip", "netns", "exec", topo.addr["atk"][2], "svcrack", "-u", "alice",
                              "-d", words, "-p", str(d.port), "--maximumtime=3", "10.12.1.1"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=d.dir)
    while time.time() - t0 < 10 and d.stats()["bans_added"] < 1:
        time.sleep(0.1)
    banned_at = time.time()
    tap.ok(d.stats()["bans_added"] == 1, "svcrack's source is banned (after %.1f s)" % (banned_at - t0))
    bans = json.loads(d.ctl("--json", "ban", "list").stdout)
    tap.ok(len(bans) == 1 and bans[0]["source"] == "10.12.1.2" and bans[0]["reason"] == "auth_failures",
           "ksipctl ban list shows 10.12.1.2", bans)
    atk = Client(topo, "atk", d)
    r = atk.transact(atk.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"]), timeout=1.0)
    tap.ok(r is None, "a raw REGISTER from the banned source gets nothing", r.raw if r else None)

    # Alice from another address is served throughout.
    good = Client(topo, "good", d)
    r, _ = good.register("alice", "correct-horse-battery-7", ["<sip:alice@10.12.2.2>"], expires=300)
    tap.ok(r is not None and r.code == 200, "alice registers from 10.12.2.2 meanwhile",
           r.raw if r else "no answer")

    try:
        out = crack.communicate(timeout=25)[0]
    except subprocess.TimeoutExpired:
        crack.kill()
        out = crack.communicate()[0] + "\n(killed after 25 s)"
    st = d.stats()
    tap.ok("correct-horse" not in out and crack.returncode is not None,
           "svcrack gave up without the password (%.1f s)" % (time.time() - t0), out[-800:])
    tap.ok(st["auth_failures_source"] == LIMIT + 1,
           "ksipd judged %d guesses: the limit and the one that banned (%d + 1)"
           % (st["auth_failures_source"], LIMIT), out[-800:])
    tap.ok(st["banned_dropped"] > 0, "the rest were dropped unread (%d)" % st["banned_dropped"])

    # ban_time later (the main thread sweeps every second) the source is answered again.
    time.sleep(max(0, banned_at + BAN + 1.5 - time.time()))
    r = atk.transact(atk.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"]), timeout=1.0)
    tap.ok(r is not None and r.code == 401, "after ban_time (%d s) the source gets its 401 again" % BAN,
           r.raw if r else "no answer")
    tap.ok(json.loads(d.ctl("--json", "ban", "list").stdout) == [], "and ksipctl ban list is empty")

    # Banned again by hand-made wrong guesses, then lifted by ksipctl ban del.
    for i in range(LIMIT + 1):
        r = atk.transact(atk.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"]), timeout=1.0)
        if not r or r.code != 401:
            break
        auth = atk.authorization(atk.challenge_for(r, "MD5"), "alice", "wrong%d" % i)
        atk.transact(atk.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"], auth=auth), timeout=1.0)
    r = atk.transact(atk.request("OPTIONS", "alice"), timeout=1.0)
    tap.ok(r is None and d.stats()["bans_added"] == 2, "11 wrong guesses by hand: banned again",
           d.stats())
    p = d.ctl("ban", "del", "10.12.1.2", check=False)
    tap.ok(p.returncode == 0 and "lifted" in p.stdout, "ksipctl ban del 10.12.1.2", p.stdout + p.stderr)
    r = atk.transact(atk.request("OPTIONS", "alice"), timeout=1.0)
    tap.ok(r is not None and r.code == 200, "answered again at once", r.raw if r else "no answer")
    p = d.ctl("ban", "del", "10.12.1.2", check=False)
    tap.ok(p.returncode != 0 and "not banned" in p.stderr, "ban del of a source not banned: an error",
           p.stdout + p.stderr)
    atk.close()
    good.close()
    rc = d.stop()
    tap.ok(rc == 0, "ksipd exits cleanly (sanitizers quiet)", d.logtext()[-1500:])
finally:
    if d:
        d.cleanup()
    topo.cleanup()
tap.done()
