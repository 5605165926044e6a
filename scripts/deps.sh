#!/bin/sh
# Install what building and testing ksip needs, from Debian 12's archive.
# Idempotent and quick when everything is present: apt runs only if a package is missing.
set -eu

# nftables (the nft CLI) and conntrack are for tests only: ksipd speaks netlink itself.
# prometheus is for tests only too: its promtool checks ksipd's /metrics.
# debhelper, dh-dkms, dkms, lintian and mandoc build and check the packages (make deb,
# tests/package/, strace for the unit's system call filter); libsystemd-dev gives ksipd sd_notify.
# baresip-core (its modules: g711, ausine, sndfile, ctrl_tcp, menu, contact, account, stdio),
# linphone-cli (linphonec) and sox are the real phones of tests/phones/ and their tones.
PKGS="build-essential pkg-config clang libsqlite3-dev libssl-dev libinih-dev
      libnl-genl-3-dev libmnl-dev libnftnl-dev libmicrohttpd-dev sip-tester python3 sqlite3 iproute2 procps
      qemu-system-x86 busybox-static cpio xz-utils linux-image-cloud-amd64 linux-headers-cloud-amd64
      linux-image-6.12-cloud-amd64 linux-headers-6.12-cloud-amd64 linux-headers-amd64 linux-headers-rt-amd64
      linux-source-6.1
      nftables conntrack sipvicious prometheus
      libsystemd-dev debhelper dh-dkms dkms lintian mandoc strace
      baresip-core linphone-cli sox"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
