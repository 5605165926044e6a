#!/usr/bin/env python3
"""Attacker: descriptor exhaustion with idle TCP connections (issue 12, "Descriptors").

    this script (loopback) --200 idle TCP connections--> ksipd under prlimit --nofile=64:64
                           --UDP OPTIONS/REGISTER------>   (2 workers)

Twice: with the TCP cap sized from the descriptor limit (the default), the surplus is closed at
once and accept() never meets EMFILE; with a cap set far above the limit, accept() does meet
EMFILE and the listener pauses. Either way ksipd stays idle in CPU, answers over UDP throughout,
and over TCP once the connections are gone; the EMFILE warning is logged once, not per accept.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, SipClient, Tap  # noqa: E402

NOFILE = 64
ATTACK = 200
tap = Tap()
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_share(pid, seconds):
    """Share of one core PID used over SECONDS (utime + stime from /proc/PID/stat)."""
    def ticks():
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    t0, c0 = time.time(), ticks()
    time.sleep(seconds)
    return (ticks() - c0) / CLK_TCK / (time.time() - t0)


def flood(port, n=ATTACK):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))	# completes in the kernel's backlog even if not accepted
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def udp_serves(k, what):
    u = SipClient(k, "udp")
    r = u.transact(u.request("OPTIONS", "alice"))
    tap.ok(r is not None and r.code == 200, "%s: OPTIONS over UDP answered 200" % what)
    r, _ = u.register("alice", "secret", ["<sip:alice@127.0.0.1:5999>"], expires=600)
    tap.ok(r is not None and r.code == 200, "%s: REGISTER over UDP answered 200" % what,
           r and r.code)
    u.close()


def tcp_serves(k, what):
    for _ in range(20):	# the listener may be in a back-off, the backlog being drained
        try:
            t = SipClient(k, "tcp")
            r = t.transact(t.request("OPTIONS", "alice"), timeout=1.0)
            t.close()
            if r is not None and r.code == 200:
                break
        except OSError:
            r = None
        time.sleep(0.25)
    tap.ok(r is not None and r.code == 200, "%s: OPTIONS over TCP answered once the attack is gone"
           % what)


limit = ("prlimit", "--nofile=%d:%d" % (NOFILE, NOFILE), "--")

# --- 1. The default: the cap is sized from the limit ----------------------------------------
k = Ksipd(exec_prefix=limit)
try:
    k.add_user("alice", "secret")
    log = k.logtext()
    tap.ok("descriptors: soft limit %d" % NOFILE in log and "hard limit %d" % NOFILE in log,
           "the descriptor limits are logged", log[-800:])
    cap_line = [l for l in log.splitlines() if "tcp: at most" in l]
    cap = int(cap_line[0].split("at most ")[1].split()[0]) if cap_line else 0
    tap.ok(0 < cap < NOFILE - 20, "the TCP cap (%d) leaves room under a limit of %d" % (cap, NOFILE),
           cap_line)
    socks = flood(k.port)
    time.sleep(1.0)
    share = cpu_share(k.proc.pid, 3.0)
    tap.ok(share < 0.10, "sized cap, %d connections: ksipd idle in CPU (%.1f %% of a core)"
           % (len(socks), share * 100))
    udp_serves(k, "sized cap")
    st = k.stats()
    tap.ok(st["tcp_refused"] >= ATTACK - cap - 5 and st["tcp_accepted"] <= cap + 2,
           "the surplus is refused at the cap (%d accepted, %d refused)"
           % (st["tcp_accepted"], st["tcp_refused"]))
    tap.ok(st["tcp_accept_emfile"] == 0, "accept() never met EMFILE (%d)" % st["tcp_accept_emfile"])
    for s in socks:
        s.close()
    tcp_serves(k, "sized cap")
finally:
    tap.ok(k.stop() == 0, "sized cap: ksipd exits cleanly (no sanitizer report)")
    k.cleanup()

# --- 2. A cap set far above the limit: accept() meets EMFILE --------------------------------
k = Ksipd(exec_prefix=limit, tcp_max_connections=1000)
try:
    k.add_user("alice", "secret")
    socks = flood(k.port)
    time.sleep(1.0)
    share = cpu_share(k.proc.pid, 4.0)
    tap.ok(share < 0.10, "EMFILE, %d connections: ksipd idle in CPU (%.1f %% of a core)"
           % (len(socks), share * 100))
    udp_serves(k, "EMFILE")
    for s in socks:
        s.close()
    time.sleep(0.5)
    tcp_serves(k, "EMFILE")
    st = k.stats()
    tap.ok(st["tcp_accept_emfile"] >= 4, "the pauses are counted (tcp_accept_emfile %d)"
           % st["tcp_accept_emfile"])
    warnings = [l for l in k.logtext().splitlines() if "tcp: accept:" in l]
    tap.ok(len(warnings) == 1, "one warning for %d pauses in ~6 s, not one per accept"
           % st["tcp_accept_emfile"], "\n".join(warnings[:5]))
finally:
    tap.ok(k.stop() == 0, "EMFILE: ksipd exits cleanly (no sanitizer report)")
    k.cleanup()
tap.done()
