#!/usr/bin/env python3
"""Logs that explain (issue 16): at debug, every request ksipd refuses is one line saying
what, from where, why and the From/To; at info, each call's start and end with its id and
duration; a flood of refused requests writes a few lines a second and says how many it did
not. Hand-made packets on loopback; bob's phone is a socket of this script answering 486."""
import re
import socket
import threading
import time

from ksiptest import Ksipd, SipClient, Tap, rand_token

tap = Tap()
LIMIT = 20	# LOG_LIMIT_PER_SECOND, daemon/base/log.h

# Everything comes from 127.0.0.1: the per-source rate and bans would rightly stop the flood.
k = Ksipd(log_level="debug", auth_algorithms="MD5", auth_fail_limit=0, source_rate=0)


def busy_phone(sock, stop):
    """bob's phone: answers each INVITE 486 Busy Here (with a To tag), absorbs the ACK."""
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(65535)
        except socket.timeout:
            continue
        text = data.decode(errors="replace")
        if not text.startswith("INVITE "):
            continue
        head = text.split("\r\n\r\n", 1)[0].split("\r\n")
        keep = [h for h in head[1:] if re.match(r"(?i)(via|from|call-id|cseq):", h)]
        to = [h for h in head[1:] if re.match(r"(?i)to:", h)][0] + ";tag=" + rand_token(6)
        sock.sendto(("SIP/2.0 486 Busy Here\r\n" + "\r\n".join(keep + [to]) +
                     "\r\nContent-Length: 0\r\n\r\n").encode(), peer)


def invite(c, callee, password):
    """alice's INVITE to CALLEE with her credentials after the 407; the final response."""
    ruri = "sip:%s@%s" % (callee, c.realm)
    call_id = rand_token(12)

    def req(auth=None):
        r = c.request("INVITE", "alice", ["<sip:alice@%s>" % c.hostport(c.local)], ruri=ruri,
                      call_id=call_id, extra="Proxy-Authorization: %s" % auth if auth else "")
        return r.replace(b"To: <sip:alice@", ("To: <sip:%s@" % callee).encode(), 1)

    r = c.transact(req())
    if not r or r.code != 407:
        return r
    ch = r.get("proxy-authenticate")
    auth = c.authorization(ch, "alice", password, method="INVITE", uri=ruri)
    c.send(req(auth))
    end = time.time() + 5
    while time.time() < end:
        r = c.recv(1.0)
        if r and r.code >= 200:
            return r
    return None


stop = threading.Event()
try:
    k.add_user("alice", "pw-alice")
    k.add_user("bob", "pw-bob")
    bob = SipClient(k)
    r, _ = bob.register("bob", "pw-bob", ["<sip:bob@%s>" % bob.hostport(bob.local)])
    tap.ok(r and r.code == 200, "bob registers his phone (a socket that answers 486)", r and r.raw)
    threading.Thread(target=busy_phone, args=(bob.sock, stop), daemon=True).start()

    alice = SipClient(k)
    r = invite(alice, "nobody", "pw-alice")
    tap.ok(r and r.code == 404, "alice's authenticated INVITE to a name that does not exist: 404",
           r and r.raw)
    port = alice.local[1]
    time.sleep(0.3)
    log = k.logtext()
    line = [l for l in log.splitlines() if "refused INVITE" in l and " 404 " in l]
    tap.ok(line and ("from 127.0.0.1:%d:" % port) in line[0] and "<sip:alice@" in line[0]
           and "To <sip:nobody@" in line[0] and " debug: " in line[0],
           "at debug, one line: refused INVITE, its source, 404 and why, From alice, To nobody",
           line or log[-2000:])

    alice = SipClient(k)	# a new socket: the 404's retransmissions stay with the old one
    r = invite(alice, "bob", "pw-alice")
    tap.ok(r and r.code == 486, "alice calls bob, whose phone is busy: 486", r and r.raw)
    time.sleep(0.3)
    log = k.logtext()
    started = re.search(r"info: call (\d+) started: alice -> bob, Call-ID \S+", log)
    tap.ok(started, "at info: the call's start with its id, caller, callee and Call-ID", log[-2000:])
    ended = started and re.search(r"info: call %s ended \(alice -> bob\) unanswered after \d+\.\d{3} s: "
                                  % started.group(1), log)
    tap.ok(ended, "and its end, with the same id and how long it lasted", log[-2000:])

    # The flood: 600 requests of a method nobody knows (501 each), as fast as they go.
    before = k.stats()["responses_by_code"].get("501", 0)
    flood = SipClient(k)
    t0 = time.time()
    for i in range(600):
        flood.send(flood.request("FROB", "alice"))
    got = 0
    while flood.recv(0.5):
        got += 1
    took = time.time() - t0
    refused = k.stats()["responses_by_code"].get("501", 0) - before
    time.sleep(1.1)	# a new second: the next refused request says how many were not logged
    r = flood.transact(flood.request("FROB", "alice"))
    refused += 1
    time.sleep(0.2)
    lines = [l for l in k.logtext().splitlines() if "refused FROB" in l and " 501 " in l]
    not_logged = sum(int(m.group(1)) for l in lines
                     for m in [re.search(r"\(and (\d+) similar lines not logged\)", l)] if m)
    tap.ok(refused >= 500, "600 requests of an unknown method: %d answered 501" % refused)
    tap.ok(len(lines) <= LIMIT * (int(took) + 2) + 1,
           "the flood wrote %d lines in %.1f s: at most %d a second" % (len(lines), took, LIMIT))
    tap.ok(len(lines) + not_logged == refused,
           "and the lines say how many were not: %d written + %d not = %d refused"
           % (len(lines), not_logged, refused))
    tap.ok(all(len(l) < 1100 for l in lines), "every line is bounded")

    # A forged header cannot forge log lines: control bytes are written as '?'.
    evil = SipClient(k)
    evil.transact(evil.request("FROB", "alice").replace(
        b"From: <sip:alice@", b"From: \"\x1b[31mx\x07\" <sip:alice@", 1))
    time.sleep(0.2)
    log = k.logtext()
    tap.ok("\x1b" not in log and "\x07" not in log, "control bytes in a From never reach the log")
    tap.ok(k.stop() == 0, "ksipd exits cleanly", k.logtext()[-3000:])
finally:
    stop.set()
    k.cleanup()
tap.done()
