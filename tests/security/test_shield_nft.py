#!/usr/bin/env python3
"""The nftables shield end to end: ksipd with shield = nftables in a namespace of its own
bans password guessers in the kernel (docs/security.md, "The nftables shield").

    ns srv: ksipd, udp:0.0.0.0:PORT udp:[::]:PORT, table inet ksip, auth_fail_limit 3
        10.12.1.1 fd12:1::1 ==veth== 10.12.1.2 fd12:1::2 fd12:1::99   ns atk: wrong passwords
        10.12.2.1           ==veth== 10.12.2.2                          ns good: alice, right password
        10.12.3.1           ==veth== 10.12.3.2                          ns ally: in shield_allow

Promised: after auth_fail_limit wrong passwords the attacker is in ban4 (ban6: its /64); its
packets are counted by the kernel rule (ban_sip) and never reach ksipd (banned_dropped and the
request counters stay still), while alice registers; the ban ends on time; `ksipctl ban del`
lifts it at once; an allowed address is never banned (nor can an operator ban it); a restart
puts the ban back from the store; `nft flush ruleset` is repaired within ~2 s with the ban;
shield = userspace bans the same way and creates no table. Each wait is bounded.
"""
import json
import os
import shutil
import socket
import subprocess
import time

from netns import Client, Topology, sh
import ksiptest
from ksiptest import Ksipd, Tap

LIMIT, BAN = 3, 4
ALICE_PW = "correct-horse-battery-7"
tap = Tap()
if os.geteuid() or not shutil.which("nft"):
    print("1..0 # SKIP needs root and nft (the nftables package)")
    raise SystemExit(0)


class Client6(ksiptest.SipClient):
    """ksiptest's SIP client over IPv6, from inside namespace NS, bound to SRC."""

    def __init__(self, topo, name, server, src, dst):
        self.transport, self.family = "udp", socket.AF_INET6
        self.server = (dst, server.port)
        self.realm = server.conf["realm"]
        self.sock = topo.socket_in(name, socket.AF_INET6, socket.SOCK_DGRAM)
        self.sock.settimeout(2.0)
        self.sock.bind((src, 0))
        self.local = self.sock.getsockname()[:2]
        self.call_id = ksiptest.rand_token(16) + "@test"
        self.cseq = 0
        self.tcp_buf = b""


def nft(*args):
    p = subprocess.run(["ip", "netns", "exec", topo.srv, "nft"] + list(args), capture_output=True,
                       text=True, timeout=10)
    return p.stdout if p.returncode == 0 else ""


def elems(setname):
    """The elements of SETNAME: addresses, or 'ADDR/LEN' for prefixes; None if no such set."""
    out = nft("-j", "list", "set", "inet", "ksip", setname)
    if not out:
        return None
    found = []
    for o in json.loads(out)["nftables"]:
        for e in o.get("set", {}).get("elem", []):
            v = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
            found.append("%s/%d" % (v["prefix"]["addr"], v["prefix"]["len"]) if isinstance(v, dict)
                         else v)
    return found


def counter(name):
    out = nft("-j", "list", "counter", "inet", "ksip", name)
    return [o["counter"]["packets"] for o in json.loads(out)["nftables"] if "counter" in o][0] if out else -1


def wait_for(cond, limit):
    end = time.time() + limit
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def guess(c, n):
    """N REGISTERs with a wrong password (each a challenge and a failed answer)."""
    for _ in range(n):
        c.register("alice", "wrong", ["<sip:alice@%s>" % c.hostport(c.local)])


def bans():
    return json.loads(d.ctl("--json", "ban", "list").stdout)


def start(exec_prefix=(), **conf):
    port = ksiptest.free_port()
    k = Ksipd(exec_prefix=exec_prefix, netns=topo.srv, listen="udp:0.0.0.0:%d udp:[::]:%d" % (port, port), workers=2,
              auth_fail_limit=LIMIT, auth_fail_window=60, ban_time=BAN, auth_algorithms="MD5",
              shield_allow="10.12.3.2", **conf)
    k.port = port
    return k


t_start = time.time()
topo = Topology("sn", ["atk", "good", "ally"])
d = None
try:
    s_if = "ks%s1" % topo.tag[-6:]
    c_if = "kc%s1" % topo.tag[-6:]
    atk_ns = topo.addr["atk"][2]
    sh("ip", "-n", topo.srv, "addr", "add", "fd12:1::1/64", "dev", s_if, "nodad")
    sh("ip", "-n", atk_ns, "addr", "add", "fd12:1::2/64", "dev", c_if, "nodad")
    sh("ip", "-n", atk_ns, "addr", "add", "fd12:1::99/64", "dev", c_if, "nodad")

    d = start(shield="nftables")
    d.add_user("alice", ALICE_PW)
    sh_ = json.loads(d.ctl("--json", "shield").stdout)
    tap.ok(sh_["shield"] == "nftables" and sh_["table"] == "inet ksip" and "ban_sip" in sh_["counters"],
           "ksipctl shield: nftables, table inet ksip, its counters", sh_)
    tap.ok(d.stats().get("shield") == "nftables", "ksipctl stats says which shield too")
    st = json.loads(d.ctl("--json", "status").stdout)
    tap.ok(st["shield"] == "nftables" and st["shield_why"] == "table inet ksip"
           and st["media"] in ("kernel", "userspace") and st["media_why"],
           "ksipctl status: shield nftables (table inet ksip), media and why", st)

    # --- 1. IPv4: banned after auth_fail_limit failures, dropped in the kernel --------------
    atk = Client(topo, "atk", d)
    guess(atk, LIMIT + 1)
    t_ban = time.time()
    tap.ok(wait_for(lambda: "10.12.1.2" in (elems("ban4") or []), 2),
           "after %d wrong passwords 10.12.1.2 is in ban4" % (LIMIT + 1), elems("ban4"))
    before, ban_sip = d.stats(), counter("ban_sip")
    for _ in range(10):
        atk.send(atk.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"]))
    got = atk.recv(timeout=0.5)
    after = d.stats()
    tap.ok(got is None, "the banned source gets no answer", got.raw if got else None)
    tap.ok(counter("ban_sip") - ban_sip >= 10, "the kernel rule counted its packets (ban_sip +%d)"
           % (counter("ban_sip") - ban_sip))
    tap.ok(after["banned_dropped"] == before["banned_dropped"] and after["requests"] == before["requests"],
           "and none reached ksipd (banned_dropped %d -> %d, requests %d -> %d)"
           % (before["banned_dropped"], after["banned_dropped"], before["requests"], after["requests"]))
    good = Client(topo, "good", d)
    r, _ = good.register("alice", ALICE_PW, ["<sip:alice@10.12.2.2>"], expires=300)
    tap.ok(r is not None and r.code == 200, "alice registers from 10.12.2.2 meanwhile",
           r.raw if r else "no answer")

    # --- 2. an allowed address is never banned ---------------------------------------------
    ally = Client(topo, "ally", d)
    guess(ally, LIMIT + 3)
    tap.ok("10.12.3.2" not in (elems("ban4") or []) and
           not any(b["source"] == "10.12.3.2" for b in bans()),
           "10.12.3.2 (shield_allow) fails %d times and is not banned" % (LIMIT + 3))
    p = d.ctl("ban", "add", "10.12.3.2", check=False)
    tap.ok(p.returncode == 1 and "trusted peers are never banned" in p.stderr,
           "ksipctl ban add of an allowed address is refused, saying why", p.stderr)

    # --- 3. the ban ends on time -----------------------------------------------------------
    gone = wait_for(lambda: "10.12.1.2" not in (elems("ban4") or ["x"]), BAN + 3)
    took = time.time() - t_ban
    tap.ok(gone and BAN - 1 <= took <= BAN + 2.5, "the %d s ban left ban4 after %.1f s" % (BAN, took))
    r = atk.transact(atk.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"]), timeout=1.0)
    tap.ok(r is not None and r.code == 401, "and 10.12.1.2 is answered again",
           r.raw if r else "no answer")

    # --- 4. ban add / ban del ----------------------------------------------------------------
    d.ctl("ban", "add", "10.12.1.2", "--for", "600", "--reason", "scanner from the log")
    row = [b for b in bans() if b["source"] == "10.12.1.2"]
    tap.ok("10.12.1.2" in (elems("ban4") or []) and row and row[0]["reason"] == "operator" and
           row[0]["note"] == "scanner from the log",
           "ksipctl ban add --for 600 --reason: in ban4, listed with its reason", row)
    d.ctl("ban", "del", "10.12.1.2")
    tap.ok("10.12.1.2" not in (elems("ban4") or ["x"]), "ksipctl ban del: gone from ban4 at once")
    for args, what in ((["10.12.1"], "not an IPv4 address"), (["2001:db8::/48"], "not an IPv4"),
                       (["10.12.1.2", "--for", "2592001"], "is not 1 to 2592000 seconds"),
                       (["10.12.1.2", "--for", "99999999999999999999999"], "is not 1 to"),
                       (["10.12.1.2", "--for", "0"], "is not 1 to"),
                       (["10.12.1.2", "--reason", "x" * 48], "--reason too long"),
                       (["10.12.1.2", "--reason", "a\x1bb"], "control character")):
        p = d.ctl("ban", "add", *args, check=False)
        tap.ok(p.returncode == 1 and what in p.stderr, "ban add %s: refused by ksipd"
               % " ".join(a[:30] for a in args), p.stderr)
    tap.ok(not bans() and not elems("ban4"), "and none of them banned anything")

    # --- 5. a restart puts the ban back from the store ---------------------------------------
    d.ctl("ban", "add", "10.12.1.2", "--for", "600", "--reason", "kept")
    time.sleep(0.3)		# the store's writer commits every store_flush_ms
    d.restart()
    row = [b for b in bans() if b["source"] == "10.12.1.2"]
    tap.ok("10.12.1.2" in (elems("ban4") or []) and row and row[0]["note"] == "kept" and
           590 <= row[0]["expires_in"] <= 600,
           "after a restart the ban is back (store -> list -> ban4), with its time left", row)

    # --- 6. nft flush ruleset is repaired -----------------------------------------------------
    subprocess.run(["ip", "netns", "exec", topo.srv, "nft", "flush", "ruleset"], check=True)
    t0 = time.time()
    back = wait_for(lambda: "10.12.1.2" in (elems("ban4") or []), 3)
    tap.ok(back and time.time() - t0 <= 2.5,
           "nft flush ruleset: table and ban back after %.1f s" % (time.time() - t0))
    tap.ok(d.logtext().count("changed or deleted by someone else") == 1, "logged once")
    d.ctl("ban", "del", "10.12.1.2")

    # --- 7. IPv6: the /64 in ban6 ---------------------------------------------------------------
    atk6 = Client6(topo, "atk", d, "fd12:1::2", "fd12:1::1")
    guess(atk6, LIMIT + 1)
    tap.ok(wait_for(lambda: "fd12:1::/64" in (elems("ban6") or []), 2),
           "after %d wrong passwords over IPv6 fd12:1::/64 is in ban6" % (LIMIT + 1), elems("ban6"))
    other = Client6(topo, "atk", d, "fd12:1::99", "fd12:1::1")
    before, ban_sip = d.stats(), counter("ban_sip")
    for _ in range(10):
        other.send(other.request("REGISTER", "alice", ["<sip:alice@[fd12:1::99]>"]))
    got = other.recv(timeout=0.5)
    after = d.stats()
    tap.ok(got is None and counter("ban_sip") - ban_sip >= 10 and
           after["banned_dropped"] == before["banned_dropped"] and after["requests"] == before["requests"],
           "fd12:1::99, same /64: dropped by the kernel (ban_sip +%d), ksipd saw nothing"
           % (counter("ban_sip") - ban_sip))
    d.ctl("ban", "del", "fd12:1::5")
    tap.ok("fd12:1::/64" not in (elems("ban6") or ["x"]), "ban del of any address of it lifts the /64")
    rc = d.stop()
    tap.ok(rc == 0 and elems("ban4") is None, "a clean stop removes the table (exit %d)" % rc)

    # --- 8. shield = userspace: the same ban, no table ---------------------------------------------
    d.cleanup()
    d = start(shield="userspace")
    d.add_user("alice", ALICE_PW)
    atk = Client(topo, "atk", d)
    guess(atk, LIMIT + 1)
    before = d.stats()
    r = atk.transact(atk.request("REGISTER", "alice", ["<sip:alice@10.12.1.2>"]), timeout=0.5)
    after = d.stats()
    tap.ok(any(b["source"] == "10.12.1.2" for b in bans()) and r is None and
           after["banned_dropped"] > before["banned_dropped"],
           "shield = userspace: banned, dropped by ksipd itself (banned_dropped +%d)"
           % (after["banned_dropped"] - before["banned_dropped"]))
    tables = nft("list", "tables")
    tap.ok(tables.strip() == "" and json.loads(d.ctl("--json", "shield").stdout)["shield"] == "userspace",
           "and no nftables table exists in its namespace", tables)
    st = json.loads(d.ctl("--json", "status").stdout)
    tap.ok(st["shield"] == "userspace" and "shield = userspace" in st["shield_why"],
           "ksipctl status: userspace, because the configuration says so", st)

    # --- 9. shield = auto without CAP_NET_ADMIN: the userspace shield, and status says why -------
    d.cleanup()
    d = start(exec_prefix=("setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin"),
              shield="auto")
    st = json.loads(d.ctl("--json", "status").stdout)
    tap.ok(st["shield"] == "userspace" and st["shield_why"].startswith("nftables unavailable: ")
           and "EPERM" in st["shield_why"] and nft("list", "tables").strip() == "",
           "shield = auto without CAP_NET_ADMIN: falls back to userspace, no table, and says why", st)
    tap.ok("falling back to userspace" in d.logtext(), "and the log says so")
    d.add_user("alice", ALICE_PW)
    atk = Client(topo, "atk", d)
    guess(atk, LIMIT + 1)
    tap.ok(any(b["source"] == "10.12.1.2" for b in bans()),
           "and the fallback bans the guesser in userspace", bans())
    elapsed = time.time() - t_start
    tap.ok(elapsed < 60, "the whole script took %.1f s" % elapsed)
finally:
    if d:
        d.cleanup()
    topo.cleanup()
tap.done()
