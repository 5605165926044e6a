#!/usr/bin/env python3
"""ksipd --check-config on configuration files with faults: every bad line is reported, one line
each on stderr, with its own line number and key, and ksipd exits 2 without starting."""
import os
import subprocess
import tempfile

from ksiptest import KSIPD, Tap

tap = Tap()


def check(text):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([KSIPD, "--check-config", "--config", f.name], capture_output=True, text=True,
                           timeout=20)
        return p.returncode, p.stdout, p.stderr.replace(f.name, "FILE")
    finally:
        os.unlink(f.name)


rc, out, err = check("realm = example.org\nworkers = 2\n")
tap.ok(rc == 0 and "configuration ok" in out, "a good file: configuration ok, exit 0", err)

rc, out, err = check("realm = example.org\n"
                     "tls_key = /etc/key.pem\n"
                     "workers = 2\n"
                     "max_calls = lots\n"
                     "# a comment\n"
                     "this line has no equals sign\n"
                     "lisen = udp:0.0.0.0:5060\n")
lines = err.splitlines()
tap.ok(rc == 2, "three bad keys and a syntax error: exit 2 (%d)" % rc, err)
tap.ok(lines == ["ksipd: FILE:2: unknown key 'tls_key'",
                 "ksipd: FILE:4: key 'max_calls': invalid value: 'lots'",
                 "ksipd: FILE:6: syntax error",
                 "ksipd: FILE:7: unknown key 'lisen'"],
       "every bad line on a line of its own with its own line number, nothing else on stderr", err)

rc, out, err = check("realm = a\nnot an assignment\n")
tap.ok(rc == 2 and err.strip() == "ksipd: FILE:2: syntax error", "a syntax error names its line", err)
tap.done()
