#!/usr/bin/env python3
"""Run inside a namespace by test_package.py: a little of everything ksipd does for phones,
so that its system calls can be compared with the unit's SystemCallFilter. Prints the answers'
status codes, one line: udp-register tcp-register options wrong-password..."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import SipClient  # noqa: E402


class Server:
    def __init__(self, port, realm):
        self.port = port
        self.conf = {"realm": realm}


srv = Server(int(sys.argv[1]), sys.argv[2])
codes = []
for transport in ("udp", "tcp"):
    c = SipClient(srv, transport=transport, family=socket.AF_INET)
    r, _ = c.register("alice", "pw-alice", ["<sip:alice@127.0.0.1:5999;transport=%s>" % transport])
    codes.append(r.code if r else 0)
    if transport == "tcp":
        r = c.transact(c.request("OPTIONS", "alice"))
        codes.append(r.code if r else 0)
    c.close()
c = SipClient(srv)
for _ in range(3):	# auth_fail_limit = 2: the third gets this source banned
    r, _ = c.register("alice", "wrong", ["<sip:alice@127.0.0.1:5999>"])
    codes.append(r.code if r else 0)
c.close()
print(" ".join(map(str, codes)))
