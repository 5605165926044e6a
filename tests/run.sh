#!/bin/bash
# Run every test suite, each a TAP producer, and finish with "N passed, N failed".
# A suite that exits non-zero without reporting a failure counts as one failure.
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
LOG=${O}/test-logs
mkdir -p "$LOG"

passed=0
failed=0
suites=()
for t in "$O"/tests/test_* "$O"/tests/san/test_*; do
	[ -x "$t" ] && suites+=("$t")
done
suites+=("tests/check-layers.sh" "tests/fuzz/run.sh ${FUZZ_SECONDS:-30}" "tests/sip/run.sh" "tests/phones/run.sh" "tests/security/run.sh" "tests/package/run.sh" "tests/kernel/checkpatch.sh"
	"tests/kernel/matrix.sh" "tests/kernel/run.sh")

for s in "${suites[@]}"; do
	name=$(echo "$s" | tr ' /' '__')
	echo "# suite: $s"
	$s > "$LOG/$name.tap" 2>"$LOG/$name.err"
	rc=$?
	# TAP: a "# TODO" check is a known gap, run and shown but not counted either way.
	p=$(grep -E '^ok ' "$LOG/$name.tap" | grep -cv '# TODO')
	f=$(grep -E '^not ok ' "$LOG/$name.tap" | grep -cv '# TODO')
	grep -E '^(not ok|ok .*# TODO|# )' "$LOG/$name.tap" | grep -v '^# [0-9]* passed' | sed 's/^/    /'
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $s exited with status $rc"
		tail -5 "$LOG/$name.err" | sed 's/^/    # /'
		f=1
	fi
	echo "# $s: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
