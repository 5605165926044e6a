"""linphone (linphonec of linphone-cli 5.1) as a user agent in a namespace.

Debian's linphone-daemon has no way to record a call (and no "use files"
mode), so the phone is linphonec: its "soundcard use files" mode plays a WAV
as microphone and records what it receives to a WAV. linphonec reads commands
with readline and iterates its core only while readline waits on a terminal,
so its stdin is a pseudo-terminal this harness writes commands to; what it
prints (-S: state messages) goes to linphonec.out, which the harness reads.

Its configuration is a linphonerc in a temp dir (HOME points there too: the
core keeps its databases under ~/.local/share/linphone and does not start
without that directory).
"""
import os
import pty
import re
import subprocess
import time


class Linphone:
    def __init__(self, net, link, user, password, domain, tone_wav, workdir, ipv6=False,
                 server=None, g711_only=False, ice=False):
        self.link, self.user, self.domain = link, user, domain
        self.dir = os.path.join(workdir, "linphone-" + user)
        os.makedirs(os.path.join(self.dir, ".local", "share", "linphone"))
        self.aor = "sip:%s@%s" % (user, domain)
        me = link.phone6 if ipv6 else link.phone4
        server = server or ("[%s]" % link.srv6 if ipv6 else link.srv4)
        self.rc = os.path.join(self.dir, "linphonerc")
        with open(self.rc, "w") as f:
            f.write(RC % {"me": me, "ipv6": 1 if ipv6 else 0, "server": server,
                          "user": user, "domain": domain, "password": password,
                          "policy": 3 if ice else 0})
            if g711_only:
                f.write(G711_ONLY)
        self.out_path = os.path.join(self.dir, "linphonec.out")
        self.out = open(self.out_path, "wb")
        master, slave = pty.openpty()
        self.pty = master
        self.proc = subprocess.Popen(
            net.exec_prefix(link.ns) + ["linphonec", "-c", self.rc, "-S", "-d", "4",
                                        "-l", os.path.join(self.dir, "linphone.log")],
            stdin=slave, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, HOME=self.dir))
        os.close(slave)
        self.recs = 0
        if not self.wait_output(r"linphonec> ", timeout=10):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("linphonec did not start:\n" + self.text())
        self.command("soundcard use files")
        self.command("play " + tone_wav)
        self.next_recording()

    def command(self, line):
        os.write(self.pty, (line + "\n").encode())

    def text(self):
        self.out.flush()
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def mark(self):
        """A position in the output: wait_output(..., since=mark) reads only what follows."""
        return len(self.text())

    def wait_output(self, pattern, timeout=10, since=0):
        """The first match of the regular expression PATTERN after SINCE, or None."""
        deadline = time.time() + timeout
        while True:
            m = re.search(pattern, self.text()[since:])
            if m or time.time() > deadline or self.proc.poll() is not None:
                return m
            time.sleep(0.1)

    def next_recording(self):
        """A new file for what the next call receives; returns its path."""
        self.recs += 1
        self.recording = os.path.join(self.dir, "received-%d.wav" % self.recs)
        self.command("record " + self.recording)
        return self.recording

    # What a user does; Baresip has the same methods. SINCE is a mark().
    def call(self, uri):
        self.command("call " + uri)

    def wait_incoming(self, since, timeout=10):
        return self.wait_output(r"Receiving new incoming call from (\S+), assigned id (\d+)",
                                timeout, since)

    def answer(self):
        self.command("answer")

    def wait_established(self, since, timeout=10):
        return self.wait_output(r"Media streams established with (\S+) for call (\d+)",
                                timeout, since)

    def hangup(self):
        self.command("terminate")

    def wait_ended(self, since, timeout=10):
        return self.wait_output(r"Call (\d+) with (\S+) ended \((.*)\)", timeout, since)

    def hold(self):
        self.command("pause")

    def resume(self):
        self.command("resume")

    def message(self, uri, text):
        self.command("chat %s %s" % (uri, text))

    def wait_message(self, text, timeout=10):
        """The sender's URI once a MESSAGE with TEXT has been printed as received."""
        m = self.wait_output(r"Message received from (\S+): %s" % re.escape(text), timeout)
        return m.group(1) if m else None

    def received_wav(self):
        """What the last call received; the next call records to a new file."""
        path = self.recording
        self.next_recording()
        return path

    def stop(self):
        if self.proc.poll() is None:
            self.command("quit")
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.pty)
        self.out.close()


# No sound card, one SIP transport (UDP 5060 on the phone's address), no STUN; ICE
# (firewall_policy 3: host candidates only, there being no STUN server) when asked.
RC = """[sip]
sip_port=5060
sip_tcp_port=0
sip_tls_port=0
bind_address=%(me)s
use_ipv6=%(ipv6)d
inc_timeout=60
default_proxy=0
[rtp]
audio_rtp_port=21000-21999
[net]
firewall_policy=%(policy)d
[sound]
echocancellation=0
[proxy_0]
reg_proxy=<sip:%(server)s:5060;transport=udp>
reg_route=<sip:%(server)s:5060;transport=udp;lr>
reg_identity="%(user)s" <sip:%(user)s@%(domain)s>
reg_expires=600
reg_sendregister=1
[auth_info_0]
username=%(user)s
passwd=%(password)s
realm=%(domain)s
"""

# Codecs listed here keep their place and flag; those not listed are added by linphone with
# its own default (opus, speex and G.729 enabled), so each one to leave out is listed off.
G711_ONLY = "".join("[audio_codec_%d]\nmime=%s\nrate=%d\nchannels=%d\nenabled=%d\n" % ((i,) + c)
                    for i, c in enumerate([("PCMU", 8000, 1, 1), ("PCMA", 8000, 1, 1),
                                           ("opus", 48000, 2, 0), ("speex", 16000, 1, 0),
                                           ("speex", 8000, 1, 0), ("speex", 32000, 1, 0),
                                           ("G729", 8000, 1, 0)]))
