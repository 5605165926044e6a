#!/usr/bin/env python3
"""ksipd's /metrics and every `ksipctl --json` answer of the daemon, on a daemon with state.

The daemon gets users (some with the punctuation a user name may hold), bindings (one with a
Call-ID full of quotes and backslashes and a quoted +sip.instance), a call in progress
(SIPp on both ends) and bans (one with a reason holding quotes and a backslash). Then:
- every daemon command of ksipctl with --json parses under a strict parser (no NaN/Infinity, no
  duplicate key, nothing after the value);
- a scrape of /metrics passes `promtool check metrics`, shows every counter `ksipctl stats` shows
  with the same value, the gauges and histograms the state implies;
- every metric the Grafana dashboard (contrib/grafana/ksip.json) queries is in the scrape;
- the HTTP side answers only GET/HEAD /metrics (404, 405), and an attacker holding connections,
  sending a slow request or a huge URL gets bounded: few descriptors, 414, closed after the
  time-out, while SIP and the control socket go on answering.
"""
import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from ksiptest import KSIPD, Ksipd, SipClient, Tap, free_port, rand_token, recv_all, scrape_metrics

with contextlib.redirect_stdout(io.StringIO()):   # test_calls opens a TAP stream of its own
    from test_calls import Background, PASSWORDS, bob_answers, caller, finish, wait_call

T = Tap()
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DASHBOARD = os.path.join(ROOT, "contrib", "grafana", "ksip.json")
RTP_MIN = 41000 + (os.getpid() % 50) * 100
ODD_USERS = ["o'neil&co", "a+b=c$d,e;f?g/h", "(x)~y*z!"]


# --- strict JSON --------------------------------------------------------------------------

def no_constant(name):
    raise ValueError("not JSON (RFC 8259): %s" % name)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError("duplicate keys: %s" % ", ".join(sorted(dup)))
    return dict(pairs)


def strict_json(text):
    """json.loads that refuses NaN/Infinity and duplicate keys (json.loads already refuses
    trailing data and control characters in strings)."""
    return json.loads(text, parse_constant=no_constant, object_pairs_hook=no_duplicates)


def check_strict_parser():
    """The parser itself must refuse what it is here to catch."""
    for bad in ('{"a":1,"a":2}', '{"a":NaN}', '[Infinity]', '{"dscp":null0}', '[1]x', '"\x01"'):
        try:
            strict_json(bad)
            T.ok(False, "the strict parser refuses %r" % bad)
        except ValueError:
            T.ok(True, "the strict parser refuses %r" % bad)


# --- the Prometheus text format -----------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def scrape(port, host="127.0.0.1"):
    return scrape_metrics(socket.create_connection((host, port), timeout=5))


def samples(text):
    """{(name, labels-string): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            out[(m.group(1), m.group(3) or "")] = float(m.group(4))
    return out


def value(s, name, labels=""):
    return s.get((name, labels))


def total(s, name):
    return sum(v for (n, _), v in s.items() if n == name)


# What `ksipctl stats` names each counter, and where /metrics has it.
STATS_TO_METRIC = {
    "requests": ("sum", "ksip_sip_requests_total"),
    "responses_sent": ("sum", "ksip_sip_responses_sent_total"),
    "responses_received": "ksip_sip_responses_received_total",
    "parse_errors": "ksip_sip_parse_errors_total",
    "garbage_dropped": "ksip_sip_garbage_dropped_total",
    "auth_challenges": "ksip_auth_challenges_total",
    "auth_failures": "ksip_auth_failures_total",
    "auth_stale": "ksip_auth_stale_total",
    "auth_replays": "ksip_auth_replays_total",
    "nonces_tracked": "ksip_nonces_tracked",
    "nonces_evicted": "ksip_nonces_evicted_total",
    "nonce_bytes": "ksip_nonce_bytes",
    "banned_dropped": "ksip_shield_banned_dropped_total",
    "rate_limited": "ksip_shield_rate_limited_total",
    "auth_failures_source": "ksip_shield_auth_failures_source_total",
    "auth_user_failures": "ksip_shield_auth_user_failures_total",
    "bans_added": "ksip_shield_bans_added_total",
    "bans_active": "ksip_bans_active",
    "retransmissions": "ksip_sip_retransmissions_absorbed_total",
    "keepalives": "ksip_sip_keepalives_total",
    "relay_streams_cross_family": "ksip_media_streams_cross_family_total",
    "stun_answered": "ksip_stun_answered_total",
    "stun_dropped": "ksip_stun_dropped_total",
    "nat_keepalives_sent": "ksip_nat_keepalives_sent_total",
    "nat_keepalives_answered": "ksip_nat_keepalives_answered_total",
    "nat_keepalive_expired": "ksip_nat_keepalive_expired_total",
    "nat_keepalive_skipped": "ksip_nat_keepalive_skipped_total",
    "tcp_accepted": "ksip_tcp_accepted_total",
    "tcp_closed": "ksip_tcp_closed_total",
    "tcp_refused": ("ksip_tcp_refused_total", 'limit="tcp_max_connections"'),
    "tcp_refused_source": ("ksip_tcp_refused_total", 'limit="tcp_max_per_source"'),
    "tcp_accept_emfile": "ksip_tcp_accept_emfile_total",
    "tcp_header_timeouts": "ksip_tcp_header_timeouts_total",
    "tcp_idle_closed": "ksip_tcp_idle_closed_total",
    "tcp_write_overflows": "ksip_tcp_write_overflows_total",
    "tcp_connects": "ksip_tcp_connects_total",
    "tcp_connect_failed": "ksip_tcp_connect_failed_total",
    "tcp_connect_timeouts": "ksip_tcp_connect_timeouts_total",
    "tcp_connect_refused": "ksip_tcp_connect_refused_total",
    "tls_handshakes": "ksip_tls_handshakes_total",
    "tls_handshake_failed": "ksip_tls_handshake_failed_total",
    "tls_handshake_timeouts": "ksip_tls_handshake_timeouts_total",
    "tls_aliases": "ksip_tls_aliases_total",
    "tls_aliases_refused": "ksip_tls_aliases_refused_total",
    "transactions": "ksip_transactions",
    "branches": "ksip_branches",
    "calls_started": "ksip_calls_started_total",
    "calls_answered": ("sum", "ksip_calls_answered_total"),
    "calls_active": "ksip_calls_active",
    "calls_listed": "ksip_calls_listed",
    "relay_ports_in_use": "ksip_relay_ports_in_use",
    "relay_streams": ("ksip_media_streams", 'media="all"'),
    "kernel_flow_pairs": ("ksip_media_streams", 'media="kernel"'),
    "relay_fanout_sent": "ksip_relay_fanout_sent_total",
    "relay_fanout_errors": "ksip_relay_fanout_errors_total",
    "responses_forwarded": "ksip_proxy_responses_forwarded_total",
    "responses_stray": "ksip_proxy_responses_stray_total",
    "retransmissions_sent": "ksip_proxy_retransmissions_sent_total",
    "cancels_received": "ksip_proxy_cancels_received_total",
    "cancels_sent": "ksip_proxy_cancels_sent_total",
    "relay_denied": "ksip_proxy_relay_denied_total",
    "handoffs": "ksip_proxy_handoffs_total",
    "inbox_dropped": "ksip_proxy_inbox_dropped_total",
    "cap_rejects": "ksip_proxy_cap_rejects_total",
    "txn_done_early": "ksip_proxy_txn_done_early_total",
    "calls_freed_early": "ksip_proxy_calls_freed_early_total",
    "send_errors": "ksip_proxy_send_errors_total",
    "users": "ksip_users",
    "aors": "ksip_aors",
    "bindings": "ksip_bindings",
    "location_bytes": "ksip_location_bytes",
}


def metric_of(s, key):
    """The /metrics value for `ksipctl stats` KEY, or None when it has none."""
    if key.startswith("nft_"):
        return value(s, "ksip_shield_nft_packets_total", 'rule="%s"' % key[4:])
    where = STATS_TO_METRIC.get(key)
    if where is None:
        return None
    if isinstance(where, str):
        return value(s, where)
    if where[0] == "sum":
        names = {n for n, _ in s}
        return total(s, where[1]) if where[1] in names else None
    return value(s, where[0], where[1])


def compare_with_stats(d, mport):
    """Every counter of `ksipctl stats` is in /metrics with the same value (read while quiet:
    a key whose value moved between the two stats reads around the scrape is read again)."""
    missing, differ = [], {}
    for _ in range(10):
        before = strict_json(d.ctl("--json", "stats").stdout)
        s = samples(scrape(mport)[1])
        after = strict_json(d.ctl("--json", "stats").stdout)
        missing, differ = [], {}
        for k, v in before.items():
            if k in ("shield", "uptime_seconds", "requests_by_method", "responses_by_code"):
                continue
            m = metric_of(s, k)
            if m is None:
                missing.append(k)
            elif before[k] == after.get(k) and m != v:
                differ[k] = (v, m)
        for meth, v in before["requests_by_method"].items():
            m = value(s, "ksip_sip_requests_total", 'method="%s"' % meth)
            if m != v and before["requests_by_method"] == after["requests_by_method"]:
                differ["requests." + meth] = (v, m)
        for code, v in before["responses_by_code"].items():
            m = value(s, "ksip_sip_responses_sent_total", 'code="%s"' % code)
            if m != v and before["responses_by_code"] == after["responses_by_code"]:
                differ["responses." + code] = (v, m)
        if not missing and not differ:
            break
        time.sleep(0.2)
    T.ok(not missing, "every counter of `ksipctl stats` has a metric", missing)
    T.ok(not differ, "and the same value (stats, metrics)", differ)
    T.ok(value(s, "ksip_info", 'media="userspace",shield="%s"' % before["shield"]) == 1,
         "ksip_info names the media and the shield in force",
         [k for k in s if k[0] == "ksip_info"])
    T.ok(value(s, "ksip_start_time_seconds") is not None and
         abs(time.time() - before["uptime_seconds"] - value(s, "ksip_start_time_seconds")) < 5,
         "ksip_start_time_seconds: the start, as uptime_seconds says")


def check_histograms(s):
    """Cumulative buckets ending in +Inf, equal to _count; the state's observations counted."""
    for name, labels in (("ksip_call_setup_seconds", 'stage="provisional"'),
                         ("ksip_call_setup_seconds", 'stage="answer"'),
                         ("ksip_register_handling_seconds", "")):
        sel = labels + "," if labels else ""
        buckets = [(k[1], v) for k, v in s.items() if k[0] == name + "_bucket" and
                   k[1].startswith(sel + "le=")]
        les = [float(b[len(sel) + 4:-1]) for b, _ in buckets]
        counts = [v for _, v in buckets]
        count = value(s, name + "_count", labels)
        what = "%s{%s}" % (name, labels)
        T.ok(len(buckets) >= 5 and les[-1] == float("inf") and les == sorted(les) and
             counts == sorted(counts) and counts[-1] == count,
             "%s: cumulative buckets up to +Inf, which equals _count" % what, buckets)
        T.ok(count and count >= 1 and value(s, name + "_sum", labels) > 0,
             "%s: the state's observations are counted (%s)" % (what, count))


# --- the Grafana dashboard ----------------------------------------------------------------

PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "and", "or", "unless", "offset", "rate", "irate", "increase", "delta", "idelta",
    "deriv", "histogram_quantile", "label_replace", "label_join", "abs", "ceil", "floor",
    "round", "clamp_min", "clamp_max", "vector", "scalar", "time", "sort", "sort_desc",
    "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "resets", "changes",
    "absent", "inf", "nan", "e",
}


def dashboard_metrics(path):
    """Every metric name the dashboard's PromQL expressions (and variable queries) select."""
    with open(path) as f:
        dash = strict_json(f.read())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    for v in dash.get("templating", {}).get("list", []):
        m = re.match(r"label_values\((\w+)", v.get("query", ""))
        if m:
            exprs.append(m.group(1))
    names = set()
    for e in exprs:
        e = re.sub(r'"(?:[^"\\]|\\.)*"', "", e)                 # strings
        e = re.sub(r"\{[^}]*\}", "", e)                         # label matchers
        e = re.sub(r"\[[^\]]*\]", "", e)                        # ranges
        e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
        for ident in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
            if ident not in PROMQL_WORDS:
                names.add(ident)
    return exprs, names


# --- the daemon's state -------------------------------------------------------------------

def build_state(d):
    for u in ODD_USERS:
        d.add_user(u, "pw-" + rand_token())
    # A binding whose Call-ID and Contact need escaping in JSON.
    c = SipClient(d)
    c.call_id = 'we"ird\\id{%s}@test' % rand_token(4)
    r, _ = c.register("alice", PASSWORDS["alice"],
                      ['<sip:alice@127.0.0.1:%d>;+sip.instance="<urn:uuid:%s>"' %
                       (c.local[1], "00000000-0000-4000-8000-" + "a" * 12)])
    c.close()
    T.ok(r is not None and r.code == 200, "alice registers with a Call-ID of quotes and backslashes",
         r and r.code)
    # A failed authentication, for the failure counters.
    c = SipClient(d, transport="tcp")
    r, _ = c.register("carol", "not-her-password", ["<sip:carol@127.0.0.1:%d>" % c.local[1]])
    c.close()
    T.ok(r is not None and r.code in (401, 403), "a wrong password is refused", r and r.code)
    for args in (["ban", "add", "192.0.2.7", "--reason", 'said "hi" \\ then left'],
                 ["ban", "add", "2001:db8:1:2::/64", "--for", "300"]):
        p = d.ctl(*args, check=False)
        T.ok(p.returncode == 0, "ksipctl %s" % " ".join(args), p.stderr)


def json_commands(d):
    """Every daemon command of ksipctl that prints data, with --json: strict JSON of the
    expected shape."""
    expect = {("user", "list"): list, ("reg", "list"): list, ("stats",): dict,
              ("status",): dict, ("call", "list"): list, ("ban", "list"): list, ("shield",): dict}
    parsed = {}
    for cmd, typ in expect.items():
        p = d.ctl("--json", *cmd, check=False)
        try:
            v = strict_json(p.stdout)
            good = p.returncode == 0 and isinstance(v, typ)
            parsed[cmd] = v
            T.ok(good, "ksipctl --json %s: strict JSON (%s)" % (" ".join(cmd), typ.__name__),
                 p.stdout[:500] + p.stderr)
        except ValueError as e:
            T.ok(False, "ksipctl --json %s: strict JSON" % " ".join(cmd),
                 "%s\n%s" % (e, p.stdout[:2000]))
    users = [u["name"] if isinstance(u, dict) else u for u in parsed.get(("user", "list"), [])]
    T.ok(all(u in users for u in ODD_USERS), "user list: the names with punctuation, intact", users)
    regs = parsed.get(("reg", "list"), [])
    T.ok(any(r["call_id"].startswith('we"ird\\id{') for r in regs),
         "reg list: the Call-ID, quotes and backslashes intact", regs)
    bans = parsed.get(("ban", "list"), [])
    T.ok(any(b["note"] == 'said "hi" \\ then left' for b in bans) and len(bans) == 2,
         "ban list: both bans, the reason intact", bans)
    calls = parsed.get(("call", "list"), [])
    T.ok(any(c["state"] == "confirmed" for c in calls), "call list: the call in progress", calls)
    return parsed


# --- the HTTP side, and an attacker at it -------------------------------------------------

def http_raw(port, data, src="127.0.0.1", timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass            # ksipd answered (414, 431) and closed before taking it all
    out = recv_all(s)
    s.close()
    return out.decode(errors="replace")


def sip_alive(d):
    c = SipClient(d)
    r = c.transact(c.request("OPTIONS", "alice"))
    c.close()
    return r is not None and r.code == 200


def fds(d):
    return len(os.listdir("/proc/%d/fd" % d.proc.pid))


def http_edges(d, mport):
    r = http_raw(mport, b"GET /other HTTP/1.0\r\n\r\n")
    T.ok(r.startswith("HTTP/1.1 404"), "GET /other: 404", r[:200])
    r = http_raw(mport, b"POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello")
    T.ok(r.startswith("HTTP/1.1 405") and "Allow: GET, HEAD" in r, "POST /metrics: 405 with Allow",
         r[:300])
    r = http_raw(mport, b"DELETE /metrics HTTP/1.0\r\n\r\n")
    T.ok(r.startswith("HTTP/1.1 405"), "DELETE /metrics: 405", r[:200])
    r = http_raw(mport, b"HEAD /metrics HTTP/1.0\r\n\r\n")
    T.ok(r.startswith("HTTP/1.1 200") and "# TYPE" not in r, "HEAD /metrics: 200 without a body",
         r[:300])
    r = http_raw(mport, b"GET /metrics?x=" + b"A" * 200000 + b" HTTP/1.1\r\n\r\n")
    T.ok(r.startswith("HTTP/1.1 414"), "a 200 kB URL: 414, not read into memory", r[:200])
    r = http_raw(mport, b"GET /metrics HTTP/1.1\r\nX-Big: " + b"B" * 100000 + b"\r\n\r\n")
    T.ok(r.startswith("HTTP/1.1 431") or r.startswith("HTTP/1.1 413") or r == "",
         "a 100 kB header: refused (431) or the connection closed", r[:200])
    T.ok(sip_alive(d), "after them SIP still answers")


def http_attack(d, mport):
    """Hold 3 x 20 slow connections from three addresses: ksipd keeps at most 8 (4 per address),
    answers SIP and ksipctl all along, closes the slow ones after the time-out, serves again."""
    base = fds(d)
    held = []
    for src in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        for _ in range(20):
            s = socket.socket()
            s.settimeout(2)
            s.bind((src, 0))
            try:
                s.connect(("127.0.0.1", mport))
                s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")   # never finished
                held.append(s)
            except OSError:
                s.close()
    time.sleep(0.5)
    grown = fds(d) - base
    T.ok(grown <= 8, "60 slow connections take at most 8 descriptors of ksipd (took %d)" % grown)
    T.ok(sip_alive(d), "while they are held SIP answers")
    T.ok(d.ctl("--json", "status", check=False).returncode == 0, "and ksipctl too")
    start = time.time()
    closed = 0
    for s in held:
        s.settimeout(max(0.1, 30 - (time.time() - start)))
        try:
            if s.recv(100) == b"":
                closed += 1
        except ConnectionResetError:
            closed += 1
        except socket.timeout:
            pass
        s.close()
    T.ok(closed == len(held), "ksipd closed every slow connection (refused or timed out): %d of %d"
         % (closed, len(held)))
    head, body = scrape(mport)
    T.ok(head.startswith("HTTP/1.1 200") and "ksip_bindings" in body, "then it serves /metrics again",
         head)
    T.ok(fds(d) - base <= 1, "and its descriptors are back (%+d)" % (fds(d) - base))


# --- the run ------------------------------------------------------------------------------

def main():
    check_strict_parser()
    mport = free_port()
    d = Ksipd(auth_algorithms="MD5", rtp_ports="%d-%d" % (RTP_MIN, RTP_MIN + 49), t1_ms=100,
              t2_ms=400, t4_ms=500, timer_c=3, media_timeout=0, workers=2,
              metrics_listen="127.0.0.1:%d" % mport)
    try:
        for user, pw in PASSWORDS.items():
            d.add_user(user, pw)
        build_state(d)
        uas = bob_answers(d, "call_uas.xml")
        bg = Background(caller, d, "call_uac_wait_bye.xml", "bob")
        call = wait_call(d, "confirmed", "bob")
        T.ok(call is not None, "a call is in progress (SIPp on both ends)")
        parsed = json_commands(d)

        head, body = scrape(mport)
        T.ok(head.startswith("HTTP/1.1 200") and
             "Content-Type: text/plain; version=0.0.4" in head, "GET /metrics: 200, text format 0.0.4",
             head)
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                               text=True, timeout=30)
            T.ok(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
                 "promtool check metrics: no error, no lint", p.stdout + p.stderr)
        else:
            T.ok(False, "promtool is installed (scripts/deps.sh: prometheus)")
        s = samples(body)
        T.ok(value(s, "ksip_calls_active") == 1 and value(s, "ksip_bindings") == len(parsed[("reg", "list")])
             and value(s, "ksip_users") == len(parsed[("user", "list")]) and value(s, "ksip_bans_active") == 2,
             "gauges: 1 call, the bindings, users and bans the lists show",
             {k: value(s, k) for k in ("ksip_calls_active", "ksip_bindings", "ksip_users", "ksip_bans_active")})
        T.ok(value(s, "ksip_sip_requests_total", 'method="REGISTER"') >= 4 and
             value(s, "ksip_sip_transport_requests_total", 'transport="tcp"') >= 1 and
             value(s, "ksip_sip_responses_sent_total", 'code="401"') >= 1 and
             value(s, "ksip_calls_answered_total", 'media="userspace"') == 1 and
             value(s, "ksip_tcp_connections", 'transport="tcp"') is not None,
             "labels: requests by method and transport, responses by code, calls by media")
        T.ok(value(s, "ksip_kernel_up") == 0, "ksip_kernel_up 0: media is in userspace here")
        check_histograms(s)
        compare_with_stats(d, mport)

        exprs, names = dashboard_metrics(DASHBOARD)
        scraped = {n for n, _ in s}
        T.ok(len(exprs) >= 10 and len(names) >= 10,
             "the dashboard has queries (%d) naming metrics (%d)" % (len(exprs), len(names)))
        absent = sorted(n for n in names if n not in scraped and
                        not n.startswith(("ksip_shield_nft_", "ksip_kernel_")))
        T.ok(not absent, "every metric the dashboard queries is in the scrape", absent)
        # nftables and ksip.ko families are in the scrape only where they run: their names must
        # still be ones ksipd writes.
        with open(os.path.join(ROOT, "daemon", "metrics.c")) as f:
            src = f.read()
        other = sorted(n for n in names if n.startswith(("ksip_shield_nft_", "ksip_kernel_")) and
                       '"%s"' % re.sub(r"^ksip_|_(bucket|sum|count)$", "", n) not in src)
        T.ok(not other, "and the kernel/nftables ones are names daemon/metrics.c writes", other)

        http_edges(d, mport)
        http_attack(d, mport)

        d.ctl("call", "hangup", str(call["id"]), check=False) if call else None
        uac = bg.wait()
        T.ok(uac[0] == 0, "the call ends cleanly", uac[1])
        finish(uas)
        T.ok(strict_json(d.ctl("--json", "call", "list").stdout) is not None,
             "call list --json with an ended call: strict JSON")
        rc = d.stop()
        T.ok(rc == 0, "ksipd stops cleanly (no sanitizer report)", d.logtext()[-3000:])
    finally:
        d.cleanup()

    # Off: nothing listens.
    port = free_port()
    d = Ksipd(metrics_listen="")
    try:
        s = socket.socket()
        s.settimeout(1)
        refused = s.connect_ex(("127.0.0.1", port)) != 0
        s.close()
        T.ok(refused and "metrics:" not in d.logtext(), "metrics_listen empty: no HTTP listener")
    finally:
        d.cleanup()

    # Taken: ksipd says so and does not start half-way.
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    where = "127.0.0.1:%d" % busy.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="ksiptest-metrics-")
    try:
        conf = os.path.join(tmp, "ksipd.conf")
        with open(conf, "w") as f:
            f.write("listen = udp:127.0.0.1:%d\ndatabase = %s/k.db\ncontrol_socket = %s/k.sock\n"
                    "shield = userspace\nmetrics_listen = %s\n" % (free_port(), tmp, tmp, where))
        p = subprocess.run([KSIPD, "--config", conf], capture_output=True, text=True, timeout=30)
        T.ok(p.returncode == 1 and "metrics_listen %s: cannot listen (Address already in use)" % where
             in p.stderr, "metrics_listen on a port in use: ksipd refuses to start, saying why",
             p.stderr[-600:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    busy.close()
    T.done()


if __name__ == "__main__":
    main()
