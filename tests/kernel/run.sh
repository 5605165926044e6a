#!/bin/bash
# Kernel tests: tests/kernel/vm-tests.sh inside a VM of Debian's cloud kernel
# (scripts/vm.sh), TAP out. A WARN, BUG, oops or panic on the console, a
# missing result, or a time-out is a failure.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
VM=$O/vm
scripts/vm.sh tests/kernel/vm-tests.sh "$VM" "${VM_TIMEOUT:-600}"
rc=$?
[ -f "$VM/results.txt" ] && tr -d '\r' < "$VM/results.txt"
case $rc in
0) ;;
2) echo "not ok - kernel tests: the VM could not be set up"; exit 1 ;;
3) echo "not ok - the VM did not finish in time"; tail -20 "$VM/console.log" | sed 's/^/#   /'; exit 1 ;;
4) echo "not ok - the kernel complained on the console"
   grep -E -A12 "WARNING:|BUG:|Oops|Kernel panic|general protection" "$VM/console.log" | head -40 |
	sed 's/^/#   /'
   exit 1 ;;
esac
echo "ok - kernel console clean (no WARN, BUG, oops or panic)"
grep -q "^# vm-tests exit" "$VM/results.txt" || { echo "not ok - the test run did not complete"; exit 1; }
! grep -q "^not ok" "$VM/results.txt"
