#!/bin/sh
# The attacker tests of issue 12: one attacker per script, each in namespaces of its own.
cd "$(dirname "$0")" || exit 1
rc=0
for t in test_*.py test_*.sh; do
	[ -e "$t" ] || continue
	echo "# $t"
	case $t in
	*.py) python3 "$t" || rc=1 ;;
	*) sh "$t" || rc=1 ;;
	esac
done
exit $rc
