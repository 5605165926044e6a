#!/bin/sh
# The attacker suites: each script plays one attack against a live ksipd (sanitizer build).
cd "$(dirname "$0")" || exit 1
rc=0
for t in test_*.py test_*.sh; do
	[ -e "$t" ] || continue
	echo "# $t"
	case $t in
	*.py) python3 "$t" || rc=1 ;;
	*.sh) bash "$t" || rc=1 ;;	# bash scripts (test_nft.sh uses $RANDOM, local)
	esac
done
exit $rc
