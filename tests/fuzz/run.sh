#!/bin/sh
# Run each libFuzzer target for SECONDS (default 30) from the seed corpus; TAP out.
# A crash, leak or sanitizer report fails; the reproducer is left in build/fuzz-work/.
cd "$(dirname "$0")/../.." || exit 1
secs=${1:-30}
O=${O:-build}
n=0
rc=0
echo "TAP version 13"
for f in "$O"/fuzz/fuzz_*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	n=$((n + 1))
	name=$(basename "$f")
	work="$O/fuzz-work/$name.corpus"
	mkdir -p "$work"
	log="$O/fuzz-work/$name.log"
	if "$f" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 -artifact_prefix="$O/fuzz-work/" \
		"$work" tests/fuzz/corpus >"$log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1)
		echo "ok $n - $name: ${runs:-ran} in ${secs}s without a crash"
	else
		echo "not ok $n - $name: crashed (see $log)"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/#   /'
		rc=1
	fi
done
echo "1..$n"
[ "$n" -gt 0 ] || { echo "not ok - no fuzz target built"; exit 1; }
exit $rc
