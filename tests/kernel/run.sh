#!/bin/bash
# Kernel tests: build ksip.ko against Debian's cloud kernel headers, boot that
# kernel under qemu (TCG) with an initramfs of busybox, ksip.ko, veth, iproute2,
# ksipctl and ktest, run tests/kernel/vm-tests.sh inside, and print its TAP.
# A WARN, BUG, oops or panic on the console, a missing result, or a time-out
# is a failure. Nothing here touches the host's network.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
O=${O:-build}
VM=$O/vm
TIMEOUT=${VM_TIMEOUT:-600}

fail() { echo "not ok - kernel tests: $*"; echo "1..1"; exit 1; }

# The newest cloud kernel with both an image and headers installed.
KV=""
for h in $(ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V); do
	v=${h#/usr/src/linux-headers-}
	[ -f "/boot/vmlinuz-$v" ] && [ -d "/lib/modules/$v" ] && KV=$v
done
[ -n "$KV" ] || fail "no linux-image-cloud-amd64 with matching headers (scripts/deps.sh installs them)"

make -s -C "/usr/src/linux-headers-$KV" M="$ROOT" modules W=1 >"$O/kmod-build.log" 2>&1 ||
	{ cat "$O/kmod-build.log"; fail "ksip.ko does not build against $KV"; }
if grep -q "warning:" "$O/kmod-build.log"; then
	grep "warning:" "$O/kmod-build.log" | sed 's/^/# /'
	fail "ksip.ko builds with warnings (W=1)"
fi

# --- initramfs ---------------------------------------------------------------------
rm -rf "$VM" && mkdir -p "$VM/root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,tests,proc,sys,dev,run,tmp,etc}
R=$VM/root
cp /bin/busybox "$R/bin/busybox"
for app in $("$R/bin/busybox" --list); do
	[ -e "$R/bin/$app" ] || ln -s busybox "$R/bin/$app"
done
copy_bin() {	# copy_bin SRC DEST, with the shared libraries it needs
	cp "$1" "$R$2"
	for lib in $(ldd "$1" | grep -o '/[^ ]*\.so[^ ]*'); do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
copy_bin /usr/sbin/ip /usr/sbin/ip
copy_bin "$O/ksipctl" /bin/ksipctl
copy_bin "$O/tests/ktest" /bin/ktest
copy_bin /usr/bin/sipp /bin/sipp
mkdir -p "$R/tests/sip"
cp tests/kernel/sip/*.sip tests/kernel/sipp-send.xml "$R/tests/sip/"
cp ksip.ko "$R/lib/modules/"
cp "/lib/modules/$KV/kernel/drivers/net/veth.ko" "$R/lib/modules/"
cp tests/kernel/vm-tests.sh "$R/tests/"
cp tests/kernel/vm-init.sh "$R/init"
chmod +x "$R/init"
echo "root:x:0:0:root:/:/bin/sh" > "$R/etc/passwd"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$VM/initramfs.gz"

# --- boot --------------------------------------------------------------------------
timeout "$TIMEOUT" qemu-system-x86_64 -m 1024 -smp 2 -nographic -no-reboot \
	-kernel "/boot/vmlinuz-$KV" -initrd "$VM/initramfs.gz" \
	-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=1 quiet loglevel=4" \
	-serial "file:$VM/console.log" -serial "file:$VM/results.tap" \
	-monitor none >"$VM/qemu.log" 2>&1
rc=$?

cat "$VM/results.tap" 2>/dev/null | tr -d '\r'
if [ $rc -eq 124 ]; then
	echo "not ok - the VM did not finish within ${TIMEOUT}s"
	tail -20 "$VM/console.log" | sed 's/^/#   /'
	exit 1
fi
if grep -qE "WARNING:|BUG:|Oops|Kernel panic|Call Trace|general protection|KASAN|UBSAN" "$VM/console.log"; then
	echo "not ok - the kernel complained on the console"
	grep -E -A12 "WARNING:|BUG:|Oops|Kernel panic|general protection" "$VM/console.log" | head -40 | sed 's/^/#   /'
	exit 1
fi
echo "ok - kernel console clean (no WARN, BUG, oops or panic)"
grep -q "^# vm-tests exit" "$VM/results.tap" || { echo "not ok - the test run did not complete"; exit 1; }
! grep -q "^not ok" "$VM/results.tap"
