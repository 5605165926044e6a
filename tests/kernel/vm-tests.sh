#!/bin/sh
# Kernel tests, run inside the VM (see tests/kernel/run.sh). TAP on stdout.
# Hosts are network namespaces joined by veth:
#   caller 10.0.1.2 fd01::2 --- 10.0.1.1 fd01::1 relay 10.0.2.1 fd02::1 --- 10.0.2.2 fd02::2 callee
IP=/usr/sbin/ip
KT=/bin/ktest
CTL=/bin/ksipctl
n=0
fails=0

ok() {	# ok CONDITION-STATUS DESCRIPTION [DIAG]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'
		fails=$((fails + 1))
	fi
}
is() {	# is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	ok $? "$3" "got '$1', want '$2'"
}
in_ns() { ns=$1; shift; $IP netns exec "$ns" "$@"; }
relay() { in_ns relay "$@"; }
# flow_field LOCAL FIELD: a number from `ksipctl --json flow list` in the relay
flow_field() {
	relay $CTL --json flow list | tr '{' '\n' | grep -F "\"local\":\"$1\"" |
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
kstat() { in_ns "${2:-relay}" $CTL --json kstats | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
# media_through RX_NS RX RELAY_OUT TX_NS TX RELAY_IN COUNT SIZE: "received N bad M" at RX,
# for COUNT datagrams TX sends to the relay's RELAY_IN, which must arrive from RELAY_OUT
# (any source if RELAY_OUT is empty).
media_through() {
	in_ns "$1" $KT recv "$2" "$7" 3000 ${3:+"$3"} > /tmp/media_rx &
	rx=$!
	sleep 0.3
	in_ns "$4" $KT send "$5" "$6" "$7" "$8" 2> /dev/null
	wait $rx
	cat /tmp/media_rx
}

echo "TAP version 13"
insmod /lib/modules/veth.ko
insmod /lib/modules/ksip.ko
ok $? "ksip.ko loads"
dmesg | grep -q "ksip: loaded"
ok $? "module announces itself"

for ns in caller relay callee; do $IP netns add $ns; in_ns $ns $IP link set lo up; done
$IP link add a0 netns caller type veth peer name a1 netns relay
$IP link add b0 netns callee type veth peer name b1 netns relay
in_ns caller $IP addr add 10.0.1.2/24 dev a0
in_ns caller $IP addr add fd01::2/64 dev a0 nodad
in_ns relay $IP addr add 10.0.1.1/24 dev a1
in_ns relay $IP addr add fd01::1/64 dev a1 nodad
in_ns relay $IP addr add 10.0.2.1/24 dev b1
in_ns relay $IP addr add fd02::1/64 dev b1 nodad
in_ns callee $IP addr add 10.0.2.2/24 dev b0
in_ns callee $IP addr add fd02::2/64 dev b0 nodad
for l in "caller a0" "relay a1" "relay b1" "callee b0"; do set -- $l; in_ns $1 $IP link set $2 up; done
in_ns caller $IP route add default via 10.0.1.1
in_ns caller $IP -6 route add default via fd01::1
in_ns callee $IP route add default via 10.0.2.1
in_ns callee $IP -6 route add default via fd02::1
# The relay does not route: everything it passes on, ksip.ko passes on.
in_ns relay sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward; echo 0 > /proc/sys/net/ipv6/conf/all/forwarding'

# --- forwarding both ways, IPv4 -----------------------------------------------------
relay $CTL flow add 10.0.1.1:30000 from 10.0.2.1:30002 to 10.0.2.2:40000
ok $? "flow add caller->callee"
relay $CTL flow add 10.0.2.1:30002 from 10.0.1.1:30000 to 10.0.1.2:20000
ok $? "flow add callee->caller"
in_ns callee $KT recv 10.0.2.2:40000 200 3000 10.0.2.1:30002 > /tmp/r1 &
sleep 0.3
in_ns caller $KT send 10.0.1.2:20000 10.0.1.1:30000 200 172
wait
is "$(cat /tmp/r1)" "received 200 bad 0" "IPv4: 200 packets arrive intact, from the relay's other-leg address"
in_ns caller $KT recv 10.0.1.2:20000 150 3000 10.0.1.1:30000 > /tmp/r2 &
sleep 0.3
in_ns callee $KT send 10.0.2.2:40000 10.0.2.1:30002 150 60
wait
is "$(cat /tmp/r2)" "received 150 bad 0" "IPv4: the reverse direction too"
is "$(flow_field 10.0.1.1:30000 packets)" 200 "flow counts exactly 200 packets"
is "$(flow_field 10.0.1.1:30000 bytes)" 34400 "flow counts exactly 200 x 172 payload bytes"
is "$(flow_field 10.0.2.1:30002 packets)" 150 "reverse flow counts exactly 150 packets"
is "$(kstat forwarded)" 350 "namespace counter: 350 forwarded"

# --- IPv6 ---------------------------------------------------------------------------
relay $CTL flow add [fd01::1]:31000 from [fd02::1]:31002 to [fd02::2]:41000
ok $? "IPv6 flow add"
in_ns callee $KT recv [fd02::2]:41000 100 3000 [fd02::1]:31002 > /tmp/r3 &
sleep 0.3
in_ns caller $KT send [fd01::2]:21000 [fd01::1]:31000 100 200
wait
is "$(cat /tmp/r3)" "received 100 bad 0" "IPv6: 100 packets arrive intact with rewritten addresses"
is "$(flow_field [fd01::1]:31000 packets)" 100 "IPv6 flow counts 100"

# --- the per-flow route cache follows routing changes ----------------------------------
# A flow keeps its route; adding, changing or removing a route must still take effect on the
# next packet (a stale cached route would keep forwarding, or keep dropping).
relay $CTL flow add 10.0.1.1:37000 from 10.0.2.1:37002 to 10.0.9.2:47000
nr0=$(kstat no_route)
in_ns caller $KT send 10.0.1.2:27000 10.0.1.1:37000 5 100 2> /dev/null
is "$(($(kstat no_route) - nr0))" 5 "route cache: no route to the peer yet, 5 dropped and counted"
in_ns callee $IP addr add 10.0.9.2/24 dev b0
relay $IP route add 10.0.9.0/24 dev b1
is "$(media_through callee 10.0.9.2:47000 10.0.2.1:37002 caller 10.0.1.2:27000 10.0.1.1:37000 5 100)" \
	"received 5 bad 0" "route cache: a route added later is used at once"
relay $IP route del 10.0.9.0/24 dev b1
nr0=$(kstat no_route)
is "$(media_through callee 10.0.9.2:47000 "" caller 10.0.1.2:27000 10.0.1.1:37000 5 100)/$(($(kstat no_route) - nr0))" \
	"received 0 bad 0/5" "route cache: a removed route is not used from the cache"
relay $IP -6 route add fd09::/64 dev b1
in_ns callee $IP addr add fd09::2/64 dev b0 nodad
relay $CTL flow add [fd01::1]:37000 from [fd02::1]:37002 to [fd09::2]:47000
rx=$(media_through callee [fd09::2]:47000 [fd02::1]:37002 caller [fd01::2]:27000 [fd01::1]:37000 5 100)
relay $IP -6 route del fd09::/64 dev b1
nr0=$(kstat no_route)
in_ns caller $KT send [fd01::2]:27000 [fd01::1]:37000 5 100 2> /dev/null
is "$rx/$(($(kstat no_route) - nr0))" "received 5 bad 0/5" \
	"route cache, IPv6: forwarded by the cached route, dropped once the route is gone"
relay $CTL flow del 10.0.1.1:37000
relay $CTL flow del [fd01::1]:37000
in_ns callee $IP addr del 10.0.9.2/24 dev b0

# --- fragments go to the normal stack ---------------------------------------------------
relay $CTL flow add 10.0.1.1:36000 from 10.0.2.1:36002 to 10.0.2.2:46000
in_ns relay $KT recv 10.0.1.1:36000 5 2000 > /tmp/frag_local &
in_ns callee $KT recv 10.0.2.2:46000 5 2000 > /tmp/frag_fwd &
sleep 0.3
in_ns caller $KT send 10.0.1.2:26000 10.0.1.1:36000 3 4000 2> /dev/null
wait
is "$(cat /tmp/frag_local)/$(cat /tmp/frag_fwd)" "received 3 bad 0/received 0 bad 0" \
	"fragmented datagrams are left to the stack: reassembled and delivered locally, not forwarded"
is "$(flow_field 10.0.1.1:36000 packets)" 0 "and the flow did not count them"
relay $CTL flow del 10.0.1.1:36000

# --- expected source ----------------------------------------------------------------
relay $CTL flow add 10.0.1.1:32000 from 10.0.2.1:32002 to 10.0.2.2:42000 expect 10.0.1.2:22000
ok $? "flow with an expected source"
in_ns callee $KT recv 10.0.2.2:42000 60 2000 > /tmp/r4 &
sleep 0.3
in_ns caller $KT send 10.0.1.2:22001 10.0.1.1:32000 40 100
in_ns caller $KT send 10.0.1.2:22000 10.0.1.1:32000 20 100
wait
is "$(cat /tmp/r4)" "received 20 bad 0" "only the expected source is forwarded"
is "$(flow_field 10.0.1.1:32000 dropped)" 40 "the 40 others are dropped and counted"

# --- latching, with the event listener running ----------------------------------------
# Detached (not a job of this shell), so the waits below do not wait for it.
(relay $KT events 30000 > /tmp/events &)
sleep 0.5
relay $CTL flow add 10.0.1.1:33000 from 10.0.2.1:33002 to 10.0.2.2:43000 latch
relay $CTL flow add 10.0.2.1:33002 from 10.0.1.1:33000 to 10.0.1.2:9 latch
in_ns callee $KT echo 10.0.2.2:43000 3000 &
sleep 0.3
in_ns caller $KT ping 10.0.1.2:23456 10.0.1.1:33000 50 80 > /tmp/r5
wait
is "$(cat /tmp/r5)" "received 50 bad 0" "latch: the callee's echo reaches the caller's real source port"
relay $CTL --json flow list | grep -q '"local":"10.0.1.1:33000"[^}]*"latched":"10.0.1.2:23456"'
ok $? "the flow reports the latched source"
in_ns callee $KT recv 10.0.2.2:43000 10 1500 > /tmp/r6 &
sleep 0.3
in_ns caller $KT send 10.0.1.2:23457 10.0.1.1:33000 10 80
wait
is "$(cat /tmp/r6)" "received 0 bad 0" "after latching, another source is dropped"
is "$(kstat latched)" 2 "two flows latched"
# Latching moves the reverse flow's peer to another leg: the route it had cached (towards the
# callee, over b1) must not be used for the new peer (the caller, over a1).
relay $CTL flow add 10.0.1.1:33100 from 10.0.2.1:33102 to 10.0.2.2:43100 latch
relay $CTL flow add 10.0.2.1:33102 from 10.0.1.1:33100 to 10.0.2.2:44100
is "$(media_through callee 10.0.2.2:44100 10.0.1.1:33100 callee 10.0.2.2:43100 10.0.2.1:33102 3 80)" \
	"received 3 bad 0" "route cache: the reverse flow forwards to its first peer, over b1"
in_ns callee $KT echo 10.0.2.2:43100 3000 &
sleep 0.3
in_ns caller $KT ping 10.0.1.2:23500 10.0.1.1:33100 20 80 > /tmp/r5b
wait
is "$(cat /tmp/r5b)" "received 20 bad 0" "route cache: after latching, the reverse flow routes to the new peer"
relay $CTL flow del 10.0.1.1:33100
relay $CTL flow del 10.0.2.1:33102

# --- idle timeout and DSCP -----------------------------------------------------------
relay $CTL flow add 10.0.1.1:35000 from 10.0.2.1:35002 to 10.0.2.2:45000 timeout 2 dscp 46
ok $? "flow with a 2 s idle timeout and DSCP 46 (EF)"
in_ns callee $KT tos 10.0.2.2:45000 2000 > /tmp/tos &
sleep 0.3
in_ns caller $KT send 10.0.1.2:25000 10.0.1.1:35000 1 100
wait
is "$(cat /tmp/tos)" "tos 184" "forwarded packet carries DSCP 46 (TOS 0xb8)"
relay $CTL --json flow list | grep -qF '"local":"10.0.1.1:35000"'
ok $? "the timed flow exists while fresh"
sleep 4
relay $CTL --json flow list | grep -qF '"local":"10.0.1.1:35000"'
ok $([ $? -ne 0 ]; echo $?) "an idle flow is removed after its timeout"
is "$(kstat expired)" 1 "expired counter is 1"
sleep 0.3
# (the listener exits by itself after its 30 s)
grep -q "^latched 10.0.1.1:33000 10.0.1.2:23456" /tmp/events
ok $? "latch event received by a multicast listener" "$(cat /tmp/events)"
grep -q "^idle 10.0.1.1:35000" /tmp/events
ok $? "idle event received by a multicast listener" "$(cat /tmp/events)"

# --- delete, get, flush, isolation, permissions ---------------------------------------
relay $CTL flow del 10.0.1.1:30000
ok $? "flow del"
in_ns callee $KT recv 10.0.2.2:40000 10 1500 > /tmp/r7 &
sleep 0.3
in_ns caller $KT send 10.0.1.2:20000 10.0.1.1:30000 10 100
wait
is "$(cat /tmp/r7)" "received 0 bad 0" "a deleted flow no longer forwards"
out=$(relay $CTL flow del 10.0.1.1:30000 2>&1)
ok $([ $? -eq 1 ] && echo "$out" | grep -q "no flow with this LOCAL address"; echo $?) \
	"deleting it again: the kernel's extack message" "$out"
out=$(relay $CTL flow add 10.0.2.1:30002 from 10.0.1.1:30000 to 10.0.1.2:20000 2>&1)
ok $([ $? -eq 1 ] && echo "$out" | grep -q "exists"; echo $?) "duplicate LOCAL refused with extack" "$out"
out=$(relay $CTL flow add 10.0.1.1:1 from [fd02::1]:2 to 10.0.2.2:3 2>&1)
ok $([ $? -eq 1 ] && echo "$out" | grep -q "SOURCE and PEER must be of one address family"; echo $?) \
	"SOURCE and PEER of different families refused with extack" "$out"
is "$($CTL --json flow list)" "[]" "the initial namespace sees none of the relay's flows"
is "$(kstat flows)" 5 "relay has the 5 flows left"
out=$(relay $KT asuser 65534 $CTL flow list 2>&1)
ok $(echo "$out" | grep -q "Operation not permitted"; echo $?) "non-admin gets EPERM" "$out"
relay $CTL flow flush
is "$(kstat flows)" 0 "flush removes every flow"

# --- hostile netlink ----------------------------------------------------------------
relay $KT nlbad 7 3000 > /tmp/nl
sed -n 's/^\(not \)\{0,1\}ok [0-9]* - /&/p' /tmp/nl | while read -r line; do echo "# nlbad: $line"; done
bad=$(grep -c '^not ok' /tmp/nl)
good=$(grep -c '^ok' /tmp/nl)
ok $([ "$bad" -eq 0 ] && [ "$good" -ge 18 ]; echo $?) "hostile netlink: $good checks passed" "$(cat /tmp/nl)"
relay $CTL flow flush

# --- SIP guard: the framing check in the kernel ------------------------------------
total() { set -- $(cat "$1"); echo $(($2 + $4)); }	# datagrams of any content
guard() { relay $CTL --json guard show | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
relay $CTL guard set 5060 5080
ok $? "guard set 5060 5080"
relay $CTL guard show | grep -q "^ports 5060 5080"
ok $? "guard show lists the ports"
in_ns relay $KT recv 10.0.1.1:5060 100 2500 > /tmp/g1 &
sleep 0.3
in_ns caller $KT sendfile 10.0.1.2:5070 10.0.1.1:5060 /tests/sip/ok-*.sip /tests/sip/bad-*.sip
wait
is "$(total /tmp/g1)" 3 "only the well-framed INVITE, the CRLF keepalive and the STUN request reach the socket"
is "$(guard passed)/$(guard keepalive)" "1/2" "guard counted 1 passed, 2 keepalives (CRLF, STUN)"
is "$(guard bad_start_line)/$(guard bad_content_length)/$(guard missing_header)/$(guard bad_header)/$(guard no_end_of_headers)" \
	"1/1/1/1/1" "each bad datagram dropped and counted by its reason"
in_ns relay $KT recv 10.0.1.1:5060 100 3000 > /tmp/g2 &
sleep 0.3
in_ns caller /bin/sipp -sf /tests/sip/sipp-send.xml -m 20 -r 200 -i 10.0.1.2 -p 5071 \
	-nostdin -timeout 10s 10.0.1.1:5060 > /tmp/sipp.out 2>&1
wait
is "$(total /tmp/g2)" 40 "40 datagrams from SIPp all reach the socket"
is "$(guard passed)" 41 "and all 40 pass the framing check"
in_ns relay $KT recv 10.0.1.1:5061 10 1500 > /tmp/g3 &
sleep 0.3
in_ns caller $KT sendfile 10.0.1.2:5070 10.0.1.1:5061 /tests/sip/bad-start-http.sip
wait
is "$(total /tmp/g3)" 1 "unguarded ports are not checked"
relay $CTL guard set off
in_ns relay $KT recv 10.0.1.1:5060 10 1500 > /tmp/g4 &
sleep 0.3
in_ns caller $KT sendfile 10.0.1.2:5070 10.0.1.1:5060 /tests/sip/bad-start-http.sip
wait
is "$(total /tmp/g4)" 1 "guard set off lets everything through again"
relay $CTL guard set 5060
out=$(relay $CTL guard set 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 2>&1)
ok $([ $? -eq 1 ]; echo $?) "more than 16 ports refused" "$out"

# --- the idle scan reaches every flow, not only the first few thousand ------------------
in_ns relay $KT bulk 4200 1000 600 > /tmp/bulk_live
relay $CTL flow add 10.0.1.1:37000 from 10.0.2.1:37002 to 10.0.2.2:47000 timeout 1
exp0=$(kstat expired)
sleep 3.5
relay $CTL --json flow list | grep -qF '"local":"10.0.1.1:37000"'
ok $([ $? -ne 0 ] && [ "$(cat /tmp/bulk_live)" = "added 4200" ]; echo $?) \
	"an idle flow behind 4,200 live timed flows still expires"
is "$(($(kstat expired) - exp0))" 1 "exactly that one flow expired"
relay $CTL flow flush

# --- flows across address families (issue 14) ------------------------------------------
. /tests/vm-xfam.sh

# --- flows with extra outputs: fan-out (issue 17) ----------------------------------------------
. /tests/vm-fanout.sh

# --- calls through ksipd -------------------------------------------------------------
. /tests/vm-calls.sh

# --- a call between two real phones (baresip) with the media in ksip.ko (issue 14) --------
. /tests/vm-phones.sh

# --- the nftables shield: a banned source floods during a call (issue 13) ----------------
. /tests/vm-shield.sh

# --- netns exit and unload with traffic and 10,000 flows ------------------------------
in_ns relay $KT bulk 10000 1000 > /tmp/bulk
is "$(cat /tmp/bulk)" "added 10000" "10,000 flows added"
relay $CTL flow add 10.0.1.1:34000 from 10.0.2.1:34002 to 10.0.2.2:44000
in_ns callee $KT recv 10.0.2.2:44000 100000 3000 > /dev/null &
in_ns caller $KT send 10.0.1.2:24000 10.0.1.1:34000 20000 100 4000 &
sleep 1
$IP netns add doomed
$IP netns exec doomed $CTL flow add 127.0.0.1:5000 from 127.0.0.1:5001 to 127.0.0.1:5002
$IP netns del doomed
rmmod ksip
ok $? "rmmod with live traffic and 10,001 flows"
wait
dmesg | grep -q "ksip: unloaded, 0 live objects"
ok $? "live-object counter is 0 after unload" "$(dmesg | grep ksip)"
insmod /lib/modules/ksip.ko && rmmod ksip
ok $? "reload and unload again"

echo "1..$n"
echo "# $((n - fails)) passed, $fails failed"
