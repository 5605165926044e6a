#!/bin/sh
# `make run`: start ksipd in the foreground with its embedded defaults
# (UDP+TCP 5060 on all IPv4 and IPv6 addresses, realm "ksip",
# /var/lib/ksip/ksip.db, control socket /run/ksip/ksipd.sock).
#
# ksip.ko is built for the running kernel (its headers are installed from
# Debian's archive when missing) and loaded first, where the host allows
# modules; elsewhere (a container, a kernel without module support) ksipd
# relays media in userspace and this script says why.
set -eu
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
KV=$(uname -r)
KDIR=/lib/modules/$KV/build

# Why this host cannot load a module of ours, or nothing when it can.
no_modules() {
	if [ ! -e /proc/modules ]; then
		echo "the running kernel $KV has no loadable module support"
	elif [ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null || echo 0)" = 1 ]; then
		echo "module loading is disabled (kernel.modules_disabled = 1)"
	elif [ ! -d "/lib/modules/$KV" ]; then
		echo "no /lib/modules/$KV: the running kernel $KV is not one of this system's packages (a container or a foreign kernel)"
	fi
}

load_module() {
	why=$(no_modules)
	if [ -n "$why" ]; then
		echo "run: $why; media will be relayed in userspace"
		return
	fi
	if grep -qs '^ksip ' /proc/modules; then
		echo "run: ksip.ko is already loaded"
		return
	fi
	if [ ! -d "$KDIR" ]; then
		echo "run: installing linux-headers-$KV to build ksip.ko for the running kernel"
		$SUDO apt-get install -y -qq --no-install-recommends "linux-headers-$KV" >/dev/null ||
			{ echo "run: no linux-headers-$KV in the archive; media will be relayed in userspace"; return; }
	fi
	# A ksip.ko left by the VM tests is built for Debian's cloud kernel: rebuild for this one.
	if [ ! -f ksip.ko ] || [ "$(modinfo -F vermagic ksip.ko | cut -d' ' -f1)" != "$KV" ]; then
		make -s kmod KDIR="$KDIR" || { echo "run: ksip.ko does not build against $KDIR"; return; }
	fi
	if $SUDO insmod ksip.ko; then
		echo "run: ksip.ko loaded into $KV"
	else
		echo "run: insmod ksip.ko failed on $KV; media will be relayed in userspace"
	fi
}

$SUDO mkdir -p /var/lib/ksip /run/ksip
load_module
echo "run: add a user with: build/ksipctl user add alice"
exec $SUDO build/ksipd "$@"
