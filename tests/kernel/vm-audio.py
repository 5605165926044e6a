#!/usr/bin/env python3
"""The phones' recordings from the VM (tests/kernel/vm-phones.sh), checked for each other's tone.

    tests/kernel/vm-audio.py RESULTS.TXT TAG

RESULTS.TXT holds each recording base64-encoded between "# wav begin NAME" and
"# wav end NAME". alice's baresip sent 440 Hz and bob's 1000 Hz through ksip.ko:
what alice received must carry 1000 Hz for at least 2 s and no 440 Hz, and the
reverse for bob (tests/phones/tone.py: a Goertzel filter over 50 ms blocks).
TAP lines out, each tagged "[TAG]" like run.sh's; exit status 1 if one fails.
"""
import base64
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "phones"))
import tone  # noqa: E402

HEARD = {"alice": (1000, 440), "bob": (440, 1000)}	# who: (the other's tone, its own)
MIN_SECONDS = 2.0


def recordings(path):
    """{name: WAV bytes} from the marked blocks of the results file."""
    out, name, lines = {}, None, []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("# wav begin "):
                name, lines = line.split()[-1], []
            elif line.startswith("# wav end ") and name:
                try:
                    out[name] = base64.b64decode("".join(lines), validate=True)
                except ValueError:	# garbled on the way out: the check below fails on it
                    out[name] = b""
                name = None
            elif name:
                lines.append(line)
    return out


def main():
    path, tag = sys.argv[1], sys.argv[2]
    wavs = recordings(path)
    fail = False

    def ok(cond, what, diag=None):
        nonlocal fail
        print("%s - [%s] %s" % ("ok" if cond else "not ok", tag, what))
        if not cond:
            fail = True
            if diag:
                print("#   %s" % diag)

    with tempfile.TemporaryDirectory(prefix="ksip-vm-audio-") as d:
        for who, (want, own) in HEARD.items():
            label = "phones in the VM: %s's baresip heard" % who
            if who not in wavs:
                ok(False, "%s: its recording came out of the VM" % label)
                continue
            f = os.path.join(d, who + ".wav")
            with open(f, "wb") as w:
                w.write(wavs[who])
            try:
                a = tone.Analysis(f, [want, own])
            except Exception as e:	# a damaged file: say what, fail the check
                ok(False, "%s: a readable WAV" % label, "%d bytes: %r" % (len(wavs[who]), e))
                continue
            ok(a.tone_seconds(want) >= MIN_SECONDS,
               "%s %.1f s or more of %d Hz (the other phone's tone)" % (label, MIN_SECONDS, want),
               a.summary())
            ok(a.tone_seconds(own) == 0, "%s no %d Hz (its own tone)" % (label, own), a.summary())
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
