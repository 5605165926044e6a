"""Network namespaces for the phone tests: ksipd in one, each phone in its own.

        ns <tag>-srv (ksipd, port 5060)          ns <tag>-<phone>
        10.14.N.1   fd14:0:0:N::1  veth <----> veth  10.14.N.2  fd14:0:0:N::2

One link per phone, numbered N = 1, 2, ... in the order the phones are named.
A phone named in NAT sits behind a router namespace instead (test_nat.py):

        ns <tag>-srv            ns <tag>-r<phone> (masquerade)        ns <tag>-<phone>
        10.14.N.1 <---- veth ----> 10.14.N.2   192.168.N.1 <---- veth ----> 192.168.N.2

ksipd's namespace has no route to 192.168.N.0/24: only the router's mapping reaches the
phone, and the router forgets a UDP mapping NAT_TIMEOUT seconds after its last packet.
A phone sees ksipd at the server side of its own link, on the standard port:
nothing else lives in these namespaces, so no port can collide with another
test running at the same time. The tag is "ph" and a random suffix; every
namespace is deleted by cleanup(), also after a failed setup.
"""
import ctypes
import os
import random
import re
import socket
import string
import subprocess

CLONE_NEWNET = 0x40000000
NAT_TIMEOUT = 5		# seconds a router keeps an idle UDP mapping
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=20)


class PhoneNet:
    def __init__(self, phones, nat=(), prefix="ph"):
        self.tag = prefix + "".join(random.choice(string.ascii_lowercase + string.digits)
                                  for _ in range(6))
        self.srv = self.tag + "-srv"
        self.made = []
        self.links = {}		# phone -> Link
        try:
            self._add_ns(self.srv)
            for n, phone in enumerate(phones, 1):
                self.links[phone] = (self._add_nat_link(n, phone) if phone in nat
                                     else self._add_link(n, phone))
        except Exception:
            self.cleanup()
            raise

    def _add_ns(self, ns):
        sh("ip", "netns", "add", ns)
        self.made.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")

    def _add_link(self, n, phone):
        ns = "%s-%s" % (self.tag, phone)
        self._add_ns(ns)
        s_if, p_if = "s%s%d" % (self.tag, n), "p%s%d" % (self.tag, n)
        sh("ip", "link", "add", s_if, "netns", self.srv, "type", "veth", "peer", "name", p_if,
           "netns", ns)
        link = Link(ns, n)
        # nodad: the addresses are usable at once instead of after duplicate detection.
        sh("ip", "-n", self.srv, "addr", "add", link.srv4 + "/24", "dev", s_if)
        sh("ip", "-n", self.srv, "addr", "add", link.srv6 + "/64", "dev", s_if, "nodad")
        sh("ip", "-n", ns, "addr", "add", link.phone4 + "/24", "dev", p_if)
        sh("ip", "-n", ns, "addr", "add", link.phone6 + "/64", "dev", p_if, "nodad")
        sh("ip", "-n", self.srv, "link", "set", s_if, "up")
        sh("ip", "-n", ns, "link", "set", p_if, "up")
        # A default route, as a phone on a LAN has: linphone registers only when it finds one
        # (it takes the network for down otherwise) and both phones pick their source address by it.
        sh("ip", "-n", ns, "route", "add", "default", "via", link.srv4)
        sh("ip", "-n", ns, "-6", "route", "add", "default", "via", link.srv6)
        return link

    def _add_nat_link(self, n, phone):
        """A router namespace between ksipd's and the phone's; the phone's Link names its private
        address (phone4) and the router's public one (public4), and has no IPv6."""
        ns, rt = "%s-%s" % (self.tag, phone), "%s-r%s" % (self.tag, phone)
        self._add_ns(rt)
        self._add_ns(ns)
        link = Link(ns, n)
        link.router, link.public4, link.gw4 = rt, link.phone4, "192.168.%d.1" % n
        link.phone4 = "192.168.%d.2" % n
        link.phone6 = link.srv6 = None
        s_if, r_if = "s%s%d" % (self.tag, n), "r%s%d" % (self.tag, n)
        q_if, p_if = "q%s%d" % (self.tag, n), "p%s%d" % (self.tag, n)
        sh("ip", "link", "add", s_if, "netns", self.srv, "type", "veth", "peer", "name", r_if,
           "netns", rt)
        sh("ip", "link", "add", q_if, "netns", rt, "type", "veth", "peer", "name", p_if,
           "netns", ns)
        sh("ip", "-n", self.srv, "addr", "add", link.srv4 + "/24", "dev", s_if)
        sh("ip", "-n", rt, "addr", "add", link.public4 + "/24", "dev", r_if)
        sh("ip", "-n", rt, "addr", "add", link.gw4 + "/24", "dev", q_if)
        sh("ip", "-n", ns, "addr", "add", link.phone4 + "/24", "dev", p_if)
        for n_s, ifc in ((self.srv, s_if), (rt, r_if), (rt, q_if), (ns, p_if)):
            sh("ip", "-n", n_s, "link", "set", ifc, "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", link.gw4)
        sh("ip", "netns", "exec", rt, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # Masquerade what leaves towards ksipd; the counter is what the router passed from
        # ksipd's namespace to the phone (through a mapping: nothing else gets there).
        sh("ip", "netns", "exec", rt, "nft",
           "add table ip nat; "
           "add chain ip nat post { type nat hook postrouting priority 100; }; "
           "add rule ip nat post oifname \"%s\" masquerade; "
           "add chain ip nat passed { type filter hook forward priority 0; }; "
           "add counter ip nat to_phone; "
           "add rule ip nat passed ip saddr %s ip daddr %s udp sport != 5060 counter name to_phone"
           % (r_if, link.srv4, link.phone4))
        # Per namespace: a mapping lives this long after its last packet, either way.
        sh("ip", "netns", "exec", rt, "sysctl", "-qw",
           "net.netfilter.nf_conntrack_udp_timeout=%d" % NAT_TIMEOUT,
           "net.netfilter.nf_conntrack_udp_timeout_stream=%d" % NAT_TIMEOUT)
        return link

    def nat_relayed(self, phone):
        """RTP packets (UDP from ksipd's address, not from port 5060) the router of PHONE passed
        to the phone's private address."""
        out = sh("ip", "netns", "exec", self.links[phone].router, "nft", "list", "counter",
                 "ip", "nat", "to_phone").stdout
        m = re.search(r"packets (\d+)", out)
        return int(m.group(1)) if m else 0

    def cleanup(self):
        for ns in reversed(self.made):
            sh("ip", "netns", "del", ns, check=False)
        self.made = []

    def exec_prefix(self, ns):
        return ["ip", "netns", "exec", ns]


class Link:
    def __init__(self, ns, n):
        self.ns = ns
        self.srv4, self.phone4 = "10.14.%d.1" % n, "10.14.%d.2" % n
        self.srv6, self.phone6 = "fd14:0:0:%d::1" % n, "fd14:0:0:%d::2" % n


def socket_in(ns, family, typ):
    """A socket created inside namespace NS: this thread enters it for the socket() call only."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + ns, os.O_RDONLY)
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
