#!/bin/bash
# The kernel matrix: ksip.ko built with W=1 against each Debian 12 kernel flavour ksip supports
# (docs/kernel.md, "Supported kernels"), a warning being a failure. The VM suite
# (tests/kernel/run.sh) then runs on the cloud ones. TAP out.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
n=0
fail=0
# name, and a pattern for its headers under /usr/src (the newest by version order is taken)
while read -r name pattern; do
	n=$((n + 1))
	h=$(ls -d /usr/src/linux-headers-$pattern 2>/dev/null | sort -V | tail -1)
	if [ -z "$h" ]; then
		echo "not ok $n - $name: no headers matching linux-headers-$pattern (scripts/deps.sh installs them)"
		fail=1
		continue
	fi
	kv=${h#/usr/src/linux-headers-}
	dir=$O/kmatrix/$kv
	rm -rf "$dir" && mkdir -p "$dir" && cp -r Kbuild kmod include "$dir/" && rm -f "$dir"/kmod/*.o
	t0=$(date +%s)
	if make -s -C "$h" M="$PWD/$dir" modules W=1 > "$dir/build.log" 2>&1 &&
		! grep -q "warning:" "$dir/build.log" && [ -f "$dir/ksip.ko" ]; then
		echo "ok $n - $name: ksip.ko builds with W=1 against $kv ($(($(date +%s) - t0)) s)"
	else
		echo "not ok $n - $name: ksip.ko against $kv"
		grep -E "error|warning" "$dir/build.log" | head -10 | sed 's/^/#   /'
		fail=1
	fi
done <<'LIST'
6.1-cloud 6.1.*-cloud-amd64
6.1-amd64 6.1.*[0-9]-amd64
6.1-rt 6.1.*-rt-amd64
6.12-cloud 6.12.*-cloud-amd64
LIST
echo "1..$n"
exit $fail
