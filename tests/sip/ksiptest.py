"""Test helpers: run a ksipd instance on loopback, talk SIP to it, emit TAP.

Everything here stays on 127.0.0.1 / ::1 and on ports picked free at start.
"""
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("O", os.path.join(ROOT, "build"))
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
# The sanitizer build of the daemon, when present, so hostile input also checks memory safety.
KSIPD = os.environ.get("KSIPD") or (
    os.path.join(BUILD, "san", "ksipd") if os.path.exists(os.path.join(BUILD, "san", "ksipd"))
    else os.path.join(BUILD, "ksipd"))
KSIPCTL = os.path.join(BUILD, "ksipctl")
SIPP_DIR = os.path.join(ROOT, "tests", "sipp")


class Tap:
    started = False	# one header per process: a script may import another's helpers (and its Tap)

    def __init__(self):
        self.n = 0
        self.failed = 0
        if not Tap.started:
            print("TAP version 13", flush=True)
        Tap.started = True

    def ok(self, cond, what, diag=None):
        self.n += 1
        print(("ok %d - %s" if cond else "not ok %d - %s") % (self.n, what), flush=True)
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines()[:40]:
                    print("#   " + line, flush=True)
        return cond

    def done(self):
        print("1..%d" % self.n)
        print("# %d passed, %d failed" % (self.n - self.failed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


def free_port():
    """A port free for both UDP and TCP on both loopbacks, above every relay range the tests
    use (the default rtp_ports 16384-32767, and the tests' own below 50000): a SIP port
    inside rtp_ports is a configuration error."""
    for _ in range(100):
        port = random.randint(50000, 60999)
        socks = []
        try:
            for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(fam, typ)
                    socks.append(s)
                    s.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


class Ksipd:
    def __init__(self, exec_prefix=(), binary=None, netns=None, **conf):
        """EXEC_PREFIX runs ksipd under a wrapper, e.g. ("prlimit", "--nofile=64:64", "--");
        BINARY: another ksipd (tests/security/ measure the optimized one); NETNS: run inside it."""
        self.exec_prefix = list(exec_prefix)
        self.binary = binary or KSIPD
        self.netns = netns
        self.dir = tempfile.mkdtemp(prefix="ksiptest-")
        self.port = free_port()
        self.sock = os.path.join(self.dir, "ksipd.sock")
        self.db = os.path.join(self.dir, "ksip.db")
        self.conf = {
            "listen": "udp:127.0.0.1:{p} tcp:127.0.0.1:{p} udp:[::1]:{p} tcp:[::1]:{p}".format(p=self.port),
            "realm": "ksip.test",
            "database": self.db,
            "control_socket": self.sock,
            "workers": "2",
            "log_level": "info",
            # Tests run on the host's network stack: never the host's nf_tables ruleset.
            # A test inside its own namespace may pass shield="nftables".
            "shield": "userspace",
            # Off unless a test asks (with a port of its own): every daemon would want 127.0.0.1:9461.
            "metrics_listen": "",
        }
        self.conf.update({k: str(v) for k, v in conf.items()})
        self.proc = None
        self.start()

    def start(self):
        path = os.path.join(self.dir, "ksipd.conf")
        with open(path, "w") as f:
            for k, v in self.conf.items():
                f.write("%s = %s\n" % (k, v))
        self.log = open(os.path.join(self.dir, "ksipd.log"), "ab")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99")
        # "ip netns exec" execs ksipd in place: self.proc.pid is ksipd's own.
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen(prefix + self.exec_prefix + [self.binary, "--config", path],
                                     stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ksipd exited at start:\n" + self.logtext())
            if os.path.exists(self.sock):
                try:
                    self.ctl("stats")
                    return
                except RuntimeError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("ksipd did not come up:\n" + self.logtext())

    def logtext(self):
        with open(os.path.join(self.dir, "ksipd.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        """Stop the daemon; returns its exit status (99: sanitizer report)."""
        if not self.proc:
            return 0
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log.close()
        return rc

    def restart(self, sig=signal.SIGTERM):
        rc = self.stop(sig)
        self.start()
        return rc

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def ctl(self, *args, stdin=None, check=True):
        p = subprocess.run([KSIPCTL, "--socket", self.sock] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=10)
        if check and p.returncode != 0:
            raise RuntimeError("ksipctl %s: %s" % (" ".join(args), p.stderr.strip()))
        return p

    def add_user(self, name, password):
        self.ctl("user", "add", name, "--password-stdin", stdin=password + "\n")

    def stats(self):
        return json.loads(self.ctl("--json", "stats").stdout)

    def bindings(self, aor=None):
        rows = json.loads(self.ctl("--json", "reg", "list").stdout)
        return [r for r in rows if aor is None or r["aor"] == aor]


def recv_all(sock):
    """Everything SOCK receives until the peer closes (or resets) it."""
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    return data


def scrape_metrics(sock):
    """GET /metrics over SOCK (connected to ksipd's metrics_listen); returns (head, body)."""
    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: ksip\r\nConnection: close\r\n\r\n")
    data = recv_all(sock)
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode(errors="replace"), body.decode()


def rand_token(n=10):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


class Response:
    def __init__(self, raw):
        self.raw = raw
        text = raw.decode(errors="replace")
        head = text.split("\r\n\r\n", 1)[0]
        lines = head.split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
        self.code = int(m.group(1)) if m else 0
        self.reason = m.group(2) if m else ""
        self.headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers.append((k.strip().lower(), v.strip()))

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def get(self, name):
        vals = self.all(name)
        return vals[0] if vals else None


def parse_challenge(value):
    params = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value)}
    params["stale"] = params.get("stale", "false")
    return params


def digest_response(alg, user, realm, password, method, uri, nonce, nc, cnonce):
    h = (lambda s: hashlib.sha256(s.encode()).hexdigest()) if alg == "SHA-256" else \
        (lambda s: hashlib.md5(s.encode()).hexdigest())
    ha1 = h("%s:%s:%s" % (user, realm, password))
    ha2 = h("%s:%s" % (method, uri))
    return h("%s:%s:%08x:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))


def tls_client_context():
    """A client context that trusts anything: the tests check ksipd's certificate separately."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SipClient:
    """A UDP, TCP or TLS SIP user agent sending hand-built requests. TLS: to PORT (the
    server's TLS listener), over Python's ssl with TLS_CONTEXT (default: no verification,
    the tests check the certificate themselves)."""

    def __init__(self, server, transport="udp", family=socket.AF_INET, bind_port=0, port=None,
                 tls_context=None):
        self.transport = transport
        self.family = family
        host = "127.0.0.1" if family == socket.AF_INET else "::1"
        self.server = (host, port or server.port)
        self.realm = server.conf["realm"]
        typ = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(family, typ)
        self.sock.settimeout(2.0)
        if bind_port:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, bind_port))
        if transport in ("tcp", "tls"):
            self.sock.connect(self.server)
        if transport == "tls":
            self.sock = (tls_context or tls_client_context()).wrap_socket(self.sock)
        self.local = self.sock.getsockname()[:2]
        self.call_id = rand_token(16) + "@test"
        self.cseq = 0
        self.tcp_buf = b""

    def hostport(self, addr):
        return ("[%s]:%d" if self.family == socket.AF_INET6 else "%s:%d") % addr

    def request(self, method, user, contacts=None, expires=None, auth=None, extra="", body="",
                branch=None, cseq=None, ruri=None, call_id=None):
        self.cseq = cseq if cseq is not None else self.cseq + 1
        ruri = ruri or "sip:%s" % self.realm
        lines = [
            "%s %s SIP/2.0" % (method, ruri),
            "Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport" % (self.transport.upper(),
                                                          self.hostport(self.local), branch or rand_token()),
            "Max-Forwards: 70",
            "From: <sip:%s@%s>;tag=%s" % (user, self.realm, rand_token(6)),
            "To: <sip:%s@%s>" % (user, self.realm),
            "Call-ID: %s" % (call_id or self.call_id),
            "CSeq: %d %s" % (self.cseq, method),
        ]
        for c in contacts or []:
            lines.append("Contact: %s" % c)
        if expires is not None:
            lines.append("Expires: %d" % expires)
        if auth:
            lines.append("Authorization: %s" % auth)
        if extra:
            lines.extend(extra.rstrip("\r\n").split("\r\n"))
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def send(self, data):
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def recv(self, timeout=2.0):
        self.sock.settimeout(timeout)
        try:
            if self.transport == "udp":
                data, _ = self.sock.recvfrom(65535)
                # ksipd's NAT keepalive (a contact registered from another port looks NATed):
                # not what the test waits for.
                while data.startswith(b"OPTIONS ") and b"\r\nCall-ID: ksipka-" in data:
                    data, _ = self.sock.recvfrom(65535)
                return Response(data)
            while True:
                m = re.search(rb"\r\n\r\n", self.tcp_buf)
                if m:
                    head = self.tcp_buf[:m.end()]
                    cl = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                    total = m.end() + (int(cl.group(1)) if cl else 0)
                    if len(self.tcp_buf) >= total:
                        msg, self.tcp_buf = self.tcp_buf[:total], self.tcp_buf[total:]
                        return Response(msg)
                chunk = self.sock.recv(65535)
                if not chunk:
                    return None
                self.tcp_buf += chunk
        except socket.timeout:
            return None

    def transact(self, data, timeout=2.0):
        self.send(data)
        return self.recv(timeout)

    def authorization(self, challenge, user, password, method="REGISTER", uri=None, nc=1, alg=None,
                      cnonce=None):
        ch = parse_challenge(challenge)
        alg = alg or ch.get("algorithm", "MD5")
        uri = uri or "sip:%s" % self.realm
        cnonce = cnonce or rand_token(8)
        resp = digest_response(alg, user, ch["realm"], password, method, uri, ch["nonce"], nc, cnonce)
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=%s, cnonce="%s", qop=auth, nc=%08x' %
                (user, ch["realm"], ch["nonce"], uri, resp, alg, cnonce, nc))

    def challenge_for(self, resp, alg):
        for v in resp.all("www-authenticate"):
            # No algorithm parameter means MD5 (RFC 2617), as Kamailio sends it.
            if parse_challenge(v).get("algorithm", "MD5") == alg:
                return v
        return None

    def register(self, user, password, contacts, expires=None, alg="MD5"):
        """Full 401 + authenticated REGISTER; returns (final response, challenge used)."""
        r = self.transact(self.request("REGISTER", user, contacts, expires))
        if not r or r.code != 401:
            return r, None
        ch = self.challenge_for(r, alg)
        auth = self.authorization(ch, user, password)
        return self.transact(self.request("REGISTER", user, contacts, expires, auth=auth)), ch

    def close(self):
        self.sock.close()


def sipp_target(server, ipv6=False):
    """host:port of SERVER as SIPp's [remote_ip]:[remote_port] spell it."""
    return ("[::1]:%d" if ipv6 else "127.0.0.1:%d") % server.port


def run_sipp(server, scenario, user_field, transport="u1", ipv6=False, extra=(), timeout=30,
             calls=1, port=None, auth_uri=None, netns=None, local_ip=None, target=None):
    """Run one SIPp scenario against SERVER; returns (exit code, output).

    SIPp puts sip:REMOTE_IP:REMOTE_PORT in the digest uri unless told
    (-auth_uri); ksipd wants the Request-URI there (RFC 7616 §3.4.6). AUTH_URI
    is that Request-URI without "sip:"; by default the realm, which is what
    the REGISTER scenarios send to. NETNS runs SIPp inside that namespace,
    from LOCAL_IP, towards TARGET ("ADDR:PORT")."""
    host = local_ip or ("::1" if ipv6 else "127.0.0.1")
    csv = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, dir=server.dir)
    csv.write("SEQUENTIAL\n")
    for fields in user_field:
        csv.write(";".join(fields) + "\n")
    csv.close()
    target = target or ("[%s]:%d" if ipv6 else "%s:%d") % (host, server.port)
    cmd = (["ip", "netns", "exec", netns] if netns else []) + ["sipp", "-sf", os.path.join(SIPP_DIR, scenario), "-inf", csv.name, "-m", str(calls),
           "-i", host, "-p", str(port or free_port()), "-t", transport, "-nostdin", "-timeout", "%ds" % timeout,
           "-timeout_error", "-trace_err", "-error_file", os.path.join(server.dir, "sipp_err.log"),
           "-key", "realm", server.conf["realm"], "-auth_uri", auth_uri or server.conf["realm"]] + \
        list(extra) + [target]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10, cwd=server.dir)
    out = p.stdout[-3000:] + p.stderr[-2000:]
    err = os.path.join(server.dir, "sipp_err.log")
    if os.path.exists(err):
        with open(err) as f:
            out += "\n" + f.read()[-3000:]
    return p.returncode, out
