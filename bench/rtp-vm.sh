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
