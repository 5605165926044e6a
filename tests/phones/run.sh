#!/bin/sh
# Real phones through ksipd: baresip and linphone in network namespaces (needs root, baresip,
# linphonec and sox: scripts/deps.sh installs them). Each script is a TAP list.
cd "$(dirname "$0")" || exit 1
rc=0
for t in test_register.py test_call_audio.py test_hold.py test_hangup.py test_message.py test_ipv6.py test_transfer.py test_threeway.py test_media_outsider.py test_ice.py test_nat.py test_tls.py \
	 test_rooms_audio.py test_paging.py; do
	echo "# $t"
	python3 "$t" || rc=1
done
exit $rc
