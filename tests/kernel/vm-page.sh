# Sourced by vm-tests.sh after vm-tap.sh (its helpers and ksipd.conf): a paging group (issue 17)
# whose fan-out is made by ksip.ko. Group "page" = bob and carol, each a SIPp callee in the
# callee namespace (bob 10.0.2.2:5080 RTP 40000, carol 10.0.2.2:5090 RTP 40010); alice pages
# it from the caller namespace. Whichever answers first gets alice's packets through the call's
# flow; the other as an output of that flow sent from its own relay port. ksipd sends no copy.
# page_send BOB_WANT BOB_MS: bob (waiting for BOB_WANT packets, BOB_MS at most) and carol listen
# on their RTP ports while alice sends 200 packets to her relay port ($a_port).
page_send() {
	in_ns callee $KT recv 10.0.2.2:40000 $1 $2 > /tmp/page_bob &
	rb=$!
	in_ns callee $KT recv 10.0.2.2:40010 200 5000 > /tmp/page_carol &
	rc_=$!
	sleep 0.3
	in_ns caller $KT send 10.0.1.2:20000 10.0.1.1:$a_port 200 172 2> /dev/null
	wait $rb
	wait $rc_
}
# page_call TALK_MS OUT: alice's SIPp pages the group, hangs up after TALK_MS; its pid in uac_pid.
page_call() {
	in_ns caller $SIPP -sf /tests/sipp/call_uac.xml -inf $K/alice_page.csv -m 1 -i 10.0.1.2 \
		-p 5070 -mp 6000 -key rtp 20000 -key realm ksip.test -auth_uri page@10.0.1.1:5060 \
		-d $1 -nostdin -timeout 60s -timeout_error 10.0.1.1:5060 > $2 2>&1 &
	uac_pid=$!
}
# Until ksipd holds no relay port and no call (3 s at most).
page_idle() {
	for i in $(seq 30); do
		[ "$(kstat_d relay_ports_in_use)/$(kstat_d calls_active)" = "0/0" ] && break
		sleep 0.1
	done
}
start_ksipd
ok $? "page: ksipd starts"
echo carol-pw | relay $KC user add carol --password-stdin > /dev/null 2>&1
relay $KC reg del bob > /dev/null 2>&1
relay $KC page add page bob carol > /tmp/page_out 2>&1
ok $? "page: ksipctl page add page bob carol" "$(cat /tmp/page_out)"
register_bob
ok $? "page: bob registers"
printf 'SEQUENTIAL\ncarol;[authentication username=carol password=carol-pw]\n' > $K/carol.csv
in_ns callee $SIPP -sf /tests/sipp/register_refresh.xml -inf $K/carol.csv -m 1 -i 10.0.2.2 -p 5090 \
	-key realm ksip.test -auth_uri ksip.test -nostdin -timeout 10s 10.0.2.1:5060 > $K/reg2.out 2>&1
ok $? "page: carol registers" "$(tail -5 $K/reg2.out)"
printf 'SEQUENTIAL\nalice;[authentication username=alice password=alice-pw];page\n' > $K/alice_page.csv
for m in "bob 5080 40000 6100" "carol 5090 40010 6200"; do
	set -- $m
	in_ns callee $SIPP -sf /tests/sipp/call_uas.xml -m 1 -i 10.0.2.2 -p $2 -mp $4 -key rtp $3 \
		-nostdin -timeout 60s -timeout_error > $K/uas_$1.out 2>&1 &
	eval "pid_$1=\$!"
done
sleep 0.3
page_call 20000 $K/uac_page.out
wait_confirmed
ok $? "page: alice pages bob and carol, the call is confirmed" "$(tail -20 $K/ksipd.log)"
is "$(call_field media)" kernel "page: the call's media is in the kernel"
a_port=$(call_field caller_port)
# Both members answer: wait until ksipd has taken the second 2xx (its output is installed).
for i in $(seq 50); do
	relay $CTL --json flow list | tr '{' '\n' | grep -q '^"source":"10.0.2.1:[0-9]*","peer":"10.0.2.2:400[01]0"' &&
		break
	sleep 0.1
done
# An output is an object of its own in "outputs" (a flow's line starts with "local").
outs=$(relay $CTL --json flow list | tr '{' '\n' | grep -c '^"source":"10.0.2.1:[0-9]*","peer":"10.0.2.2:400[01]0"')
is "$outs" 1 "page: the caller's flow has one output, to the member that answered second" \
	"$(relay $CTL flow list)"
fwd0=$(kstat forwarded)
fan0=$(kstat_d relay_fanout_sent)
page_send 200 5000
is "$(cat /tmp/page_bob)" "received 200 bad 0" "page: bob gets alice's 200 packets intact"
is "$(cat /tmp/page_carol)" "received 200 bad 0" "page: carol gets alice's 200 packets intact"
is "$(($(kstat forwarded) - fwd0))" 400 "page: ksip.ko sent the 200 packets and 200 copies"
is "$(($(kstat_d relay_fanout_sent) - fan0))" 0 "page: ksipd sent no copy itself"
wait $uac_pid
ok $? "page: alice's scenario passes (her BYE answered)" "$(tail -30 $K/uac_page.out)"
wait $pid_bob
ok $? "page: bob's scenario passes (BYE received)" "$(tail -30 $K/uas_bob.out)"
wait $pid_carol
ok $? "page: carol's scenario passes (BYE received)" "$(tail -30 $K/uas_carol.out)"
page_idle
is "$(kstat_d relay_ports_in_use)/$(kstat_d kernel_flow_pairs)/$(kstat_d calls_active)" "0/0/0" \
	"page: no relay port (the members' neither), flow or call is left" "$(tail -20 $K/ksipd.log)"

# The page outlives its first answer. bob answers first (carol's SIPp starts only once the
# call is confirmed: she answers a retransmission of ksipd's INVITE) and hangs up after 6 s;
# carol, an output until then, takes his place: the caller's flow now sends to her as its
# peer, with no output left. alice's BYE is answered by ksipd, which BYEs carol.
relay $KC reg del bob > /dev/null 2>&1
register_bob
ok $? "page, first answer hangs up: bob registers again"
in_ns callee $SIPP -sf /tests/sipp/call_uas_bye.xml -m 1 -i 10.0.2.2 -p 5080 -mp 6100 \
	-key rtp 40000 -key realm ksip.test -d 6000 -nostdin -timeout 60s -timeout_error > $K/uas_bob2.out 2>&1 &
pid_bob=$!
sleep 0.3
page_call 12000 $K/uac_page2.out
wait_confirmed
ok $? "page, first answer hangs up: bob answers alice's page" \
	"$(tail -8 $K/ksipd.log; tail -25 $K/uas_bob2.out; tail -25 $K/uac_page2.out)"
in_ns callee $SIPP -sf /tests/sipp/call_uas.xml -m 1 -i 10.0.2.2 -p 5090 -mp 6200 -key rtp 40010 \
	-nostdin -timeout 60s -timeout_error > $K/uas_carol2.out 2>&1 &
pid_carol=$!
a_port=$(call_field caller_port)
# carol's place: first an output of alice's flow, then (bob gone) the flow's own peer.
flow_to_carol() {
	relay $CTL --json flow list | tr '{' '\n' | grep "^\"local\":\"10.0.1.1:$a_port\"" |
		grep -c "\"peer\":\"10.0.2.2:40010\""
}
for i in $(seq 80); do
	relay $CTL --json flow list | tr '{' '\n' | grep -q '^"source":"10.0.2.1:[0-9]*","peer":"10.0.2.2:40010"' &&
		break
	sleep 0.1
done
is "$(relay $CTL --json flow list | tr '{' '\n' | grep -c '^"source":"10.0.2.1:[0-9]*","peer":"10.0.2.2:40010"')" \
	1 "page, first answer hangs up: carol answers second, an output of alice's flow" \
	"$(relay $CTL flow list)"
for i in $(seq 100); do
	[ "$(flow_to_carol)" = 1 ] && break
	sleep 0.1
done
is "$(flow_to_carol)/$(relay $CTL --json flow list | tr '{' '\n' | grep -c '^"source"')" 1/0 \
	"page, first answer hangs up: after bob's BYE alice's flow sends to carol, no output left" \
	"$(relay $CTL flow list; tail -5 $K/ksipd.log)"
wait $pid_bob
ok $? "page, first answer hangs up: bob's BYE is answered (by ksipd)" "$(tail -30 $K/uas_bob2.out)"
is "$(call_field state)" confirmed "page, first answer hangs up: alice's call is still confirmed"
fwd0=$(kstat forwarded)
page_send 1 1500
is "$(cat /tmp/page_carol)" "received 200 bad 0" "page, first answer hangs up: carol gets alice's 200 packets"
is "$(cat /tmp/page_bob)" "received 0 bad 0" "page, first answer hangs up: bob, gone, gets none"
is "$(($(kstat forwarded) - fwd0))" 200 "page, first answer hangs up: ksip.ko sent 200, no copy"
wait $uac_pid
ok $? "page, first answer hangs up: alice's BYE is answered (by ksipd)" "$(tail -30 $K/uac_page2.out)"
wait $pid_carol
ok $? "page, first answer hangs up: carol gets ksipd's BYE" "$(tail -30 $K/uas_carol2.out)"
page_idle
is "$(kstat_d relay_ports_in_use)/$(kstat_d kernel_flow_pairs)/$(kstat_d calls_active)" "0/0/0" \
	"page, first answer hangs up: no relay port, flow or call is left" "$(tail -20 $K/ksipd.log)"
relay kill "$(cat $K/pid)"
sleep 0.5
