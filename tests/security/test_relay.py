#!/usr/bin/env python3
"""No open relay, and outsiders cannot end calls (issue 12, items 1 and 6; docs/security.md).

Three network namespaces made here and deleted at the end; ksipd runs in the middle one:

    ns atk (attacker, alice, bob)       ns ksipd                        ns gw (gateway)
    10.99.1.2 ---------- veth ---------- 10.99.1.1   10.99.2.1 ---------- veth ---------- 10.99.2.2
      attacker: no credentials           ksipd *:PORT                      :5060 fake gateway, counts
      alice, bob: local users            trusted_peers = 10.99.2.2/32            every datagram
                                                                           :5070 a trusted peer (PBX)

The attacker tries every relay trick towards the gateway (To tag of no dialog, Route naming the
gateway, forged BYE/INFO, foreign Request-URI, forged or altered signed Route, ACK and CANCEL)
and gets 481/403/407/nothing; the gateway must count zero datagrams. Then the positive side:
a trusted peer's INVITE reaches bob without a challenge, alice's BYE with the signed Route still
reaches bob after a restart, and alice (authenticated) reaches the gateway only with
allow_foreign_domains = yes.
"""
import ctypes
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, Response, Tap, digest_response, free_port, parse_challenge, rand_token  # noqa: E402

T = Tap()
PID = os.getpid() % 100000
NS = {"atk": "ksr-atk-%d" % PID, "k": "ksr-k-%d" % PID, "gw": "ksr-gw-%d" % PID}
K_ATK, ATK, K_GW, GW = "10.99.1.1", "10.99.1.2", "10.99.2.1", "10.99.2.2"
GW_PORT, PEER_PORT = 5060, 5070
PW = {"alice": "alice-pw", "bob": "bob-pw"}
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def topology_up():
    for ns in NS.values():
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    for side, (k_addr, far_addr) in (("a", (K_ATK, ATK)), ("g", (K_GW, GW))):
        far = NS["atk"] if side == "a" else NS["gw"]
        kif, fif = "kr%s%dk" % (side, PID), "kr%s%df" % (side, PID)
        sh("ip", "link", "add", kif, "netns", NS["k"], "type", "veth", "peer", "name", fif, "netns", far)
        sh("ip", "-n", NS["k"], "addr", "add", k_addr + "/24", "dev", kif)
        sh("ip", "-n", far, "addr", "add", far_addr + "/24", "dev", fif)
        sh("ip", "-n", NS["k"], "link", "set", kif, "up")
        sh("ip", "-n", far, "link", "set", fif, "up")
    # The trusted peer reaches ksipd's address on the attacker's side through ksipd's other leg.
    sh("ip", "-n", NS["gw"], "route", "add", "10.99.1.0/24", "via", K_GW)
    # A new veth has no carrier for a moment (linkwatch): wait until every end is up.
    deadline = time.time() + 10
    while time.time() < deadline:
        links = "".join(subprocess.run(["ip", "-n", ns, "-br", "link"], capture_output=True,
                                       text=True).stdout for ns in NS.values())
        if "NO-CARRIER" not in links and " DOWN " not in links.replace("lo ", "lo-"):
            break
        time.sleep(0.1)


def topology_down():
    for ns in NS.values():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class In:
    """Run a block inside a namespace (this thread only): sockets made there stay there."""

    def __init__(self, ns):
        self.ns = ns

    def __enter__(self):
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.ns, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns " + self.ns)
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        libc.setns(self.home, CLONE_NEWNET)
        os.close(self.home)


def udp(ns, addr, port=0):
    with In(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, port))
    return s


class Party:
    """A UDP SIP party with its own socket: builds requests and reads what arrives."""

    def __init__(self, ns, addr, server, user, port=0):
        self.sock = udp(ns, addr, port)
        self.local = self.sock.getsockname()
        self.server = server
        self.user = user

    def request(self, method, ruri, call_id, from_tag, to_user, to_tag=None, cseq=1, extra=(),
                from_user=None, branch=None):
        self.branch = branch or rand_token()
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport" % (self.local + (self.branch,)),
                 "Max-Forwards: 70",
                 "From: <sip:%s@ksip.test>;tag=%s" % (from_user or self.user, from_tag),
                 "To: <sip:%s@ksip.test>%s" % (to_user, ";tag=" + to_tag if to_tag else ""),
                 "Call-ID: %s" % call_id,
                 "CSeq: %d %s" % (cseq, method),
                 "Contact: <sip:%s@%s:%d>" % ((self.user,) + self.local)] + list(extra) + \
                ["Content-Length: 0"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def send(self, data):
        self.sock.sendto(data, self.server)

    def recv(self, timeout=2.0, want=None, call_id=None):
        """The next message (skipping 100 Trying); with WANT and CALL_ID, the next such one."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            r = Response(data)
            if data.startswith(b"SIP/2.0 100 "):
                continue
            if (want is None or data.startswith(want)) and (call_id is None or r.get("call-id") == call_id):
                return r
        return None

    def transact(self, data, timeout=2.0):
        """Send DATA; its response (earlier transactions' retransmissions are skipped)."""
        self.send(data)
        return self.recv(timeout, b"SIP/2.0 ", Response(data).get("call-id"))

    def silent(self, timeout=1.0):
        """Nothing at all arrives (ACK is never answered)."""
        return self.recv(timeout) is None


NC = [0]


def proxy_auth(resp, user, method, uri):
    ch = parse_challenge(resp.get("proxy-authenticate") or "")
    NC[0] += 1
    cnonce = rand_token(8)
    r = digest_response("MD5", user, ch["realm"], PW[user], method, uri, ch["nonce"], NC[0], cnonce)
    return ('Proxy-Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=MD5, cnonce="%s", qop=auth, nc=%08x' %
            (user, ch["realm"], ch["nonce"], uri, r, cnonce, NC[0]))


def answer(req, code, reason, tag, contact=None):
    """A response to request REQ (a Response) with the To tag TAG."""
    keep = [(k, v) for k, v in req.headers if k in ("via", "from", "to", "call-id", "cseq", "record-route")]
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for k, v in keep:
        if k == "to" and ";tag=" not in v:
            v += ";tag=" + tag
        lines.append("%s: %s" % (k.title(), v))
    if contact:
        lines.append("Contact: <%s>" % contact)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def gateway_count(gw):
    gw.setblocking(False)
    n, first = 0, None
    try:
        while True:
            data = gw.recv(65535)
            first = first or data
            n += 1
    except BlockingIOError:
        pass
    return n, first


def code_of(r):
    return r.code if r else None


def main():
    topology_up()
    d = None
    try:
        gw = udp(NS["gw"], GW, GW_PORT)
        port = free_port()
        with In(NS["k"]):
            # Every address of ksipd's own namespace (both legs); 127.0.0.1 there is its own too.
            d = Ksipd(listen="udp:0.0.0.0:{p} tcp:0.0.0.0:{p}".format(p=port), workers=2,
                      auth_algorithms="MD5", media="userspace", trusted_peers=GW + "/32",
                      allow_foreign_domains="no", t1_ms=100, t2_ms=400, timer_c=5)
        d.port = port
        for u, pw in PW.items():
            d.add_user(u, pw)
        run(d, gw)
        T.ok(d.stop() == 0, "ksipd (ASan/UBSan build) exits cleanly", d.logtext()[-3000:])
    finally:
        if d:
            d.cleanup()
        topology_down()
    T.done()


def restart(d, **conf):
    d.stop()
    d.conf.update({k: str(v) for k, v in conf.items()})
    with In(NS["k"]):
        d.start()


def run(d, gw):
    server = (K_ATK, d.port)
    gw_uri = "sip:5551234@%s:%d" % (GW, GW_PORT)
    alice = Party(NS["atk"], ATK, server, "alice")
    bob = Party(NS["atk"], ATK, server, "bob")
    atk = Party(NS["atk"], ATK, server, "mallory")

    # bob registers (401, then credentials).
    cid = rand_token(12)
    r = bob.transact(bob.request("REGISTER", "sip:ksip.test", cid, rand_token(6), "bob", extra=["Expires: 600"]))
    ch = parse_challenge((r and r.get("www-authenticate")) or "nonce=x")
    resp = digest_response("MD5", "bob", "ksip.test", PW["bob"], "REGISTER", "sip:ksip.test", ch["nonce"], 1, "c1")
    auth = ('Authorization: Digest username="bob", realm="ksip.test", nonce="%s", uri="sip:ksip.test", '
            'response="%s", algorithm=MD5, cnonce="c1", qop=auth, nc=00000001' % (ch["nonce"], resp))
    r = bob.transact(bob.request("REGISTER", "sip:ksip.test", cid, rand_token(6), "bob", cseq=2,
                                 extra=[auth, "Expires: 600"]))
    T.ok(code_of(r) == 200, "bob registers", r and r.raw)

    # alice calls bob: 407, then an authenticated INVITE; bob answers; alice ACKs.
    call_id, a_tag, b_tag = rand_token(16), rand_token(8), rand_token(8)
    inv = alice.request("INVITE", "sip:bob@ksip.test", call_id, a_tag, "bob")
    r = alice.transact(inv)
    T.ok(code_of(r) == 407, "alice's first INVITE is challenged (407)", r and r.raw)
    if r:   # the ACK of the 407, hop by hop (same branch): ends its retransmissions
        alice.send(alice.request("ACK", "sip:bob@ksip.test", call_id, a_tag, "bob", r.get("to").split("tag=")[-1],
                                 branch=alice.branch))
    inv = alice.request("INVITE", "sip:bob@ksip.test", call_id, a_tag, "bob", cseq=2,
                        extra=[proxy_auth(r, "alice", "INVITE", "sip:bob@ksip.test")])
    alice.send(inv)
    got = bob.recv(3, b"INVITE ")
    T.ok(got is not None, "bob gets alice's INVITE")
    if got is None:
        return
    rr = got.all("record-route")
    T.ok(len(rr) == 1 and ";ksig=" in rr[0], "ksipd's Record-Route carries its signature", rr)
    bob.send(answer(got, 200, "OK", b_tag, "sip:bob@%s:%d" % bob.local))
    ok200 = alice.recv(3, b"SIP/2.0 200 ")
    T.ok(ok200 is not None, "alice gets bob's 200")
    route = "Route: " + ", ".join(reversed(ok200.all("record-route"))) if ok200 else "Route: <>"
    alice.send(alice.request("ACK", "sip:bob@%s:%d" % bob.local, call_id, a_tag, "bob", b_tag, cseq=2,
                             extra=[route]))
    T.ok(bob.recv(2, b"ACK ") is not None, "bob gets alice's ACK: the call is established")

    # Outsiders cannot end the call: right Call-ID and From tag, wrong To tag.
    r = atk.transact(atk.request("BYE", "sip:bob@%s:%d" % bob.local, call_id, a_tag, "bob", "guessed",
                                 cseq=3, from_user="alice"))
    T.ok(code_of(r) == 481, "outsider's BYE with the call's Call-ID and From tag, wrong To tag: 481", r and r.raw)
    r = atk.transact(atk.request("BYE", "sip:alice@%s:%d" % alice.local, call_id, "guessed", "alice",
                                 a_tag, cseq=3, from_user="bob"))
    T.ok(code_of(r) == 481, "the same as if from the callee (tags the other way round): 481", r and r.raw)
    r = atk.transact(atk.request("BYE", "sip:bob@ksip.test", call_id, a_tag, "bob", cseq=3,
                                 from_user="alice"))
    T.ok(code_of(r) == 407, "outsider's BYE without a To tag is an initial request: 407", r and r.raw)
    T.ok(bob.silent(1.0) and alice.silent(0.1), "neither party of the call received anything")

    # The relay tricks, without credentials, all towards the gateway.
    tricks = [
        ("INVITE with a To tag matching no dialog, to the gateway", 481,
         atk.request("INVITE", gw_uri, rand_token(), rand_token(), "x", "nodialog")),
        ("INVITE with a Route naming the gateway", 403,
         atk.request("INVITE", "sip:bob@ksip.test", rand_token(), rand_token(), "bob",
                     extra=["Route: <sip:%s:%d;lr>" % (GW, GW_PORT)])),
        ("INVITE with a Route naming us, then the gateway", 403,
         atk.request("INVITE", "sip:bob@ksip.test", rand_token(), rand_token(), "bob",
                     extra=["Route: <sip:%s:%d;lr>, <sip:%s:%d;lr>" % (K_ATK, d.port, GW, GW_PORT)])),
        ("INVITE with a To tag and a Route naming the gateway", 481,
         atk.request("INVITE", gw_uri, rand_token(), rand_token(), "x", "t1",
                     extra=["Route: <sip:%s:%d;lr>" % (GW, GW_PORT)])),
        ("INVITE for a foreign Request-URI (the gateway's address)", 403,
         atk.request("INVITE", gw_uri, rand_token(), rand_token(), "x")),
        ("INVITE for a foreign domain name", 403,
         atk.request("INVITE", "sip:5551234@pstn.example.net", rand_token(), rand_token(), "x")),
        ("MESSAGE for a foreign Request-URI", 403,
         atk.request("MESSAGE", gw_uri, rand_token(), rand_token(), "x")),
        ("BYE with forged tags, to the gateway", 481,
         atk.request("BYE", gw_uri, rand_token(), rand_token(), "x", rand_token())),
        ("INFO with forged tags, to the gateway", 481,
         atk.request("INFO", gw_uri, rand_token(), rand_token(), "x", rand_token())),
        ("BYE with a Route naming us and a made-up ksig", 481,
         atk.request("BYE", gw_uri, rand_token(), rand_token(), "x", rand_token(),
                     extra=["Route: <sip:%s:%d;lr;ksig=%s>" % (K_ATK, d.port, "f" * 40)])),
        ("CANCEL matching no INVITE", 481,
         atk.request("CANCEL", gw_uri, rand_token(), rand_token(), "x")),
    ]
    for what, want, data in tricks:
        r = atk.transact(data)
        T.ok(code_of(r) == want, "%s: %d" % (what, want), r and r.raw)
    atk.send(atk.request("ACK", gw_uri, rand_token(), rand_token(), "x", rand_token()))
    atk.send(atk.request("ACK", gw_uri, rand_token(), rand_token(), "x"))
    T.ok(atk.silent(1.0), "ACKs with forged tags or none, to the gateway: no answer")

    # ksipd restarts: it holds no dialog now; only the signature vouches for alice's call.
    restart(d)
    sig = rr[0].split("ksig=")[1].split(">")[0].split(";")[0] if rr and "ksig=" in rr[0] else "0" * 40
    flip = lambda s, i: s[:i] + ("0" if s[i] != "0" else "1") + s[i + 1:]  # noqa: E731
    for what, s, cid in (("a MAC digit changed", flip(sig, 20), call_id),
                         ("the expiry changed", flip(sig, 7), call_id),
                         ("the signature of another Call-ID", sig, rand_token(16))):
        r = atk.transact(atk.request("BYE", gw_uri, cid, a_tag, "x", rand_token(), cseq=5, from_user="alice",
                                     extra=["Route: <sip:%s:%d;lr;ksig=%s>" % (K_ATK, d.port, s)]))
        T.ok(code_of(r) == 481, "after a restart, a BYE to the gateway with %s: 481" % what, r and r.raw)
    r = atk.transact(atk.request("BYE", "sip:bob@%s:%d" % bob.local, call_id, a_tag, "bob", b_tag, cseq=5,
                                 from_user="alice", extra=["Route: <sip:%s:%d;lr>" % (K_ATK, d.port)]))
    T.ok(code_of(r) == 481, "after a restart, the right ids with our Route but no signature: 481", r and r.raw)
    T.ok(bob.silent(0.5), "bob received none of them")

    # Alice's own BYE, with the Route set of her dialog, still reaches bob.
    alice.send(alice.request("BYE", "sip:bob@%s:%d" % bob.local, call_id, a_tag, "bob", b_tag, cseq=6,
                             extra=[route]))
    bye = bob.recv(3, b"BYE ")
    T.ok(bye is not None, "after a restart, alice's BYE with the signed Route reaches bob")
    if bye:
        bob.send(answer(bye, 200, "OK", b_tag))
    r = alice.recv(3, b"SIP/2.0 ")
    T.ok(code_of(r) == 200, "and bob's 200 reaches alice", r and r.raw)

    # A trusted peer's INVITE reaches bob without a challenge.
    peer = Party(NS["gw"], GW, server, "pstn", PEER_PORT)
    pcid, ptag = rand_token(16), rand_token(8)
    peer.send(peer.request("INVITE", "sip:bob@ksip.test", pcid, ptag, "bob", from_user="+15550001"))
    got = bob.recv(3, b"INVITE ")
    T.ok(got is not None and got.get("call-id") == pcid, "a trusted peer's INVITE reaches bob without a challenge",
         got and got.raw)
    r = None
    if got:
        bob.send(answer(got, 486, "Busy Here", "busy"))
        r = peer.recv(3, b"SIP/2.0 ")
    T.ok(code_of(r) == 486, "and bob's 486 comes back to the peer (never a 407)", r and r.raw)
    if r:
        peer.send(peer.request("ACK", "sip:bob@ksip.test", pcid, ptag, "bob", "busy", from_user="+15550001"))

    # An authenticated user, allow_foreign_domains = no: 403.
    fcid, ftag = rand_token(16), rand_token(8)
    r = alice.transact(alice.request("INVITE", gw_uri, fcid, ftag, "x"))
    T.ok(code_of(r) == 403, "alice to the gateway with allow_foreign_domains = no: 403 without a challenge",
         r and r.raw)
    time.sleep(0.5)
    n, first = gateway_count(gw)
    T.ok(n == 0, "the gateway counted 0 datagrams from ksipd", first)

    # allow_foreign_domains = yes: outsiders are challenged, alice gets through.
    restart(d, allow_foreign_domains="yes")
    r = atk.transact(atk.request("INVITE", gw_uri, rand_token(), rand_token(), "x"))
    T.ok(code_of(r) == 407, "allow_foreign_domains = yes: the attacker's INVITE to the gateway gets 407",
         r and r.raw)
    r = atk.transact(atk.request("INVITE", "sip:bob@ksip.test", rand_token(), rand_token(), "bob",
                                 extra=["Route: <sip:%s:%d;lr>" % (GW, GW_PORT)]))
    T.ok(code_of(r) == 407, "allow_foreign_domains = yes: the attacker's Route to the gateway gets 407",
         r and r.raw)
    time.sleep(0.3)
    n, first = gateway_count(gw)
    T.ok(n == 0, "the gateway still counted 0 datagrams", first)
    r = alice.transact(alice.request("INVITE", gw_uri, fcid, ftag, "x", cseq=2))
    alice.send(alice.request("INVITE", gw_uri, fcid, ftag, "x", cseq=3,
                             extra=[proxy_auth(r, "alice", "INVITE", gw_uri)] if r else []))
    time.sleep(0.5)
    n, first = gateway_count(gw)
    T.ok(n >= 1 and first.startswith(("INVITE %s " % gw_uri).encode()),
         "alice (authenticated), allow_foreign_domains = yes: her INVITE reaches the gateway", first)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root for network namespaces")
        sys.exit(0)
    main()
