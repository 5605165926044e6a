# Sourced by vm-tests.sh after vm-tap.sh (its helpers and ksipd.conf): a paging group (issue 17)
# whose fan-out is made by ksip.ko. Group "page" = bob and carol, each a SIPp callee in the
# callee namespace (bob 10.0.2.2:5080 RTP 40000, carol 10.0.2.2:5090 RTP 40010); alice pages
# it from the caller namespace. Whichever answers first gets alice's packets through the call's
# flow; the other as an output of that flow sent from its own relay port. ksipd sends no copy.
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
in_ns caller $SIPP -sf /tests/sipp/call_uac.xml -inf $K/alice_page.csv -m 1 -i 10.0.1.2 -p 5070 \
	-mp 6000 -key rtp 20000 -key realm ksip.test -auth_uri page@10.0.1.1:5060 -d 20000 -nostdin \
	-timeout 60s -timeout_error 10.0.1.1:5060 > $K/uac_page.out 2>&1 &
uac_pid=$!
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
in_ns callee $KT recv 10.0.2.2:40000 200 5000 > /tmp/page_bob &
rb=$!
in_ns callee $KT recv 10.0.2.2:40010 200 5000 > /tmp/page_carol &
rc_=$!
sleep 0.3
in_ns caller $KT send 10.0.1.2:20000 10.0.1.1:$a_port 200 172 2> /dev/null
wait $rb
wait $rc_
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
for i in $(seq 30); do
	[ "$(kstat_d relay_ports_in_use)/$(kstat_d calls_active)" = "0/0" ] && break
	sleep 0.1
done
is "$(kstat_d relay_ports_in_use)/$(kstat_d kernel_flow_pairs)/$(kstat_d calls_active)" "0/0/0" \
	"page: no relay port (the members' neither), flow or call is left" "$(tail -20 $K/ksipd.log)"
relay kill "$(cat $K/pid)"
sleep 0.5
