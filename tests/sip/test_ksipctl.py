#!/usr/bin/env python3
"""ksipctl's command table against its usage text, its dispatch and the docs;
usage errors, and hostile arguments refused before ksipd or ksip.ko is asked.
No daemon: the socket named does not exist, and ksip.ko need not be loaded."""
import os
import re
import subprocess

from ksiptest import KSIPCTL, ROOT, Tap

tap = Tap()
NOSOCK = "/nonexistent/ksipd.sock"


def ctl(*args, stdin=None):
    return subprocess.run([KSIPCTL, "--socket", NOSOCK] + list(args), input=stdin,
                          capture_output=True, text=True, timeout=10)


def table():
    """(group, verb or None, daemon?) for each entry of ctl_cmds[] in ctl/ksipctl.c."""
    with open(os.path.join(ROOT, "ctl", "ksipctl.c")) as f:
        src = f.read()
    body = re.search(r"ctl_cmds\[\] = \{(.*?)\n\};", src, re.S).group(1)
    rows = re.findall(r'\{ "(\w+)", (?:"(\w+)"|NULL),(.*?)\},?\n', body + "\n", re.S)
    return [(g, v or None, "CTL_" in rest) for g, v, rest in rows]


def uapi(name):
    with open(os.path.join(ROOT, "include", "uapi", "linux", "ksip.h")) as f:
        return int(re.search(r"#define %s (\d+)" % name, f.read()).group(1))


cmds = table()
names = [g + (" " + v if v else "") for g, v, _ in cmds]
tap.ok(len(cmds) >= 16 and "user add" in names and "guard show" in names,
       "the command table is read from ctl/ksipctl.c (%d commands)" % len(cmds), names)

# --- usage text: generated from the table, so it lists every command and nothing else ---
help_ = ctl("--help")
tap.ok(help_.returncode == 0 and help_.stdout.startswith("usage: ksipctl") and not help_.stderr,
       "--help: usage on stdout, exit 0", help_.stderr)
listed = [line[2:] for line in help_.stdout.splitlines()[1:] if re.match(r"  \w", line)]
missing = [n for n in names if not any(l == n or l.startswith(n + " ") for l in listed)]
tap.ok(not missing, "the usage text lists every command of the table", missing)
tap.ok(len(listed) == len(cmds), "and no command that is not in the table (%d lines)" % len(listed),
       help_.stdout)

p = subprocess.run([KSIPCTL], capture_output=True, text=True, timeout=10)
tap.ok(p.returncode == 2 and p.stderr == help_.stdout and not p.stdout,
       "no command: the usage on stderr, exit 2", p.stderr)
p = ctl("frobnicate")
tap.ok(p.returncode == 2 and "unknown command: frobnicate" in p.stderr and help_.stdout in p.stderr,
       "unknown command: says so, the usage, exit 2", p.stderr)
p = ctl("user", "frobnicate")
tap.ok(p.returncode == 2 and "unknown command: user frobnicate" in p.stderr
       and "user add" in p.stderr and "flow add" not in p.stderr,
       "unknown verb: the usage of that group, exit 2", p.stderr)
p = ctl("--frobnicate", "stats")
tap.ok(p.returncode == 2 and help_.stdout in p.stderr, "unknown option: the usage, exit 2", p.stderr)

# --- dispatch: every command in the table reaches its handler -----------------------------
sample = {
    "user add": ["alice"], "user passwd": ["alice"], "user del": ["alice"], "user list": [],
    "user set": ["alice", "--digest", "md5"],
    "reg list": [], "reg del": ["alice"], "stats": [], "call list": [], "call hangup": ["1"],
    "ban list": [], "ban add": ["192.0.2.1"], "ban del": ["192.0.2.1"], "shield": [], "status": [],
    "tls show": [], "tls reload": [],
    "flow add": ["127.0.0.1:4000", "from", "127.0.0.1:4001", "to", "127.0.0.1:4002", "latch"],
    "flow del": ["127.0.0.1:4000"], "flow list": [], "flow flush": [], "kstats": [],
    "flow output": ["127.0.0.1:4000", "from", "127.0.0.1:4001", "to", "127.0.0.1:4003"],
    "flow get": ["127.0.0.1:4000"],
    "guard set": ["5060"], "guard show": [],
}
# Kernel commands that would change the host's state if ksip.ko were loaded here.
MUTATING = ("flow add", "flow del", "flow flush", "guard set", "flow output")
for (_, _, daemon), name in zip(cmds, names):
    args = sample.get(name)
    if args is None:
        tap.ok(False, "%s: give this test sample arguments for the new command" % name)
        continue
    if not daemon and name in MUTATING and os.path.exists("/sys/module/ksip"):
        tap.ok(True, "%s: dispatched # SKIP ksip.ko is loaded here: the host's flows are left alone"
               % name)
    else:
        p = ctl("--password-stdin", *(name.split() + args), stdin="pw\n")
        if daemon:
            good = p.returncode == 1 and "cannot reach ksipd at " + NOSOCK in p.stderr
        else:
            # ksip.ko answers, or is missing, or we lack CAP_NET_ADMIN: no usage error either way.
            good = p.returncode in (0, 1) and "usage" not in p.stderr
        tap.ok(good, "%s: dispatched to %s" % (name, "ksipd" if daemon else "ksip.ko"), p.stderr)
    # Arguments left out where some are needed, one given where none is.
    p = ctl(*(name.split() + ([] if args else ["x"])))
    tap.ok(p.returncode == 2 and p.stderr.startswith("usage: ksipctl " + name)
           and p.stderr.count("\n") == 1, "%s with wrong arguments: its usage line, exit 2" % name,
           p.stderr)

# --- hostile arguments: refused by ksipctl, with the kernel's own bounds -----------------
p = ctl("user", "del", "a\tb")
tap.ok(p.returncode == 1 and "may not contain TAB" in p.stderr, "a TAB in an argument is refused",
       p.stderr)
p = ctl("reg", "del", "a\nb")
tap.ok(p.returncode == 1 and "may not contain TAB or newline" in p.stderr,
       "a newline in an argument is refused", p.stderr)
p = ctl("user", "del", "a" * 5000)
tap.ok(p.returncode == 1 and "request too long" in p.stderr,
       "an argument longer than a request is refused, not cut short", p.stderr)
p = ctl("user", "add", "bob", "--password-stdin", stdin="a\tb\n")
tap.ok(p.returncode == 1 and "may not contain a TAB" in p.stderr, "a TAB in a password is refused",
       p.stderr)
for args in (("user", "set", "bob", "--digest", "a\tb"),
             ("user", "add", "bob", "--digest", "md5\tx", "--password-stdin")):
    p = ctl(*args, stdin="pw\n")
    tap.ok(p.returncode == 1 and "may not contain TAB" in p.stderr,
           "%s --digest with a TAB is refused" % " ".join(args[:2]), p.stderr)
for args in (("user", "set", "bob", "--digest", ""), ("user", "add", "bob", "--digest", "")):
    p = ctl(*args, "--password-stdin", stdin="pw\n")
    tap.ok(p.returncode == 1 and "--digest: empty" in p.stderr,
           "%s --digest '' is refused" % " ".join(args[:2]), p.stderr)
p = ctl("user", "passwd", "bob", "--digest", "md5", "--password-stdin", stdin="pw\n")
tap.ok(p.returncode == 2 and p.stderr.startswith("usage: ksipctl user passwd"),
       "user passwd --digest: its usage (the setting is changed with user set)", p.stderr)
p = ctl("user", "add", "bob", stdin="pw\n")
tap.ok(p.returncode == 1 and "use --password-stdin" in p.stderr,
       "no terminal and no --password-stdin: says how", p.stderr)
for opt, bad in (("--reason", "a\tb"), ("--reason", "a\nb"), ("--for", "1\t2")):
    p = ctl("ban", "add", "192.0.2.1", opt, bad)
    tap.ok(p.returncode == 1 and "may not contain TAB or newline" in p.stderr,
           "ban add %s with a TAB or newline is refused" % opt, p.stderr)
for bad in ("-5", "10s", "", "1e9"):
    p = ctl("ban", "add", "192.0.2.1", "--for", bad)
    tap.ok(p.returncode == 1 and "--for: not a number of seconds" in p.stderr,
           "ban add --for %r is refused" % bad, p.stderr)
maxports = uapi("KSIP_GUARD_MAX_PORTS")
p = ctl("guard", "set", *[str(5000 + i) for i in range(maxports + 1)])
tap.ok(p.returncode == 1 and "at most %d ports" % maxports in p.stderr,
       "guard set: one port more than KSIP_GUARD_MAX_PORTS is refused", p.stderr)
for bad in ("0", "65536", "-1", "50x", ""):
    p = ctl("guard", "set", "5060", bad)
    tap.ok(p.returncode in (1, 2) and ("bad port" in p.stderr or "usage" in p.stderr),
           "guard set: port %r is refused" % bad, p.stderr)
flow = ["flow", "add", "127.0.0.1:4000", "from", "127.0.0.1:4001", "to", "127.0.0.1:4002"]
dscp_max = uapi("KSIP_FLOW_DSCP_MAX")
p = ctl(*flow, "dscp", str(dscp_max + 1))
tap.ok(p.returncode == 1 and "bad dscp (0-%d)" % dscp_max in p.stderr,
       "flow add: a DSCP over KSIP_FLOW_DSCP_MAX is refused", p.stderr)
with open(os.path.join(ROOT, "include", "uapi", "linux", "ksip.h")) as f:
    h, m, s = re.search(r"#define KSIP_FLOW_TIMEOUT_MAX \((\d+) \* (\d+) \* (\d+)\)", f.read()).groups()
p = ctl(*flow, "timeout", str(int(h) * int(m) * int(s) + 1))
tap.ok(p.returncode == 1 and "bad timeout" in p.stderr,
       "flow add: a timeout over KSIP_FLOW_TIMEOUT_MAX is refused", p.stderr)
for args, what in ((["127.0.0.1"], "bad LOCAL"), (["[::1]:1", "from", "x", "to", "y"], "bad SOURCE"),
                   (flow[2:] + ["expect"], "unknown flow option"), (flow[2:] + ["bogus"], "unknown")):
    p = ctl("flow", "add", *args)
    tap.ok(p.returncode in (1, 2) and ("usage" in p.stderr or what in p.stderr),
           "flow add %s: refused" % " ".join(args), p.stderr)

outputs_max = uapi("KSIP_FLOW_OUTPUTS_MAX")
many = ["flow", "output", "127.0.0.1:4000"]
for i in range(outputs_max + 1):
    many += ["from", "127.0.0.1:%d" % (5000 + i), "to", "127.0.0.1:%d" % (6000 + i)]
p = ctl(*many)
tap.ok(p.returncode == 1 and "more than %d outputs" % outputs_max in p.stderr,
       "flow output: more than KSIP_FLOW_OUTPUTS_MAX outputs are refused", p.stderr)
for args, what in ((["127.0.0.1:4000", "from", "127.0.0.1:1", "to"], "usage"),
                   (["127.0.0.1:4000", "from", "127.0.0.1:1", "onto", "127.0.0.1:2"], "usage"),
                   (["127.0.0.1:4000", "from", "127.0.0.1", "to", "127.0.0.1:2"], "bad output SOURCE"),
                   (["127.0.0.1:4000", "from", "127.0.0.1:1", "to", "x"], "bad output PEER"),
                   (["127.0.0.1:4000", "all"], "usage"), (["x", "none"], "bad LOCAL")):
    p = ctl("flow", "output", *args)
    tap.ok(p.returncode in (1, 2) and what in p.stderr, "flow output %s: refused" % " ".join(args),
           p.stderr)

# --- docs: every command is described for operators -------------------------------------
docs = ""
for f in ("operations.md", "kernel.md"):
    with open(os.path.join(ROOT, "docs", f)) as fh:
        docs += fh.read()
undocumented = [n for n in names if n not in docs]
tap.ok(not undocumented, "docs/operations.md or docs/kernel.md describe every command", undocumented)

tap.done()
