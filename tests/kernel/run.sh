#!/bin/bash
# Kernel tests: tests/kernel/vm-tests.sh inside a VM of each of Debian 12's cloud kernels
# (scripts/vm.sh; VM_KERNELS, default "6.1 6.12"), TAP out, each line tagged with its kernel.
# A WARN, BUG, oops or panic on the console, a missing result, or a time-out is a failure.
# The recordings of the phones in the VM are checked here, on the host (vm-audio.py).
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
fail=0
for series in ${VM_KERNELS:-6.1 6.12}; do
	VM=$O/vm-$series
	VM_KERNEL=$series scripts/vm.sh tests/kernel/vm-tests.sh "$VM" "${VM_TIMEOUT:-600}"
	rc=$?
	kv=$(cat "$VM/kernel-release" 2>/dev/null || echo "$series")
	echo "# kernel $kv"
	# Each result names its kernel: the same check runs on every one. The phones' recordings
	# (base64 between "# wav" markers) are left out here and checked below.
	[ -f "$VM/results.txt" ] && tr -d '\r' < "$VM/results.txt" |
		sed -E -e '/^# wav begin /,/^# wav end /d' -e "s/^(not )?ok ([0-9]+) - /&[$series] /"
	case $rc in
	0) ;;
	2) echo "not ok - [$series] kernel tests: the VM could not be set up"; fail=1; continue ;;
	3) echo "not ok - [$series] the VM did not finish in time"
	   tail -20 "$VM/console.log" | sed 's/^/#   /'; fail=1; continue ;;
	4) echo "not ok - [$series] the kernel complained on the console"
	   grep -E -A12 "WARNING:|BUG:|Oops|Kernel panic|general protection" "$VM/console.log" |
		head -40 | sed 's/^/#   /'
	   fail=1; continue ;;
	esac
	echo "ok - [$series] kernel console clean (no WARN, BUG, oops or panic) on $kv"
	if ! grep -q "^# vm-tests exit" "$VM/results.txt"; then
		echo "not ok - [$series] the test run did not complete"
		fail=1
	fi
	grep -q "^not ok" "$VM/results.txt" && fail=1
	# What each phone in the VM heard (tests/kernel/vm-phones.sh): the other one's tone.
	python3 tests/kernel/vm-audio.py "$VM/results.txt" "$series" || fail=1
done
exit $fail
