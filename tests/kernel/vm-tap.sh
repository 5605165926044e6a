# Sourced by vm-tests.sh after vm-calls.sh (its helpers and ksipd.conf): a recording tap
# (`ksipctl call tap`, issue 17) on a call whose media is in ksip.ko. The collector listens
# in the callee namespace at 10.0.2.2:45000 (RTCP 45001). Every copy must be made by the
# module as outputs of the call's flows, with their own counters; none by ksipd.
# bound NS PORT: wait (at most 5 s) until a UDP socket of NS listens on PORT. A receiver is
# started in the background; in a loaded VM it may take longer than media_through's 0.3 s.
bound() {
	hex=$(printf ':%04X ' "$2")
	for i in $(seq 50); do in_ns "$1" cat /proc/net/udp /proc/net/udp6 | grep -q "$hex" && return 0
		sleep 0.1; done
	return 1
}
# media_bound: media_through, but the sender waits until the receiver is bound.
media_bound() {
	in_ns "$1" $KT recv "$2" "$7" 3000 ${3:+"$3"} > /tmp/media_rx &
	rx=$!
	bound "$1" "${2##*:}"
	in_ns "$4" $KT send "$5" "$6" "$7" "$8" 2> /dev/null
	wait $rx
	cat /tmp/media_rx
}
start_ksipd
ok $? "tap: ksipd starts"
relay $KC reg del bob > /dev/null 2>&1	# vm-calls' IPv6 binding
register_bob
ok $? "tap: bob registers"
start_call 24000	# long enough for the steps below in a slow VM, within bob's 30 s wait for the BYE
wait_confirmed
ok $? "tap: alice calls bob, confirmed"
id=$(call_field id)
a_port=$(call_field caller_port)
b_port=$(call_field callee_port)
is "$(call_field media)" kernel "tap: the call's media is in the kernel"
relay $KC call tap "$id" 10.0.2.2:45000 > /tmp/tap_out 2>&1
ok $? "tap: ksipctl call tap $id 10.0.2.2:45000" "$(cat /tmp/tap_out)"
# The tap's source ports for stream 0: copies of alice's packets, of bob's.
set -- $(relay $KC --json call list | sed -n 's/.*"from":\[{"caller":\([0-9]*\),"callee":\([0-9]*\)}.*/\1 \2/p')
t_a=${1:-0}
t_b=${2:-0}
# out_field SOURCE FIELD [PEER]: a number of the output sending from SOURCE to the collector
out_field() {
	relay $CTL --json flow list | tr '{' '\n' |
		grep -F "\"source\":\"$1\",\"peer\":\"${3:-10.0.2.2:45000}\"" |
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
is "$(out_field 10.0.2.1:$t_a packets)/$(out_field 10.0.2.1:$t_b packets)" "0/0" \
	"tap: each direction's kernel flow has an output to the collector from the tap's own port"
is "$(out_field 10.0.2.1:$((t_a + 1)) packets 10.0.2.2:45001)/$(out_field 10.0.2.1:$((t_b + 1)) packets \
	10.0.2.2:45001)" "0/0" "tap: and each RTCP flow one from the port above to the collector's port + 1"
fwd0=$(kstat forwarded)
fan0=$(kstat_d relay_fanout_sent)
in_ns callee $KT recv 10.0.2.2:45000 350 5000 > /tmp/tap_rx &
crx=$!
bound callee 45000
is "$(media_bound callee 10.0.2.2:40000 10.0.2.1:$b_port caller 10.0.1.2:20000 10.0.1.1:$a_port 200 172)" \
	"received 200 bad 0" "tap: bob gets alice's 200 packets intact, as before"
is "$(media_bound caller 10.0.1.2:20000 10.0.1.1:$a_port callee 10.0.2.2:40000 10.0.2.1:$b_port 150 160)" \
	"received 150 bad 0" "tap: alice gets bob's 150 packets intact, as before"
wait $crx
is "$(cat /tmp/tap_rx)" "received 350 bad 0" "tap: the collector gets a copy of each of the 350, intact"
is "$(out_field 10.0.2.1:$t_a packets)/$(out_field 10.0.2.1:$t_b packets)" "200/150" \
	"tap: the outputs count 200 copies of alice's packets and 150 of bob's"
is "$(out_field 10.0.2.1:$t_a dropped)/$(out_field 10.0.2.1:$t_b dropped)" "0/0" "tap: none dropped"
is "$(flow_field 10.0.1.1:$a_port packets)/$(flow_field 10.0.2.1:$b_port packets)" "200/150" \
	"tap: the flows' own counters count the phones' packets only"
is "$(call_field packets_from_caller)/$(call_field packets_from_callee)" "200/150" \
	"tap: and so does ksipctl call list"
relay $KC --json call list | grep -q '"collector":"10.0.2.2:45000","copies":350,"errors":0'
ok $? "tap: call list reads the kernel's 350 copies for the tap" "$(relay $KC --json call list)"
is "$(($(kstat forwarded) - fwd0))" 700 "tap: ksip.ko sent all 350 packets and 350 copies"
is "$(($(kstat_d relay_fanout_sent) - fan0))" 0 "tap: ksipd sent no copy itself"
relay $KC call untap "$id" > /tmp/tap_out 2>&1
ok $? "tap: ksipctl call untap $id" "$(cat /tmp/tap_out)"
relay $CTL --json flow list | grep -q 10.0.2.2:4500
ok $((! $?)) "tap: no flow has an output to the collector now" "$(relay $CTL flow list; tail -5 $K/ksipd.log)"
in_ns callee $KT recv 10.0.2.2:45000 1 1500 > /tmp/tap_rx &
crx=$!
bound callee 45000
is "$(media_bound callee 10.0.2.2:40000 10.0.2.1:$b_port caller 10.0.1.2:20000 10.0.1.1:$a_port 20 172)" \
	"received 20 bad 0" "tap: untapped, bob still gets alice's packets"
wait $crx
is "$(cat /tmp/tap_rx)" "received 0 bad 0" "tap: and the collector no copy"
relay $KC call tap "$id" 10.0.2.2:45000 > /tmp/tap_out 2>&1
ok $? "tap: tapped again, until the call ends" "$(cat /tmp/tap_out)"
set -- $(relay $KC --json call list | sed -n 's/.*"from":\[{"caller":\([0-9]*\),"callee":\([0-9]*\)}.*/\1 \2/p')
# (Not the RTCP flows: nothing is sent on them, so they idle out, 10 s, and come back only at
# the call's next media check; an output set just before the idle scan goes with its flow.)
is "$(out_field 10.0.2.1:${1:-0} packets)/$(out_field 10.0.2.1:${2:-0} packets)" "0/0" \
	"tap: both RTP flows have an output to the collector again, from the new tap's ports"
relay $KC call tap "$id" 10.0.2.1:$a_port > /tmp/tap_out 2>&1
ok $([ $? -ne 0 ] && grep -q "loop" /tmp/tap_out; echo $?) "tap: a tap to the call's own relay port is refused" \
	"$(cat /tmp/tap_out)"
wait $uac_pid
ok $? "tap: alice's scenario passes (BYE)" "$(tail -30 $K/uac.out)"
wait $uas_pid
ok $? "tap: bob's scenario passes" "$(tail -30 $K/uas.out)"
is "$(relay $CTL flow list | grep -c "10\.0\.")" 0 "tap: no kernel flow is left after the BYE (the call outlived \
the 10 s kernel_flow_timeout: its unused RTCP flows idled out and were put back)"
is "$(kstat_d relay_ports_in_use)/$(kstat_d kernel_flow_pairs)/$(kstat_d calls_active)" "0/0/0" \
	"tap: no relay port (the tap's neither), flow or call is left" "$(tail -20 $K/ksipd.log)"
relay kill "$(cat $K/pid)"
sleep 0.5
