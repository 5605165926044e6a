# Kernel tests, sourced by vm-tests.sh: flows with extra outputs (fan-out, issue 17). The
# caller sends to the relay; the flow forwards to the callee and copies every packet to 8
# outputs, 4 on the callee's side and 4 back on the caller's (each output routes on its own).
# Relay ports 46100-46199, receivers' ports 46200-46499. csum_errors is vm-xfam.sh's.

# out_field LOCAL INDEX FIELD: a counter of output INDEX of the flow at LOCAL (ksipctl --json)
out_field() {
	relay $CTL --json flow get "$1" | sed 's/.*"outputs":\[//' | tr '{' '\n' | grep '"peer"' |
		sed -n "$(($2 + 1))s/.*\"$3\":\([0-9]*\).*/\1/p"
}
n_outputs() { relay $CTL --json flow get "$1" | sed 's/.*"outputs":\[//' | grep -o '"peer"' | wc -l; }
fanout_t0=$(date +%s)

# bound NS PORT: whether a UDP socket of NS is bound to PORT
bound() { in_ns "$1" cat /proc/net/udp /proc/net/udp6 | grep -q ":$(printf %04X "$2") "; }
# recv_one FILE NS ADDR FROM COUNT [MS]: a receiver that gives up after MS (10,000) without a
# datagram: the first ones started wait while the others start (a slow VM takes seconds for
# nine). Those that must receive nothing come last, with 3,000: bound just before the sender.
recv_one() {
	in_ns "$2" $KT recv "$3" "$5" "${6:-10000}" "$4" > "$1" &
}
wait_bound() {	# wait_bound NS ADDR ...: until a socket is bound to ADDR's port, at most 10 s
	tries=0
	while ! bound "$1" "${2##*:}" && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
}
# fan_recv FILE RECEIVER-SPECS...: one receiver per "NS ADDR FROM COUNT" spec, results in FILE.N;
# returns once each is bound (many start at once in a slow VM: a fixed pause is not enough).
fan_recv() {
	f=$1
	shift
	i=0
	for spec in "$@"; do
		recv_one "$f.$i" $spec
		i=$((i + 1))
	done
	for spec in "$@"; do
		wait_bound $spec
	done
}
# fan_all FILE N WANT: "all" if each of the N receivers' results is WANT, else the results
fan_all() {
	res=""
	for i in $(seq 0 $(($2 - 1))); do res="$res$(cat "$1.$i")|"; done
	[ "$(echo "$res" | tr '|' '\n' | grep -c "^$3\$")" -eq "$2" ] && echo all || echo "$res"
}

# --- IPv4: a flow and 8 outputs -------------------------------------------------------------
L4=10.0.1.1:46100
relay $CTL flow add $L4 from 10.0.2.1:46101 to 10.0.2.2:46200
outs4=""
recv4="callee 10.0.2.2:46200 10.0.2.1:46101"
for i in 0 1 2 3; do
	outs4="$outs4 from 10.0.2.1:$((46110 + i)) to 10.0.2.2:$((46210 + i))"
	recv4="$recv4|callee 10.0.2.2:$((46210 + i)) 10.0.2.1:$((46110 + i))"
done
for i in 4 5 6 7; do
	outs4="$outs4 from 10.0.1.1:$((46110 + i)) to 10.0.1.2:$((46210 + i))"
	recv4="$recv4|caller 10.0.1.2:$((46210 + i)) 10.0.1.1:$((46110 + i))"
done
relay $CTL flow output $L4 $outs4
ok $? "fan-out: a flow with 8 outputs (4 on the callee's leg, 4 on the caller's)"
is "$(n_outputs $L4)" 8 "flow get reports the 8 outputs"
fan4() {	# fan4 COUNT: start the 9 receivers of the IPv4 flow, each for COUNT datagrams
	IFS='|'
	set -- $(echo "$recv4" | sed "s/|/ $1|/g; s/\$/ $1/")
	unset IFS
	fan_recv /tmp/fo_r4 "$@"
}
fw0=$(kstat forwarded)
by0=$(kstat bytes)
fan4 100
in_ns caller $KT send 10.0.1.2:46300 $L4 100 172
wait
is "$(fan_all /tmp/fo_r4 9 'received 100 bad 0')" all \
	"IPv4: PEER and each of the 8 outputs receive all 100 datagrams intact, from its SOURCE, at its port"
c=""
for i in 0 1 2 3 4 5 6 7; do c="$c$(out_field $L4 $i packets)/$(out_field $L4 $i bytes)/$(out_field $L4 $i dropped) "; done
is "$c" "$(for i in 0 1 2 3 4 5 6 7; do printf '100/17200/0 '; done)" \
	"each output counts exactly 100 copies, 17,200 bytes, none dropped"
is "$(flow_field $L4 packets)/$(flow_field $L4 bytes)" "100/17200" \
	"the flow's own counters are for PEER alone: 100 packets, 17,200 bytes"
is "$(($(kstat forwarded) - fw0))/$(($(kstat bytes) - by0))" "900/154800" \
	"namespace counters: 900 forwarded (100 to PEER + 8 x 100 copies), 154,800 bytes"

# Software checksums (raw sockets: nothing offloaded, the receivers' stacks verify): every copy
# keeps a good checksum good, no checksum (IPv4: 0) none, and a wrong one wrong.
ce_callee=$(csum_errors callee)
ce_caller=$(csum_errors caller)
fan4 30
in_ns caller $KT rawsend 10.0.1.2:46300 $L4 20 172 good
in_ns caller $KT rawsend 10.0.1.2:46300 $L4 10 100 zero
in_ns caller $KT rawsend 10.0.1.2:46300 $L4 5 100 bad
wait
is "$(fan_all /tmp/fo_r4 9 'received 30 bad 0')/$(($(csum_errors callee) - ce_callee))/$(($(csum_errors caller) - ce_caller))" \
	"all/25/20" \
	"IPv4 software checksums: 20 good and 10 without arrive at all 9; the 5 wrong stay wrong (5 x 5 callee, 4 x 5 caller)"
is "$(out_field $L4 7 packets)/$(out_field $L4 7 bytes)" "135/22140" \
	"output 7 counted the 35 raw copies too: 135 packets, 22,140 bytes"

# A packet arriving over lo (sent by the relay itself) is forwarded but not copied: a copy to a
# local address comes back over lo, and copies between flows would multiply without end.
fan_recv /tmp/fo_lo "callee 10.0.2.2:46200 10.0.2.1:46101 3" "callee 10.0.2.2:46210 10.0.2.1:46110 3 3000"
relay $KT send 10.0.1.1:46399 $L4 3 100 2> /dev/null
wait
is "$(cat /tmp/fo_lo.0)/$(cat /tmp/fo_lo.1)/$(out_field $L4 0 packets)" \
	"received 3 bad 0/received 0 bad 0/135" "packets from a local sender (over lo): forwarded to PEER, not copied"

# Copies share a linear packet's payload (a page fragment); larger payloads (over 2,048 bytes)
# are copied whole. 10 datagrams of 4,000 bytes, over links raised to a 9,000-byte MTU for them.
mtu_all() { for l in "caller a0" "relay a1" "relay b1" "callee b0"; do set -- $l; in_ns $1 $IP link set $2 mtu "$MTU"; done; }
MTU=9000 mtu_all
fan4 10
in_ns caller $KT send 10.0.1.2:46300 $L4 10 4000
wait
is "$(fan_all /tmp/fo_r4 9 'received 10 bad 0')/$(out_field $L4 7 bytes)" "all/$((22140 + 10 * 4000))" \
	"4,000-byte datagrams (copied whole): PEER and each of the 8 outputs receive all 10 intact"
MTU=1500 mtu_all

# Relayed packets and their copies are sent as forwarded traffic (docs/kernel.md): the host's
# POSTROUTING rules see each of them, its OUTPUT rules none. nf_tables and what it needs are
# the first modules of shield.order (vm-shield.sh loads the rest).
for m in $(sed '/^nf_tables$/q' /lib/modules/shield.order); do
	[ -d "/sys/module/$(echo "$m" | tr - _)" ] || insmod /lib/modules/$m.ko
done
in_ns relay /usr/sbin/nft -f - <<'NFT'
table inet fo_hooks {
	chain out { type filter hook output priority 0; udp dport 46200-46217 counter; }
	chain post { type filter hook postrouting priority 0; udp dport 46200-46217 counter; }
}
NFT
ok $? "a table counting UDP to PEER's and the outputs' ports in OUTPUT and POSTROUTING"
hook_count() { in_ns relay /usr/sbin/nft list chain inet fo_hooks "$1" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
fan4 10
in_ns caller $KT send 10.0.1.2:46300 $L4 10 172
wait
is "$(fan_all /tmp/fo_r4 9 'received 10 bad 0')/$(hook_count out)/$(hook_count post)" "all/0/90" \
	"10 packets and 80 copies delivered: POSTROUTING counted all 90, OUTPUT none"
in_ns relay /usr/sbin/nft delete table inet fo_hooks

# --- replacing the outputs: all at once, under traffic ------------------------------------------
# Outputs 0 and 4 stay in every set; output 1 comes and goes. While 1,000 packets flow, the set is
# replaced 20 times: the outputs that stay must lose and duplicate nothing.
keep="from 10.0.2.1:46110 to 10.0.2.2:46210 from 10.0.1.1:46114 to 10.0.1.2:46214"
fan_recv /tmp/fo_keep "callee 10.0.2.2:46200 10.0.2.1:46101 1000" \
	"callee 10.0.2.2:46210 10.0.2.1:46110 1000" "caller 10.0.1.2:46214 10.0.1.1:46114 1000"
in_ns caller $KT send 10.0.1.2:46300 $L4 1000 100 500 &
sets_ok=0
for k in $(seq 1 20); do
	if [ $((k % 2)) -eq 1 ]; then
		relay $CTL flow output $L4 $keep from 10.0.2.1:46111 to 10.0.2.2:46211 || sets_ok=1
	else
		relay $CTL flow output $L4 $keep || sets_ok=1
	fi
	sleep 0.05
done
wait
is "$sets_ok/$(cat /tmp/fo_keep.0)/$(cat /tmp/fo_keep.1)/$(cat /tmp/fo_keep.2)" \
	"0/received 1000 bad 0/received 1000 bad 0/received 1000 bad 0" \
	"20 replacements under traffic: PEER and the outputs kept in every set get each of 1,000 packets once"
is "$(n_outputs $L4)" 2 "the last set is in force: 2 outputs"
# Outputs that stay keep their counters (copies counted during a switch may be lost to them).
relay $CTL flow output $L4 $keep from 10.0.2.1:46115 to 10.0.2.2:46215
c0=$(out_field $L4 0 packets)
fan_recv /tmp/fo_rep "callee 10.0.2.2:46210 10.0.2.1:46110 10" "callee 10.0.2.2:46215 10.0.2.1:46115 10" \
	"callee 10.0.2.2:46211 10.0.2.1:46111 10 3000" "callee 10.0.2.2:46212 10.0.2.1:46112 10 3000"
in_ns caller $KT send 10.0.1.2:46300 $L4 10 100
wait
is "$(cat /tmp/fo_rep.0)/$(cat /tmp/fo_rep.1)/$(cat /tmp/fo_rep.2)/$(cat /tmp/fo_rep.3)" \
	"received 10 bad 0/received 10 bad 0/received 0 bad 0/received 0 bad 0" \
	"after a replacement: kept and new outputs receive, removed ones nothing"
is "$(($(out_field $L4 0 packets) - c0))/$(out_field $L4 2 packets)" "10/10" \
	"counters: a kept output counts on (+10), the new one from 0"
ok $([ "$c0" -ge 155 ]; echo $?) "a kept output kept its earlier count ($c0 >= 155)"

# --- removing them ---------------------------------------------------------------------------
relay $CTL flow output $L4 none
ok $? "flow output LOCAL none"
relay $CTL --json flow get $L4 | grep -q '"outputs":\[\]}'
ok $? "the flow reports \"outputs\":[]"
fan_recv /tmp/fo_none "callee 10.0.2.2:46200 10.0.2.1:46101 10" "callee 10.0.2.2:46210 10.0.2.1:46110 10 3000"
in_ns caller $KT send 10.0.1.2:46300 $L4 10 100
wait
is "$(cat /tmp/fo_none.0)/$(cat /tmp/fo_none.1)" "received 10 bad 0/received 0 bad 0" \
	"without outputs, PEER alone receives"

# --- an output without a route: its copies are dropped and counted, the others go on ----------
relay $CTL flow output $L4 from 10.0.2.1:46110 to 10.0.77.2:46210 from 10.0.2.1:46111 to 10.0.2.2:46211
nr0=$(kstat no_route)
fan_recv /tmp/fo_nr "callee 10.0.2.2:46211 10.0.2.1:46111 5"
in_ns caller $KT send 10.0.1.2:46300 $L4 5 100
wait
is "$(cat /tmp/fo_nr.0)/$(out_field $L4 0 dropped)/$(out_field $L4 0 packets)/$(($(kstat no_route) - nr0))" \
	"received 5 bad 0/5/0/5" "an output with no route: 5 copies dropped (output and NO_ROUTE), the other output receives"

# --- hostile requests through ksipctl: the kernel's extack names the output ---------------------
# refused WANT DESCRIPTION ARGS...: ksipctl flow output ARGS fails (1) with WANT in its message
refused() {
	want=$1 what=$2
	shift 2
	out=$(relay $CTL flow output "$@" 2>&1)
	rc=$?
	case "$out" in *"$want"*) [ $rc -eq 1 ] ;; *) false ;; esac
	ok $? "$what" "exit $rc: $out"
}
refused "output 1: PEER is already an earlier output's PEER" "duplicate output PEERs refused, naming output 1" \
	$L4 from 10.0.2.1:46110 to 10.0.2.2:46210 from 10.0.2.1:46111 to 10.0.2.2:46210
refused "output 0: PEER is the flow's own PEER" "an output to the flow's own PEER refused" \
	$L4 from 10.0.2.1:46110 to 10.0.2.2:46200
refused "output 1: PEER is the flow's LOCAL: copies would loop" "an output to the flow's LOCAL refused (loop)" \
	$L4 from 10.0.2.1:46110 to 10.0.2.2:46210 from 10.0.2.1:46111 to $L4
refused "output 0: SOURCE and PEER must be of LOCAL's address family" "an IPv6 output on an IPv4 flow refused" \
	$L4 from [fd02::1]:46110 to [fd02::2]:46210
refused "no flow with this LOCAL address" "outputs for a flow that does not exist refused" \
	10.0.1.1:46199 from 10.0.2.1:46110 to 10.0.2.2:46210
set -- $L4
for i in $(seq 0 16); do set -- "$@" from 10.0.2.1:$((46110 + i)) to 10.0.2.2:$((46210 + i)); done
refused "more than 16 outputs" "17 outputs refused by ksipctl itself (the kernel's E2BIG: ktest nlbad)" "$@"
is "$(relay $CTL --json flow get $L4 | sed 's/.*"outputs"://' | grep -o '"peer":"[^"]*"' | tr '\n' ' ')" \
	'"peer":"10.0.77.2:46210" "peer":"10.0.2.2:46211" ' "refused requests left the 2 outputs as they were"
relay $CTL flow del $L4
ok $? "a flow with outputs is deleted (the outputs go with it: see the live-object count at unload)"

# --- IPv6: 8 outputs, and 16 in the replies ------------------------------------------------------
L6=[fd01::1]:46150
relay $CTL flow add $L6 from [fd02::1]:46151 to [fd02::2]:46250
outs6=""
recv6="callee [fd02::2]:46250 [fd02::1]:46151 75"
for i in 0 1 2 3; do
	outs6="$outs6 from [fd02::1]:$((46160 + i)) to [fd02::2]:$((46260 + i))"
	recv6="$recv6|callee [fd02::2]:$((46260 + i)) [fd02::1]:$((46160 + i)) 75"
done
for i in 4 5 6 7; do
	outs6="$outs6 from [fd01::1]:$((46160 + i)) to [fd01::2]:$((46260 + i))"
	recv6="$recv6|caller [fd01::2]:$((46260 + i)) [fd01::1]:$((46160 + i)) 75"
done
relay $CTL flow output $L6 $outs6
ok $? "IPv6 flow with 8 outputs"
ce_callee=$(csum_errors callee)
ce_caller=$(csum_errors caller)
IFS='|'
set -f
set -- $recv6
unset IFS
set +f
fan_recv /tmp/fo_r6 "$@"
in_ns caller $KT send [fd01::2]:46350 $L6 50 200
in_ns caller $KT rawsend [fd01::2]:46350 $L6 20 200 good
in_ns caller $KT rawsend [fd01::2]:46350 $L6 5 200 bad
wait
is "$(fan_all /tmp/fo_r6 9 'received 70 bad 0')/$(($(csum_errors callee) - ce_callee))/$(($(csum_errors caller) - ce_caller))" \
	"all/25/20" \
	"IPv6: PEER and 8 outputs receive 50 + 20 datagrams intact from their SOURCE; 5 wrong checksums stay wrong"
c=""
for i in 0 1 2 3 4 5 6 7; do c="$c$(out_field $L6 $i packets)/$(out_field $L6 $i bytes) "; done
is "$c" "$(for i in 0 1 2 3 4 5 6 7; do printf '75/15000 '; done)" \
	"IPv6: each output counts exactly 75 copies and 15,000 bytes"
set -- $L6
for i in $(seq 0 15); do set -- "$@" from [fd02::1]:$((46160 + i)) to [fd02::2]:$((46260 + i)); done
relay $CTL flow output "$@"
is "$(n_outputs $L6)/$(relay $CTL --json flow list | grep -o '"peer":"\[fd02::2\]:462[67]' | wc -l)" "16/16" \
	"16 IPv6 outputs: flow get and the dump report all 16"
out=$(relay $CTL --json flow list | $KT jsoncheck)
is "$out" "json ok $(kstat flows)" "flow list --json with outputs parses as JSON"
relay $CTL flow list | grep -q "^  output 15 "
ok $? "flow list shows the outputs under their flow" "$(relay $CTL flow list | head -20)"
relay $CTL flow flush
echo "# vm-fanout.sh took $(($(date +%s) - fanout_t0)) s"
