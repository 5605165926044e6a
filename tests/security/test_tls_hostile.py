#!/usr/bin/env python3
"""Attacker on the TLS port (issue 15): handshakes left half-done, garbage, an SSLv2 hello.

    this script, from loopback addresses
      127.0.0.2: 25 connections that send half a ClientHello, 25 a whole one and then
                 nothing, 10 that send nothing  --> all closed at tcp_header_timeout (3 s)
                 one more (61st, cap 60)        --> closed at once (tcp_max_per_source)
      127.0.0.3: random bytes, a plaintext SIP request, an SSLv2-style ClientHello
                                                --> each closed at once (handshake failed)
      127.0.0.1: a phone that registers over TLS all the while, on new and open connections
                                                --> every REGISTER answered 200
    --> ksipd (loopback, 2 workers, listen tls:127.0.0.1:PORT)
Descriptors: ksipd holds at most one per connection while they are open and is back to where
it started once they are closed.
"""
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, SipClient, Tap, free_port  # noqa: E402

HEADER_TIMEOUT = 3
PER_SOURCE = 60
tap = Tap()


def client_hello():
    """A real TLS ClientHello, as Python's ssl would send it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


# An SSLv2-compatible CLIENT-HELLO (RFC 6101 appendix E.2): 2-byte header with the top bit set.
SSLV2_HELLO = bytes([0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
                     0x07, 0x00, 0xc0, 0x05, 0x00, 0x80, 0x03, 0x00, 0x80, 0x01, 0x00, 0x80,
                     0x06, 0x00, 0x40, 0x04, 0x00, 0x80, 0x02, 0x00, 0x80]) + os.urandom(16)


def conn(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_within(s, timeout):
    """True when the peer closed S within TIMEOUT (EOF or reset); what it sends first is read."""
    s.settimeout(timeout)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True
    return False


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Phone:
    """The legitimate TLS client: registers, refreshes by nc on the same connection."""

    def __init__(self, k, tls_port):
        self.k, self.tls_port = k, tls_port
        self.ok = self.tries = 0
        self.c = None

    def register(self):
        self.tries += 1
        try:
            if self.c is None or self.tries % 3 == 0:	# now and then a new connection
                if self.c:
                    self.c.close()
                self.c = SipClient(self.k, "tls", port=self.tls_port)
            contact = "<sip:alice@%s;transport=tls>" % self.c.hostport(self.c.local)
            r, _ = self.c.register("alice", "secret", [contact], 300)
            if r is not None and r.code == 200:
                self.ok += 1
        except OSError:
            self.c = None


def main():
    port, tls_port = free_port(), free_port()
    k = Ksipd(listen="udp:127.0.0.1:{p} tls:127.0.0.1:{t}".format(p=port, t=tls_port),
              tcp_header_timeout=HEADER_TIMEOUT, tcp_max_per_source=PER_SOURCE, tcp_max_connections=256)
    held = []
    try:
        k.add_user("alice", "secret")
        phone = Phone(k, tls_port)
        phone.register()
        tap.ok(phone.ok == 1, "the phone registers over TLS before the attack")
        time.sleep(0.2)
        base = fds(k.proc.pid)
        hello = client_hello()
        t0 = time.time()
        for i in range(25):
            s = conn(tls_port, "127.0.0.2")
            s.sendall(hello[:len(hello) // 2])
            held.append(s)
        for i in range(25):
            s = conn(tls_port, "127.0.0.2")
            s.sendall(hello)
            held.append(s)
        for i in range(10):
            held.append(conn(tls_port, "127.0.0.2"))
        phone.register()
        extra = conn(tls_port, "127.0.0.2")
        tap.ok(closed_within(extra, 2), "a 61st connection from the same address is closed at once (cap %d)"
               % PER_SOURCE)
        extra.close()
        during = fds(k.proc.pid)
        tap.ok(during <= base + PER_SOURCE + 4,
               "while 60 handshakes hang: %d descriptors, at most one per connection (%d before)"
               % (during, base))
        early = [s for s in held if closed_within(s, 0.01)]
        tap.ok(not early and time.time() < t0 + HEADER_TIMEOUT,
               "before their deadline the hanging handshakes are open (%d closed)" % len(early))
        for what, data in (("random bytes", os.urandom(512)),
                           ("a plaintext SIP request", b"OPTIONS sip:ksip.test SIP/2.0\r\n\r\n"),
                           ("an SSLv2-style ClientHello", SSLV2_HELLO)):
            s = conn(tls_port, "127.0.0.3")
            s.sendall(data)
            tap.ok(closed_within(s, 2), "%s on the TLS port: that connection is closed at once" % what)
            s.close()
            phone.register()
        # Until the header timeout has passed for all of them, the phone keeps registering.
        while time.time() < t0 + HEADER_TIMEOUT - 0.5:
            phone.register()
            time.sleep(0.2)
        still = [s for s in held if not closed_within(s, HEADER_TIMEOUT + 3)]
        tap.ok(not still, "all 60 hanging handshakes closed at tcp_header_timeout (%d s), %d left"
               % (HEADER_TIMEOUT, len(still)))
        phone.register()
        tap.ok(phone.ok == phone.tries, "the phone's REGISTERs all answered 200 during the attack: %d of %d"
               % (phone.ok, phone.tries))
        st = k.stats()
        tap.ok(st["tls_handshake_timeouts"] == 60, "counted: tls_handshake_timeouts %d"
               % st["tls_handshake_timeouts"])
        tap.ok(st["tls_handshake_failed"] >= 3, "counted: tls_handshake_failed %d" % st["tls_handshake_failed"])
        tap.ok(st["tcp_refused_source"] >= 1, "counted: tcp_refused_source %d" % st["tcp_refused_source"])
        for s in held:
            s.close()
        held = []
        if phone.c:
            phone.c.close()
            phone.c = None
        deadline = time.time() + 3
        while time.time() < deadline and fds(k.proc.pid) > base:
            time.sleep(0.1)
        tap.ok(fds(k.proc.pid) <= base, "afterwards ksipd holds %d descriptors (%d before the attack)"
               % (fds(k.proc.pid), base))
    finally:
        for s in held:
            s.close()
        rc = k.stop()
        tap.ok(rc == 0, "ksipd (ASan/UBSan build) exits cleanly", k.logtext()[-3000:])
        k.cleanup()
    tap.done()


if __name__ == "__main__":
    main()
