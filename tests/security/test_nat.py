#!/usr/bin/env python3
"""A phone behind NAT (issue 14): reached where its REGISTER came from, kept open by keepalives.

    ns phone                     ns router (masquerade)                  ns srv (ksipd)
    192.168.77.2 --- veth --- 192.168.77.1   10.77.0.1 --- veth --- 10.77.0.2:PORT
    (Contact: its private                    UDP conntrack timeout 5 s
     address; default route                  (per namespace): a mapping
     via the router)                         lives 5 s after its last packet

ksipd's namespace has no route to 192.168.77.0/24: only the router's mapping reaches the phone.
The phone (a Python UA here) registers with its private Contact, answers OPTIONS, and takes
INVITEs (answering 486). With nat_keepalive_interval = 2 the mapping outlives the NAT timeout and
a call placed after it still reaches the phone; the same with keepalives off does not (proof
that the test can fail). Also: a STUN Binding request from the phone gets its public (mapped)
address, malformed STUN gets nothing; a phone that stops answering keepalives loses its binding
early (nat_keepalive_expired); a burst of 300 STUN requests is answered at the source's rate
(source_burst + source_rate), the rest counted in rate_limited.
"""
import ctypes
import os
import queue
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, Response, SipClient, Tap, free_port, rand_token  # noqa: E402

T = Tap()
PID = os.getpid() % 100000
NS = {"phone": "i14nat-ph-%d" % PID, "router": "i14nat-rt-%d" % PID, "srv": "i14nat-sv-%d" % PID}
PHONE, R_IN, R_OUT, SRV = "192.168.77.2", "192.168.77.1", "10.77.0.1", "10.77.0.2"
NAT_TIMEOUT = 5
PW = {"natphone": "nat-pw", "alice": "alice-pw"}
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def topology_up():
    for ns in NS.values():
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    for tag, (a_ns, a_ip, b_ns, b_ip) in (("p", ("phone", PHONE, "router", R_IN)),
                                          ("s", ("router", R_OUT, "srv", SRV))):
        a_if, b_if = "i14n%s%da" % (tag, PID), "i14n%s%db" % (tag, PID)
        sh("ip", "link", "add", a_if, "netns", NS[a_ns], "type", "veth", "peer", "name", b_if,
           "netns", NS[b_ns])
        sh("ip", "-n", NS[a_ns], "addr", "add", a_ip + "/24", "dev", a_if)
        sh("ip", "-n", NS[b_ns], "addr", "add", b_ip + "/24", "dev", b_if)
        sh("ip", "-n", NS[a_ns], "link", "set", a_if, "up")
        sh("ip", "-n", NS[b_ns], "link", "set", b_if, "up")
    sh("ip", "-n", NS["phone"], "route", "add", "default", "via", R_IN)
    r = ["ip", "netns", "exec", NS["router"]]
    sh(*r, "sysctl", "-w", "net.ipv4.ip_forward=1")
    sh(*r, "nft", "add table ip i14nat; "
       "add chain ip i14nat post { type nat hook postrouting priority 100; }; "
       "add rule ip i14nat post ip saddr 192.168.77.0/24 masquerade")
    # Per namespace: a mapping is forgotten this long after its last packet, either way.
    sh(*r, "sysctl", "-w", "net.netfilter.nf_conntrack_udp_timeout=%d" % NAT_TIMEOUT,
       "net.netfilter.nf_conntrack_udp_timeout_stream=%d" % NAT_TIMEOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        links = "".join(subprocess.run(["ip", "-n", ns, "-br", "link"], capture_output=True,
                                       text=True).stdout for ns in NS.values())
        if "NO-CARRIER" not in links:
            break
        time.sleep(0.1)


def topology_down():
    for ns in NS.values():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def socket_in(ns, family, typ):
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns")
        try:
            return socket.socket(family, typ)
        finally:
            if libc.setns(own, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
        os.close(target)


class NatPhone(SipClient):
    """A UA in the phone namespace: registers, then answers from a thread."""

    def __init__(self, d):
        self.transport, self.family = "udp", socket.AF_INET
        self.server = (SRV, d.port)
        self.realm = d.conf["realm"]
        self.sock = socket_in(NS["phone"], socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2.0)
        self.sock.bind((PHONE, 0))
        self.local = self.sock.getsockname()[:2]
        self.call_id = rand_token(16) + "@test"
        self.cseq = 0
        self.tcp_buf = b""
        self.answer_options = True
        self.invites = queue.Queue()
        self.stun = queue.Queue()
        self.options = 0
        self.running = False

    def contact(self):
        return "<sip:natphone@%s:%d>" % self.local

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        self.thread.join(3)

    def serve(self):
        self.sock.settimeout(0.2)
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if data[:1] in (b"\x00", b"\x01"):
                self.stun.put(data)
                continue
            head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
            lines = head.split("\r\n")
            method = lines[0].split(" ", 1)[0]
            if method == "OPTIONS":
                self.options += 1
                if self.answer_options:
                    self.sock.sendto(self.answer(lines, 200, "OK"), peer)
            elif method == "INVITE":
                self.invites.put(head)
                self.sock.sendto(self.answer(lines, 486, "Busy Here"), peer)

    @staticmethod
    def answer(lines, code, reason):
        keep = [l for l in lines[1:] if l.split(":", 1)[0].strip().lower() in
                ("via", "from", "call-id", "cseq", "to")]
        keep = [l + ";tag=ph%s" % rand_token(4) if l.lower().startswith("to:") and "tag=" not in l
                else l for l in keep]
        return ("SIP/2.0 %d %s\r\n%s\r\nContent-Length: 0\r\n\r\n" %
                (code, reason, "\r\n".join(keep))).encode()


def caller_invite(d):
    """alice (in ksipd's namespace) INVITEs natphone with credentials; returns nothing useful."""
    c = SipClient.__new__(SipClient)
    c.transport, c.family, c.realm, c.cseq, c.tcp_buf = "udp", socket.AF_INET, d.conf["realm"], 0, b""
    c.server = (SRV, d.port)
    c.sock = socket_in(NS["srv"], socket.AF_INET, socket.SOCK_DGRAM)
    c.sock.bind((SRV, 0))
    c.local = c.sock.getsockname()[:2]
    c.call_id = rand_token(16) + "@test"
    ruri = "sip:natphone@%s" % d.conf["realm"]
    extra = "Contact: <sip:alice@%s:%d>" % c.local
    msg = c.request("INVITE", "alice", ruri=ruri, extra=extra).decode()
    msg = msg.replace("To: <sip:alice@", "To: <sip:natphone@")
    r = c.transact(msg.encode())
    while r is not None and r.code < 200:
        r = c.recv()
    if r is None or r.code != 407:
        c.close()
        return r
    auth = c.authorization(r.get("proxy-authenticate"), "alice", PW["alice"], method="INVITE",
                           uri=ruri)
    msg = c.request("INVITE", "alice", ruri=ruri, extra=extra + "\r\nProxy-Authorization: " + auth)
    c.send(msg.decode().replace("To: <sip:alice@", "To: <sip:natphone@").encode())
    return c


def stun_request(tid, fingerprint=False):
    return struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid


def stun_flood(d):
    """300 Binding requests at once from one source: answered at the source's rate, no more."""
    s = socket_in(NS["phone"], socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((PHONE, 0))
    before = d.stats()["rate_limited"]
    t0 = time.time()
    for _ in range(300):
        s.sendto(stun_request(os.urandom(12)), (SRV, d.port))
    answers, nbytes = 0, 0
    s.settimeout(1.0)
    try:
        while True:
            data = s.recv(2048)
            answers += 1
            nbytes += len(data)
    except socket.timeout:
        pass
    elapsed = time.time() - t0
    s.close()
    limit = 50 + 20 * elapsed + 1	# source_burst + source_rate x elapsed
    T.ok(answers <= limit and d.stats()["rate_limited"] >= before + 300 - limit,
         "a STUN flood of 300 (20 bytes each): %d answered (%d bytes) in %.1f s, at most %d"
         % (answers, nbytes, elapsed, limit))


def registered_phone(d):
    ph = NatPhone(d)
    r, _ = ph.register("natphone", PW["natphone"], [ph.contact()], expires=300)
    T.ok(r is not None and r.code == 200, "the phone registers from behind the NAT", r and r.code)
    b = d.bindings("natphone")
    T.ok(len(b) == 1 and b[0]["source"].startswith(R_OUT + ":"),
         "its binding's source is the router's public address", b)
    ph.start()
    return ph


def wait_invite(ph, timeout):
    try:
        return ph.invites.get(timeout=timeout)
    except queue.Empty:
        return None


def with_keepalives():
    d = Ksipd(netns=NS["srv"], listen="udp:%s:%d" % (SRV, free_port()), auth_algorithms="MD5",
              nat_keepalive_interval=2, t1_ms=200, timer_c=5)
    d.port = int(d.conf["listen"].rsplit(":", 1)[1])
    calls = []
    try:
        for u, pw in PW.items():
            d.add_user(u, pw)
        ph = registered_phone(d)

        # STUN: the phone learns the address the NAT gives it.
        tid = os.urandom(12)
        ph.sock.sendto(stun_request(tid), ph.server)
        try:
            ans = ph.stun.get(timeout=3)
        except queue.Empty:
            ans = b""
        ok = len(ans) >= 32 and ans[:2] == b"\x01\x01" and ans[8:20] == tid
        if ok:
            port = struct.unpack("!H", ans[26:28])[0] ^ 0x2112
            ip = socket.inet_ntoa(struct.pack("!I", struct.unpack("!I", ans[28:32])[0] ^ 0x2112A442))
            src = d.bindings("natphone")[0]["source"]
            ok = "%s:%d" % (ip, port) == src
        T.ok(ok, "STUN Binding: XOR-MAPPED-ADDRESS is the phone's public address and port",
             ans.hex())
        st = d.stats()
        before = st["stun_dropped"] + st["garbage_dropped"]
        bad = [stun_request(tid)[:19], struct.pack("!HHI", 1, 0, 0x2112A443) + tid,
               struct.pack("!HHI", 1, 8, 0x2112A442) + tid + struct.pack("!HH", 0x8022, 0xffff) + b"xxxx"]
        for pkt in bad:
            ph.sock.sendto(pkt, ph.server)
        time.sleep(0.5)
        T.ok(ph.stun.empty(), "truncated, wrong cookie, attribute overflow: no answer")
        st = d.stats()
        T.ok(st["stun_dropped"] + st["garbage_dropped"] == before + 3 and st["stun_dropped"] >= 1,
             "each counted: the overflow in stun_dropped, the others (no STUN header) as garbage")

        # Past the NAT timeout: only the keepalives kept the mapping.
        time.sleep(NAT_TIMEOUT + 3)
        st = d.stats()
        T.ok(st["nat_keepalives_sent"] >= 2 and st["nat_keepalives_answered"] >= 2,
             "keepalives sent (%d) and answered (%d)" % (st["nat_keepalives_sent"],
                                                        st["nat_keepalives_answered"]))
        calls.append(caller_invite(d))
        inv = wait_invite(ph, 5)
        T.ok(inv is not None and inv.startswith("INVITE sip:natphone@%s" % PHONE),
             "after %d s (NAT timeout %d s) a call still reaches the phone" % (NAT_TIMEOUT + 3, NAT_TIMEOUT),
             inv)

        # A phone that stops answering is expired early (3 unanswered, then the next round).
        ph.answer_options = False
        deadline = time.time() + 20
        while time.time() < deadline and d.bindings("natphone"):
            time.sleep(0.5)
        T.ok(not d.bindings("natphone"), "a phone that stops answering keepalives loses its binding")
        T.ok(d.stats()["nat_keepalive_expired"] == 1, "counted in nat_keepalive_expired")
        ph.stop()
        ph.close()
        stun_flood(d)
        rc = d.stop()
        T.ok(rc == 0, "ksipd exits cleanly (no sanitizer report)", d.logtext()[-2000:] if rc else None)
    finally:
        for c in calls:
            if isinstance(c, SipClient):
                c.close()
        d.cleanup()


def without_keepalives():
    d = Ksipd(netns=NS["srv"], listen="udp:%s:%d" % (SRV, free_port()), auth_algorithms="MD5",
              nat_keepalive_interval=0, t1_ms=200, timer_c=5)
    d.port = int(d.conf["listen"].rsplit(":", 1)[1])
    c = None
    try:
        for u, pw in PW.items():
            d.add_user(u, pw)
        ph = registered_phone(d)
        time.sleep(NAT_TIMEOUT + 3)
        T.ok(d.stats()["nat_keepalives_sent"] == 0, "nat_keepalive_interval = 0: none sent")
        c = caller_invite(d)
        inv = wait_invite(ph, 4)
        T.ok(inv is None, "without keepalives the NAT forgot the phone: the call does not arrive",
             inv)
        ph.stop()
        ph.close()
        rc = d.stop()
        T.ok(rc == 0, "ksipd exits cleanly", d.logtext()[-2000:] if rc else None)
    finally:
        if isinstance(c, SipClient):
            c.close()
        d.cleanup()


def main():
    try:
        topology_up()
        with_keepalives()
        without_keepalives()
    finally:
        topology_down()
    T.done()


if __name__ == "__main__":
    main()
