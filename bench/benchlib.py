"""Helpers shared by the bench/ scripts: /proc accounting, users, servers."""
import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TICK = os.sysconf("SC_CLK_TCK")


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_deps(packages):
    need = [p for p in packages
            if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                              text=True).stdout.find("install ok installed") < 0]
    if need:
        print("bench: installing", " ".join(need), flush=True)
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", *need, stdout=subprocess.DEVNULL)
    sh("make", "-C", ROOT, "-s", "all")


def cpu_seconds(pids):
    """utime + stime of PIDS (all their threads), from /proc."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def ha1(user, realm, password, alg=hashlib.md5):
    return alg(("%s:%s:%s" % (user, realm, password)).encode()).hexdigest()


def ksip_users_db(path, realm, users):
    """USERS: [(name, password)] straight into ksipd's SQLite schema."""
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE users(name TEXT PRIMARY KEY, realm TEXT NOT NULL,"
                       " ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL);")
    conn.executemany("INSERT INTO users VALUES(?,?,?,?)",
                     [(u, realm, ha1(u, realm, pw), ha1(u, realm, pw, hashlib.sha256)) for u, pw in users])
    conn.commit()
    conn.close()


def kamailio_users_db(path, realm, users):
    conn = sqlite3.connect(path)
    share = "/usr/share/kamailio/db_sqlite/"
    for f in ("standard-create.sql", "auth_db-create.sql"):
        with open(share + f) as sql:
            conn.executescript(sql.read())
    conn.executemany("INSERT INTO subscriber(username, domain, password, ha1, ha1b) VALUES(?,?,?,?,?)",
                     [(u, realm, "", ha1(u, realm, pw), "") for u, pw in users])
    conn.commit()
    conn.close()


class Server:
    name = ""
    proc = None

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_for(path, settle):
    """Until a server's control socket appears (5 s at most), then SETTLE seconds more."""
    for _ in range(100):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    time.sleep(settle)


def start_ksipd(d, conf_lines, prefix=()):
    """ksipd (release build) with CONF_LINES in D, run under PREFIX (e.g. ip netns exec NS);
    returns (Popen, control socket)."""
    sock = os.path.join(d, "ksipd.sock")
    conf = os.path.join(d, "ksipd.conf")
    with open(conf, "w") as f:
        # The host's nf_tables ruleset is not the bench's to change (CONF_LINES may override).
        # No /metrics: two daemons of a bench would both want its default port.
        f.write("control_socket = %s\nshield = userspace\nmetrics_listen =\n%s\n" %
                (sock, "\n".join(conf_lines)))
    log = open(os.path.join(d, "ksipd.log"), "w")
    proc = subprocess.Popen(list(prefix) + [os.path.join(ROOT, "build", "ksipd"), "--config", conf],
                            stderr=log)
    wait_for(sock, settle=0.3)
    return proc, sock


def start_kamailio(d, template, subst, prefix=()):
    """Kamailio from bench/TEMPLATE with @KEY@ replaced, run under PREFIX; returns (Popen, ctl socket)."""
    with open(os.path.join(HERE, template)) as f:
        cfg = f.read()
    for k, v in dict(subst, DIR=d).items():
        cfg = cfg.replace("@%s@" % k, str(v))
    conf = os.path.join(d, "kamailio.cfg")
    with open(conf, "w") as f:
        f.write(cfg)
    ctl = os.path.join(d, "kamailio.ctl")
    log = open(os.path.join(d, "kamailio.log"), "w")
    proc = subprocess.Popen(list(prefix) + ["kamailio", "-f", conf, "-DD", "-E", "-m", "2048", "-M", "64", "-Y", d],
                            stderr=log, stdout=log)
    wait_for(ctl, settle=0.5)
    return proc, ctl


def process_group(proc, name):
    out = subprocess.run(["pgrep", "-g", str(os.getpgid(proc.pid)), name], capture_output=True,
                         text=True).stdout
    return [int(x) for x in out.split()] or [proc.pid]


def kamcmd(ctl, *args):
    return subprocess.run(["kamcmd", "-s", "unix:" + ctl] + list(args), capture_output=True,
                          text=True).stdout


def sipp_counts(stdout, calls):
    ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", stdout)
    bad = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", stdout)
    return (int(ok.group(1)) if ok else 0), (int(bad.group(1)) if bad else calls)
