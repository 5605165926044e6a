#!/bin/sh
# bench/rtp, the part that runs inside the VM (see bench/rtp). Prints RESULT
# lines; the host turns them into slopes and ratios.
# caller 10.0.1.2 --a0/a1-- 10.0.1.1 relay 10.0.2.1 --b1/b0-- 10.0.2.2 callee
# Sender and sink run on vCPU0; the relay's packet work is steered to vCPU1
# by RPS on its receiving interface (and the userspace relay is pinned there).
IP=/usr/sbin/ip
KT=/bin/ktest
CTL=/bin/ksipctl
RATES=${RATES:-"1500 3000 0"}	# packets per second; 0 = as fast as the sender can
PACKETS=${PACKETS:-20000}	# per run
in_ns() { ns=$1; shift; $IP netns exec "$ns" "$@"; }

insmod /lib/modules/veth.ko
insmod /lib/modules/ksip.ko
for ns in caller relay callee; do $IP netns add $ns; in_ns $ns $IP link set lo up; done
$IP link add a0 netns caller type veth peer name a1 netns relay
$IP link add b0 netns callee type veth peer name b1 netns relay
in_ns caller $IP addr add 10.0.1.2/24 dev a0
in_ns relay $IP addr add 10.0.1.1/24 dev a1
in_ns relay $IP addr add 10.0.2.1/24 dev b1
in_ns callee $IP addr add 10.0.2.2/24 dev b0
for l in "caller a0" "relay a1" "relay b1" "callee b0"; do set -- $l; in_ns $1 $IP link set $2 up; done
in_ns caller $IP route add default via 10.0.1.1
in_ns callee $IP route add default via 10.0.2.1
in_ns relay sh -c 'echo 2 > /sys/class/net/a1/queues/rx-0/rps_cpus'
in_ns callee sh -c 'echo 1 > /sys/class/net/b0/queues/rx-0/rps_cpus'
in_ns caller sh -c 'echo 1 > /sys/class/net/a0/queues/rx-0/rps_cpus'

# A cycle soaker on vCPU1 at SCHED_IDLE: relay work there shows as iterations it lost.
# soak_read prints "ITERATIONS NANOSECONDS" since it started.
taskset 2 $KT soak /tmp/soak &
SOAK=$!
soak_read() { rm -f /tmp/soak; kill -USR1 $SOAK; while [ ! -s /tmp/soak ]; do sleep 0.05; done; cat /tmp/soak; }
sleep 1
set -- $(soak_read); sleep 3; set -- $1 $2 $(soak_read)
echo "RESULT calibration iterations=$(($3 - $1)) ns=$(($4 - $2))"

# run MODE DST RATE: send PACKETS at RATE pps, count what arrives.
run() {
	count=$PACKETS
	in_ns callee taskset 1 $KT recv 10.0.2.2:40000 "$count" 1500 > /tmp/recv &
	sink=$!
	sleep 0.3
	s0=$(soak_read)
	in_ns caller taskset 1 $KT send 10.0.1.2:20000 "$2" "$count" 172 "$3" 2> /tmp/sent
	s1=$(soak_read)
	wait $sink
	set -- "$1" "$2" "$3" $(cat /tmp/recv) $(cat /tmp/sent) $s0 $s1
	# $4 received $5 N $6 bad $7 M | $8 sent $9 S ${10} in ${11} T ${12} s | ${13} ${14} soak before | ${15} ${16} after
	echo "RESULT mode=$1 rate=$3 sent=$9 seconds=${11} received=$5 iterations=$((${15} - ${13})) ns=$((${16} - ${14}))"
}

echo "# plain kernel IP forwarding"
in_ns relay sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
for r in $RATES; do run plain 10.0.2.2:40000 "$r"; done
in_ns relay sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'

echo "# ksip.ko"
in_ns relay $CTL flow add 10.0.1.1:30000 from 10.0.2.1:30002 to 10.0.2.2:40000
for r in $RATES; do run ksip 10.0.1.1:30000 "$r"; done

echo "# userspace relay (recvmmsg/sendmmsg), pinned to vCPU1"
in_ns relay taskset 2 /bin/udprelay 10.0.1.1:30100 10.0.2.1:30102 10.0.2.2:40000 &
relay_pid=$!
sleep 0.3
for r in $RATES; do run user 10.0.1.1:30100 "$r"; done
kill $relay_pid

echo "# ksip.ko with 100,000 more flows installed"
m0=$(awk '/^(Slab|Percpu):/ { s += $2 } END { print s }' /proc/meminfo)
in_ns relay $KT bulk 100000 1000 > /tmp/bulk
sleep 3	# let the hash table's old bucket arrays and netlink buffers be freed (RCU)
m1=$(awk '/^(Slab|Percpu):/ { s += $2 } END { print s }' /proc/meminfo)
echo "RESULT memory flows=$(sed 's/added //' /tmp/bulk) kbytes=$((m1 - m0))"
awk '$1 == "ksip_flow" { print "RESULT slab objects=" $2 " objsize=" $4 " pages=" $6 * $15 }' /proc/slabinfo
for r in $RATES; do run ksip100k 10.0.1.1:30000 "$r"; done
in_ns relay $CTL flow flush
kill $SOAK
rmmod ksip
dmesg | grep "ksip: unloaded"
echo "# vm-tests exit 0"
