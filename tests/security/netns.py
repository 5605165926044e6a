"""Network namespaces for attacker tests: made by the test, deleted at its end.

    Topology (one /24 per client namespace, ksipd alone in its own):

        ns SRV (ksipd)                     ns C1 (attacker)
        10.12.1.1 veth S1 <------------> veth A1 10.12.1.2
        10.12.2.1 veth S2 <------------> veth A2 10.12.2.2
                                           ns C2 (honest user)

Sockets are opened inside a namespace by switching this thread into it for
the socket() call only (setns), so one Python process plays every side.
"""
import ctypes
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
import ksiptest  # noqa: E402

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


class Topology:
    """SRV plus one namespace per client, each on its own veth pair and /24."""

    def __init__(self, tag, clients):
        self.tag = "%s%d" % (tag, os.getpid() % 100000)
        self.srv = "ksip-%s-srv" % self.tag
        self.ns = []
        self.addr = {}		# namespace -> (its address, ksipd's address on that link)
        try:
            sh("ip", "netns", "add", self.srv)
            sh("ip", "-n", self.srv, "link", "set", "lo", "up")
            for i, name in enumerate(clients, 1):
                ns = "ksip-%s-%s" % (self.tag, name)
                s_if, c_if = "ks%s%d" % (self.tag[-6:], i), "kc%s%d" % (self.tag[-6:], i)
                sh("ip", "netns", "add", ns)
                self.ns.append(ns)
                sh("ip", "link", "add", s_if, "netns", self.srv, "type", "veth", "peer", "name", c_if,
                   "netns", ns)
                sh("ip", "-n", self.srv, "addr", "add", "10.12.%d.1/24" % i, "dev", s_if)
                sh("ip", "-n", ns, "addr", "add", "10.12.%d.2/24" % i, "dev", c_if)
                sh("ip", "-n", self.srv, "link", "set", s_if, "up")
                sh("ip", "-n", ns, "link", "set", c_if, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
                self.addr[name] = ("10.12.%d.2" % i, "10.12.%d.1" % i, ns)
        except Exception:
            self.cleanup()
            raise

    def cleanup(self):
        for ns in self.ns + [self.srv]:
            sh("ip", "netns", "del", ns, check=False)

    def run_in(self, name, argv, **kw):
        return subprocess.run(["ip", "netns", "exec", self.addr[name][2]] + list(argv), **kw)

    def socket_in(self, name, family, typ):
        """A socket created inside client NAME's namespace."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open("/run/netns/" + self.addr[name][2], os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns")
            try:
                return socket.socket(family, typ)
            finally:
                if _libc.setns(own, CLONE_NEWNET):
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(own)
            os.close(target)

    def ksipd(self, **conf):
        """ksipd inside SRV, listening on UDP on every link (and its control socket on the host)."""
        wrapper = os.path.join("/tmp", "ksipd-in-%s" % self.srv)
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (self.srv, ksiptest.KSIPD))
        os.chmod(wrapper, 0o755)
        ksiptest.KSIPD = wrapper
        port = ksiptest.free_port()
        conf.setdefault("listen", "udp:0.0.0.0:%d" % port)
        conf.setdefault("workers", 2)
        d = ksiptest.Ksipd(**conf)
        d.port = port
        os.unlink(wrapper)
        return d


class Client(ksiptest.SipClient):
    """ksiptest's SIP client, from inside a client namespace of TOPO."""

    def __init__(self, topo, name, server, transport="udp", bind_port=0, server_port=None):
        mine, theirs, _ = topo.addr[name]
        self.transport = transport
        self.family = socket.AF_INET
        self.server = (theirs, server_port or server.port)
        self.realm = server.conf["realm"]
        self.sock = topo.socket_in(name, socket.AF_INET,
                                   socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
        self.sock.settimeout(2.0)
        if bind_port:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((mine, bind_port))
        if transport == "tcp":
            self.sock.connect(self.server)
        self.local = self.sock.getsockname()[:2]
        self.call_id = ksiptest.rand_token(16) + "@test"
        self.cseq = 0
        self.tcp_buf = b""
