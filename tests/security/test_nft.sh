#!/bin/bash
# The nftables shield (daemon/shield/nft.c) against packets, in namespaces (TAP).
#
#   ns $A: the shield's table, UDP receivers     ns $B: the sources
#   +----------------------------+              +---------------------------+
#   | a0 10.77.0.1  fd77::1      |--- veth -----| b0 10.77.0.2 .3 .4        |
#   |    fd77:0:0:1::1           |              |    fd77::2 fd77::5        |
#   | table inet ksip            |              |    fd77:0:0:1::3          |
#   +----------------------------+              +---------------------------+
#   10.77.0.2 / fd77::2 get banned, 10.77.0.3 / fd77:0:0:1::3 never, 10.77.0.4 is
#   in shield_allow (and banned too: allow wins). An IPv6 ban covers the /64
#   (ban6 holds intervals): banning fd77::2 bans fd77::5 too, not fd77:0:0:1::3.
#
# Everything runs in the two namespaces made here (the machine's own ruleset
# is never touched) and they are deleted at the end. Needs root, nft, conntrack.
set -u
cd "$(dirname "$0")/../.." || exit 1
HELPER=${NFT_HELPER:-build/tests/nft_helper}
A=ksipnftA$$
B=ksipnftB$$
TMP=$(mktemp -d)
n=0
fail=0

ok() {	# ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=$((fail + 1)); fi
}
cleanup() {
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
[ -n "${KEEP_NS:-}" ] && trap - EXIT	# KEEP_NS=1: leave the namespaces to look at

echo "TAP version 13"
if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null || ! command -v conntrack >/dev/null ||
   [ ! -x "$HELPER" ]; then
	echo "1..0 # SKIP needs root, nft, conntrack and $HELPER (make tests)"
	exit 0
fi

ip netns add "$A" && ip netns add "$B" || exit 1
ip link add a0 netns "$A" type veth peer name b0 netns "$B"
ip -n "$A" addr add 10.77.0.1/24 dev a0
ip -n "$A" addr add fd77::1/64 dev a0 nodad
ip -n "$A" addr add fd77:0:0:1::1/64 dev a0 nodad
ip -n "$B" addr add 10.77.0.2/24 dev b0
ip -n "$B" addr add 10.77.0.3/24 dev b0
ip -n "$B" addr add 10.77.0.4/24 dev b0
ip -n "$B" addr add fd77::2/64 dev b0 nodad
ip -n "$B" addr add fd77::5/64 dev b0 nodad
ip -n "$B" addr add fd77:0:0:1::3/64 dev b0 nodad
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip -n "$A" link set a0 up
ip -n "$B" link set b0 up

cat >"$TMP/ksipd.conf" <<EOF
listen = udp:0.0.0.0:5060 tcp:0.0.0.0:5060 udp:[::]:5060
rtp_ports = 20000-20099
shield_allow = 10.77.0.4
shield_sip_rate = 50
shield_sip_burst = 20
EOF

# udp.py recv PORT STOPFILE: datagrams received until 0.3 s after STOPFILE exists (10 s at most)
# udp.py send SRC DST PORT COUNT [SPORT]
cat >"$TMP/udp.py" <<'EOF'
import os, socket, sys, time
def fam(a): return socket.AF_INET6 if ':' in a else socket.AF_INET
if sys.argv[1] == 'recv':
    port, stop = int(sys.argv[2]), sys.argv[3]
    socks = []
    for f, a in ((socket.AF_INET, '0.0.0.0'), (socket.AF_INET6, '::')):
        s = socket.socket(f, socket.SOCK_DGRAM)
        if f == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((a, port)); s.setblocking(False); socks.append(s)
    print('ready', flush=True)
    n, end = 0, time.time() + 10
    while time.time() < end:
        if os.path.exists(stop): end = min(end, os.stat(stop).st_mtime + 0.3)
        for s in socks:
            try:
                while True: s.recv(2048); n += 1
            except BlockingIOError: pass
        time.sleep(0.01)
    print(n)
else:
    src, dst, port, count = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    sport = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    s = socket.socket(fam(dst), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    for i in range(count): s.sendto(b'OPTIONS sip:x SIP/2.0\r\n\r\n', (dst, port))
EOF

# delivered PORT SRC DST COUNT: how many of COUNT datagrams from SRC reach PORT in $A
delivered() {
	local out; out=$(mktemp -p "$TMP" recv.XXXXXX)	# not $RANDOM: run.sh runs this with sh (dash)
	ip netns exec "$A" python3 "$TMP/udp.py" recv "$1" "$out.stop" >"$out" &
	local pid=$!
	for _ in $(seq 250); do grep -q ready "$out" 2>/dev/null && break; sleep 0.02; done
	ip netns exec "$B" python3 "$TMP/udp.py" send "$2" "$3" "$1" "$4"
	touch "$out.stop"
	wait "$pid"
	tail -1 "$out"
}
counter() {	# packets of a named counter
	ip netns exec "$A" nft -j list counter inet ksip "$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin)["nftables"]; print([o["counter"]["packets"] for o in d if "counter" in o][0])'
}
set_elems() {	# elements of a set, one per line
	ip netns exec "$A" nft -j list set inet ksip "$1" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        v = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
        print("%s/%d" % (v["prefix"]["addr"], v["prefix"]["len"]) if isinstance(v, dict) else v)'
}
helper() { ip netns exec "$A" "$HELPER" "$TMP/ksipd.conf" "$@"; }

# 1: the table and its names
# Long enough for the packet checks below (about a second each), short enough to wait out.
BAN=8
helper open ban 10.77.0.2 $BAN ban fd77::2 $BAN ban 10.77.0.4 60 keep >"$TMP/h1" 2>&1
ok $? "open and ban v4, v6 and an allowed address ($BAN s and 60 s)"
# The kernel starts a ban's clock when the element is added, which is before
# the helper returns: by t_added + BAN every ban must be gone.
t_added=$(date +%s.%N)
ip netns exec "$A" nft -j list table inet ksip >"$TMP/table.json"
python3 - "$TMP/table.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))["nftables"]
names = lambda k: {o[k]["name"] for o in d if k in o}
want = {"set": {"sip_udp", "sip_tcp", "ban4", "ban6", "allow4", "allow6", "rate4", "rate6"},
        "chain": {"early", "prerouting", "output", "sip", "relay"},
        "counter": {"allow_sip", "allow_relay", "ban_sip", "ban_relay", "rate_sip"}}
bad = [(k, v - names(k)) for k, v in want.items() if v - names(k)]
pre = [o["chain"] for o in d if "chain" in o and o["chain"]["name"] == "prerouting"][0]
if pre.get("prio") != -300 or pre.get("policy") != "accept" or pre.get("hook") != "prerouting":
    bad.append(("prerouting", pre))
early = [o["chain"] for o in d if "chain" in o and o["chain"]["name"] == "early"][0]
if early.get("prio") != -450 or early.get("policy") != "accept" or early.get("hook") != "prerouting":
    bad.append(("early", early))
sys.exit(print(bad) or 1 if bad else 0)
EOF
ok $? "nft -j list table inet ksip: sets, chains (prerouting at raw, policy accept), counters; early at -450 (before ksip.ko)"
set_elems ban4 >"$TMP/ban4"; set_elems ban6 >"$TMP/ban6"
grep -qx '10.77.0.2' "$TMP/ban4" && grep -qx 'fd77::/64' "$TMP/ban6"
ok $? "ban4 holds 10.77.0.2, ban6 the /64 of fd77::2 (fd77::/64)"
grep -q "\"timeout\": $BAN" "$TMP/table.json"
ok $? "the bans carry their timeout"

# 2: packets
r=$(delivered 5060 10.77.0.2 10.77.0.1 10); [ "$r" = 0 ]; ok $? "banned 10.77.0.2 -> SIP port: 0/10 delivered ($r)"
r=$(delivered 5060 fd77::2 fd77::1 10); [ "$r" = 0 ]; ok $? "banned fd77::2 -> SIP port: 0/10 delivered ($r)"
r=$(delivered 5060 fd77::5 fd77::1 10); [ "$r" = 0 ]; ok $? "fd77::5, same /64 as fd77::2: 0/10 delivered ($r)"
r=$(delivered 5060 10.77.0.3 10.77.0.1 10); [ "$r" = 10 ]; ok $? "unbanned 10.77.0.3: 10/10 delivered ($r)"
r=$(delivered 5060 fd77:0:0:1::3 fd77:0:0:1::1 10); [ "$r" = 10 ]; ok $? "unbanned fd77:0:0:1::3, the next /64: 10/10 delivered ($r)"
r=$(delivered 5060 10.77.0.4 10.77.0.1 10); [ "$r" = 10 ]; ok $? "allowed and banned 10.77.0.4: 10/10 delivered ($r)"
c=$(counter ban_sip); [ "$c" -ge 30 ]; ok $? "counter ban_sip counted the drops ($c)"
c=$(counter allow_sip); [ "$c" -ge 10 ]; ok $? "counter allow_sip counted the allowed ($c)"
sleep "$(python3 -c "import time; print(max(0, $t_added + $BAN + 0.1 - time.time()))")"
set_elems ban4 >"$TMP/ban4b"; set_elems ban6 >"$TMP/ban6b"
! grep -q '10.77.0.2' "$TMP/ban4b" && ! grep -q 'fd77::/64' "$TMP/ban6b"
ok $? "the $BAN s bans expired in the kernel, on time (listed after t_added + $BAN.1 s)"
r=$(delivered 5060 10.77.0.2 10.77.0.1 10); [ "$r" = 10 ]; ok $? "after expiry 10.77.0.2 gets through ($r)"

# 3: the rate meter (50/s, burst 20)
r=$(delivered 5060 10.77.0.2 10.77.0.1 300); [ "$r" -lt 150 ]; ok $? "a burst of 300 from one source is cut by the meter ($r delivered)"
c=$(counter rate_sip); [ "$c" -gt 100 ]; ok $? "counter rate_sip counted it ($c)"
r=$(delivered 5060 10.77.0.3 10.77.0.1 15); [ "$r" = 15 ]; ok $? "meanwhile another source is not limited ($r/15)"

# 4: relay ports
helper open ban 10.77.0.2 30 keep >/dev/null 2>&1
r=$(delivered 20010 10.77.0.2 10.77.0.1 10); [ "$r" = 0 ]; ok $? "banned source -> relay port: 0/10 ($r)"
r=$(delivered 20010 10.77.0.3 10.77.0.1 10); [ "$r" = 10 ]; ok $? "other source -> relay port: 10/10 ($r)"
c=$(counter ban_relay); [ "$c" -ge 10 ]; ok $? "counter ban_relay counted ($c)"

# 5: nft flush ruleset behind our back: monitor, present, restore
helper open ban 10.77.0.2 60 wait-monitor 10 present restore present keep >"$TMP/mon" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'ban 10.77.0.2 ok' "$TMP/mon" && break; sleep 0.05; done
ip netns exec "$A" nft flush ruleset
wait "$pid"
grep -q 'monitor table-gone' "$TMP/mon" && grep -q 'present no' "$TMP/mon" &&
	grep -q 'restore ok' "$TMP/mon" && grep -q 'present yes' "$TMP/mon"
ok $? "flush ruleset: the monitor fires, present() is false, restore() rebuilds"
set_elems ban4 | grep -q 10.77.0.2; ok $? "restore() put the ban back"

# 6: open twice replaces; close removes; keep leaves
helper open keep >/dev/null 2>&1
r1=$(ip netns exec "$A" nft -a list ruleset | grep -c handle)
helper open keep >/dev/null 2>&1
r2=$(ip netns exec "$A" nft -a list ruleset | grep -c handle)
t=$(ip netns exec "$A" nft list tables | grep -c 'inet ksip')
[ "$r1" = "$r2" ] && [ "$t" = 1 ]; ok $? "a leftover table is replaced, not doubled ($r1 = $r2 objects)"
helper open close >/dev/null 2>&1
! ip netns exec "$A" nft list tables | grep -q 'inet ksip'; ok $? "close removes the table"
helper open keep >/dev/null 2>&1
ip netns exec "$A" nft list tables | grep -q 'inet ksip'; ok $? "close with keep leaves it"

# 7: without CAP_NET_ADMIN: a clean error
ip netns exec "$A" setpriv --reuid nobody --regid nogroup --clear-groups "$HELPER" - open >"$TMP/np" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q 'EPERM' "$TMP/np"; ok $? "as nobody: exit 1 with the netlink error ($(head -c 100 "$TMP/np"))"
ip netns exec "$A" capsh --drop=cap_net_admin -- -c "$HELPER - open" >"$TMP/np2" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q 'EPERM' "$TMP/np2"; ok $? "without CAP_NET_ADMIN: exit 1, no crash"

# 8: notrack. A ct rule makes conntrack track in $A; then "a call" of UDP:
# SIP both ways with two phones; RTP and RTCP both ways, the caller on relay
# ports 20000/20001, the callee on 20002/20003 (one even/odd pair per leg).
ip netns exec "$A" nft add table inet probe
ip netns exec "$A" nft add chain inet probe in '{ type filter hook input priority 0; }'
ip netns exec "$A" nft add rule inet probe in ct state new counter
call() {	# one call's datagrams, both ways
	local b
	ip netns exec "$B" python3 "$TMP/udp.py" send 10.77.0.3 10.77.0.1 5060 3 5062
	ip netns exec "$B" python3 "$TMP/udp.py" send 10.77.0.2 10.77.0.1 5060 3 5064
	ip netns exec "$A" python3 "$TMP/udp.py" send 10.77.0.1 10.77.0.3 5062 3 5060
	ip netns exec "$A" python3 "$TMP/udp.py" send 10.77.0.1 10.77.0.2 5064 3 5060
	for b in 0 1; do
		ip netns exec "$B" python3 "$TMP/udp.py" send 10.77.0.3 10.77.0.1 $((20000 + b)) 3 $((4000 + b))
		ip netns exec "$B" python3 "$TMP/udp.py" send 10.77.0.2 10.77.0.1 $((20002 + b)) 3 $((4000 + b))
		ip netns exec "$A" python3 "$TMP/udp.py" send 10.77.0.1 10.77.0.3 $((4000 + b)) 3 $((20000 + b))
		ip netns exec "$A" python3 "$TMP/udp.py" send 10.77.0.1 10.77.0.2 $((4000 + b)) 3 $((20002 + b))
	done
}
helper open close >/dev/null 2>&1
ip netns exec "$A" conntrack -F >/dev/null 2>&1
call
without=$(ip netns exec "$A" conntrack -C)
helper open keep >/dev/null 2>&1
ip netns exec "$A" conntrack -F >/dev/null 2>&1
call
with=$(ip netns exec "$A" conntrack -C)
echo "# conntrack entries per call: $without without the shield, $with with it (notrack)"
[ "$without" -gt 0 ] && [ "$with" = 0 ]; ok $? "notrack: a call makes $with conntrack entries instead of $without"
ip netns exec "$A" conntrack -F >/dev/null 2>&1
ip netns exec "$B" python3 "$TMP/udp.py" send 10.77.0.3 10.77.0.1 6000 1
c=$(ip netns exec "$A" conntrack -C); [ "$c" -ge 1 ]; ok $? "a port outside ours is still tracked ($c)"

echo "1..$n"
[ "$fail" -eq 0 ]
