# Sourced by vm-tests.sh: calls through ksipd with the media in ksip.ko.
# ksipd runs in the relay namespace; SIPp plays alice (caller namespace)
# and bob (callee namespace); ktest sends and checks the RTP.
K=/tmp/ksipd
KC="$CTL --socket $K/ksipd.sock"
SIPP=/bin/sipp
mkdir -p $K
relay $CTL flow flush
relay $CTL guard set off
cat > $K/ksipd.conf <<CONF
listen = udp:0.0.0.0:5060 udp:[::]:5060
realm = ksip.test
database = $K/ksip.db
control_socket = $K/ksipd.sock
workers = 2
auth_algorithms = MD5
rtp_ports = 30000-30099
kernel_flow_timeout = 10
t1_ms = 100
CONF
printf 'SEQUENTIAL\nalice;[authentication username=alice password=alice-pw];bob\n' > $K/alice.csv
printf 'SEQUENTIAL\nbob;[authentication username=bob password=bob-pw]\n' > $K/bob.csv

start_ksipd() {
	relay sh -c "/bin/ksipd --config $K/ksipd.conf >> $K/ksipd.log 2>&1 & echo \$! > $K/pid"
	for i in $(seq 50); do relay $KC stats > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
kstat_d() { relay $KC --json stats | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
# call_field FIELD: from the confirmed call (ended calls stay listed for a while)
call_field() {
	relay $KC --json call list | sed 's/{"id"/\n{"id"/g' | grep '"state":"confirmed"' |
		sed -n "s/.*\"$1\":\"*\([^,\"]*\).*/\1/p" | head -1
}
wait_confirmed() {
	for i in $(seq 100); do
		relay $KC --json call list | grep -q '"state":"confirmed"' && return 0
		sleep 0.1
	done
	return 1
}
# -auth_uri: SIPp's digest uri is the remote address unless told; ksipd wants the Request-URI
# (RFC 7616 §3.4.6): sip:ksip.test for REGISTER, sip:bob@10.0.1.1:5060 for alice's INVITE.
register_bob() {
	in_ns callee $SIPP -sf /tests/sipp/register_refresh.xml -inf $K/bob.csv -m 1 -i 10.0.2.2 -p 5080 \
		-key realm ksip.test -auth_uri ksip.test -nostdin -timeout 10s 10.0.2.1:5060 > $K/reg.out 2>&1
}
# start_call TALK_MS: bob answers at 10.0.2.2:5080 (RTP 40000), alice calls from 10.0.1.2:5070 (RTP 20000)
start_call() {
	in_ns callee $SIPP -sf /tests/sipp/call_uas.xml -m 1 -i 10.0.2.2 -p 5080 -mp 6100 -key rtp 40000 \
		-nostdin -timeout 60s -timeout_error > $K/uas.out 2>&1 &
	uas_pid=$!
	sleep 0.3
	in_ns caller $SIPP -sf /tests/sipp/call_uac.xml -inf $K/alice.csv -m 1 -i 10.0.1.2 -p 5070 -mp 6000 \
		-key rtp 20000 -key realm ksip.test -auth_uri bob@10.0.1.1:5060 -d "$1" -nostdin -timeout 60s \
		-timeout_error \
		10.0.1.1:5060 > $K/uac.out 2>&1 &
	uac_pid=$!
}

start_ksipd
ok $? "ksipd starts in the relay namespace"
grep -q "media: forwarded in the kernel by ksip.ko" $K/ksipd.log
ok $? "ksipd says the media goes through ksip.ko" "$(cat $K/ksipd.log)"
echo alice-pw | relay $KC user add alice --password-stdin > /dev/null
echo bob-pw | relay $KC user add bob --password-stdin > /dev/null
register_bob
ok $? "bob registers from the callee namespace (SIPp)" "$(tail -5 $K/reg.out)"

# --- the basic call ---------------------------------------------------------------------
fwd0=$(kstat forwarded)
start_call 8000
wait_confirmed
ok $? "alice calls bob: the call is confirmed" "$(tail -20 $K/ksipd.log)"
a_port=$(call_field caller_port)
b_port=$(call_field callee_port)
is "$(call_field media)" kernel "the call's media is in the kernel"
is "$(media_through callee 10.0.2.2:40000 10.0.2.1:$b_port caller 10.0.1.2:20000 10.0.1.1:$a_port 200 172)" \
	"received 200 bad 0" "200 RTP packets alice->bob arrive intact from the relay's bob-side port"
is "$(media_through caller 10.0.1.2:20000 10.0.1.1:$a_port callee 10.0.2.2:40000 10.0.2.1:$b_port 150 160)" \
	"received 150 bad 0" "150 RTP packets bob->alice arrive intact from the relay's alice-side port"
is "$(flow_field 10.0.1.1:$a_port packets)" 200 "the kernel flow from alice counts exactly 200 packets"
is "$(flow_field 10.0.2.1:$b_port packets)" 150 "the kernel flow from bob counts exactly 150 packets"
is "$(($(kstat forwarded) - fwd0))" 350 "ksip.ko forwarded all 350: none went through ksipd"
is "$(call_field packets_from_caller)/$(call_field packets_from_callee)" "200/150" \
	"ksipctl call list shows the kernel's counters"
wait $uac_pid
ok $? "alice's scenario passes (BYE after 8 s)" "$(tail -30 $K/uac.out)"
wait $uas_pid
ok $? "bob's scenario passes" "$(tail -30 $K/uas.out)"
is "$(relay $CTL flow list | grep -c "10\.0\.")" 0 "no kernel flow is left after the BYE"
is "$(kstat_d relay_ports_in_use)/$(kstat_d kernel_flow_pairs)/$(kstat_d calls_active)" "0/0/0" \
	"no relay port, flow or call is left"

# --- ksipd restarts during a call: the media keeps flowing, the flows are adopted --------
register_bob
start_call 9000
wait_confirmed
ok $? "second call confirmed"
a_port=$(call_field caller_port)
b_port=$(call_field callee_port)
relay kill -9 "$(cat $K/pid)"
sleep 0.3
is "$(media_through callee 10.0.2.2:40000 10.0.2.1:$b_port caller 10.0.1.2:20000 10.0.1.1:$a_port 50 172)" \
	"received 50 bad 0" "with ksipd killed, the kernel still forwards the call's media"
start_ksipd
ok $? "ksipd starts again"
grep -q "adopted 2 relay port pairs" $K/ksipd.log
ok $? "it adopts the two port pairs of the live flows" "$(tail -5 $K/ksipd.log)"
is "$(kstat_d relay_ports_in_use)" 4 "the adopted ports are not handed out again"
wait $uac_pid
ok $? "the call survives the restart: alice's BYE goes through" "$(tail -30 $K/uac.out)"
wait $uas_pid
ok $? "and bob answers it" "$(tail -30 $K/uas.out)"
# Nothing sends on the adopted flows now: they idle out (10 s) and the ports come back.
for i in $(seq 40); do [ "$(kstat_d relay_ports_in_use)" = 0 ] && break; sleep 0.5; done
is "$(kstat_d relay_ports_in_use)" 0 "the adopted ports are released once their flows idled out"
relay kill "$(cat $K/pid)"
sleep 0.5

# --- an IPv4 phone calls an IPv6 phone: the relay bridges the families in ksip.ko ---------
# bob registers over IPv6 from [fd02::2]:5080 and offers fd02::2 in his SDP; alice calls over
# IPv4. Each leg sees the relay in its own family, and both directions are kernel flows that
# receive in one family and send in the other.
start_ksipd
ok $? "ksipd starts again (IPv4 and IPv6)"
in_ns callee $SIPP -sf /tests/sipp/register_refresh.xml -inf $K/bob.csv -m 1 -i fd02::2 -p 5080 \
	-key realm ksip.test -auth_uri ksip.test -nostdin -timeout 10s [fd02::1]:5060 > $K/reg6.out 2>&1
ok $? "bob registers over IPv6" "$(tail -5 $K/reg6.out)"
xf0=$(kstat_d relay_streams_cross_family)
fwd0=$(kstat forwarded)
in_ns callee $SIPP -sf /tests/sipp/call_uas.xml -m 1 -i fd02::2 -p 5080 -mp 6100 -key rtp 40000 \
	-nostdin -timeout 60s -timeout_error > $K/uas.out 2>&1 &
uas_pid=$!
sleep 0.3
in_ns caller $SIPP -sf /tests/sipp/call_uac.xml -inf $K/alice.csv -m 1 -i 10.0.1.2 -p 5070 -mp 6000 \
	-key rtp 20000 -key realm ksip.test -auth_uri bob@10.0.1.1:5060 -d 6000 -nostdin -timeout 60s \
	-timeout_error 10.0.1.1:5060 > $K/uac.out 2>&1 &
uac_pid=$!
wait_confirmed
ok $? "alice (IPv4) calls bob (IPv6): the call is confirmed" "$(tail -20 $K/ksipd.log)"
a_port=$(call_field caller_port)
b_port=$(call_field callee_port)
is "$(call_field media)/$(call_field caller_side)/$(call_field callee_side)" "kernel/10.0.1.1/fd02::1" \
	"the media is in the kernel, the relay facing alice in IPv4 and bob in IPv6"
is "$(($(kstat_d relay_streams_cross_family) - xf0))" 1 "counted as one cross-family stream"
is "$(media_through callee [fd02::2]:40000 [fd02::1]:$b_port caller 10.0.1.2:20000 10.0.1.1:$a_port 200 172)" \
	"received 200 bad 0" "200 RTP packets alice->bob: sent over IPv4, arrive over IPv6 intact"
is "$(media_through caller 10.0.1.2:20000 10.0.1.1:$a_port callee [fd02::2]:40000 [fd02::1]:$b_port 150 160)" \
	"received 150 bad 0" "150 RTP packets bob->alice: sent over IPv6, arrive over IPv4 intact"
is "$(flow_field 10.0.1.1:$a_port packets)/$(flow_field [fd02::1]:$b_port packets)" "200/150" \
	"the two kernel flows count exactly 200 and 150"
is "$(($(kstat forwarded) - fwd0))" 350 "ksip.ko forwarded all 350: none went through ksipd"
wait $uac_pid
ok $? "alice's scenario passes (BYE after 6 s)" "$(tail -30 $K/uac.out)"
wait $uas_pid
ok $? "bob's scenario passes" "$(tail -30 $K/uas.out)"
relay kill "$(cat $K/pid)"
sleep 0.5
