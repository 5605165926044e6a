#!/bin/sh
# The SIP suites: live ksipd (sanitizer build) against SIPp and hand-made packets.
cd "$(dirname "$0")" || exit 1
rc=0
for t in test_*.py; do
	echo "# $t"
	python3 "$t" || rc=1
done
exit $rc
