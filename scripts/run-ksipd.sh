#!/bin/sh
# `make run`: start ksipd in the foreground with its embedded defaults
# (UDP+TCP 5060 on all IPv4 and IPv6 addresses, realm "ksip",
# /var/lib/ksip/ksip.db, control socket /run/ksip/ksipd.sock).
# Loads ksip.ko first when it was built and the host allows modules.
set -eu
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO mkdir -p /var/lib/ksip /run/ksip
if [ -f ksip.ko ]; then
	if $SUDO insmod ksip.ko 2>/dev/null || grep -qs '^ksip ' /proc/modules; then
		echo "run: ksip.ko loaded"
	else
		echo "run: this host cannot load ksip.ko (built for $(modinfo -F vermagic ksip.ko | cut -d' ' -f1)); no kernel media forwarding"
	fi
fi
echo "run: add a user with: build/ksipctl user add alice"
exec $SUDO build/ksipd "$@"
