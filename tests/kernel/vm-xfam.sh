# Kernel tests, sourced by vm-tests.sh: flows across address families (issue 14). An IPv4
# caller (10.0.1.2) and an IPv6 callee (fd02::2) through the relay's 10.0.1.1 and fd02::1.
# Relay ports 38000-38099, caller 28000-28099, callee 48000-48099.

# UDP checksum errors counted by a namespace's stack, IPv4 and IPv6 together.
csum_errors() {
	in_ns "$1" cat /proc/net/snmp /proc/net/snmp6 | awk '
		/^Udp: / && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		/^Udp: / { v4 = $col["InCsumErrors"] }
		$1 == "Udp6InCsumErrors" { v6 = $2 }
		END { print v4 + v6 }'
}
# flow_peer LOCAL: the PEER of a flow, from `ksipctl --json flow list`
flow_peer() {
	relay $CTL --json flow list | tr '{' '\n' | grep -F "\"local\":\"$1\"" |
		sed -n 's/.*"peer":"\([^"]*\)".*/\1/p'
}

relay $CTL flow add 10.0.1.1:38000 from [fd02::1]:38002 to [fd02::2]:48000 &&
	relay $CTL flow add [fd02::1]:38002 from 10.0.1.1:38000 to 10.0.1.2:28000 &&
	relay $CTL flow add 10.0.1.1:38001 from [fd02::1]:38003 to [fd02::2]:48001 &&
	relay $CTL flow add [fd02::1]:38003 from 10.0.1.1:38001 to 10.0.1.2:28001
ok $? "across families: RTP and RTCP flows IPv4 caller <-> IPv6 callee added"
fw0=$(kstat forwarded)
is "$(media_through callee [fd02::2]:48000 [fd02::1]:38002 caller 10.0.1.2:28000 10.0.1.1:38000 200 172)" \
	"received 200 bad 0" "IPv4 -> IPv6: 200 RTP packets arrive intact, from the relay's IPv6 address"
is "$(media_through caller 10.0.1.2:28000 10.0.1.1:38000 callee [fd02::2]:48000 [fd02::1]:38002 150 160)" \
	"received 150 bad 0" "IPv6 -> IPv4: 150 RTP packets arrive intact, from the relay's IPv4 address"
is "$(media_through callee [fd02::2]:48001 [fd02::1]:38003 caller 10.0.1.2:28001 10.0.1.1:38001 20 80)/$(media_through caller 10.0.1.2:28001 10.0.1.1:38001 callee [fd02::2]:48001 [fd02::1]:38003 20 80)" \
	"received 20 bad 0/received 20 bad 0" "RTCP flows of the pair: 20 packets each way"
is "$(flow_field 10.0.1.1:38000 packets)/$(flow_field 10.0.1.1:38000 bytes)/$(flow_field [fd02::1]:38002 packets)/$(flow_field [fd02::1]:38002 bytes)" \
	"200/34400/150/24000" "flow counters: 200 packets x 172 bytes and 150 x 160"
is "$(($(kstat forwarded) - fw0))" 390 "namespace counter: 390 forwarded across families"

# The datagrams above were sent by sockets (checksum offloaded through the veth). Raw sockets
# set the UDP checksum themselves, so the receiver's stack checks what the relay computed: a
# good checksum must stay good, a missing IPv4 checksum must be computed for IPv6 (where it is
# mandatory), and a wrong one must stay wrong (the receiver drops and counts it; this also
# shows that the receiver does verify).
ce0=$(csum_errors callee)
in_ns callee $KT recv [fd02::2]:48000 110 2000 [fd02::1]:38002 > /tmp/xf_raw1 &
sleep 0.3
in_ns caller $KT rawsend 10.0.1.2:28000 10.0.1.1:38000 50 172 good
in_ns caller $KT rawsend 10.0.1.2:28000 10.0.1.1:38000 50 100 zero
in_ns caller $KT rawsend 10.0.1.2:28000 10.0.1.1:38000 10 100 bad
wait
is "$(cat /tmp/xf_raw1)/$(($(csum_errors callee) - ce0))" "received 100 bad 0/10" \
	"IPv4 -> IPv6, software checksums: 50 good and 50 without checksum arrive, 10 wrong are dropped by the receiver"
ce0=$(csum_errors caller)
de0=$(kstat drop_error)
in_ns caller $KT recv 10.0.1.2:28000 70 2000 10.0.1.1:38000 > /tmp/xf_raw2 &
sleep 0.3
in_ns callee $KT rawsend [fd02::2]:48000 [fd02::1]:38002 50 172 good
in_ns callee $KT rawsend [fd02::2]:48000 [fd02::1]:38002 10 100 bad
in_ns callee $KT rawsend [fd02::2]:48000 [fd02::1]:38002 10 100 zero
wait
is "$(cat /tmp/xf_raw2)/$(($(csum_errors caller) - ce0))/$(($(kstat drop_error) - de0))" \
	"received 50 bad 0/10/10" \
	"IPv6 -> IPv4, software checksums: 50 good arrive, 10 wrong dropped by the receiver, 10 with the invalid IPv6 checksum 0 dropped and counted by the relay"

# Hostile shapes: IP payload past the UDP length (the receiver must see only the datagram) and
# IPv4 options (dropped with the IPv4 header).
in_ns callee $KT recv [fd02::2]:48000 20 2000 [fd02::1]:38002 > /tmp/xf_pad &
sleep 0.3
in_ns caller $KT rawsend 10.0.1.2:28000 10.0.1.1:38000 10 100 pad
in_ns caller $KT rawsend 10.0.1.2:28000 10.0.1.1:38000 10 100 opts
wait
in_ns caller $KT recv 10.0.1.2:28000 10 2000 10.0.1.1:38000 > /tmp/xf_pad4 &
sleep 0.3
in_ns callee $KT rawsend [fd02::2]:48000 [fd02::1]:38002 10 100 pad
wait
is "$(cat /tmp/xf_pad)/$(cat /tmp/xf_pad4)" "received 20 bad 0/received 10 bad 0" \
	"bytes past the UDP length (cut) and IPv4 options (dropped with the header): datagrams arrive intact both ways"

# A full-size IPv4 packet (1500 bytes) is 1520 bytes as IPv6: the relay fragments it as a local
# sender would, and the callee reassembles it.
is "$(media_through callee [fd02::2]:48000 [fd02::1]:38002 caller 10.0.1.2:28000 10.0.1.1:38000 5 1472)" \
	"received 5 bad 0" "IPv4 -> IPv6: 1,500-byte packets become 1,520 bytes, fragmented by the relay, delivered"

# IPv4 fragments to a cross-family flow go to the relay's own stack, as for any flow.
in_ns relay $KT recv 10.0.1.1:38000 3 2000 > /tmp/xf_frag_local &
in_ns callee $KT recv [fd02::2]:48000 3 2000 > /tmp/xf_frag_fwd &
sleep 0.3
in_ns caller $KT send 10.0.1.2:28000 10.0.1.1:38000 3 4000 2> /dev/null
wait
is "$(cat /tmp/xf_frag_local)/$(cat /tmp/xf_frag_fwd)" "received 3 bad 0/received 0 bad 0" \
	"IPv4 fragments to a cross-family flow are left to the stack, not forwarded"

# --- DSCP across families ----------------------------------------------------------------------
relay $CTL flow add 10.0.1.1:38010 from [fd02::1]:38012 to [fd02::2]:48010 dscp 46 &&
	relay $CTL flow add [fd02::1]:38012 from 10.0.1.1:38010 to 10.0.1.2:28010 dscp 34
ok $? "cross-family flows with DSCP 46 and 34"
in_ns callee $KT tos [fd02::2]:48010 2000 > /tmp/xf_tos6 &
sleep 0.3
in_ns caller $KT send 10.0.1.2:28010 10.0.1.1:38010 1 100 2> /dev/null
wait
in_ns caller $KT tos 10.0.1.2:28010 2000 > /tmp/xf_tos4 &
sleep 0.3
in_ns callee $KT send [fd02::2]:48010 [fd02::1]:38012 1 100 2> /dev/null
wait
is "$(cat /tmp/xf_tos6)/$(cat /tmp/xf_tos4)" "tos 184/tos 136" \
	"DSCP: IPv6 traffic class 46 (0xb8) after IPv4, IPv4 TOS 34 (0x88) after IPv6"
in_ns callee $KT tos [fd02::2]:48000 2000 > /tmp/xf_tos0 &
sleep 0.3
in_ns caller $KT send 10.0.1.2:28000 10.0.1.1:38000 1 100 2> /dev/null
wait
is "$(cat /tmp/xf_tos0)" "tos 0" "without DSCP the traffic class is the packet's TOS (0)"

# --- latching on the IPv4 side --------------------------------------------------------------
la0=$(kstat latched)
relay $CTL flow add 10.0.1.1:38020 from [fd02::1]:38022 to [fd02::2]:48020 latch &&
	relay $CTL flow add [fd02::1]:38022 from 10.0.1.1:38020 to 10.0.1.2:9 latch
ok $? "cross-family flows that latch"
in_ns callee $KT echo [fd02::2]:48020 3000 &
sleep 0.3
in_ns caller $KT ping 10.0.1.2:28020 10.0.1.1:38020 30 80 > /tmp/xf_ping
wait
is "$(cat /tmp/xf_ping)" "received 30 bad 0" \
	"latch: the IPv6 callee's echo reaches the IPv4 caller's real source port"
relay $CTL --json flow list | grep -q '"local":"10.0.1.1:38020"[^}]*"latched":"10.0.1.2:28020"'
ok $? "the IPv4 flow reports the latched IPv4 source"
is "$(flow_peer [fd02::1]:38022)/$(flow_peer 10.0.1.1:38020)" "10.0.1.2:28020/[fd02::2]:48020" \
	"each reverse flow's PEER is the other side's latched source"
in_ns callee $KT recv [fd02::2]:48020 10 1500 > /tmp/xf_other &
sleep 0.3
in_ns caller $KT send 10.0.1.2:28021 10.0.1.1:38020 10 80 2> /dev/null
wait
is "$(cat /tmp/xf_other)/$(flow_field 10.0.1.1:38020 dropped)/$(($(kstat latched) - la0))" \
	"received 0 bad 0/10/2" "after latching, another IPv4 source is dropped and counted; 2 flows latched"
# Hostile configuration: the reverse flow sends from an IPv6 SOURCE, so the IPv4 source latched
# on the other flow cannot become its PEER: it keeps its own and still forwards.
relay $CTL flow add 10.0.1.1:38030 from [fd02::1]:38032 to [fd02::2]:48030 latch &&
	relay $CTL flow add [fd02::1]:38032 from [fd01::1]:38033 to [fd01::2]:28033
ok $? "a latching flow whose reverse flow sends over IPv6"
in_ns callee $KT recv [fd02::2]:48030 5 2000 > /tmp/xf_l1 &
sleep 0.3
in_ns caller $KT send 10.0.1.2:28030 10.0.1.1:38030 5 80 2> /dev/null
wait
is "$(cat /tmp/xf_l1)/$(flow_peer [fd02::1]:38032)" "received 5 bad 0/[fd01::2]:28033" \
	"the flow latches and forwards; the reverse flow keeps its IPv6 PEER"
is "$(media_through caller [fd01::2]:28033 [fd01::1]:38033 callee [fd02::2]:48030 [fd02::1]:38032 5 80)" \
	"received 5 bad 0" "and the reverse flow still forwards to it"

# --- ksipctl --json flow list is JSON (a flow without DSCP printed "dscp":null0) -----------------
out=$(relay $CTL --json flow list | $KT jsoncheck)
is "$out" "json ok $(kstat flows)" "flow list --json parses as JSON, one element per flow (with and without DSCP)"
relay $CTL --json flow list | grep -q '"local":"10.0.1.1:38000"[^}]*"dscp":null,' &&
	relay $CTL --json flow list | grep -q '"local":"10.0.1.1:38010"[^}]*"dscp":46,'
ok $? "dscp is null without DSCP and a number with it"
is "$(relay $CTL --json kstats | $KT jsoncheck)/$(relay $CTL --json guard show | $KT jsoncheck)" \
	"json ok 0/json ok 0" "kstats --json and guard show --json parse as JSON"
relay $CTL flow flush
