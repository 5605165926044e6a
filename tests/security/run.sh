#!/bin/bash
# Every attacker in tests/security/ (test_*.py, test_*.sh), each TAP; non-zero if one fails.
cd "$(dirname "$0")" || exit 1
rc=0
for t in test_*.py test_*.sh; do
	[ -e "$t" ] || continue
	echo "# $t"
	case "$t" in
	*.py) python3 "$t" ;;
	*) "./$t" ;;
	esac || { echo "# FAIL $t"; rc=1; }
done
exit $rc
