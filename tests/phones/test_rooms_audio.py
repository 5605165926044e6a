#!/usr/bin/env python3
"""Conference rooms with real phones: five baresips call rooms whose focus is ksipd.

    ns cf*-srv: ksipd (sanitizer build, userspace media), rooms on its mixer
    ns cf*-m1 .. cf*-m5: baresip as alice, bob, carol, dave, eve, each sending
                         its own tone (500, 700, 1000, 1300, 1700 Hz) from ausine

Each phone records what it receives (sndfile's dump-*-dec.wav). A member's
recording must carry every other member's tone and never its own (N-1 mixing),
with three members and with five; a member that hung up must be heard no more;
a member of a PIN room is heard only once it keyed the PIN with baresip's
"sndcode" (RFC 4733 telephone-events), a wrong PIN first; a phone offering only
A-law and one offering mu-law hear each other.

A tone "is heard" in a 50 ms block when it holds 10 % of the block's energy
or more (four tones mixed hold about 25 % each); it must be heard for 1.5 s
at least, and the own tone for no block at all.
"""
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))

import ksiptest  # noqa: E402
import phonetest  # noqa: E402
import tone  # noqa: E402
from baresip_ua import Baresip  # noqa: E402
from phonenet import PhoneNet  # noqa: E402

DOMAIN = phonetest.DOMAIN
PHONES = [("m1", "alice", 500), ("m2", "bob", 700), ("m3", "carol", 1000), ("m4", "dave", 1300),
          ("m5", "eve", 1700)]
PASSWORDS = {u: u + "-room-pw-5" for _, u, _ in PHONES}
HEARD = 0.10		# share of a block's energy
MIN_HEARD_S = 1.5
PIN = "2468"

T = ksiptest.Tap()


class Room:
    def __init__(self):
        self.net = PhoneNet([ns for ns, _, _ in PHONES], prefix="cf")
        self.dir = tempfile.mkdtemp(prefix="cf-" + self.net.tag + "-")
        self.d = None
        self.p = {}
        try:
            c = dict(listen="udp:0.0.0.0:5060 tcp:0.0.0.0:5060", realm=DOMAIN, media="userspace",
                     rtp_ports="30000-30999")
            c.update(phonetest.calls_conf())
            self.d = ksiptest.Ksipd(netns=self.net.srv, **c)
            for u, pw in PASSWORDS.items():
                self.d.add_user(u, pw)
            for ns, user, hz in PHONES:
                self.p[user] = Baresip(self.net, self.net.links[ns], user, PASSWORDS[user], DOMAIN,
                                       hz, self.dir, codecs="PCMA" if user == "eve" else None)
        except Exception:
            self.cleanup()
            raise
        self.hz = {user: hz for _, user, hz in PHONES}

    def rooms(self):
        return {r["name"]: r for r in json.loads(self.d.ctl("--json", "room", "list").stdout)}

    def join(self, users, room):
        ok = True
        for u in users:
            ph = self.p[u]
            m = ph.mark()
            ph.call("sip:%s@%s" % (room, DOMAIN))
            ok &= T.ok(ph.wait_established(m, timeout=10) is not None,
                       "%s: %s's call to the room is established" % (room, u), ph.logtext()[-1500:])
        return ok

    def leave(self, users):
        for u in users:
            m = self.p[u].mark()
            self.p[u].hangup()
            self.p[u].wait_ended(m, timeout=5)

    def blocks(self, user, last_s=None):
        """Per 50 ms block of USER's latest recording: {hz: share} (None: silent)."""
        wav = self.p[user].received_wav()
        if not wav:
            return [], "no recording"
        a = tone.Analysis(wav, list(self.hz.values()) + [440])
        b = a.blocks if last_s is None else a.blocks[-int(last_s * 1000 / tone.BLOCK_MS):]
        return b, a.summary()

    def check_mix(self, room, users, last_s=None, gone=()):
        """Each of USERS heard every other of USERS, not itself, nor any of GONE."""
        for u in users:
            blocks, summary = self.blocks(u, last_s)
            secs = {o: sum(1 for b in blocks if b and b[self.hz[o]] >= HEARD) * tone.BLOCK_MS / 1000
                    for o in users + list(gone)}
            others = [o for o in users if o != u]
            T.ok(all(secs[o] >= MIN_HEARD_S for o in others),
                 "%s: %s hears %s" % (room, u, ", ".join(others)), "%s\n%s" % (secs, summary))
            T.ok(secs[u] == 0, "%s: %s never hears its own tone" % (room, u), "%s\n%s" % (secs, summary))
            for g in gone:
                T.ok(secs[g] == 0, "%s: %s no longer hears %s, who left" % (room, u, g),
                     "%s\n%s" % (secs, summary))

    def cleanup(self):
        for ph in self.p.values():
            ph.stop()
        rc = 0
        if self.d:
            rc = self.d.stop()
            shutil.rmtree(self.d.dir, ignore_errors=True)
        self.net.cleanup()
        if os.environ.get("KEEP_PHONE_LOGS"):
            print("# logs kept in " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc


def wait_admitted(r, room, user, want, timeout=5):
    deadline = time.time() + timeout
    while True:
        st = {m["user"]: m["admitted"] for m in r.rooms()[room]["members"]}
        if st.get(user) is want or time.time() > deadline:
            return st
        time.sleep(0.1)


def main():
    r = Room()
    try:
        regs = [r.d.bindings(u) or (time.sleep(1) or r.d.bindings(u)) for u in PASSWORDS]
        T.ok(all(regs), "five baresips registered", regs)
        for name, extra in (("three", ["--max", "3"]), ("five", ["--max", "5"]),
                            ("locked", ["--pin", PIN]), ("laws", [])):
            r.d.ctl("room", "add", name, *extra)

        # Three members, then one leaves.
        three = ["alice", "bob", "carol"]
        if r.join(three, "three"):
            time.sleep(4)
            T.ok(len(r.rooms()["three"]["members"]) == 3, "room list: three members in 'three'")
            r.leave(["carol"])
            time.sleep(3)
            r.leave(["alice", "bob"])
            r.check_mix("three (before carol left)", three, last_s=None)
            r.check_mix("three (the last 2 s)", ["alice", "bob"], last_s=2, gone=["carol"])
        else:
            r.leave(three)

        # Five members.
        five = [u for _, u, _ in PHONES]
        if r.join(five, "five"):
            time.sleep(4)
            st = r.rooms()["five"]["members"]
            T.ok(len(st) == 5 and all(m["rx_packets"] > 100 and m["tx_packets"] > 100 for m in st),
                 "room list: five members, packets both ways", st)
            r.leave(five)
            r.check_mix("five", five)
        else:
            r.leave(five)

        # mu-law and A-law.
        if r.join(["alice", "eve"], "laws"):
            laws = {m["user"]: m["codec"] for m in r.rooms()["laws"]["members"]}
            T.ok(laws == {"alice": "PCMU", "eve": "PCMA"},
                 "laws: alice talks PCMU, eve (A-law only) PCMA", laws)
            time.sleep(3.5)
            r.leave(["alice", "eve"])
            r.check_mix("laws", ["alice", "eve"])
        else:
            r.leave(["alice", "eve"])

        # PIN: a wrong one, then the right one, by RFC 4733 from baresip.
        if r.join(["alice", "bob"], "locked"):
            time.sleep(1)
            st = {m["user"]: m["admitted"] for m in r.rooms()["locked"]["members"]}
            T.ok(st == {"alice": False, "bob": False}, "locked: nobody admitted before a PIN", st)
            before = r.d.stats().get("auth_failures_source", 0)
            r.p["alice"].command("sndcode", "1357#")
            time.sleep(2)
            st = wait_admitted(r, "locked", "alice", True, timeout=1)
            after = r.d.stats().get("auth_failures_source", 0)
            T.ok(st.get("alice") is False and after == before + 1,
                 "locked: a wrong PIN keyed on baresip is refused and counted", (st, before, after))
            for u in ("alice", "bob"):
                r.p[u].command("sndcode", PIN + "#")
                st = wait_admitted(r, "locked", u, True)
                T.ok(st.get(u) is True, "locked: the right PIN keyed on baresip admits %s" % u, st)
            time.sleep(3)
            r.leave(["alice", "bob"])
            r.check_mix("locked (the last 2 s)", ["alice", "bob"], last_s=2)
            blocks, summary = r.blocks("bob")
            beeps = sum(1 for b in blocks[:20] if b and b[440] >= 0.8)
            T.ok(beeps >= 3, "locked: bob heard the PIN prompt's beeps at first", summary)
        else:
            r.leave(["alice", "bob"])
        T.ok(all(not x["members"] for x in r.rooms().values()), "every room is empty at the end")
    finally:
        rc = r.cleanup()
    T.ok(rc == 0, "ksipd exits cleanly (no sanitizer report)")
    T.done()


if __name__ == "__main__":
    main()
