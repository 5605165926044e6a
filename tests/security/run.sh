#!/bin/sh
# The attacker suites: each script plays one attacker against a live ksipd (sanitizer build),
# from network namespaces it makes and deletes itself (TAP; needs root).
cd "$(dirname "$0")" || exit 1
rc=0
for t in test_*.py test_*.sh; do
	[ -e "$t" ] || continue
	echo "# $t"
	case $t in
	*.py) python3 "$t" || rc=1 ;;
	*.sh) sh "$t" || rc=1 ;;
	esac
done
exit $rc
