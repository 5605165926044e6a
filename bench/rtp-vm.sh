#!/bin/sh
# bench/rtp, the part that runs inside a 1-vCPU VM (see bench/rtp). Prints
# RESULT lines; the host turns them into costs and ratios.
#
#   caller 10.0.1.2 --a0/a1-- 10.0.1.1 relay 10.0.2.1 --b1/b0-- 10.0.2.2 callee
#   caller 10.0.3.2 --------------d0/d1-------------- 10.0.3.3 callee   (direct)
#
# One vCPU, unpaced blasts: the CPU is saturated, so the time from the first
# to the last datagram at the sink, per datagram, is all the CPU work each
# packet costs. The direct path costs the same minus the relay, so a mode's
# relay cost per packet is its time per packet minus the direct path's.
IP=/usr/sbin/ip
KT=/bin/ktest
CTL=/bin/ksipctl
PACKETS=${PACKETS:-20000}
REPS=${REPS:-3}
in_ns() { ns=$1; shift; $IP netns exec "$ns" "$@"; }

insmod /lib/modules/veth.ko
insmod /lib/modules/ksip.ko
for ns in caller relay callee; do $IP netns add $ns; in_ns $ns $IP link set lo up; done
$IP link add a0 netns caller type veth peer name a1 netns relay
$IP link add b0 netns callee type veth peer name b1 netns relay
$IP link add d0 netns caller type veth peer name d1 netns callee
in_ns caller $IP addr add 10.0.1.2/24 dev a0
in_ns caller $IP addr add 10.0.3.2/24 dev d0
in_ns relay $IP addr add 10.0.1.1/24 dev a1
in_ns relay $IP addr add 10.0.2.1/24 dev b1
in_ns callee $IP addr add 10.0.2.2/24 dev b0
in_ns callee $IP addr add 10.0.3.3/24 dev d1
for l in "caller a0" "caller d0" "relay a1" "relay b1" "callee b0" "callee d1"; do
	set -- $l; in_ns $1 $IP link set $2 up
done
in_ns caller $IP route add 10.0.2.0/24 via 10.0.1.1
in_ns callee $IP route add 10.0.1.0/24 via 10.0.2.1

# run MODE DST: REPS blasts of PACKETS datagrams (172 bytes of payload, like G.711 RTP).
run() {
	for rep in $(seq "$REPS"); do
		KTEST_ELAPSED=1 in_ns callee $KT recv 0.0.0.0:40000 "$PACKETS" 3000 > /tmp/recv &
		sink=$!
		sleep 0.5
		in_ns caller $KT send "$3" "$2" "$PACKETS" 172 2> /dev/null
		wait $sink
		set -- "$1" "$2" "$3" $(cat /tmp/recv)
		# $4 received $5 N $6 bad $7 M $8 elapsed_ns $9 T
		echo "RESULT mode=$1 rep=$rep sent=$PACKETS received=$5 elapsed_ns=$9"
		shift 3
	done
}

run direct 10.0.3.3:40000 10.0.3.2:20000
in_ns relay sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
run plain 10.0.2.2:40000 10.0.1.2:20000
in_ns relay sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
in_ns relay $CTL flow add 10.0.1.1:30000 from 10.0.2.1:30002 to 10.0.2.2:40000
run ksip 10.0.1.1:30000 10.0.1.2:20000
in_ns relay /bin/udprelay 10.0.1.1:30100 10.0.2.1:30102 10.0.2.2:40000 &
relay_pid=$!
sleep 0.3
run user 10.0.1.1:30100 10.0.1.2:20000
kill $relay_pid

# rtpengine's kernel module, with its daemon creating the call over ng (when the VM has them).
if [ -x /bin/rtpengine ] && [ -f /lib/modules/xt_RTPENGINE.ko ]; then
	for m in x_tables ip_tables iptable_filter xt_RTPENGINE; do insmod /lib/modules/$m.ko; done
	in_ns relay /bin/rtpengine --config-file=none --table=0 --no-fallback --foreground --log-stderr \
		--log-level=6 --interface=caller/10.0.1.1 --interface=callee/10.0.2.1 \
		--listen-ng=127.0.0.1:2223 --port-min=32000 --port-max=32999 --num-threads=1 \
		> /tmp/rtpengine.log 2>&1 &
	rtpe_pid=$!
	in_ns relay /usr/sbin/iptables-legacy -I INPUT -p udp -j RTPENGINE --id 0
	sleep 2
	b() { printf '%d:%s' ${#1} "$1"; }	# a bencoded string (not for ones ending in a newline:
						# $(...) would strip it after the length was counted)
	cr=$(printf '\r')
	nl="$cr
"
	offer_sdp="v=0${nl}o=- 1 1 IN IP4 10.0.1.2${nl}s=-${nl}c=IN IP4 10.0.1.2${nl}t=0 0${nl}m=audio 20000 RTP/AVP 8${nl}"
	answer_sdp="v=0${nl}o=- 1 1 IN IP4 10.0.2.2${nl}s=-${nl}c=IN IP4 10.0.2.2${nl}t=0 0${nl}m=audio 40000 RTP/AVP 8${nl}"
	offer=$(in_ns relay $KT ng 127.0.0.1:2223 "d$(b command)$(b offer)$(b call-id)$(b bench1)$(b from-tag)$(b a1)$(b sdp)${#offer_sdp}:$offer_sdp$(b direction)l$(b caller)$(b callee)ee")
	answer=$(in_ns relay $KT ng 127.0.0.1:2223 "d$(b command)$(b answer)$(b call-id)$(b bench1)$(b from-tag)$(b a1)$(b to-tag)$(b b1)$(b sdp)${#answer_sdp}:${answer_sdp}e")
	to_callee=$(echo "$offer" | sed -n 's/.*m=audio \([0-9]*\).*/\1/p' | head -1)
	to_caller=$(echo "$answer" | sed -n 's/.*m=audio \([0-9]*\).*/\1/p' | head -1)
	echo "# rtpengine: caller sends to 10.0.1.1:$to_caller, callee to 10.0.2.1:$to_callee"
	if [ -z "$to_caller" ] || [ -z "$to_callee" ]; then
		echo "# rtpengine offer answered: $offer" | head -5
		echo "# rtpengine answer answered: $answer" | head -5
		tail -20 /tmp/rtpengine.log | sed 's/^/# /'
	fi
	# Packets each way let rtpengine learn both endpoints; it confirms them after its
	# learning delay (3 s by default) and moves the stream into the kernel on the next packet.
	for round in 1 2; do
		in_ns callee $KT send 10.0.2.2:40000 10.0.2.1:$to_callee 5 172 2> /dev/null
		in_ns caller $KT send 10.0.1.2:20000 10.0.1.1:$to_caller 5 172 2> /dev/null
		sleep 3.5
	done
	echo "RESULT rtpengine_kernel_streams=$(grep -c "^local" /proc/rtpengine/0/list 2>/dev/null || echo 0)"
	run rtpengine 10.0.1.1:$to_caller 10.0.1.2:20000
	# What rtpengine did: it must have moved the stream into its kernel table.
	grep -i "kerneliz\|error" /tmp/rtpengine.log | grep -v "receive queue" | head -6 | sed 's/^/# log: /'
	kill $rtpe_pid
	sleep 1
	in_ns relay /usr/sbin/iptables-legacy -F INPUT
else
	echo "# rtpengine: not in this VM image"
fi

# --- paced: many streams at a steady rate ------------------------------------------------
# Real media is many streams of 50 packets/s, so a relay cannot batch much. The vCPU is not
# saturated here, so the cost is CPU time, measured on the host: bench/rtp samples the qemu
# process's CPU time when it sees each MARK line (the guest's own tick accounting under TCG
# proved useless). A mode's relay cost is its CPU time minus the direct path's.
paced() {	# paced MODE DST SRC STREAMS REP
	n=$((PPS * SECS))
	in_ns callee $KT recv 0.0.0.0:40000 $n $((SECS * 1000 + 3000)) > /tmp/precv &
	sink=$!
	sleep 1
	echo "MARK begin paced=$1 rep=$5"
	sleep 0.3
	in_ns caller $KT send "$3" "$2" $n 172 $PPS "$4" 2> /dev/null
	sleep 0.3
	echo "MARK end paced=$1 rep=$5"
	wait $sink
	echo "RESULT paced=$1 rep=$5 sent=$n received=$(cut -d' ' -f2 /tmp/precv)"
}
STREAMS=${STREAMS:-100}
PPS=${PPS:-2000}
SECS=${SECS:-10}
echo "# paced: $STREAMS streams, $PPS packets/s in all, $SECS s per run"
# ksip.ko flows from 31000 and the userspace relay's sockets from 37000 coexist, so the
# modes take turns within each repetition and share whatever noise the host has.
for i in $(seq 0 $((STREAMS - 1))); do
	in_ns relay $CTL flow add 10.0.1.1:$((31000 + 2 * i)) from 10.0.2.1:$((35000 + 2 * i)) \
		to 10.0.2.2:40000
done
in_ns relay /bin/udprelay 10.0.1.1:37000 10.0.2.1:41000 10.0.2.2:40000 $STREAMS &
relay_pid=$!
sleep 0.5
for rep in $(seq "$REPS"); do
	paced direct 10.0.3.3:40000 10.0.3.2:20000 1 $rep
	in_ns relay sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
	paced plain 10.0.2.2:40000 10.0.1.2:20000 1 $rep
	in_ns relay sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
	paced ksip 10.0.1.1:31000 10.0.1.2:20000 $STREAMS $rep
	paced user 10.0.1.1:37000 10.0.1.2:20000 $STREAMS $rep
done
kill $relay_pid
for i in $(seq 0 $((STREAMS - 1))); do in_ns relay $CTL flow del 10.0.1.1:$((31000 + 2 * i)); done

m0=$(awk '/^(Slab|Percpu):/ { s += $2 } END { print s }' /proc/meminfo)
in_ns relay $KT bulk 100000 1000 > /tmp/bulk
sleep 3	# let the hash table's old bucket arrays and netlink buffers be freed (RCU)
m1=$(awk '/^(Slab|Percpu):/ { s += $2 } END { print s }' /proc/meminfo)
echo "RESULT memory flows=$(sed 's/added //' /tmp/bulk) kbytes=$((m1 - m0))"
awk '$1 == "ksip_flow" { print "RESULT slab objects=" $2 " objsize=" $4 " pages=" $6 * $15 }' /proc/slabinfo
run ksip100k 10.0.1.1:30000 10.0.1.2:20000
in_ns relay $CTL flow flush
rmmod ksip
dmesg | grep "ksip: unloaded"
echo "# vm-tests exit 0"
