#!/usr/bin/env python3
"""Connections ksipd opens itself: a request over 1300 bytes to a phone registered over UDP
(RFC 3261 §18.1.1), the happy path and the attacker's contacts (issue 14).

    alice (127.0.0.1, UDP) ----> ksipd (sanitizer build, loopback, 1 worker)
    bob's phone: a UDP socket that registers, and a TCP listener on the same port
    carol: a contact whose TCP port is closed (loopback answers the SYN with a RST)
    dave: a contact that black-holes SYNs (a listener whose accept queue is full:
          Linux drops further SYNs, so connect() never completes)

Promises checked (docs/security.md "Connections ksipd opens"):
  - a 1500-byte INVITE to bob reaches him over a TCP connection ksipd opened, with Via TCP and a
    double Record-Route (transport=tcp towards bob); bob's 200 over it reaches alice, her ACK
    reaches bob over it; a second large INVITE reuses the connection (tcp_connects stays 1);
  - carol: the caller gets a final answer at once, 500 Next Hop Unavailable (the branch is a 503,
    §16.9, which a proxy passes up as 500, §16.7 step 6), counted in tcp_connect_failed;
  - dave: 200 INVITEs (bursts of 50) each get 500 after the connect timeout (2 s), all queued on
    one connect per burst; afterwards no connection, transaction or call is left, ksipd holds as
    many descriptors as before, and tcp_connect_timeouts counts them.
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, SipClient, Tap, free_port, rand_token  # noqa: E402

T = Tap()


class Caller:
    """alice: one challenge, then many authenticated INVITEs with increasing nonce counts."""

    def __init__(self, d):
        self.d = d
        self.c = SipClient(d)
        self.c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.nc = 0
        self.challenge = None

    def invite(self, callee, body, call_id):
        c = self.c
        if self.challenge is None:
            c.send(self._invite(callee, "", None, call_id="ch-" + call_id))
            r = c.recv(2.0)
            self.challenge = r.get("proxy-authenticate") if r and r.code == 407 else ""
        self.nc += 1
        auth = c.authorization(self.challenge, "alice", "s3cret", method="INVITE",
                               uri="sip:%s@ksip.test" % callee, nc=self.nc)
        return self._invite(callee, body, auth, call_id)

    def _invite(self, callee, body, auth, call_id):
        c = self.c
        extra = ("Proxy-Authorization: %s\r\n" % auth if auth else "") + \
            "Contact: <sip:alice@127.0.0.1:%d>" % c.local[1] + ("\r\nContent-Type: text/plain" if body else "")
        req = c.request("INVITE", "alice", ruri="sip:%s@ksip.test" % callee, extra=extra, body=body,
                        call_id=call_id)
        return req.replace(b"To: <sip:alice@ksip.test>", b"To: <sip:%s@ksip.test>" % callee.encode())

    def finals(self, ids, seconds):
        """The final answers to the INVITEs with Call-IDs IDS (each ACKed, as a UAC does for a
        non-2xx answer), until all arrived or SECONDS passed; retransmissions ignored."""
        out, deadline = {}, time.time() + seconds
        while len(out) < len(ids) and time.time() < deadline:
            r = self.c.recv(max(0.05, deadline - time.time()))
            if r is None or r.code < 200:
                continue
            cid = r.get("call-id")
            if r.code >= 300:
                self.c.send(ack_non2xx(r))
            if cid in ids and cid not in out:
                out[cid] = r
        return list(out.values())


def ack_non2xx(r):
    """The ACK of a non-2xx final answer (§17.1.1.3): hop by hop, the INVITE's Via and branch."""
    to_uri = re.search(r"<([^>]+)>", r.get("to")).group(1)
    lines = ["ACK %s SIP/2.0" % to_uri, "Via: %s" % r.get("via"), "Max-Forwards: 70",
             "From: %s" % r.get("from"), "To: %s" % r.get("to"), "Call-ID: %s" % r.get("call-id"),
             "CSeq: %s ACK" % r.get("cseq").split()[0], "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_msg(conn, buf, timeout=3.0):
    """One SIP message from a stream: (message bytes or None, rest)."""
    conn.settimeout(timeout)
    try:
        while True:
            m = re.search(rb"\r\n\r\n", buf)
            if m:
                cl = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", buf[:m.end()])
                total = m.end() + (int(cl.group(1)) if cl else 0)
                if len(buf) >= total:
                    return buf[:total], buf[total:]
            chunk = conn.recv(65535)
            if not chunk:
                return None, buf
            buf += chunk
    except socket.timeout:
        return None, buf


def headers(msg, name):
    head = msg.split(b"\r\n\r\n")[0].decode(errors="replace")
    return [ln.split(":", 1)[1].strip() for ln in head.split("\r\n")[1:]
            if ln.split(":", 1)[0].strip().lower() == name.lower()]


def answer_200(req, tag):
    """bob's 200 OK to REQ (Via, Record-Route, From, To, Call-ID, CSeq copied)."""
    lines = ["SIP/2.0 200 OK"]
    for h in ("Via", "Record-Route", "From"):
        lines += ["%s: %s" % (h, v) for v in headers(req, h)]
    to = headers(req, "To")[0]
    lines.append("To: %s" % (to if ";tag=" in to else "%s;tag=%s" % (to, tag)))
    lines += ["Call-ID: %s" % headers(req, "Call-ID")[0], "CSeq: %s" % headers(req, "CSeq")[0],
              "Contact: <sip:bob@127.0.0.1:%d;transport=tcp>" % BOB_PORT[0], "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


BOB_PORT = [0]


def ack_for(caller, resp, call_id):
    """alice's ACK to a 200: along the Record-Route set, to bob's Contact."""
    return in_dialog(caller, "ACK", resp, call_id, int(resp.get("cseq").split()[0]))


def in_dialog(caller, method, resp, call_id, cseq):
    """alice's request METHOD in the dialog RESP (a 200 to her INVITE) set up."""
    c = caller.c
    routes = ", ".join(reversed(resp.all("record-route")))
    contact = re.search(r"<([^>]+)>", resp.get("contact")).group(1)
    lines = ["%s %s SIP/2.0" % (method, contact),
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (c.local[1], rand_token()),
             "Max-Forwards: 70", "Route: %s" % routes, "From: %s" % resp.get("from"),
             "To: %s" % resp.get("to"), "Call-ID: %s" % call_id,
             "CSeq: %d %s" % (cseq, method), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def main():
    d = Ksipd(auth_algorithms="MD5", workers=1, max_calls=1000, media="userspace")
    bob_port = free_port()
    BOB_PORT[0] = bob_port
    bob_udp = SipClient(d, bind_port=bob_port)
    bob_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bob_tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    bob_tcp.bind(("127.0.0.1", bob_port))
    bob_tcp.listen(4)
    # carol: a TCP port that is bound but not listening: a SYN to it gets a RST.
    carol_closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    carol_closed.bind(("127.0.0.1", 0))
    carol_udp = SipClient(d)
    # dave: a listener with a full accept queue (backlog 0, one connection never accepted).
    dave_hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dave_hole.bind(("127.0.0.1", 0))
    dave_hole.listen(0)
    dave_fill = [socket.create_connection(dave_hole.getsockname())]
    dave_udp = SipClient(d)
    caller = Caller(d)
    try:
        d.add_user("alice", "s3cret")
        for u in ("bob", "carol", "dave"):
            d.add_user(u, "pw-" + u)
        r, _ = bob_udp.register("bob", "pw-bob", ["<sip:bob@127.0.0.1:%d>" % bob_port])
        T.ok(r is not None and r.code == 200, "bob registers over UDP, his Contact his own address",
             r and r.raw)
        r, _ = carol_udp.register("carol", "pw-carol",
                                  ["<sip:carol@127.0.0.1:%d>" % carol_closed.getsockname()[1]])
        T.ok(r is not None and r.code == 200, "carol registers a Contact whose TCP port is closed")
        r, _ = dave_udp.register("dave", "pw-dave", ["<sip:dave@127.0.0.1:%d>" % dave_hole.getsockname()[1]])
        T.ok(r is not None and r.code == 200, "dave registers a Contact whose TCP port drops SYNs")

        # 1. The happy path: bob gets the large INVITE over a connection ksipd opened.
        cid = rand_token(12) + "@big1"
        caller.c.send(caller.invite("bob", "x" * 1400, cid))
        bob_tcp.settimeout(3.0)
        try:
            conn, peer = bob_tcp.accept()
        except socket.timeout:
            conn = None
        T.ok(conn is not None, "ksipd opens a TCP connection to bob's Contact port")
        if conn is None:
            raise RuntimeError("no connection")
        inv, rest = read_msg(conn, b"")
        T.ok(inv is not None and inv.startswith(b"INVITE ") and len(inv) > 1300,
             "the INVITE arrives over it (%d bytes)" % (len(inv) if inv else 0))
        via = headers(inv, "Via")[0] if inv else ""
        rr = ", ".join(headers(inv, "Record-Route")) if inv else ""
        T.ok(via.startswith("SIP/2.0/TCP "), "its top Via says TCP", via)
        T.ok("transport=tcp" in rr.split(",")[0] and "transport=tcp" not in rr.split(",")[-1],
             "double Record-Route: transport=tcp towards bob, UDP towards alice (RFC 5658)", rr)
        conn.sendall(answer_200(inv, "bobtag1"))
        ok = caller.finals({cid}, 3.0)
        T.ok(ok and ok[0].code == 200, "bob's 200 over that connection reaches alice",
             [x.code for x in ok])
        if ok:
            caller.c.send(ack_for(caller, ok[0], cid))
        ack, rest = read_msg(conn, rest)
        T.ok(ack is not None and ack.startswith(b"ACK "), "alice's ACK reaches bob over the same connection",
             ack and ack[:200])
        # A second large INVITE: the same connection, no new connect.
        cid2 = rand_token(12) + "@big2"
        caller.c.send(caller.invite("bob", "y" * 1400, cid2))
        inv2, rest = read_msg(conn, rest)
        T.ok(inv2 is not None and inv2.startswith(b"INVITE ") and cid2.encode() in inv2,
             "a second large INVITE comes over the same connection")
        if inv2:
            conn.sendall(answer_200(inv2, "bobtag2"))
        ok2 = caller.finals({cid2}, 3.0)
        T.ok(ok2 and ok2[0].code == 200, "and its 200 reaches alice", [x.code for x in ok2])
        if ok2:
            caller.c.send(ack_for(caller, ok2[0], cid2))
        st = d.stats()
        T.ok(st["tcp_connects"] == 1, "one connection opened for both (tcp_connects %d)" % st["tcp_connects"])
        # bob drops the connection; alice's BYE for the first call: ksipd opens it again, since
        # the BYE's Request-URI (bob's Contact) names the address and port it connected to.
        conn.close()
        time.sleep(0.3)
        if ok:
            caller.c.send(in_dialog(caller, "BYE", ok[0], cid, 2))
        try:
            conn, _ = bob_tcp.accept()
        except socket.timeout:
            conn = None
        bye, rest = read_msg(conn, b"") if conn else (None, b"")
        T.ok(bye is not None and bye.startswith(b"BYE ") and cid.encode() in bye,
             "bob closed it: alice's BYE comes over a new connection ksipd opens to his Contact",
             bye and bye[:200])
        if bye:
            conn.sendall(answer_200(bye, "bobtag1"))
        byeok = caller.finals({cid}, 3.0)
        T.ok(byeok and byeok[0].code == 200 and "BYE" in byeok[0].get("cseq"),
             "and bob's 200 to it reaches alice", [(x.code, x.get("cseq")) for x in byeok])
        st = d.stats()
        T.ok(st["tcp_connects"] == 2, "two connections opened in all (tcp_connects %d)" % st["tcp_connects"])
        if conn is None:
            raise RuntimeError("no second connection")

        # 2. carol: her TCP port answers with a RST.
        before = d.stats()
        cid3 = rand_token(12) + "@rst"
        caller.c.send(caller.invite("carol", "z" * 1400, cid3))
        f = caller.finals({cid3}, 1.5)
        T.ok(f and f[0].code == 500 and f[0].reason == "Next Hop Unavailable",
             "a closed TCP port: the caller gets 500 Next Hop Unavailable at once (the branch's 503, §16.7)",
             [(x.code, x.reason) for x in f])
        st = d.stats()
        T.ok(st["tcp_connect_failed"] > before["tcp_connect_failed"],
             "counted in tcp_connect_failed (%d)" % st["tcp_connect_failed"])

        # 3. dave: SYNs dropped. 200 attempts in bursts of 50.
        time.sleep(0.5)
        fds_before = fd_count(d.proc.pid)
        before = d.stats()
        answered = []
        for burst in range(4):
            ids = set()
            for i in range(50):
                cid = "%s@hole%d-%d" % (rand_token(8), burst, i)
                ids.add(cid)
                caller.c.send(caller.invite("dave", "h" * 1400, cid))
            got = caller.finals(ids, 6.0)
            answered += got
        codes = {}
        for x in answered:
            codes[(x.code, x.reason)] = codes.get((x.code, x.reason), 0) + 1
        T.ok(len(answered) == 200 and all(x.code == 500 for x in answered),
             "200 INVITEs to a black hole: each gets 500 after the connect timeout", codes)
        time.sleep(1.0)
        st = d.stats()
        T.ok(st["tcp_connect_timeouts"] - before["tcp_connect_timeouts"] >= 1 and
             st["tcp_connect_timeouts"] - before["tcp_connect_timeouts"] <= 8,
             "one connect per burst, not one per INVITE (tcp_connect_timeouts +%d)"
             % (st["tcp_connect_timeouts"] - before["tcp_connect_timeouts"]))
        fds_after = fd_count(d.proc.pid)
        T.ok(fds_after <= fds_before, "no descriptor left behind (%d before, %d after)" % (fds_before, fds_after))
        conns = st["tcp_accepted"] + st["tcp_connects"] - st["tcp_closed"]
        T.ok(conns == 1, "only bob's connection is open (%d)" % conns)
        # Transactions linger a moment (Timer J/K); the failed calls leave no call behind.
        deadline = time.time() + 40
        while time.time() < deadline:
            st = d.stats()
            if st["transactions"] == 0 and st["branches"] == 0 and st["calls_active"] <= 1:
                break
            time.sleep(0.5)
        T.ok(st["transactions"] == 0 and st["branches"] == 0 and st["calls_active"] <= 1,
             "no transaction or branch left, only bob's second call active",
             {k: st[k] for k in ("transactions", "branches", "calls_active")})
        conn.close()
    finally:
        for s in [bob_tcp, carol_closed, dave_hole] + dave_fill:
            s.close()
        rc = d.stop()
        T.ok(rc == 0, "ksipd exits cleanly (no sanitizer report)", d.logtext()[-2000:])
        d.cleanup()
    T.done()


if __name__ == "__main__":
    main()
