#!/usr/bin/env python3
"""Several listen addresses (issue 14): each request leaves by the socket facing its peer.

    ns p1 (phone 1)                     ns srv (ksipd)                    ns p2 (phone 2)
    10.12.1.2 ------------ veth ------ 10.12.1.1:PA   10.12.2.1:PB ------ veth ------ 10.12.2.2

ksipd listens on udp:10.12.1.1:PA and udp:10.12.2.1:PB (two ports, so a Via or Record-Route with
the wrong socket's port shows). The phones' namespaces route only their own /24: a request that
left by the wrong socket (source 10.12.1.1 towards p2) is answered into the void, and the call
fails. Each phone registers through the address on its side; then alice on p2 calls bob on p1,
and bob on p1 calls alice on p2 (SIPp both ends: INVITE/407/INVITE/180/200/ACK/BYE/200), each
through a double Record-Route (RFC 5658). send_errors stays 0.

Then carol registers to ksipd's second address on her own link (10.12.1.11, where the route
prefers 10.12.1.1): her INVITE and the ACK of her 486 must come from that address. All again with
ksipd on one wildcard socket (0.0.0.0), where each datagram's own address comes from IP_PKTINFO.

Attacker side: an in-dialog request whose Route names ksipd's second address, unsigned or with a
forged signature, is refused (481) and counted in relay_denied: naming our address proves nothing.
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
import ksiptest  # noqa: E402
from ksiptest import Tap, free_port, rand_token, run_sipp, SIPP_DIR  # noqa: E402

T = Tap()
PW = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}
SAME_LINK = "10.12.1.11"	# ksipd's second address on p1's link: the route prefers 10.12.1.1
RTP_MIN = 33000 + (os.getpid() % 40) * 100


def register(topo, d, name, user, port, server_port):
    """USER registers from NAME's address and PORT (where its SIPp will listen) via SERVER_PORT."""
    c = netns.Client(topo, name, d, bind_port=port, server_port=server_port)
    mine = topo.addr[name][0]
    r, _ = c.register(user, PW[user], ["<sip:%s@%s:%d>" % (user, mine, port)])
    c.close()
    return r is not None and r.code == 200


def uas(topo, d, name, port):
    ns, mine = topo.addr[name][2], topo.addr[name][0]
    cmd = ["ip", "netns", "exec", ns, "sipp", "-sf", os.path.join(SIPP_DIR, "call_uas.xml"),
           "-i", mine, "-p", str(port), "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error",
           "-mp", str(free_port()), "-key", "rtp", str(free_port()),
           "-trace_err", "-error_file", os.path.join(d.dir, "uas_%d_err.log" % port)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=d.dir)


def call(topo, d, caller_ns, caller, callee, server):
    """CALLER (in CALLER_NS) calls CALLEE through SERVER ("ip:port", ksipd's address on its side)."""
    ns, mine = topo.addr[caller_ns][2], topo.addr[caller_ns][0]
    return run_sipp(d, "call_uac.xml",
                    [[caller, "[authentication username=%s password=%s]" % (caller, PW[caller]),
                      callee]],
                    netns=ns, local_ip=mine, target=server, timeout=30,
                    auth_uri="%s@%s" % (callee, server),
                    extra=["-key", "rtp", str(free_port()), "-mp", str(free_port())])


def finish(proc):
    try:
        out = proc.communicate(timeout=40)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0]
    return proc.returncode, out[-2000:]


def one_call(topo, d, callee_ns, callee, caller_ns, caller, ports):
    port = free_port()
    ok = register(topo, d, callee_ns, callee, port, ports[callee_ns])
    T.ok(ok, "%s registers from %s through ksipd's address on that side" % (callee, callee_ns))
    answer = uas(topo, d, callee_ns, port)
    time.sleep(0.3)
    server = "%s:%d" % (topo.addr[caller_ns][1], ports[caller_ns])
    rc, out = call(topo, d, caller_ns, caller, callee, server)
    urc, uout = finish(answer)
    T.ok(rc == 0, "%s (%s) calls %s (%s): INVITE, 200, ACK, BYE complete" %
         (caller, caller_ns, callee, callee_ns), out if rc else None)
    T.ok(urc == 0, "%s's phone saw INVITE, ACK and BYE" % callee, uout if urc else None)


def header(msg, name):
    for line in msg.split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def registered_address(topo, d, ports):
    """carol registers to ksipd's second address on her link; she is called from it, not the route's."""
    pc = ports["same"]
    c = netns.Client(topo, "p1", d, server_port=pc)
    c.server = (SAME_LINK, pc)
    r, _ = c.register("carol", PW["carol"], ["<sip:carol@%s:%d>" % c.local])
    T.ok(r is not None and r.code == 200, "carol registers to %s:%d" % (SAME_LINK, pc))
    server = "%s:%d" % (topo.addr["p2"][1], ports["p2"])
    ns, mine = topo.addr["p2"][2], topo.addr["p2"][0]
    result = {}

    def caller():
        result["uac"] = run_sipp(d, "call_uac_fail.xml",
                                 [["alice", "[authentication username=alice password=%s]" % PW["alice"],
                                   "carol"]],
                                 netns=ns, local_ip=mine, target=server, timeout=15,
                                 auth_uri="carol@%s" % server,
                                 extra=["-key", "rtp", str(free_port()), "-mp", str(free_port())])
    th = threading.Thread(target=caller, daemon=True)
    th.start()
    c.sock.settimeout(10)
    try:
        data, src = c.sock.recvfrom(65535)
    except OSError:
        data, src = b"", None
    msg = data.decode(errors="replace")
    T.ok(msg.startswith("INVITE ") and src == (SAME_LINK, pc),
         "the INVITE to carol leaves from the address she registered to", src)
    T.ok(header(msg, "Via").startswith("SIP/2.0/UDP %s:%d;" % (SAME_LINK, pc)),
         "its Via names that address and port", header(msg, "Via"))
    rr = header(msg, "Record-Route")
    T.ok("%s:%d;" % (SAME_LINK, pc) in rr and "%s:%d;" % (topo.addr["p2"][1], ports["p2"]) in rr,
         "double Record-Route: carol's side and alice's side", rr)
    if src:
        keep = [l for l in msg.split("\r\n\r\n")[0].split("\r\n")[1:]
                if l.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq")]
        to = header(msg, "To") + ";tag=c%s" % rand_token(5)
        c.sock.sendto(("SIP/2.0 486 Busy Here\r\n%s\r\nTo: %s\r\nContent-Length: 0\r\n\r\n" %
                       ("\r\n".join(keep), to)).encode(), src)
        try:
            data, asrc = c.sock.recvfrom(65535)
        except OSError:
            data, asrc = b"", None
        T.ok(data.startswith(b"ACK ") and asrc == (SAME_LINK, pc),
             "the ACK of her 486 comes from that address too", asrc)
    th.join(30)
    c.close()


def forged_route(topo, d, ports):
    """In-dialog BYE with a Route naming ksipd's other address: no signature, or a false one."""
    c = netns.Client(topo, "p1", d, server_port=ports["p1"])
    other = "%s:%d" % (topo.addr["p2"][1], ports["p2"])
    target = "sip:bob@%s:5060" % topo.addr["p2"][0]
    before = d.stats()["relay_denied"]
    for sig in ("", ";ksig=%s" % ("f" * 40)):
        extra = "Route: <sip:%s;lr%s>" % (other, sig)
        msg = c.request("BYE", "alice", ruri=target, extra=extra).decode()
        # An in-dialog request: a To tag of a dialog the attacker made up.
        msg = msg.replace("To: <sip:alice@%s>" % c.realm,
                          "To: <sip:bob@%s>;tag=%s" % (c.realm, rand_token(8)))
        r = c.transact(msg.encode())
        T.ok(r is not None and r.code == 481,
             "a Route naming our second address%s is no dialog: 481" %
             (" with a forged signature" if sig else ""), r and r.code)
    T.ok(d.stats()["relay_denied"] == before + 2, "both counted in relay_denied")
    c.close()


def main():
    binary = ksiptest.KSIPD		# topo.ksipd() points ksiptest.KSIPD at its wrapper
    topo = netns.Topology("i14la", ["p1", "p2"])
    d = None
    try:
        pa, pb = free_port(), free_port()
        while pb == pa:
            pb = free_port()
        pc = free_port()
        ports = {"p1": pa, "p2": pb, "same": pc}
        netns.sh("ip", "-n", topo.srv, "addr", "add", SAME_LINK + "/24", "dev", "ks%s1" % topo.tag[-6:])
        d = topo.ksipd(listen="udp:%s:%d udp:%s:%d udp:%s:%d" % (topo.addr["p1"][1], pa,
                                                                topo.addr["p2"][1], pb, SAME_LINK, pc),
                       auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN, RTP_MIN + 99),
                       t1_ms=100, t2_ms=400, t4_ms=500, timer_c=5, media_timeout=0)
        for user, pw in PW.items():
            d.add_user(user, pw)
        time.sleep(0.5)		# veth carrier
        one_call(topo, d, "p1", "bob", "p2", "alice", ports)
        one_call(topo, d, "p2", "alice", "p1", "bob", ports)
        registered_address(topo, d, ports)
        st = d.stats()
        T.ok(st["send_errors"] == 0, "no send errors", "send_errors=%d" % st["send_errors"])
        forged_route(topo, d, ports)
        rc = d.stop()
        T.ok(rc == 0, "ksipd exits cleanly (no sanitizer report)", d.logtext()[-2000:] if rc else None)
        d.cleanup()
        d = None

        # The same on one wildcard socket: each datagram's own address (IP_PKTINFO) is kept.
        pw = free_port()
        wports = {"p1": pw, "p2": pw, "same": pw}
        d = ksiptest.Ksipd(binary=binary, netns=topo.srv, listen="udp:0.0.0.0:%d" % pw, workers=2,
                           auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN, RTP_MIN + 99),
                           t1_ms=100, t2_ms=400, t4_ms=500, timer_c=5, media_timeout=0)
        d.port = pw
        for user, pw_ in PW.items():
            d.add_user(user, pw_)
        one_call(topo, d, "p1", "bob", "p2", "alice", wports)
        registered_address(topo, d, wports)
        T.ok(d.stats()["send_errors"] == 0, "wildcard socket: no send errors")
        rc = d.stop()
        T.ok(rc == 0, "ksipd exits cleanly", d.logtext()[-2000:] if rc else None)
    finally:
        if d:
            d.cleanup()
        topo.cleanup()
    T.done()


if __name__ == "__main__":
    main()
