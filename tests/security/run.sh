#!/bin/sh
# The attacker suites: each plays one attacker against live ksipd (ASan build), from network
# namespaces it makes and deletes. Needs root; sipvicious for svcrack (scripts/deps.sh).
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
