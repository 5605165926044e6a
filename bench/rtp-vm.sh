#!/bin/sh
# bench/rtp, the part that runs inside a 2-vCPU VM (see bench/rtp). Prints
# MARK lines (the host samples each vCPU's CPU time when it sees one) and
# RESULT lines; the host turns them into slopes, maxima and ratios.
#
#   caller 10.0.1.2 --a0/a1-- 10.0.1.1 relay 10.0.2.1 --b1/b0-- 10.0.2.2 callee
#   caller 10.0.3.2 --------------d0/d1-------------- 10.0.3.3 callee   (direct)
#
# vCPU 0 runs the sender and the sink; the relay's work runs on vCPU 1: RPS
# steers what arrives on the relay's veths to CPU 1 and what arrives at the
# callee back to CPU 0, and the userspace relay and rtpengine's daemon are
# pinned to CPU 1. So vCPU 1's host CPU time is the relay's, and its slope
# against the packets sent is the relay's CPU cost per packet.
IP=/usr/sbin/ip
KT=/bin/ktest
CTL=/bin/ksipctl
RATES=${RATES:-2000 4000 8000 12000}		# packets/s in all, paced, for the slopes
SECS=${SECS:-5}					# per paced run
REPS=${REPS:-2}					# of each rate and mode
STREAMS=${STREAMS:-100}				# RTP streams (ports) the packets are spread over
MAX_RATES=${MAX_RATES-8000 16000 24000 32000 48000 64000}	# the loss ramp
MAX_SECS=${MAX_SECS:-3}
TICK_MS=${TICK_MS:-20}				# the sender wakes this often (RTP's 20 ms ptime)
FANOUT=${FANOUT-1 4 16}				# fan-out: outputs per stream ("" for none; at most 16)
FAN_RATES=${FAN_RATES:-4000 8000 16000}		# fan-out: DELIVERED packets/s (sent = rate / outputs)
FAN_SECS=${FAN_SECS:-3}
FAN_STREAMS=${FAN_STREAMS:-20}			# fan-out streams per output count (at most 50)
FANOUT_ONLY=${FANOUT_ONLY:-0}			# 1: skip every measurement but the fan-out's
in_ns() { ns=$1; shift; $IP netns exec "$ns" "$@"; }

taskset -p 1 $$ > /dev/null	# this shell and everything it starts: CPU 0, unless said otherwise
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
# Fan-out's outputs go to port 40000 at 10.0.2.2, 10.0.2.3, ...: one sink socket counts them all.
for k in $(seq 3 17); do in_ns callee $IP addr add 10.0.2.$k/24 dev b0; done
for l in "caller a0 1" "caller d0 1" "relay a1 2" "relay b1 2" "callee b0 1" "callee d1 1"; do
	set -- $l
	in_ns $1 $IP link set $2 up
	in_ns $1 sh -c "echo $3 > /sys/class/net/$2/queues/rx-0/rps_cpus"
done
in_ns caller $IP route add 10.0.2.0/24 via 10.0.1.1
in_ns callee $IP route add 10.0.1.0/24 via 10.0.2.1
# A tick's burst (up to 2,560 packets at the ramp's top rate) must fit the per-CPU backlog that
# RPS queues into; 10,000 is a common setting on media relays. Same for every mode.
echo 10000 > /proc/sys/net/core/netdev_max_backlog
# What the caller sends reaches the relay's CPU a tick's worth at a time, as from a NIC that
# coalesces interrupts: netem holds the caller's datagrams until its next TICK_MS slot. Without
# it the sender hands them over one by one, and a relay that finishes each before the next
# arrives goes idle and is woken by an IPI per packet while a slower one is woken once per
# batch: the faster relay would be charged more per packet for being fast. (Measured: 0.55
# against 0.11 wake-ups per packet for ksip.ko and rtpengine's module at 8,000 packets/s.)
# The RESULT lines count vCPU 1's wake-ups (function-call IPIs) so that stays visible.
insmod /lib/modules/sch_netem.ko
for dev in a0 d0; do
	in_ns caller /usr/sbin/tc qdisc add dev $dev root netem slot ${TICK_MS}ms ${TICK_MS}ms limit 100000
done
cpu1_ipis() { awk '$1 == "CAL:" { print $3 }' /proc/interrupts; }

# paced KEY RATE SECS DST SRC STREAMS [PORTS]: RATE*SECS datagrams of 172 bytes (G.711-sized
# RTP) spread over STREAMS destination ports, between two MARK lines; KEY names the run; the
# sink expects OUTPUTS (default 1) copies of each (fan-out). What
# is due goes out every TICK_MS, as from many phones sending every 20 ms: the relay wakes
# TICK_MS apart at every rate, so waking up is a fixed cost (the fit's intercept) and the
# slope is the work per packet. The sink naps 10 ms between reads rather than waking for each
# datagram: it shares vCPU 0 with the sender, and a sink woken per datagram makes the two
# ping-pong, more so the faster the relay answers.
paced() {
	n=$(($2 * $3))
	KTEST_NAP_MS=10 in_ns callee $KT recv 0.0.0.0:40000 $((n * ${OUTPUTS:-1})) 2000 > /tmp/precv &
	sink=$!
	sleep 0.5
	echo "MARK begin $1"
	i0=$(cpu1_ipis)
	sleep 0.2
	KTEST_TICK_MS=$TICK_MS in_ns caller $KT send "$5" "$4" $n 172 "$2" "$6" ${7:+"$7"} 2> /tmp/psend
	sleep 0.2
	i1=$(cpu1_ipis)
	echo "MARK end $1"
	wait $sink
	echo "RESULT $1 sent=$n received=$(cut -d' ' -f2 /tmp/precv) secs=$(cut -d' ' -f4 /tmp/psend) ipis=$((i1 - i0)) outputs=${OUTPUTS:-1}"
}

# Each mode is a name and the sender's arguments (destination, source, streams[, ports]).
mode_args() {
	case $1 in
	direct) echo "10.0.3.3:40000 10.0.3.2:20000 1" ;;
	plain) echo "10.0.2.2:40000 10.0.1.2:20000 1" ;;
	ksip | ksip-b | ksip100k) echo "10.0.1.1:31000 10.0.1.2:20000 $STREAMS" ;;
	user) echo "10.0.1.1:37000 10.0.1.2:20000 $STREAMS" ;;
	rtpengine) echo "10.0.1.1:$(echo "$RTPE_PORTS" | cut -d, -f1) 10.0.1.2:20000 $STREAMS $RTPE_PORTS" ;;
	ksip-x*) echo "10.0.1.1:$((43000 + 200 * $(fan_index ${1#ksip-x}))) 10.0.1.2:20000 $FAN_STREAMS" ;;
	user-x*) echo "10.0.1.1:$((46000 + 200 * $(fan_index ${1#user-x}))) 10.0.1.2:20000 $FAN_STREAMS" ;;
	rtpengine-x*)
		eval "ports=\$RTPE_FAN_${1#rtpengine-x}"
		echo "10.0.1.1:${ports%%,*} 10.0.1.2:20000 $FAN_STREAMS $ports" ;;
	esac
}

# slopes PHASE MODE...: every rate, REPS times, the modes taking turns so they share the noise.
slopes() {
	phase=$1
	shift
	for rep in $(seq "$REPS"); do
		for rate in $RATES; do
			for m in "$@"; do
				paced "slope=$m rate=$rate rep=$rep phase=$phase" $rate $SECS $(mode_args $m)
			done
		done
	done
}

# ramp MODE: raise the rate until more than 1 % is lost or the sender cannot keep up (each
# step MAX_SECS long; the sender sends what is due in batches, so it falls behind only when
# vCPU 0 is saturated).
ramp() {
	for rate in $MAX_RATES; do
		paced "ramp=$1 rate=$rate" $rate $MAX_SECS $(mode_args $1)
		got=$(cut -d' ' -f2 /tmp/precv)
		[ $((got * 100)) -ge $((rate * MAX_SECS * 99)) ] || break
		awk -v s="$(cut -d' ' -f4 /tmp/psend)" -v m=$MAX_SECS 'BEGIN { exit !(s <= m * 1.05) }' || break
	done
}

# profile MODE [RATE] (bench/rtp --profile): instead of measuring, perf samples vCPU 1 from
# inside the guest during a 3 s run at RATE (8,000) packets/s sent; prints the commonest call
# stacks, the sampled function first and then up to seven of its callers, leaving out the idle
# loop's samples.
profile() {
	/bin/perf record -q -e cpu-clock -F 4000 -C 1 -g -o /tmp/p.data -- sleep 4 2> /dev/null &
	pp=$!
	sleep 0.3
	paced "profile=$1" ${2:-8000} 3 $(mode_args $1)
	wait $pp
	/bin/perf script -i /tmp/p.data -F ip,sym 2> /dev/null | awk -v m="$1" '
		/^$/ {
			if (n && st[1] != "native_safe_halt") {
				k = st[1]
				for (i = 2; i <= n && i <= 8; i++)
					k = k " < " st[i]
				c[k]++
			}
			n = 0
			next
		}
		{ st[++n] = $2 }
		END { for (k in c) if (c[k] >= 5) print "PROFILE", m, c[k], k }' | sort -k3,3nr | head -25
	# Where the time goes by function: samples in it (SELF) and under it (TOTAL, once a stack).
	/bin/perf script -i /tmp/p.data -F ip,sym 2> /dev/null | awk -v m="$1" '
		/^$/ {
			if (n && st[1] != "native_safe_halt") {
				self[st[1]]++
				all++
				split("", seen)
				for (i = 1; i <= n; i++)
					if (!(st[i] in seen)) {
						seen[st[i]] = 1
						tot[st[i]]++
					}
			}
			n = 0
			next
		}
		{ st[++n] = $2 }
		END {
			print "PROFSUM", m, all, "samples (idle left out)"
			for (k in self) if (self[k] >= 3) print "PROFSELF", m, self[k], k
			for (k in tot) if (tot[k] >= 10) print "PROFTOTAL", m, tot[k], k
		}' | sort -k1,1 -k3,3nr | awk '$1 == "PROFSUM" || ++c[$1] <= 40'
}

# measure PHASE "MODES" ["RAMPED"]: the slopes of MODES, then the loss ramp of each of RAMPED;
# with --profile, a profile of each of MODES instead.
measure() {
	if [ "${PROFILE:-0}" = 1 ]; then
		for m in $2; do profile $m; done
		return
	fi
	slopes $1 $2
	for m in ${3:-}; do ramp $m; done
}

# Fan-out (bench/rtp --fanout): each stream's packets copied to N outputs by ksip.ko (a flow
# with N - 1 extra outputs), by the userspace relay (one sendmmsg for a batch's N copies) and
# by rtpengine's kernel module (a call plus N - 1 subscriptions, each one more destination of
# the caller's kernel target). Output k (0-based) goes to 10.0.2.(2 + k):40000. Every relay gets
# FAN_STREAMS streams per N; the rates are delivered packets/s, the same for every N, so the
# sink's load is too. Mode names: ksip-xN, user-xN, rtpengine-xN.
fan_index() {	# N's position in FANOUT: the port block of its streams
	j=0
	for f in $FANOUT; do
		[ "$f" = "$1" ] && echo $j && return
		j=$((j + 1))
	done
}

# ksip_fan N: FAN_STREAMS flows at 10.0.1.1:43000 + 200 * index(N) + 2i, each to 10.0.2.2:40000
# and N - 1 extra outputs from 10.0.2.1:(48000 + 1000 * index + 100 * k + 2i) to 10.0.2.(2+k).
ksip_fan() {
	j=$(fan_index $1)
	for i in $(seq 0 $((FAN_STREAMS - 1))); do
		local_ep=10.0.1.1:$((43000 + 200 * j + 2 * i))
		in_ns relay $CTL flow add $local_ep from 10.0.2.1:$((48000 + 1000 * j + 2 * i)) \
			to 10.0.2.2:40000 || return 1
		[ "$1" -gt 1 ] || continue
		outs=""
		for k in $(seq 1 $(($1 - 1))); do
			outs="$outs $(ksip_output 10.0.2.1:$((48000 + 1000 * j + 100 * k + 2 * i)) 10.0.2.$((2 + k)):40000)"
		done
		# shellcheck disable=SC2086
		in_ns relay $CTL flow output $local_ep $outs || return 1
	done
}
# ksip_output SOURCE PEER: one output in `ksipctl flow output`'s words.
ksip_output() { echo "from $1 to $2"; }

# rtpe_fanout N: FAN_STREAMS calls whose caller leg rtpengine copies to N callee addresses:
# offer/answer to 10.0.2.2:40000 as in phase 2, then N - 1 subscriptions to the caller
# ("subscribe request" on the callee interface, "subscribe answer" with 10.0.2.(2+k):40000),
# each a sink of the caller's stream. Sets RTPE_FAN_N (rtpengine's caller-side port per call)
# and RTPE_FAN_BACK_N (its callee-side ports).
rtpe_fanout() {
	fan_ports=""
	fan_back=""
	for i in $(seq 1 "$FAN_STREAMS"); do
		c=fan$1-$i
		offer=$(in_ns relay $KT ng 127.0.0.1:2223 "d$(b command)$(b offer)$(b call-id)$(b $c)$(b from-tag)$(b a$i)$(b sdp)${#offer_sdp}:$offer_sdp$(b direction)l$(b caller)$(b callee)ee")
		answer=$(in_ns relay $KT ng 127.0.0.1:2223 "d$(b command)$(b answer)$(b call-id)$(b $c)$(b from-tag)$(b a$i)$(b to-tag)$(b b$i)$(b sdp)${#answer_sdp}:${answer_sdp}e")
		to_callee=$(echo "$offer" | sed -n 's/.*m=audio \([0-9]*\).*/\1/p' | head -1)
		to_caller=$(echo "$answer" | sed -n 's/.*m=audio \([0-9]*\).*/\1/p' | head -1)
		if [ -z "$to_caller" ] || [ -z "$to_callee" ]; then
			echo "# rtpengine fan-out $1 call $i: offer answered: $offer" | head -3
			echo "# rtpengine fan-out $1 call $i: answer answered: $answer" | head -3
			return 1
		fi
		k=1
		while [ $k -lt "$1" ]; do
			sub=$(in_ns relay $KT ng 127.0.0.1:2223 "d$(b command)$(b 'subscribe request')$(b call-id)$(b $c)$(b from-tag)$(b a$i)$(b to-tag)$(b s$i-$k)$(b interface)$(b callee)e")
			sub_sdp="v=0${nl}o=- 1 1 IN IP4 10.0.2.$((2 + k))${nl}s=-${nl}c=IN IP4 10.0.2.$((2 + k))${nl}t=0 0${nl}m=audio 40000 RTP/AVP 8${nl}a=recvonly${nl}"
			ok=$(in_ns relay $KT ng 127.0.0.1:2223 "d$(b command)$(b 'subscribe answer')$(b call-id)$(b $c)$(b to-tag)$(b s$i-$k)$(b sdp)${#sub_sdp}:${sub_sdp}e")
			if ! echo "$sub" | grep -q "m=audio" || ! echo "$ok" | grep -q "6:result2:ok"; then
				echo "# rtpengine fan-out $1 call $i subscription $k: request answered: $sub" | head -3
				echo "# rtpengine fan-out $1 call $i subscription $k: answer answered: $ok" | head -3
				return 1
			fi
			k=$((k + 1))
		done
		fan_ports=${fan_ports:+$fan_ports,}$to_caller
		fan_back=${fan_back:+$fan_back,}$to_callee
	done
	eval "RTPE_FAN_$1=$fan_ports RTPE_FAN_BACK_$1=$fan_back"
}

# rtpe_outputs: how many of rtpengine's kernel targets have how many outputs ("COUNTxN ...").
rtpe_outputs() {
	awk '/^local/ { if (seen) c[n]++; seen = 1; n = 0 } /^ +output #/ { n++ }
		END { if (seen) c[n]++; for (k in c) printf "%sx%d ", c[k], k }' /proc/rtpengine/0/list 2>/dev/null
}

# fanout MODE...: the fan-out slopes: every delivered rate, REPS times, the modes taking turns;
# with --profile, a profile of each at 8,000 delivered packets/s instead.
fanout() {
	if [ "${PROFILE:-0}" = 1 ]; then
		for m in "$@"; do OUTPUTS=${m##*-x} profile $m $((8000 / ${m##*-x})); done
		return
	fi
	for rep in $(seq "$REPS"); do
		for rate in $FAN_RATES; do
			for m in "$@"; do
				n=${m##*-x}
				OUTPUTS=$n paced "slope=$m rate=$rate rep=$rep phase=4" $((rate / n)) $FAN_SECS \
					$(mode_args $m)
			done
		done
	done
}

# fanout_phase WITH_RTPENGINE: set up ksip.ko's and the userspace relay's fan-out streams
# (rtpengine's were set up by the caller), measure, and take them down again.
fanout_phase() {
	[ -n "$FANOUT" ] || return 0
	modes=""
	for n in $FANOUT; do
		if ksip_fan $n; then
			modes="$modes ksip-x$n"
		else
			echo "# ksip.ko fan-out $n: flows could not be set up"
		fi
		# Not through in_ns: a function run in the background is a subshell, and $! its pid.
		$IP netns exec relay taskset 2 /bin/udprelay 10.0.1.1:$((46000 + 200 * $(fan_index $n))) \
			10.0.2.1:$((52000 + 200 * $(fan_index $n))) 10.0.2.2:40000 $FAN_STREAMS $n &
		echo $! >> /tmp/fan_relays
		modes="$modes user-x$n"
		[ "$1" = 1 ] && eval "[ -n \"\$RTPE_FAN_$n\" ]" && modes="$modes rtpengine-x$n"
	done
	sleep 0.5
	echo "# fan-out: $FAN_STREAMS streams per N, delivered rates $FAN_RATES packets/s (sent = rate / N), $FAN_SECS s per run, $REPS reps; modes:$modes"
	fanout $modes
	for n in $FANOUT; do
		in_ns relay $CTL flow get 10.0.1.1:$((43000 + 200 * $(fan_index $n))) 2>&1 |
			sed "s/^/# ksip.ko fan-out $n, first flow after the runs: /"
	done
	for p in $(cat /tmp/fan_relays); do kill $p; done
	for n in $FANOUT; do
		j=$(fan_index $n)
		for i in $(seq 0 $((FAN_STREAMS - 1))); do
			in_ns relay $CTL flow del 10.0.1.1:$((43000 + 200 * j + 2 * i)) 2>/dev/null
		done
	done
}

# The relays, all installed at once. IP forwarding stays on in the relay namespace throughout:
# it changes nothing for the other modes, whose packets are addressed to the relay itself.
echo "# $STREAMS streams; slopes at $RATES packets/s, $SECS s per run, $REPS reps, sent every $TICK_MS ms"
# Every packet a veth passes between namespaces is timestamped on the relay's vCPU once a socket
# asks for timestamps (rtpengine's daemon does): one clock read each, see docs/benchmarks.md.
echo "# clocksource at the start: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
in_ns relay sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
for i in $(seq 0 $((STREAMS - 1))); do
	in_ns relay $CTL flow add 10.0.1.1:$((31000 + 2 * i)) from 10.0.2.1:$((35000 + 2 * i)) \
		to 10.0.2.2:40000
done
$IP netns exec relay taskset 2 /bin/udprelay 10.0.1.1:37000 10.0.2.1:41000 10.0.2.2:40000 $STREAMS &
relay_pid=$!
sleep 0.5

[ "$FANOUT_ONLY" = 1 ] || measure 1 "direct plain ksip user" "direct plain ksip user"
kill $relay_pid

# rtpengine's kernel module: xt_RTPENGINE behind an iptables rule, its daemon creating one call
# per stream over ng. Loading iptables' filter table puts hooks on the relay's INPUT, FORWARD and
# OUTPUT paths, which every mode would then pay (ksip.ko on its output): so rtpengine gets a
# phase of its own, taking turns with ksip.ko again under the same conditions.
if [ -x /bin/rtpengine ] && [ -f /lib/modules/xt_RTPENGINE.ko ]; then
	for m in x_tables xt_tcpudp ip_tables iptable_filter xt_RTPENGINE; do insmod /lib/modules/$m.ko; done
	$IP netns exec relay taskset 2 /bin/rtpengine --config-file=none --table=0 --no-fallback --foreground \
		--log-stderr --log-level=5 --interface=caller/10.0.1.1 --interface=callee/10.0.2.1 \
		--listen-ng=127.0.0.1:2223 --port-min=32000 --port-max=34999 --num-threads=1 \
		--timeout=3600 --silent-timeout=3600 > /tmp/rtpengine.log 2>&1 &
	rtpe_pid=$!
	in_ns relay /usr/sbin/iptables-legacy -I INPUT -p udp --dport 32000:34999 -j RTPENGINE --id 0 ||
		echo "# rtpengine: the iptables rule could not be added: its packets go to the daemon"
	# Its start-up under TCG takes a few seconds; wait until ng answers a ping (5 s per try).
	for try in 1 2 3 4 5 6; do
		in_ns relay $KT ng 127.0.0.1:2223 "d7:command4:pinge" 2> /dev/null | grep -q pong && break
		sleep 1
	done
	b() { printf '%d:%s' ${#1} "$1"; }	# a bencoded string (not for ones ending in a newline:
						# $(...) would strip it after the length was counted)
	cr=$(printf '\r')
	nl="$cr
"
	offer_sdp="v=0${nl}o=- 1 1 IN IP4 10.0.1.2${nl}s=-${nl}c=IN IP4 10.0.1.2${nl}t=0 0${nl}m=audio 20000 RTP/AVP 8${nl}"
	answer_sdp="v=0${nl}o=- 1 1 IN IP4 10.0.2.2${nl}s=-${nl}c=IN IP4 10.0.2.2${nl}t=0 0${nl}m=audio 40000 RTP/AVP 8${nl}"
	RTPE_PORTS=""
	to_callee_ports=""
	for i in $(seq 1 "$STREAMS"); do
		offer=$(in_ns relay $KT ng 127.0.0.1:2223 "d$(b command)$(b offer)$(b call-id)$(b bench$i)$(b from-tag)$(b a$i)$(b sdp)${#offer_sdp}:$offer_sdp$(b direction)l$(b caller)$(b callee)ee")
		answer=$(in_ns relay $KT ng 127.0.0.1:2223 "d$(b command)$(b answer)$(b call-id)$(b bench$i)$(b from-tag)$(b a$i)$(b to-tag)$(b b$i)$(b sdp)${#answer_sdp}:${answer_sdp}e")
		to_callee=$(echo "$offer" | sed -n 's/.*m=audio \([0-9]*\).*/\1/p' | head -1)
		to_caller=$(echo "$answer" | sed -n 's/.*m=audio \([0-9]*\).*/\1/p' | head -1)
		if [ -z "$to_caller" ] || [ -z "$to_callee" ]; then
			echo "# rtpengine call $i: offer answered: $offer" | head -3
			echo "# rtpengine call $i: answer answered: $answer" | head -3
			break
		fi
		RTPE_PORTS=${RTPE_PORTS:+$RTPE_PORTS,}$to_caller
		to_callee_ports=${to_callee_ports:+$to_callee_ports,}$to_callee
	done
	echo "# rtpengine: $(echo "$RTPE_PORTS" | tr , '\n' | grep -c .) calls; caller sends to 10.0.1.1:${RTPE_PORTS%%,*}..."
	# Packets each way let rtpengine learn both endpoints of every call; it confirms them after
	# its learning delay (3 s by default) and moves each stream into the kernel on the next one.
	for round in 1 2; do
		in_ns callee $KT send 10.0.2.2:40000 10.0.2.1:1 $((5 * STREAMS)) 172 2000 $STREAMS \
			"$to_callee_ports" 2> /dev/null
		in_ns caller $KT send 10.0.1.2:20000 10.0.1.1:1 $((5 * STREAMS)) 172 2000 $STREAMS \
			"$RTPE_PORTS" 2> /dev/null
		sleep 3.5
	done
	echo "RESULT rtpengine_kernel_streams=$(grep -c "^local" /proc/rtpengine/0/list 2>/dev/null || echo 0) expected=$((2 * STREAMS))"
	[ "$FANOUT_ONLY" = 1 ] || measure 2 "ksip-b rtpengine" rtpengine
	# Fan-out, in this phase too (iptables' hooks loaded for all three relays): rtpengine's
	# calls and subscriptions for every N, then both directions of each sent twice across its
	# learning delay, as above.
	for n in $FANOUT; do
		rtpe_fanout $n || echo "# rtpengine fan-out $n: not set up"
	done
	for round in 1 2; do
		for n in $FANOUT; do
			eval "ports=\$RTPE_FAN_$n back=\$RTPE_FAN_BACK_$n"
			[ -n "$ports" ] || continue
			in_ns callee $KT send 10.0.2.2:40000 10.0.2.1:1 $((5 * FAN_STREAMS)) 172 2000 \
				$FAN_STREAMS "$back" 2> /dev/null
			in_ns caller $KT send 10.0.1.2:20000 10.0.1.1:1 $((5 * FAN_STREAMS)) 172 2000 \
				$FAN_STREAMS "$ports" 2> /dev/null
		done
		sleep 3.5
	done
	[ -n "$FANOUT" ] && echo "RESULT rtpengine_fanout_targets=$(rtpe_outputs | tr ' ' ,) fanout=$(echo $FANOUT | tr ' ' ,) streams=$FAN_STREAMS"
	fanout_phase 1
	[ -n "$FANOUT" ] && echo "RESULT rtpengine_fanout_targets_after=$(rtpe_outputs | tr ' ' ,)"
	echo "# rtpengine's first kernel stream after the runs:"
	grep -m1 -A3 "^local" /proc/rtpengine/0/list | sed 's/^/#   /'
	grep -i "error" /tmp/rtpengine.log | grep -v "receive queue" | head -6 | sed 's/^/# log: /'
	kill $rtpe_pid
	sleep 1
	in_ns relay /usr/sbin/iptables-legacy -F INPUT
else
	echo "# rtpengine: not in this VM image"
	fanout_phase 0
fi
clock_end() { echo "# clocksource at the end: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"; }
[ "$FANOUT_ONLY" = 1 ] && { clock_end; in_ns relay $CTL flow flush; rmmod ksip; dmesg | grep "ksip: unloaded"; exit 0; }

# Lookup cost and memory with 100,000 more flows installed, without idle timeouts: the idle
# scan, which walks timed flows once a second, then stays off and the slopes see the lookup.
m0=$(awk '/^(Slab|Percpu):/ { s += $2 } END { print s }' /proc/meminfo)
in_ns relay $KT bulk 100000 1000 > /tmp/bulk	# ports from 1000, no timeout
sleep 3	# let the hash table's old bucket arrays and netlink buffers be freed (RCU)
m1=$(awk '/^(Slab|Percpu):/ { s += $2 } END { print s }' /proc/meminfo)
echo "RESULT memory flows=$(sed 's/added //' /tmp/bulk) kbytes=$((m1 - m0))"
# The flow cache may be merged with another of the same size, so read its layout, not its totals.
S=/sys/kernel/slab/ksip_flow
echo "RESULT slab objsize=$(cat $S/object_size) per_slab=$(cat $S/objs_per_slab) order=$(cat $S/order)"
measure 3 ksip100k
# The idle scan's own cost: both vCPUs' time over IDLE_SECS without traffic, with the 100,000
# extra flows untimed and then timed (1,000 s, so none expires).
idle_cpu() {
	echo "MARK begin idle=$1"
	sleep "${IDLE_SECS:-5}"
	echo "MARK end idle=$1"
	echo "RESULT idle=$1 secs=${IDLE_SECS:-5}"
}
if [ "${PROFILE:-0}" != 1 ]; then
	idle_cpu untimed
	in_ns relay $CTL flow flush
	in_ns relay $KT bulk 100000 1000 1000 > /dev/null	# ports from 1000, timeout 1000 s
	idle_cpu timed
fi
clock_end
in_ns relay $CTL flow flush
rmmod ksip
dmesg | grep "ksip: unloaded"
