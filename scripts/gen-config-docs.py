#!/usr/bin/env python3
"""Write dist/ksipd.conf and man/ksipd.conf.5 from the key table of docs/configuration.md.

The table is the one place a key is described; the example file (every key commented out at
its default) and the man page follow it. tests/package/check-config-keys.py fails when a key of
daemon/base/config.c is missing from any of them; run this after adding a row.
  scripts/gen-config-docs.py           rewrite both files
  scripts/gen-config-docs.py --check   exit 1 if either is not what this would write
"""
import os
import re
import sys
import textwrap

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATE = "2026-12-01"
# Reloaded by SIGHUP (daemon/main.c, reload()); every other key waits for a restart.
RELOADABLE = ("log_level", "trusted_peers", "shield_allow")


def rows():
    """(keys, defaults, meaning) per row of the key table, in order."""
    with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
        md = f.read()
    out = []
    for line in md.splitlines():
        m = re.match(r"\|\s*(`\w+`(?:,\s*`\w+`)*)\s*\|(.*?)\|(.*)\|\s*$", line)
        if not m:
            continue
        keys = re.findall(r"`(\w+)`", m.group(1))
        defaults = re.findall(r"`([^`]*)`", m.group(2))
        if len(defaults) != len(keys):
            defaults = [""] * len(keys)	# (empty), (none)
        out.append((keys, defaults, m.group(3).strip()))
    return out


def links(text):
    """[security](security.md#x) -> docs/security.md: outside the docs a bare word means nothing."""
    def one(m):
        target = m.group(2).split("#")[0]
        if not target.endswith(".md"):
            return m.group(1)
        if m.group(1) in (target, target[:-3]):
            return "docs/" + target
        return "%s (docs/%s)" % (m.group(1), target)
    return re.sub(r"\[([^\]]*)\]\(([^)]*)\)", one, text)


def plain(text):
    """Markdown of a table cell to plain text."""
    return links(text).replace("**", "").replace("`", "")


def roff(text):
    """Markdown of a table cell to roff: code in bold, links as their text."""
    text = links(text).replace("**", "")
    text = text.replace("\\", "\\e")
    text = re.sub(r"`([^`]*)`", lambda m: "\\fB" + m.group(1) + "\\fR", text)
    # One sentence per line, none longer than 78 bytes, none taken for a request.
    lines = []
    for sentence in re.split(r"(?<=[.;:]) +(?=[A-Z(\\])", text):
        lines += textwrap.wrap(sentence, 78, break_long_words=False, break_on_hyphens=False)
    return "\n".join("\\&" + l if l[0] in ".'" else l for l in lines)


def conf(table):
    out = ["# /etc/ksip/ksipd.conf: the configuration of ksipd (see ksipd.conf(5)).",
           "#",
           "# Every key stands here commented out at its default: ksipd runs with these values",
           "# as long as the line starts with '#'. Remove the '#' and change the value to set one.",
           "# `ksipd --check-config --config /etc/ksip/ksipd.conf` checks the file;",
           "# `systemctl reload ksipd` applies %s and the users" % ", ".join(RELOADABLE),
           "# without dropping calls; every other key needs `systemctl restart ksipd`.",
           "#",
           "# Written by scripts/gen-config-docs.py from docs/configuration.md.",
           "",
           "[ksipd]"]
    for keys, defaults, meaning in table:
        out.append("")
        for l in textwrap.wrap(plain(meaning), 94):
            out.append("# " + l)
        for k, d in zip(keys, defaults):
            out.append(("#%s = %s" % (k, d)).rstrip())
    return "\n".join(out) + "\n"


def man(table):
    out = [".\\\" Written by scripts/gen-config-docs.py from docs/configuration.md: edit that.",
           ".TH KSIPD.CONF 5 %s ksip \"File Formats Manual\"" % DATE,
           ".SH NAME",
           "ksipd.conf \\- configuration file of the ksip SIP proxy",
           ".SH SYNOPSIS",
           "/etc/ksip/ksipd.conf",
           ".SH DESCRIPTION",
           ".B ksipd",
           "reads an INI file given with",
           ".B \\-\\-config",
           "over its embedded defaults; without",
           ".B \\-\\-config",
           "the defaults alone apply.",
           "Each line is",
           ".IR key \" = \" value ;",
           "lines starting with",
           ".B #",
           "or",
           ".B ;",
           "are comments.",
           "Keys may stand before any section or in a",
           ".B [ksipd]",
           "section; no other section is accepted.",
           ".PP",
           "A bad file is reported on standard error,",
           "one line per bad line in file order,",
           "each naming the file, its line number and its key (or",
           ".B syntax error",
           "for a line that is not a key, a comment, a continuation or a section), and",
           ".B ksipd",
           "exits with status 2 without starting:",
           ".PP",
           ".EX",
           "ksipd: /etc/ksip/ksipd.conf:3: key \\(aqmin_expires\\(aq: invalid value: \\(aq\\-4\\(aq",
           "ksipd: /etc/ksip/ksipd.conf:7: unknown key \\(aqlisen\\(aq",
           ".EE",
           ".SH KEYS"]
    for keys, defaults, meaning in table:
        out.append(".TP")
        head = []
        for k, d in zip(keys, defaults):
            head.append("\\fB%s\\fR = %s" % (k, d.replace("\\", "\\e") if d else "(empty)"))
        out.append(", ".join(head))
        out.append(roff(meaning))
    out += [".PP",
            ".B min_expires",
            "<=",
            ".B default_expires",
            "<=",
            ".B max_expires",
            "and",
            ".B t1_ms",
            "<=",
            ".B t2_ms",
            "are required.",
            ".SH RELOAD",
            "On",
            ".B SIGHUP",
            "(\\fBsystemctl reload ksipd\\fR)",
            ".B ksipd",
            "reads the file again and applies",
            ", ".join("\\fB%s\\fR" % k for k in RELOADABLE) + ",",
            "and the users of its database, without dropping a call or a connection.",
            "A file with an error changes nothing; a change to any other key is logged and",
            "takes effect at the next restart.",
            ".SH FILES",
            ".TP",
            ".I /etc/ksip/ksipd.conf",
            "the file the packaged ksipd.service starts ksipd with; shipped with every key",
            "commented out at its default",
            ".TP",
            ".I /usr/share/doc/ksip/",
            "the documents named docs/ here (configuration.md, security.md, operations.md)",
            ".SH SEE ALSO",
            ".BR ksip (7),",
            ".BR ksipctl (8),",
            ".BR ksipd (8)"]
    return "\n".join(out) + "\n"


def main():
    table = rows()
    want = {os.path.join("dist", "ksipd.conf"): conf(table),
            os.path.join("man", "ksipd.conf.5"): man(table)}
    stale = []
    for path, text in want.items():
        full = os.path.join(ROOT, path)
        old = open(full).read() if os.path.exists(full) else None
        if old == text:
            continue
        if "--check" in sys.argv:
            stale.append(path)
        else:
            with open(full, "w") as f:
                f.write(text)
    if stale:
        print("not current (run scripts/gen-config-docs.py): " + " ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
