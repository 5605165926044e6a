#!/usr/bin/env python3
"""The config keys: one list in the code (the `!strcmp(key, "...")` branches of on_key() in
daemon/base/config.c), the same in docs/configuration.md, the example dist/ksipd.conf and
ksipd.conf(5). Fails on a key missing from any of them, or one they name that the code does not
know, and when the two generated files are not what scripts/gen-config-docs.py writes.
Runs alone (TAP, no build needed) and as the first part of tests/package/run.sh."""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def code_keys():
    body = read("daemon/base/config.c")
    body = body[body.index("static int on_key("):]
    body = body[:body.index("\n}\n")]
    return re.findall(r'!strcmp\(key, "(\w+)"\)', body)


def doc_keys():
    keys = []
    for line in read("docs/configuration.md").splitlines():
        m = re.match(r"\|\s*(`\w+`(?:,\s*`\w+`)*)\s*\|", line)
        if m:
            keys += re.findall(r"`(\w+)`", m.group(1))
    return keys


def check(tap):
    keys = code_keys()
    tap.ok(len(keys) > 40, "config.c's on_key() names %d keys" % len(keys))
    where = {
        "docs/configuration.md": set(doc_keys()),
        "dist/ksipd.conf": set(re.findall(r"^#(\w+) =", read("dist/ksipd.conf"), re.M)),
        "man/ksipd.conf.5": set(re.findall(r"\\fB(\w+)\\fR = ", read("man/ksipd.conf.5"))),
    }
    for path, found in where.items():
        missing = [k for k in keys if k not in found]
        extra = sorted(found - set(keys))
        tap.ok(not missing, "%s has every key of config.c" % path, "missing: %s" % " ".join(missing))
        tap.ok(not extra, "%s has no key config.c does not know" % path, "extra: %s" % " ".join(extra))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-config-docs.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    tap.ok(p.returncode == 0, "dist/ksipd.conf and ksipd.conf(5) are what scripts/gen-config-docs.py "
           "writes (a new key: a row in docs/configuration.md, then run it)", p.stdout + p.stderr)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
    from ksiptest import Tap
    t = Tap()
    check(t)
    t.done()
