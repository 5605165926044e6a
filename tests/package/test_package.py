#!/usr/bin/env python3
"""The packages and what ships in them (docs/testing.md, "Packages"):

- every config key of daemon/base/config.c is in docs/configuration.md, the example
  dist/ksipd.conf and ksipd.conf(5), and nothing else is; the example's defaults are accepted;
- the man pages lint clean (mandoc -T lint, man --warnings) and ksipctl(8) lists every command
  of ctl/ksipctl.c's table;
- `make deb` builds ksip and ksip-dkms, lintian finds no error, their file lists and control
  files hold what they should, they unpack with `dpkg --root` into a root of the test's own;
- `systemd-analyze verify` accepts the packaged unit; `systemd-analyze security` scores it;
- the packaged ksipd tells a NOTIFY_SOCKET of ours READY=1, STATUS=, WATCHDOG=1, RELOADING=1
  and STOPPING=1, and starts when that socket is missing;
- `dkms build` of the packaged source against every installed cloud kernel's headers;
- `make install DESTDIR=... PREFIX=...` puts each file where it says.
Everything happens in a temporary directory; DKMS uses a tree of its own there.
"""
import atexit
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))
from ksiptest import ROOT, BUILD, Tap, free_port  # noqa: E402
import check_config_keys  # noqa: E402

tap = Tap()
TMP = tempfile.mkdtemp(prefix="ksip-pkgtest-")
atexit.register(shutil.rmtree, TMP, True)	# also when a check raises half-way
MANPAGES = ["man/ksipd.8", "man/ksipctl.8", "man/ksipd.conf.5", "man/ksip.7"]


def run(cmd, timeout=600, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def changelog_version():
    return re.match(r"ksip \(([^)]*)\)", read("debian/changelog")).group(1)


# --- config keys: one list in the code, the same in every document ------------------------
check_config_keys.check(tap)

KSIPD = os.path.join(BUILD, "ksipd")


def check_config(text):
    path = os.path.join(TMP, "check.conf")
    with open(path, "w") as f:
        f.write(text)
    return run([KSIPD, "--check-config", "--config", path], timeout=20)


example = read("dist/ksipd.conf")
p = check_config(example)
tap.ok(p.returncode == 0 and "configuration ok" in p.stdout, "the example file as shipped is accepted",
       p.stderr)
uncommented = re.sub(r"^#(\w+ =)", r"\1", example, flags=re.M)
p = check_config(uncommented)
tap.ok(p.returncode == 0 and uncommented.count("\n") == example.count("\n"),
       "every key of the example set to its documented default is accepted", p.stderr)

# --- man pages --------------------------------------------------------------------------------
for page in MANPAGES:
    p = run(["mandoc", "-T", "lint", "-W", "style", page])
    tap.ok(p.returncode == 0 and not p.stdout and not p.stderr, "mandoc -T lint: %s is clean" % page,
           p.stdout + p.stderr)


def ctl_table():
    src = read("ctl/ksipctl.c")
    body = re.search(r"ctl_cmds\[\] = \{(.*?)\n\};", src, re.S).group(1)
    return [g + (" " + v if v else "") for g, v in
            re.findall(r'\{ "(\w+)", (?:"(\w+)"|NULL),', body)]


def man_tags(page, section):
    """The .TP tags of a section, as plain text."""
    text = read(page)
    text = text[text.index(".SH " + section):]
    text = text[:text.index("\n.SH ", 1)]
    lines = text.splitlines()
    tags = []
    for i, l in enumerate(lines[:-1]):
        if l == ".TP":
            t = re.sub(r"^\.(B|BI|BR|I) ", "", lines[i + 1])
            t = re.sub(r"\\f[BIRP]", "", t).replace('"', "").replace("\\-", "-")
            tags.append(" ".join(t.split()))
    return tags


cmds = ctl_table()
tags = man_tags("man/ksipctl.8", "COMMANDS")
missing = [c for c in cmds if not any(t == c or t.startswith(c + " ") for t in tags)]
tap.ok(len(cmds) > 15 and not missing, "ksipctl(8) documents each of the %d commands of ctl/ksipctl.c"
       % len(cmds), "missing: %s" % missing)
stray = [t for t in tags if not any(t == c or t.startswith(c + " ") for c in cmds)]
tap.ok(not stray, "and no command the table does not have", stray)
help_ = run([KSIPD, "--help"]).stdout
opts = sorted(set(re.findall(r"--[a-z-]+", help_)))
man8 = read("man/ksipd.8").replace("\\-", "-")
tap.ok(opts and all(o in man8 for o in opts), "ksipd(8) documents every option of ksipd --help (%s)"
       % " ".join(opts))

# --- make deb ---------------------------------------------------------------------------------
VER = changelog_version()
UPVER = VER.rsplit("-", 1)[0]
t0 = time.monotonic()
p = run(["make", "deb", "O=" + BUILD], timeout=900)
took = time.monotonic() - t0
DEB = os.path.join(BUILD, "deb", "ksip_%s_amd64.deb" % VER)
DKMS_DEB = os.path.join(BUILD, "deb", "ksip-dkms_%s_all.deb" % VER)
tap.ok(p.returncode == 0 and os.path.exists(DEB) and os.path.exists(DKMS_DEB),
       "make deb builds ksip and ksip-dkms %s into %s/deb (%.0f s)" % (VER, BUILD, took),
       (p.stdout + p.stderr)[-3000:])
left = glob.glob(os.path.join(ROOT, "..", "ksip*_%s_*" % VER)) + \
    [d for d in ("debian/tmp", "debian/ksip", "debian/_build") if os.path.exists(os.path.join(ROOT, d))]
tap.ok(not left, "nothing left beside the tree or in debian/", left)

p = run(["lintian", "--fail-on", "error", "--no-tag-display-limit",
         os.path.join(BUILD, "deb", "ksip_%s_amd64.changes" % VER)], timeout=300)
errors = [l for l in p.stdout.splitlines() if l.startswith("E:")]
tap.ok(p.returncode == 0 and not errors, "lintian: no error (%d warnings)" %
       sum(l.startswith("W:") for l in p.stdout.splitlines()), p.stdout + p.stderr)


def deb_files(deb):
    out = run(["dpkg-deb", "-c", deb]).stdout
    return {l.split()[5].lstrip(".") for l in out.splitlines() if not l.startswith("d")}


def control(deb, name):
    p = run(["dpkg-deb", "-I", deb, name])
    return p.stdout if p.returncode == 0 else ""


want = {"/etc/ksip/ksipd.conf", "/lib/systemd/system/ksipd.service", "/usr/sbin/ksipd",
        "/usr/sbin/ksipctl", "/usr/share/man/man5/ksipd.conf.5.gz", "/usr/share/man/man7/ksip.7.gz",
        "/usr/share/man/man8/ksipd.8.gz", "/usr/share/man/man8/ksipctl.8.gz",
        "/usr/share/doc/ksip/changelog.Debian.gz", "/usr/share/doc/ksip/copyright"}
# The documentation (debian/ksip.docs), gzipped or not as dh_compress decides by size.
docs = read("debian/ksip.docs").split()
want |= {"/usr/share/doc/ksip/" + os.path.basename(f) for f in docs}
got = {re.sub(r"\.md\.gz$", ".md", f) for f in deb_files(DEB)}
tap.ok(got == want, "ksip holds ksipd, ksipctl, the unit, four man pages, the config and the docs",
       "missing %s, extra %s" % (sorted(want - got), sorted(got - want)))
src = "/usr/src/ksip-%s/" % UPVER
want_dkms = {"/etc/modules-load.d/ksip.conf", "/usr/share/doc/ksip-dkms/changelog.Debian.gz",
             "/usr/share/doc/ksip-dkms/copyright", src + "Kbuild", src + "dkms.conf"}
want_dkms |= {src + f for f in glob.glob("kmod/*.[ch]", root_dir=ROOT)}
want_dkms |= {src + f for f in glob.glob("include/uapi/linux/*.h", root_dir=ROOT)}
got = deb_files(DKMS_DEB)
tap.ok(got == want_dkms, "ksip-dkms holds kmod/, Kbuild, the UAPI header, dkms.conf and the "
       "modules-load.d file", "missing %s, extra %s" % (sorted(want_dkms - got), sorted(got - want_dkms)))
tap.ok(control(DEB, "conffiles").split() == ["/etc/ksip/ksipd.conf"],
       "ksip: /etc/ksip/ksipd.conf is a conffile", control(DEB, "conffiles"))
tap.ok(control(DKMS_DEB, "conffiles").split() == ["/etc/modules-load.d/ksip.conf"],
       "ksip-dkms: /etc/modules-load.d/ksip.conf is a conffile")
post = control(DEB, "postinst")
tap.ok(re.search(r"adduser --system .*ksip\b", post.replace("\\\n", " ")) and
       "deb-systemd-helper" in post, "ksip's postinst makes the ksip system user and enables the unit",
       post)
post = control(DKMS_DEB, "postinst")
tap.ok("dkms" in post and "ksip" in post and "dkms" in control(DKMS_DEB, "control"),
       "ksip-dkms depends on dkms and its postinst builds ksip %s for the installed kernels" % UPVER)

# --- unpacked into a root of our own -------------------------------------------------------
R = os.path.join(TMP, "root")
for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates"):
    os.makedirs(os.path.join(R, d))
for f in ("status", "available"):
    open(os.path.join(R, "var/lib/dpkg", f), "w").close()
p = run(["dpkg", "--root=" + R, "--force-depends", "--unpack", DEB, DKMS_DEB])
tap.ok(p.returncode == 0, "dpkg --root unpacks both packages", p.stdout + p.stderr)
listed = set(run(["dpkg", "--root=" + R, "-L", "ksip", "ksip-dkms"]).stdout.split())
# Unpacked, not configured (that would run the maintainer scripts chrooted into R): dpkg keeps
# each conffile as FILE.dpkg-new until then.
CONFFILES = ("/etc/ksip/ksipd.conf", "/etc/modules-load.d/ksip.conf")


def unpacked(f):
    return R + f + (".dpkg-new" if f in CONFFILES else "")


absent = [f for f in want | want_dkms if not os.path.exists(unpacked(f))]
listed = {re.sub(r"\.md\.gz$", ".md", f) for f in listed}
absent = [f for f in absent if not os.path.exists(unpacked(f) + ".gz")]
tap.ok(want <= listed and want_dkms <= listed and not absent,
       "dpkg -L lists every expected file and each is there", absent)
conf = unpacked("/etc/ksip/ksipd.conf")
p = run([R + "/usr/sbin/ksipd", "--check-config", "--config", conf], timeout=20)
tap.ok(p.returncode == 0, "the packaged ksipd accepts the packaged config", p.stderr)
for page in glob.glob(R + "/usr/share/man/man*/*.gz"):
    p = run(["man", "--warnings", "-E", "UTF-8", "-l", page], env=dict(os.environ, MANWIDTH="80"))
    tap.ok(p.returncode == 0 and not p.stderr.strip() and len(p.stdout) > 500,
           "man --warnings renders %s without a warning" % os.path.basename(page), p.stderr)
with open(unpacked("/etc/modules-load.d/ksip.conf")) as f:
    active = [l for l in f if l.strip() and not l.startswith("#")]
tap.ok(not active, "modules-load.d/ksip.conf loads nothing until the operator uncomments it", active)

# --- the unit ---------------------------------------------------------------------------------
unit = os.path.join(TMP, "unit", "ksipd.service")
os.makedirs(os.path.dirname(unit))
with open(R + "/lib/systemd/system/ksipd.service") as f:
    text = f.read()
with open(unit, "w") as f:	# the binary where we unpacked it; everything else as shipped
    f.write(text.replace("/usr/sbin/ksipd", R + "/usr/sbin/ksipd"))
menv = dict(os.environ, MANPATH=R + "/usr/share/man")
p = run(["systemd-analyze", "verify", unit], env=menv)
tap.ok(p.returncode == 0 and not p.stderr.strip(), "systemd-analyze verify: no complaint",
       p.stdout + p.stderr)
bad = os.path.join(TMP, "bad", "ksipd.service")
os.makedirs(os.path.dirname(bad))
with open(bad, "w") as f:
    f.write(text.replace("/usr/sbin/ksipd", R + "/usr/sbin/ksipd").replace("User=ksip", "Usr=ksip"))
p = run(["systemd-analyze", "verify", bad], env=menv)
tap.ok("Unknown key" in p.stderr, "and the same check catches a misspelt key (the test tests)",
       p.stderr)
for key in ("Type=notify", "User=ksip", "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE",
            "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE", "StateDirectory=ksip",
            "RuntimeDirectory=ksip", "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
            "SystemCallFilter=@system-service", "ExecReload=/bin/kill -HUP $MAINPID"):
    tap.ok(re.search("^" + re.escape(key) + "$", text, re.M), "the unit says " + key)
p = run(["systemd-analyze", "security", "--offline=yes", unit])
m = re.search(r"Overall exposure level for ksipd.service: ([0-9.]+)", p.stdout)
score = float(m.group(1)) if m else 99
print("# systemd-analyze security: exposure %s" % (m.group(1) if m else "?"))
tap.ok(score < 2.0, "systemd-analyze security: exposure %.1f, below 2.0 (docs/operations.md)" % score,
       p.stdout[-1500:] + p.stderr)

# --- sd_notify from the packaged ksipd -----------------------------------------------------
port = free_port()
state = os.path.join(TMP, "state")
os.makedirs(state)
nconf = os.path.join(state, "ksipd.conf")
with open(nconf, "w") as f:
    f.write("listen = udp:127.0.0.1:%d\ndatabase = %s/ksip.db\ncontrol_socket = %s/ksipd.sock\n"
            "media = userspace\nshield = userspace\nworkers = 2\n" % (port, state, state))
nsock_path = os.path.join(TMP, "notify")
nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
nsock.bind(nsock_path)


def notes(until, timeout=10):
    """Datagrams on our NOTIFY_SOCKET until one holds UNTIL (or TIMEOUT seconds)."""
    got = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        nsock.settimeout(max(0.05, deadline - time.time()))
        try:
            got.append(nsock.recv(4096).decode())
        except socket.timeout:
            break
        if until in got[-1]:
            break
    return got


log = open(os.path.join(state, "ksipd.log"), "w")
env = dict(os.environ, NOTIFY_SOCKET=nsock_path, WATCHDOG_USEC="3000000")
d = subprocess.Popen([R + "/usr/sbin/ksipd", "--config", nconf], env=env, stdout=log, stderr=log)
try:
    got = notes("READY=1")
    ready = [g for g in got if "READY=1" in g]
    tap.ok(ready and re.search(r"^STATUS=ready: realm 'ksip', 2 workers, 1 listen addresses, "
                               r"media userspace, shield userspace$", ready[0], re.M),
           "READY=1 with a one-line STATUS= once sockets, store and media are up", got)
    p = run([R + "/usr/sbin/ksipctl", "--socket", state + "/ksipd.sock", "stats"], timeout=10)
    tap.ok(p.returncode == 0, "by then the control socket answers", p.stderr)
    got = notes("WATCHDOG=1", timeout=5)
    tap.ok(got and got[-1] == "WATCHDOG=1", "WATCHDOG=1 when WATCHDOG_USEC is set", got)
    d.send_signal(signal.SIGHUP)
    got = [g for g in notes("READY=1") if g != "WATCHDOG=1"]
    tap.ok(len(got) == 2 and got[0] == "RELOADING=1" and got[1].startswith("READY=1\nSTATUS="),
           "SIGHUP: RELOADING=1, then READY=1 with the status", got)
    d.send_signal(signal.SIGTERM)
    got = notes("STOPPING=1")
    rc = d.wait(timeout=15)
    tap.ok(got and got[-1] == "STOPPING=1" and rc == 0, "SIGTERM: STOPPING=1, exit 0 (%s)" % rc, got)
finally:
    if d.poll() is None:
        d.kill()
        d.wait()
# NOTIFY_SOCKET is whatever the environment says: one that leads nowhere must not stop ksipd.
env = dict(os.environ, NOTIFY_SOCKET=os.path.join(TMP, "nobody-listens"))
d = subprocess.Popen([R + "/usr/sbin/ksipd", "--config", nconf], env=env, stdout=log, stderr=log)
try:
    up = False
    for _ in range(100):
        if run([R + "/usr/sbin/ksipctl", "--socket", state + "/ksipd.sock", "stats"],
               timeout=10).returncode == 0:
            up = True
            break
        time.sleep(0.1)
    d.send_signal(signal.SIGTERM)
    rc = d.wait(timeout=15)
    tap.ok(up and rc == 0, "a NOTIFY_SOCKET nobody listens on: ksipd runs and stops as usual")
finally:
    if d.poll() is None:
        d.kill()
        d.wait()
log.close()

# --- the unit's identity: an unprivileged user with the two capabilities, nothing more -------
# systemd is not PID 1 here, so setpriv gives the packaged ksipd what the unit gives it (User=,
# AmbientCapabilities=, CapabilityBoundingSet=, NoNewPrivileges=), in a namespace of our own.
NS = "ksip-i16pkg-%d" % os.getpid()
CAPS = "net_admin,net_bind_service"
run(["ip", "netns", "add", NS])
try:
    run(["ip", "-n", NS, "link", "set", "lo", "up"])
    udir = os.path.join(TMP, "unpriv")
    os.makedirs(udir)
    os.chown(udir, 65534, 65534)
    os.chmod(udir, 0o700)
    os.chmod(TMP, 0o755)
    os.chmod(R, 0o755)
    uconf = os.path.join(TMP, "unpriv.conf")
    with open(uconf, "w") as f:
        f.write("listen = udp:127.0.0.1:506 tcp:127.0.0.1:506\ndatabase = %s/ksip.db\n"
                "control_socket = %s/ksipd.sock\nmedia = userspace\nshield = nftables\n"
                "workers = 2\nauth_algorithms = MD5\nauth_fail_limit = 2\n" % (udir, udir))
    os.chmod(uconf, 0o644)

    def unpriv(caps, tracer=()):
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
                "--bounding-set=-all" + "".join(",+" + c for c in caps.split(",") if c),
                "--inh-caps=-all" + "".join(",+" + c for c in caps.split(",") if c),
                "--ambient-caps=-all" + "".join(",+" + c for c in caps.split(",") if c)]
        ulog = open(os.path.join(TMP, "unpriv.log"), "w")
        # The tracer after setpriv: it sees ksipd's system calls only, none of setpriv's.
        return subprocess.Popen(["ip", "netns", "exec", NS] + drop + list(tracer) +
                                [R + "/usr/sbin/ksipd", "--config", uconf],
                                stdout=ulog, stderr=ulog)

    # Under strace: which system calls does it make? Each must pass SystemCallFilter=.
    trace = os.path.join(udir, "strace")
    d = unpriv(CAPS, ["strace", "-f", "-c", "-o", trace])
    try:
        st = None
        for _ in range(200):
            p = run(["ip", "netns", "exec", NS, R + "/usr/sbin/ksipctl", "--socket", udir + "/ksipd.sock",
                     "--json", "status"], timeout=10)
            if p.returncode == 0:
                st = p.stdout
                break
            if d.poll() is not None:
                break
            time.sleep(0.1)
        pid = int(run(["pgrep", "-P", str(d.pid), "-x", "ksipd"]).stdout.split()[0] or 0) \
            if d.poll() is None else 0
        status = ""
        if pid:
            with open("/proc/%d/status" % pid) as f:
                status = f.read()
        capeff = re.search(r"^CapEff:\s*([0-9a-f]+)", status, re.M)
        uid = re.search(r"^Uid:\s*(\d+)", status, re.M)
        tap.ok(st is not None and '"nftables"' in st and capeff and int(capeff.group(1), 16) == 0x1400
               and uid and uid.group(1) == "65534",
               "as an unprivileged user with CAP_NET_ADMIN and CAP_NET_BIND_SERVICE only (CapEff %s): "
               "ksipd binds port 506 and builds its nftables table" % (capeff and capeff.group(1)),
               (st or "") + open(os.path.join(TMP, "unpriv.log")).read()[-1500:])
        p = run(["ip", "netns", "exec", NS, R + "/usr/sbin/ksipctl", "--socket", udir + "/ksipd.sock",
                 "user", "add", "alice", "--password-stdin"], input="pw-alice\n", timeout=10)
        ex = run(["ip", "netns", "exec", NS, sys.executable,
                  os.path.join(ROOT, "tests", "package", "exercise.py"), "506", "ksip"], timeout=60)
        tap.ok(p.returncode == 0 and ex.stdout.split() == ["200", "200", "200", "401", "401", "401"],
               "it serves: a user added, REGISTER over UDP and TCP, OPTIONS, wrong passwords (%s)"
               % ex.stdout.strip(), ex.stderr + p.stderr)
        p = run(["ip", "netns", "exec", NS, R + "/usr/sbin/ksipctl", "--socket", udir + "/ksipd.sock",
                 "--json", "ban", "list"], timeout=10)
        q = run(["ip", "netns", "exec", NS, "nft", "list", "set", "inet", "ksip", "ban4"], timeout=10)
        tap.ok('"127.0.0.1"' in p.stdout and "127.0.0.1" in q.stdout,
               "the third wrong password banned the source, in nftables too", p.stdout + q.stdout + q.stderr)
        os.kill(pid, signal.SIGHUP)
        time.sleep(0.5)
        os.kill(pid, signal.SIGTERM)
        rc = d.wait(timeout=30)
        ulog = open(os.path.join(TMP, "unpriv.log")).read()
        tap.ok(rc == 0 and "reloaded" in ulog, "a reload, then a clean stop (%d)" % rc, ulog[-1500:])
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()

    def expand(group, seen=None):
        """The system calls of a systemd syscall group, nested groups included."""
        seen = seen if seen is not None else set()
        names = set()
        for line in run(["systemd-analyze", "syscall-filter", group]).stdout.splitlines()[1:]:
            w = line.strip()
            if not w or w.startswith("#"):
                continue
            if w.startswith("@"):
                if w not in seen:
                    seen.add(w)
                    names |= expand(w, seen)
            else:
                names.add(w)
        return names

    allowed = (expand("@system-service") | expand("@default")) - expand("@privileged")
    used = set()
    if os.path.exists(trace):
        for line in open(trace):
            f = line.split()
            if len(f) >= 5 and re.match(r"^[0-9.]+$", f[0]) and f[-1] != "total":
                used.add(f[-1])
    denied = sorted(used - allowed)
    tap.ok("sendmmsg" in allowed and "epoll_wait" in allowed and not {"init_module", "mount", "setuid",
                                                                      "reboot"} & allowed,
           "the allowed set is what the unit means (sendmmsg yes; init_module, mount, setuid no)")
    tap.ok(len(used) > 30 and not denied,
           "its %d system calls (start, nftables, UDP, TCP, SIGHUP, stop) all pass SystemCallFilter="
           "@system-service ~@privileged" % len(used), "denied: %s" % denied)
    d = unpriv("net_admin")
    try:
        rc = d.wait(timeout=20)
    except subprocess.TimeoutExpired:
        d.kill()
        rc = d.wait()
    ulog = open(os.path.join(TMP, "unpriv.log")).read()
    tap.ok(rc == 1 and "ksipd failed to start" in ulog,
           "without CAP_NET_BIND_SERVICE it cannot bind port 506 and says it failed (%d)" % rc, ulog[-800:])
finally:
    run(["ip", "netns", "del", NS])

# --- DKMS: the packaged source, every installed cloud kernel --------------------------------
kernels = sorted({os.path.basename(h)[len("linux-headers-"):]
                  for h in glob.glob("/usr/src/linux-headers-*-cloud-amd64")
                  if os.path.exists("/lib/modules/%s/build/Makefile" %
                                    os.path.basename(h)[len("linux-headers-"):])})
tap.ok(kernels, "cloud kernel headers installed: %s" % " ".join(kernels))
tree = os.path.join(TMP, "dkms")
os.makedirs(tree)
dk = ["--sourcetree", R + "/usr/src", "--dkmstree", tree]
p = run(["dkms", "add", "-m", "ksip", "-v", UPVER] + dk)
tap.ok(p.returncode == 0, "dkms add ksip/%s from the unpacked ksip-dkms" % UPVER, p.stdout + p.stderr)
for k in kernels:
    t0 = time.monotonic()
    p = run(["dkms", "build", "-m", "ksip", "-v", UPVER, "-k", k] + dk, timeout=600)
    built = glob.glob(os.path.join(tree, "ksip", UPVER, k, "*", "module", "ksip.ko*"))
    vermagic = run(["modinfo", "-F", "vermagic", built[0]]).stdout if built else ""
    tap.ok(p.returncode == 0 and built and vermagic.startswith(k + " "),
           "dkms build against %s: ksip.ko for that kernel (%.0f s)" % (k, time.monotonic() - t0),
           (p.stdout + p.stderr)[-2000:])
p = run(["dkms", "remove", "-m", "ksip", "-v", UPVER, "--all"] + dk)
tap.ok(p.returncode == 0 and not os.path.exists(os.path.join(tree, "ksip", UPVER)),
       "dkms remove leaves nothing in the tree", p.stdout + p.stderr)

# --- make install for other distributions ---------------------------------------------------
dest = os.path.join(TMP, "inst")
p = run(["make", "install", "O=" + BUILD, "DESTDIR=" + dest, "PREFIX=/opt/ksip", "KDIR="])
inst = {os.path.relpath(os.path.join(dp, f), dest) for dp, _, fs in os.walk(dest) for f in fs}
want_inst = {"opt/ksip/sbin/ksipd", "opt/ksip/sbin/ksipctl", "opt/ksip/share/man/man8/ksipd.8",
             "opt/ksip/share/man/man8/ksipctl.8", "opt/ksip/share/man/man5/ksipd.conf.5",
             "opt/ksip/share/man/man7/ksip.7", "etc/ksip/ksipd.conf",
             "opt/ksip/lib/systemd/system/ksipd.service", "etc/modules-load.d/ksip.conf"}
want_inst |= {f.lstrip("/") for f in want_dkms if f.startswith("/usr/src/")}
tap.ok(p.returncode == 0 and inst == want_inst, "make install DESTDIR PREFIX=/opt/ksip: every file "
       "in its place", "missing %s, extra %s %s" % (sorted(want_inst - inst), sorted(inst - want_inst),
                                                   p.stderr))
with open(os.path.join(dest, "opt/ksip/lib/systemd/system/ksipd.service")) as f:
    u = f.read()
tap.ok("ExecStart=/opt/ksip/sbin/ksipd --config /etc/ksip/ksipd.conf" in u and "@" not in
       u.replace("@system-service", "").replace("@privileged", ""),
       "the installed unit runs /opt/ksip/sbin/ksipd")
with open(os.path.join(dest, "etc/ksip/ksipd.conf"), "a") as f:
    f.write("realm = mine\n")
p = run(["make", "install", "O=" + BUILD, "DESTDIR=" + dest, "PREFIX=/opt/ksip", "KDIR="])
with open(os.path.join(dest, "etc/ksip/ksipd.conf")) as f:
    tap.ok(p.returncode == 0 and "realm = mine" in f.read(),
           "a second make install keeps the operator's ksipd.conf")

tap.done()
