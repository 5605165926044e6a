"""baresip 1.0.0 as a user agent in a namespace, driven through its ctrl_tcp interface.

Its config directory is a temp dir with only what the test needs: G.711, the
ausine module as microphone (a sine of the phone's own frequency), no audio
player, the sndfile filter writing what it sends and what it receives to WAV
files (dump-*-enc.wav, dump-*-dec.wav), the account module reading the
accounts file, menu (the call commands), contact (the MESSAGE command), stdio
(the console: baresip prints a received MESSAGE only to a user interface; its
stdin is a pipe kept open and never written) and ctrl_tcp on 127.0.0.1:4444
inside the phone's namespace. ctrl_tcp speaks JSON
in netstrings: commands {"command", "params", "token"} and events
{"event": true, "type": "CALL_ESTABLISHED", ...}; everything else baresip says
goes to baresip.log (received MESSAGEs among it).
"""
import glob
import json
import os
import re
import socket
import subprocess
import threading
import time

import phonenet

CTRL_PORT = 4444


class Baresip:
    def __init__(self, net, link, user, password, domain, tone_hz, workdir, ipv6=False,
                 server=None, peer=None, sip_trace=False, tcp=False, tls=False, codecs=None,
                 answermode="manual"):
        """USER@DOMAIN registers through SERVER (ksipd's address on LINK by default); PEER is
        the URI its MESSAGEs go to. TCP: it registers and keeps its connection over TCP; TLS:
        over TLS to port 5061. CODECS: the audio codecs it offers, in order ("PCMA"), instead
        of every one its modules have. ANSWERMODE: baresip's account setting, "manual" (the
        test accepts) or "auto" (baresip answers every call by itself)."""
        self.link, self.user, self.domain, self.tone_hz = link, user, domain, tone_hz
        self.dir = os.path.join(workdir, "baresip-" + user)
        os.makedirs(self.dir)
        self.aor = "sip:%s@%s" % (user, domain)
        self.peer = peer
        me = "[%s]" % link.phone6 if ipv6 else link.phone4
        server = server or ("[%s]" % link.srv6 if ipv6 else link.srv4)
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(CONFIG % {"listen": me, "dir": self.dir, "hz": tone_hz, "ctrl": CTRL_PORT})
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            # outbound: every request goes to ksipd; answermode=manual: the test accepts.
            f.write('<%s>;auth_pass=%s;outbound="sip:%s:%s";regint=600;answermode=%s%s\n'
                    % (self.aor, password, server, "5061;transport=tls" if tls else
                       "5060;transport=tcp" if tcp else "5060", answermode,
                       ";audio_codecs=" + codecs if codecs else ""))
        # baresip 1.0.0 sends a MESSAGE to its "current contact", read from these at start.
        if peer:
            with open(os.path.join(self.dir, "contacts"), "w") as f:
                f.write('"peer" <%s>\n' % peer)
            with open(os.path.join(self.dir, "current_contact"), "w") as f:
                f.write(peer)
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.log = open(self.log_path, "wb")
        # -s: every SIP message to the log as well.
        trace = ["-s"] if sip_trace or os.environ.get("PHONES_SIP_TRACE") else []
        self.proc = subprocess.Popen(net.exec_prefix(link.ns) + ["baresip", "-f", self.dir] + trace,
                                     stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.events = []
        self.responses = []
        self.cond = threading.Condition()
        self.sock = None
        self.reader = None
        try:
            self._connect()
        except Exception:
            self.proc.kill()
            self.proc.wait()
            raise

    def _connect(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("baresip exited at start:\n" + self.logtext())
            s = phonenet.socket_in(self.link.ns, socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.connect(("127.0.0.1", CTRL_PORT))
                self.sock = s
                break
            except OSError:
                s.close()
                time.sleep(0.1)
        if not self.sock:
            raise RuntimeError("baresip's ctrl_tcp did not come up:\n" + self.logtext())
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        buf = b""
        sock = self.sock
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while True:		# netstrings: LEN ":" JSON ","
                m = re.match(rb"(\d+):", buf)
                if not m or len(buf) < m.end() + int(m.group(1)) + 1:
                    break
                body = buf[m.end():m.end() + int(m.group(1))]
                buf = buf[m.end() + int(m.group(1)) + 1:]
                try:
                    msg = json.loads(body)
                except ValueError:
                    continue
                with self.cond:
                    (self.events if msg.get("event") else self.responses).append(msg)
                    self.cond.notify_all()

    def command(self, cmd, params="", timeout=5):
        """Run a baresip command; returns its response ({"ok": ..., "data": ...}) or None."""
        token = "t%d" % time.monotonic_ns()
        body = json.dumps({"command": cmd, "params": params, "token": token}).encode()
        self.sock.sendall(b"%d:%s," % (len(body), body))
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for r in self.responses:
                    if r.get("token") == token:
                        return r
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def wait_event(self, etype, timeout=10, since=0):
        """The first event of type ETYPE at index SINCE or later, or None after TIMEOUT."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for e in self.events[since:]:
                    if e.get("type") == etype:
                        return e
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def mark(self):
        """An index into the events: wait_event(..., since=mark) sees only later ones."""
        with self.cond:
            return len(self.events)

    def event_types(self, since=0):
        with self.cond:
            return [e.get("type") for e in self.events[since:]]

    # What a user does; Linphone has the same methods. SINCE is a mark().
    def call(self, uri):
        return self.command("dial", uri)

    def wait_incoming(self, since, timeout=10):
        return self.wait_event("CALL_INCOMING", timeout, since)

    def answer(self):
        return self.command("accept")

    def wait_established(self, since, timeout=10):
        return self.wait_event("CALL_ESTABLISHED", timeout, since)

    def hangup(self):
        return self.command("hangup")

    def wait_ended(self, since, timeout=10):
        return self.wait_event("CALL_CLOSED", timeout, since)

    def hold(self):
        return self.command("hold")

    def resume(self):
        return self.command("resume")

    def message(self, uri, text):
        """A MESSAGE with TEXT to URI, which must be the PEER given at start."""
        if uri != self.peer:
            raise ValueError("baresip 1.0.0 sends MESSAGE to its current contact only")
        return self.command("message", text)

    def wait_message(self, text, timeout=10):
        """The sender's URI once a MESSAGE with TEXT has been printed as received."""
        deadline = time.time() + timeout
        while True:
            for frm, body in self.received_messages():
                if body.strip('"') == text:
                    return frm
            if time.time() > deadline:
                return None
            time.sleep(0.1)

    def received_wav(self):
        """What the last call received (sndfile's dump-*-dec.wav), or None."""
        files = self.recordings("dec")
        return files[-1] if files else None

    def received_messages(self):
        """Texts of the MESSAGEs baresip printed as received: 'sip:from: "text"'."""
        return re.findall(r'(sip:[^\s:]+(?::\d+)?): "(.*)"', self.logtext())

    def recordings(self, kind):
        """The WAV files sndfile wrote, oldest first: kind "dec" (received) or "enc" (sent)."""
        return sorted(glob.glob(os.path.join(self.dir, "dump-*-%s.wav" % kind)),
                      key=os.path.getmtime)

    def logtext(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.sock:
            try:
                self.command("quit", timeout=2)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        self.proc.stdin.close()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


CONFIG = """# baresip for ksip's phone tests: no sound card, a sine as microphone, calls to WAV.
poll_method		epoll
sip_listen		%(listen)s:5060
call_max_calls		4
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			sndfile.so
module_tmp		account.so
module			stdio.so
module_app		contact.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:%(ctrl)d
audio_source		ausine,%(hz)d
# ausine makes 48 kHz stereo only; baresip resamples to the codec's 8 kHz mono.
ausrc_srate		48000
ausrc_channels		2
snd_path		%(dir)s
rtp_ports		20000-20999
rtp_timeout		0
"""
