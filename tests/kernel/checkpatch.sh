#!/bin/sh
# checkpatch.pl --strict over the kernel module and its UAPI header, from
# Debian's linux-source-6.1 (extracted once into build/). TAP out.
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
CP=$O/checkpatch/linux-source-6.1/scripts/checkpatch.pl
if [ ! -f "$CP" ]; then
	src=$(ls /usr/src/linux-source-6.1*.tar.xz 2>/dev/null | head -1)
	[ -n "$src" ] || { echo "not ok 1 - linux-source-6.1 is not installed"; echo "1..1"; exit 1; }
	mkdir -p "$O/checkpatch"
	tar -xf "$src" -C "$O/checkpatch" --wildcards '*/scripts/checkpatch.pl' \
		'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch' || exit 1
fi
n=0
rc=0
echo "TAP version 13"
for f in kmod/*.c kmod/*.h include/uapi/linux/ksip.h; do
	n=$((n + 1))
	out=$(perl "$CP" --no-tree --strict --terse -f "$f" 2>&1)
	if [ -z "$out" ] || echo "$out" | grep -q "total: 0 errors, 0 warnings, 0 checks"; then
		echo "ok $n - checkpatch --strict: $f"
	else
		echo "not ok $n - checkpatch --strict: $f"
		echo "$out" | sed 's/^/#   /'
		rc=1
	fi
done
echo "1..$n"
exit $rc
