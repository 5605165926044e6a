#!/bin/bash
# Boot Debian's cloud kernel under qemu (TCG) with a test initramfs and run
# one script inside it. Shared by tests/kernel/run.sh and bench/rtp.
#
#   scripts/vm.sh SCRIPT OUTDIR [TIMEOUT]        (VM_SMP: vCPUs, default 2)
#
# bench/rtp adds VM_BENCH=1 (tc, sch_netem), VM_RTPENGINE=1 (rtpengine's
# module, daemon and iptables) and, for --profile, VM_PERF=1 (perf).
#
# Builds ksip.ko (W=1; a warning fails), packs busybox, ksip.ko, veth.ko,
# nf_tables and the modules ksipd's table needs, iproute2, nft, ksipctl,
# ksipd, ktest, udprelay, sipflood, SIPp and tests/kernel/sip/ into an
# initramfs, boots it with panic_on_warn, and leaves OUTDIR/console.log (the
# kernel log) and OUTDIR/results.txt (what SCRIPT printed, via ttyS1).
# Exit status: 0 booted and finished, 2 setup failed, 3 timed out, 4 kernel
# complained (WARN/BUG/oops/panic) on the console.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRIPT=$1
OUT=$2
TIMEOUT=${3:-600}
O=${O:-build}

die() { echo "vm: $*" >&2; exit 2; }

KV=""
for h in $(ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V); do
	v=${h#/usr/src/linux-headers-}
	[ -f "/boot/vmlinuz-$v" ] && [ -d "/lib/modules/$v" ] && KV=$v
done
[ -n "$KV" ] || die "no linux-image-cloud-amd64 with matching headers (scripts/deps.sh installs them)"

mkdir -p "$OUT"
make -s -C "/usr/src/linux-headers-$KV" M="$ROOT" modules W=1 >"$OUT/kmod-build.log" 2>&1 ||
	{ cat "$OUT/kmod-build.log" >&2; die "ksip.ko does not build against $KV"; }
if grep -q "warning:" "$OUT/kmod-build.log"; then
	grep "warning:" "$OUT/kmod-build.log" >&2
	die "ksip.ko builds with warnings (W=1)"
fi

R=$OUT/root
rm -rf "$R" && mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib/modules,tests/sip,tests/sipp,proc,sys,dev,run,tmp,etc}
cp /bin/busybox "$R/bin/busybox"
for app in $("$R/bin/busybox" --list); do
	[ -e "$R/bin/$app" ] || ln -s busybox "$R/bin/$app"
done
copy_bin() {	# copy_bin SRC DEST, with the shared libraries it needs
	[ -e "$1" ] || die "missing $1 (run make tests)"
	cp "$1" "$R$2"
	for lib in $(ldd "$1" | grep -o '/[^ ]*\.so[^ ]*'); do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
copy_bin /usr/sbin/ip /usr/sbin/ip
copy_bin "$O/ksipctl" /bin/ksipctl
copy_bin "$O/tests/ktest" /bin/ktest
copy_bin "$O/tests/udprelay" /bin/udprelay
copy_bin /usr/bin/sipp /bin/sipp
copy_bin "$O/ksipd" /bin/ksipd
copy_bin "$O/tests/sipflood" /bin/sipflood
copy_bin /usr/sbin/nft /usr/sbin/nft
cp ksip.ko "$R/lib/modules/"
# bench/rtp compares rtpengine's kernel module: build it against the same headers, bring its
# daemon, iptables-legacy and the netfilter modules it needs (VM_RTPENGINE=1; big, so opt-in).
if [ "${VM_RTPENGINE:-0}" = 1 ]; then
	RS=$(ls -d /usr/src/rtpengine-* 2>/dev/null | sort -V | tail -1)
	[ -n "$RS" ] || die "rtpengine-kernel-dkms is not installed"
	rm -rf "$OUT/rtpengine-build" && cp -r "$RS" "$OUT/rtpengine-build"
	make -s -C "/usr/src/linux-headers-$KV" M="$OUT/rtpengine-build" modules \
		>"$OUT/rtpengine-build.log" 2>&1 || die "xt_RTPENGINE does not build against $KV"
	cp "$OUT/rtpengine-build/xt_RTPENGINE.ko" "$R/lib/modules/"
	for m in net/netfilter/x_tables net/netfilter/xt_tcpudp net/ipv4/netfilter/ip_tables \
		net/ipv4/netfilter/iptable_filter; do
		cp "/lib/modules/$KV/kernel/$m.ko" "$R/lib/modules/"
	done
	copy_bin "$(readlink -f /usr/sbin/iptables-legacy)" /usr/sbin/iptables-legacy
	mkdir -p "$R/usr/lib/x86_64-linux-gnu/xtables"
	for x in libxt_RTPENGINE libxt_standard libxt_udp libipt_standard; do
		f=/usr/lib/x86_64-linux-gnu/xtables/$x.so
		[ -e "$f" ] && copy_bin "$f" "$f"
	done
	copy_bin /usr/bin/rtpengine /bin/rtpengine
fi
# bench/rtp batches the caller's packets with netem (VM_BENCH=1).
if [ "${VM_BENCH:-0}" = 1 ]; then
	copy_bin /usr/sbin/tc /usr/sbin/tc
	cp "/lib/modules/$KV/kernel/net/sched/sch_netem.ko" "$R/lib/modules/"
fi
# perf, to profile the guest's kernel from inside it (VM_PERF=1; see docs/benchmarks.md).
[ "${VM_PERF:-0}" = 1 ] && copy_bin "$(readlink -f /usr/bin/perf)" /bin/perf
cp "/lib/modules/$KV/kernel/drivers/net/veth.ko" "$R/lib/modules/"
# The nftables shield (tests/kernel/vm-shield.sh): what ksipd's table needs that the cloud kernel
# builds as modules, with their dependencies (modules.dep); vm-shield.sh loads them in this order.
for m in lib/libcrc32c net/netfilter/nfnetlink net/netfilter/nf_tables net/netfilter/nft_objref \
	net/netfilter/nft_limit net/ipv4/netfilter/nf_defrag_ipv4 net/ipv6/netfilter/nf_defrag_ipv6 \
	net/netfilter/nf_conntrack net/netfilter/nft_ct; do
	cp "/lib/modules/$KV/kernel/$m.ko" "$R/lib/modules/" || die "missing $m.ko in $KV"
done
cp tests/kernel/sip/*.sip tests/kernel/sipp-send.xml "$R/tests/sip/"
cp tests/sipp/*.xml "$R/tests/sipp/"
cp tests/kernel/vm-calls.sh tests/kernel/vm-shield.sh tests/kernel/vm-xfam.sh "$R/tests/"
cp "$SCRIPT" "$R/tests/vm-tests.sh"
cp tests/kernel/vm-init.sh "$R/init"
chmod +x "$R/init"
echo "root:x:0:0:root:/:/bin/sh" > "$R/etc/passwd"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initramfs.gz"

rm -f "$OUT/console.log" "$OUT/results.txt"
timeout "$TIMEOUT" qemu-system-x86_64 -name ksip-vm,debug-threads=on -m 1024 -smp "${VM_SMP:-2}" -nographic -no-reboot \
	-kernel "/boot/vmlinuz-$KV" -initrd "$OUT/initramfs.gz" \
	-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=1 quiet loglevel=4" \
	-serial "file:$OUT/console.log" -serial "file:$OUT/results.txt" \
	-monitor none >"$OUT/qemu.log" 2>&1
rc=$?
[ $rc -eq 124 ] && exit 3
grep -qE "WARNING:|BUG:|Oops|Kernel panic|Call Trace|general protection|KASAN|UBSAN" \
	"$OUT/console.log" && exit 4
exit 0
