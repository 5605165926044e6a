#!/usr/bin/env python3
"""The transaction caps bound memory, not the request rate (issue 12's caps, session 9).

    alice (127.0.0.1, UDP) ----> ksipd (sanitizer build, loopback, 1 worker,
                                 max_server_transactions = max_client_transactions = 16)
                                   |
    bob's phone: a UDP socket on 127.0.0.1, registered from there, answering what it is told to

An answered transaction waits out Timer J (32 s over UDP) only to absorb retransmissions; the
caps count it, so before this change the 17th MESSAGE within 32 s got 503 even though every
earlier one was long answered: at the defaults a steady 128 calls/s filled the server
transactions. Promises checked (docs/security.md, "Caps"):
  - 48 MESSAGEs in a row, each answered by bob: all 48 get bob's 200, the oldest answered
    transactions having given way (txn_done_early), and ksipd never holds more than 16;
  - 16 MESSAGEs bob leaves unanswered (in progress) fill the cap: the 17th gets 503 with
    Retry-After, counted in cap_rejects.
"""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import Ksipd, Response, SipClient, Tap, free_port  # noqa: E402

T = Tap()
CAP = 16	# the smallest max_server_transactions ksipd takes


def message(c, n, auth=None):
    extra = ("Proxy-Authorization: %s\r\n" % auth if auth else "") + "Content-Type: text/plain"
    req = c.request("MESSAGE", "alice", ruri="sip:bob@ksip.test", extra=extra, body="hello %d" % n,
                    call_id="m%d-%s" % (n, c.call_id))
    return req.replace(b"To: <sip:alice@ksip.test>", b"To: <sip:bob@ksip.test>")


def phone_take(phone, answer):
    """The next MESSAGE that reaches bob's phone (keepalives skipped), answered 200 if ANSWER."""
    while True:
        try:
            data, src = phone.recvfrom(65535)
        except socket.timeout:
            return None
        if data.startswith(b"MESSAGE "):
            break
    if answer:
        head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        keep = [h for h in head[1:] if h.split(b":", 1)[0].strip().lower() in
                (b"via", b"from", b"to", b"call-id", b"cseq")]
        phone.sendto(b"\r\n".join([b"SIP/2.0 200 OK"] + keep + [b"Content-Length: 0", b"", b""]),
                     src)
    return data


def final(c):
    """alice's next final answer (1xx skipped)."""
    while True:
        r = c.recv(3.0)
        if r is None or r.code >= 200:
            return r


def main():
    d = Ksipd(auth_algorithms="MD5", workers=1, media="userspace",
              max_server_transactions=CAP, max_client_transactions=CAP)
    reg = SipClient(d, bind_port=free_port())
    phone = reg.sock
    try:
        d.add_user("alice", "s3cret")
        d.add_user("bob", "hunter2")
        port = phone.getsockname()[1]
        r, _ = reg.register("bob", "hunter2", ["<sip:bob@127.0.0.1:%d>" % port])
        T.ok(r is not None and r.code == 200, "bob registers", r and r.raw)
        phone.settimeout(2.0)

        c = SipClient(d)
        r = c.transact(message(c, 0))
        T.ok(r is not None and r.code == 407, "a MESSAGE without credentials is challenged",
             r and r.raw)
        ch = r.get("proxy-authenticate") if r else ""
        nc = [0]

        def authed(n):
            nc[0] += 1
            return message(c, n, c.authorization(ch, "alice", "s3cret", method="MESSAGE",
                                                 uri="sip:bob@ksip.test", nc=nc[0]))

        # 1. Answered ones give way: 3 x CAP MESSAGEs, one after the other, all delivered.
        codes, held = [], 0
        for n in range(1, 3 * CAP + 1):
            c.send(authed(n))
            got = phone_take(phone, answer=True)
            r = final(c)
            codes.append(r.code if r else None if got else "not delivered")
            held = max(held, d.stats()["transactions"])
        st = d.stats()
        T.ok(codes == [200] * (3 * CAP),
             "%d MESSAGEs in a row within Timer J, each answered by bob: all get 200 (cap %d)"
             % (3 * CAP, CAP), codes)
        T.ok(st["txn_done_early"] >= 2 * CAP and held <= CAP,
             "the oldest answered transactions gave way (txn_done_early %d); never more than %d "
             "held (%d)" % (st["txn_done_early"], CAP, held))

        # 2. Those in progress count: CAP unanswered MESSAGEs fill the cap, one more gets 503.
        rejects = st["cap_rejects"]
        for n in range(100, 100 + CAP):
            c.send(authed(n))
            phone_take(phone, answer=False)
        c.send(authed(200))
        r = final(c)
        T.ok(r is not None and r.code == 503 and r.get("retry-after") == "5",
             "%d MESSAGEs bob leaves unanswered fill the cap: the next gets 503 with Retry-After"
             % CAP, r and r.raw)
        T.ok(d.stats()["cap_rejects"] == rejects + 1, "counted in cap_rejects")
    finally:
        phone.close()
        rc = d.stop()
        T.ok(rc == 0, "ksipd exits cleanly (no sanitizer report)", d.logtext()[-2000:])
        d.cleanup()
    T.done()


if __name__ == "__main__":
    main()
