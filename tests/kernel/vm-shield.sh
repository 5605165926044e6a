# Sourced by vm-tests.sh after vm-calls.sh (its helpers and $K): the nftables
# shield (issue 13) on the cloud kernel, where nf_tables and its expressions
# are modules, with a call's media in ksip.ko while a banned source floods.
#
#   caller 10.0.1.2 --- 10.0.1.1 relay 10.0.2.1 --- 10.0.2.2 callee
#                                10.0.3.1
#                                   |
#                       mallory 10.0.3.2 (wrong passwords, then the flood)
#
# What a banned source's packets meet in the relay namespace, in hook order:
# ksip.ko (prerouting, priority -410) takes those addressed to a kernel flow;
# then ksipd's table inet ksip (priority raw, -300) drops the rest to the SIP
# and relay ports; the socket never sees them.
shield_t0=$(date +%s)
SK=/tmp/ksipd-shield
NFT=/usr/sbin/nft
KC="$CTL --socket $SK/ksipd.sock"
mkdir -p $SK
# scripts/vm.sh wrote the load order from this kernel's modules.dep; counters, sets, lookup,
# dynset, payload, meta, range and bitwise are built into nf_tables.ko. objref: the rules' named
# counters; ct: notrack; limit: the rate meter.
mods_ok=0
for m in $(cat /lib/modules/shield.order); do
	# vm-fanout.sh loaded nf_tables and what it needs already
	[ -d "/sys/module/$(echo "$m" | tr - _)" ] || insmod /lib/modules/$m.ko || mods_ok=1
done
ok $mods_ok "nf_tables, nft_objref, nft_limit, nf_conntrack and nft_ct load"

$IP netns add mallory
in_ns mallory $IP link set lo up
$IP link add m0 netns mallory type veth peer name m1 netns relay
in_ns mallory $IP addr add 10.0.3.2/24 dev m0
in_ns relay $IP addr add 10.0.3.1/24 dev m1
in_ns mallory $IP link set m0 up
in_ns relay $IP link set m1 up
in_ns mallory $IP route add default via 10.0.3.1

sed -e "s|$K/|$SK/|" $K/ksipd.conf > $SK/ksipd.conf
echo "shield = nftables" >> $SK/ksipd.conf
echo "metrics_listen = 127.0.0.1:9462" >> $SK/ksipd.conf	# not the first ksipd's, which may still be stopping
relay sh -c "/bin/ksipd --config $SK/ksipd.conf >> $SK/ksipd.log 2>&1 & echo \$! > $SK/pid"
for i in $(seq 50); do relay $KC stats > /dev/null 2>&1 && break; sleep 0.1; done
grep -q "shield: nftables, table inet ksip" $SK/ksipd.log
ok $? "ksipd (shield = nftables) builds its table on the cloud kernel's modules" "$(cat $SK/ksipd.log)"
relay $NFT -j list table inet ksip | grep -q '"chain": {[^}]*"name": "relay"'
ok $? "nft reads table inet ksip (with its relay chain)"
echo alice-pw | relay $KC user add alice --password-stdin > /dev/null
echo bob-pw | relay $KC user add bob --password-stdin > /dev/null
register_bob
ok $? "bob registers"

# skstat NAME: ksipd's counter; nctr NAME: the packets of a named counter of the table
skstat() { relay $KC --json stats | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
nctr() { relay $NFT -j list counter inet ksip "$1" | sed -n 's/.*"packets": *\([0-9]*\).*/\1/p'; }

# --- mallory guesses passwords: banned, in the kernel's set -----------------------------
printf 'SEQUENTIAL\nmallory;[authentication username=mallory password=guess]\n' > $SK/mallory.csv
in_ns mallory $SIPP -sf /tests/sipp/register_rejected.xml -inf $SK/mallory.csv -m 11 -l 1 \
	-i 10.0.3.2 -p 5090 -key realm ksip.test -auth_uri ksip.test -nostdin -timeout 20s \
	10.0.3.1:5060 > $SK/mallory.out 2>&1
ok $? "11 wrong-password REGISTERs from mallory, each answered 401" "$(tail -20 $SK/mallory.out)"
relay $KC ban list | grep -q "^10\.0\.3\.2 "
ok $? "ksipctl ban list: mallory's address is banned" "$(relay $KC ban list)"
relay $NFT -j list set inet ksip ban4 | grep -q '"val": "10.0.3.2"'
ok $? "and it is in the kernel's set ban4" "$(relay $NFT -j list set inet ksip ban4)"

# --- a call with kernel media while mallory floods ----------------------------------------
in_ns callee $SIPP -sf /tests/sipp/call_uas.xml -m 1 -i 10.0.2.2 -p 5080 -mp 6100 -key rtp 40000 \
	-nostdin -timeout 60s -timeout_error > $SK/uas.out 2>&1 &
uas_pid=$!
sleep 0.3
in_ns caller $SIPP -sf /tests/sipp/call_uac_wait_bye.xml -inf $K/alice.csv -m 1 -i 10.0.1.2 -p 5070 \
	-mp 6000 -key rtp 20000 -key realm ksip.test -auth_uri bob@10.0.1.1:5060 -nostdin -timeout 60s \
	-timeout_error \
	10.0.1.1:5060 > $SK/uac.out 2>&1 &
uac_pid=$!
wait_confirmed
ok $? "alice calls bob with mallory banned: confirmed" "$(tail -20 $SK/ksipd.log)"
a_port=$(call_field caller_port)
b_port=$(call_field callee_port)
call_id=$(relay $KC --json call list | sed 's/{"id"/\n{"id"/g' | grep '"state":"confirmed"' |
	sed -n 's/^{"id":\([0-9]*\).*/\1/p' | head -1)
is "$(call_field media)" kernel "the call's media is in ksip.ko"
# Both RTP flows latch onto the phones first (20 packets each way).
is "$(media_through callee 10.0.2.2:40000 10.0.2.1:$b_port caller 10.0.1.2:20000 10.0.1.1:$a_port 20 172)/$(media_through caller 10.0.1.2:20000 10.0.1.1:$a_port callee 10.0.2.2:40000 10.0.2.1:$b_port 20 160)" \
	"received 20 bad 0/received 20 bad 0" "20 RTP packets each way latch the flows onto alice and bob"

# Two relay ports with no flow (the pool hands out pairs from the bottom: these are free).
free1=30090
free2=30092
fwd0=$(kstat forwarded)
ds0=$(kstat drop_source)
fd0=$(flow_field 10.0.1.1:$a_port dropped)
br0=$(nctr ban_relay)
bs0=$(nctr ban_sip)
rq0=$(skstat requests)
bd0=$(skstat banned_dropped)
ga0=$(skstat garbage_dropped)
# The flood: 5,000 datagrams to alice's live RTP port and 5,000 to each free relay port
# (10,000 a second), and 10,000 REGISTERs to the SIP port, all from mallory's banned address.
in_ns mallory $KT send 10.0.3.2:7000 10.0.1.1:$a_port 15000 100 10000 3 "$a_port,$free1,$free2" \
	2> /dev/null &
relay_flood=$!
in_ns mallory /bin/sipflood --target 10.0.3.1:5060 --method REGISTER --count 10000 --rate 10000 \
	--seconds 30 --source 10.0.3.2 > $SK/sipflood.out &
sip_flood=$!
sleep 0.2
rx1=$(media_through callee 10.0.2.2:40000 10.0.2.1:$b_port caller 10.0.1.2:20000 10.0.1.1:$a_port 200 172)
rx2=$(media_through caller 10.0.1.2:20000 10.0.1.1:$a_port callee 10.0.2.2:40000 10.0.2.1:$b_port 150 160)
wait $relay_flood
wait $sip_flood
is "$rx1/$rx2" "received 200 bad 0/received 150 bad 0" \
	"during the flood, 200 RTP packets alice->bob and 150 bob->alice arrive intact"
is "$(flow_field 10.0.1.1:$a_port packets)/$(flow_field 10.0.2.1:$b_port packets)" "220/170" \
	"the call's flows count exactly 220 and 170: nothing of the flood leaked into them"
is "$(($(kstat forwarded) - fwd0))" 350 "ksip.ko forwarded exactly the call's 350 packets meanwhile"
is "$(($(flow_field 10.0.1.1:$a_port dropped) - fd0))/$(($(kstat drop_source) - ds0))" "0/0" \
	"the 5,000 to the live, latched port never reach ksip.ko (the table's early chain runs first)"
is "$(($(nctr ban_relay) - br0))" 15000 \
	"ban_relay counts all 15,000 to the relay ports: the live port's 5,000 and the free ports' 10,000"
is "$(sed -n 's/^sent=\([0-9]*\).*/\1/p' $SK/sipflood.out)/$(($(nctr ban_sip) - bs0))" "10000/10000" \
	"the 10,000 REGISTERs: all counted by ban_sip"
is "$(($(skstat requests) - rq0))/$(($(skstat banned_dropped) - bd0))/$(($(skstat garbage_dropped) - ga0))" \
	"0/0/0" "ksipd's own counters did not move: no request, no banned drop, no garbage"

# A kernel flow not latched yet: nobody sent RTCP, so the first datagram to alice's RTCP
# port would latch that flow onto its source. The ban is checked before ksip.ko's hook
# (chain early, priority -450 < -410), so a banned source never gets to be that first one.
br0=$(nctr ban_relay)
in_ns mallory $KT send 10.0.3.2:7001 10.0.1.1:$((a_port + 1)) 100 100 2> /dev/null
relay $CTL --json flow list | grep -q "\"local\":\"10.0.1.1:$((a_port + 1))\"[^}]*\"latched\":\"10.0.3.2:7001\""
ok $([ $? -ne 0 ]; echo $?) "a banned source cannot latch a flow that has not latched yet (RTCP)" \
	"$(relay $CTL --json flow list)"
got="$(flow_field 10.0.1.1:$((a_port + 1)) packets)/$(($(nctr ban_relay) - br0))"
[ "$got" = "0/100" ]
ok $? "its 100 RTCP packets are dropped by the table (ban_relay), none forwarded" \
	"got '$got', want '0/100'; flows: $(relay $CTL --json flow list)"

relay $KC call hangup "$call_id" > /dev/null
ok $? "ksipctl call hangup"
wait $uac_pid
ok $? "alice's scenario passes (BYE from ksipd)" "$(tail -30 $SK/uac.out)"
wait $uas_pid
ok $? "bob's scenario passes" "$(tail -30 $SK/uas.out)"
relay kill "$(cat $SK/pid)"
for i in $(seq 30); do relay kill -0 "$(cat $SK/pid)" 2> /dev/null || break; sleep 0.1; done
relay $NFT list table inet ksip > /dev/null 2>&1
ok $([ $? -ne 0 ]; echo $?) "on a clean stop ksipd removes its table"
relay $CTL flow flush
$IP netns del mallory
echo "# vm-shield.sh took $(($(date +%s) - shield_t0)) s"
