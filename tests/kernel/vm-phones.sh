# Sourced by vm-tests.sh after vm-calls.sh (its helpers and $K): a call between two real
# phones, baresip in the caller and callee namespaces, with the media in ksip.ko.
#
#   caller: baresip as alice (440 Hz)  10.0.1.2 --- relay: ksipd --- 10.0.2.2  callee: bob (1000 Hz)
#
# Each baresip plays a sine of its own (ausine) and records what it receives to a WAV (sndfile);
# bob answers by himself (answermode=auto), alice dials at start (-e). Checked here: both
# register with ksipd's default digest settings, the call is confirmed with its media in the
# kernel, and both of its kernel flows count packets that keep growing; after alice hangs up no
# call or flow is left. The two recordings are printed base64-encoded between "# wav begin
# NAME" and "# wav end NAME" lines; tests/kernel/run.sh decodes them and checks each for the
# other phone's tone (tests/kernel/vm-audio.py, with tests/phones/tone.py). About 15 s.
phones_t0=$(date +%s)
PK=/tmp/ksipd-phones
KC="$CTL --socket $PK/ksipd.sock"
BARESIP=/usr/bin/baresip
mkdir -p $PK/alice $PK/bob
# ksipd as in vm-calls.sh but with the embedded digest default (baresip answers MD5 only and
# is challenged with it by its User-Agent) and a fresh database.
sed -e "s|$K/|$PK/|" -e "/^auth_algorithms/d" -e "s|127.0.0.1:9461|127.0.0.1:9463|" \
	$K/ksipd.conf > $PK/ksipd.conf
relay sh -c "/bin/ksipd --config $PK/ksipd.conf >> $PK/ksipd.log 2>&1 & echo \$! > $PK/pid"
for i in $(seq 50); do relay $KC stats > /dev/null 2>&1 && break; sleep 0.1; done
relay $KC stats > /dev/null 2>&1
ok $? "phones: ksipd starts with the default digest settings" "$(cat $PK/ksipd.log)"
echo alice-pw | relay $KC user add alice --password-stdin > /dev/null
echo bob-pw | relay $KC user add bob --password-stdin > /dev/null

# baresip_conf NAME ADDRESS HZ RELAY-ADDRESS ANSWERMODE
baresip_conf() {
	cat > $PK/$1/config <<CONF
poll_method	epoll
sip_listen	$2:5060
module_path	/usr/lib/baresip/modules
module	g711.so
module	ausine.so
module	sndfile.so
module_tmp	account.so
module_app	menu.so
audio_source	ausine,$3
ausrc_srate	48000
ausrc_channels	2
snd_path	$PK/$1
rtp_ports	20000-20999
rtp_timeout	0
CONF
	echo "<sip:$1@ksip.test>;auth_pass=$1-pw;outbound=\"sip:$4:5060\";regint=600;answermode=$5" \
		> $PK/$1/accounts
}
baresip_conf alice 10.0.1.2 440 10.0.1.1 manual
baresip_conf bob 10.0.2.2 1000 10.0.2.1 auto
# stop_phone PID: SIGTERM makes baresip hang up and close its recordings; SIGKILL after 10 s.
stop_phone() {
	kill "$1" 2> /dev/null
	( (sleep 10; kill -9 "$1" 2> /dev/null) & )	# detached: no later `wait` waits for it
	wait "$1"
}
registered() { relay $KC --json reg list | grep -q "\"aor\":\"$1\""; }

# -t: each quits by itself after 30 s at the latest, whatever happens below. Not through
# in_ns: a function in the background is a subshell, and $! would be its pid, not baresip's
# (ip netns exec execs the command).
$IP netns exec callee $BARESIP -f $PK/bob -t 30 < /dev/null > $PK/bob/log 2>&1 &
bob_pid=$!
for i in $(seq 100); do registered bob && break; sleep 0.1; done
registered bob
ok $? "phones: bob's baresip registers from the callee namespace" "$(tail -20 $PK/bob/log)"
fwd0=$(kstat forwarded)
$IP netns exec caller $BARESIP -f $PK/alice -e "/dial sip:bob@ksip.test" -t 30 < /dev/null \
	> $PK/alice/log 2>&1 &
alice_pid=$!
wait_confirmed
ok $? "phones: alice's baresip calls bob's, who answers: the call is confirmed" \
	"$(tail -20 $PK/alice/log; tail -20 $PK/bob/log; tail -20 $PK/ksipd.log)"
registered alice
ok $? "phones: alice's baresip registered too"
is "$(call_field media)" kernel "phones: the call's media is in the kernel"
a_port=$(call_field caller_port)
b_port=$(call_field callee_port)
sleep 1
a1=$(flow_field 10.0.1.1:$a_port packets)
b1=$(flow_field 10.0.2.1:$b_port packets)
sleep 2
a2=$(flow_field 10.0.1.1:$a_port packets)
b2=$(flow_field 10.0.2.1:$b_port packets)
ok $([ "${a1:-0}" -gt 0 ] && [ "${a2:-0}" -gt "${a1:-0}" ]; echo $?) \
	"phones: the kernel flow from alice counts packets, and more 2 s later ($a1, $a2)" \
	"$(relay $CTL --json flow list)"
ok $([ "${b1:-0}" -gt 0 ] && [ "${b2:-0}" -gt "${b1:-0}" ]; echo $?) \
	"phones: the kernel flow from bob counts packets, and more 2 s later ($b1, $b2)" \
	"$(relay $CTL --json flow list)"
ok $([ $(($(kstat forwarded) - fwd0)) -ge $((a2 + b2)) ]; echo $?) \
	"phones: ksip.ko forwarded them all ($((a2 + b2)) or more)"
sleep 1
stop_phone $alice_pid
for i in $(seq 50); do [ "$(kstat_d calls_active)" = 0 ] && break; sleep 0.1; done
is "$(relay $CTL flow list | grep -c "10\.0\.")/$(kstat_d calls_active)" "0/0" \
	"phones: alice's baresip hangs up (SIGTERM: BYE): no kernel flow and no call left"
grep -q "Call with sip:alice@ksip.test terminated" $PK/bob/log
ok $? "phones: bob's baresip reports the call ended" "$(tail -5 $PK/bob/log)"
stop_phone $bob_pid
# The recordings, for the host (run.sh) to check; each is about 5 s of 8 kHz 16-bit mono.
for who in alice bob; do
	f=$(ls $PK/$who/dump-*-dec.wav 2> /dev/null | tail -1)
	[ -n "$f" ]
	ok $? "phones: $who's baresip recorded what it received ($(wc -c < "${f:-/dev/null}") bytes)" \
		"$(ls $PK/$who; tail -20 $PK/$who/log)"
	if [ -n "$f" ]; then
		echo "# wav begin $who"
		base64 "$f"
		echo "# wav end $who"
	fi
done
relay kill "$(cat $PK/pid)"
sleep 0.5
echo "# phones: $(($(date +%s) - phones_t0)) s"
