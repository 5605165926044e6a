#!/bin/bash
# Boot Debian's cloud kernel under qemu (TCG) with a test initramfs and run
# one script inside it. Shared by tests/kernel/run.sh and bench/rtp.
#
#   scripts/vm.sh SCRIPT OUTDIR [TIMEOUT]        (VM_SMP: vCPUs, default 2)
#   VM_KERNEL=6.12 scripts/vm.sh ...             (a series or a release; default 6.1)
#
# bench/rtp adds VM_BENCH=1 (tc, sch_netem), VM_RTPENGINE=1 (rtpengine's
# module, daemon and iptables) and, for --profile, VM_PERF=1 (perf); VM_APPEND
# adds to the kernel's command line (bench/rtp: the clocksource).
#
# Builds ksip.ko (W=1; a warning fails), packs busybox, ksip.ko, veth.ko,
# nf_tables and the modules ksipd's table needs, iproute2, nft, ksipctl,
# ksipd, ktest, udprelay, sipflood, SIPp, baresip and tests/kernel/sip/ into an
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

# The kernel: VM_KERNEL names a release (6.12.117+deb12-cloud-amd64) or a series (6.1, 6.12:
# the newest cloud kernel of it, by version order); default 6.1, Debian 12's own. Its image is
# looked for in VM_BOOT_DIR (default /boot), its modules in /lib/modules.
series=${VM_KERNEL:-6.1}
BOOT=${VM_BOOT_DIR:-/boot}
KV=""
for h in $(ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V); do
	v=${h#/usr/src/linux-headers-}
	case $v in "$series" | "$series".* | "$series"-*) ;; *) continue ;; esac
	[ -f "$BOOT/vmlinuz-$v" ] && [ -d "/lib/modules/$v" ] && KV=$v
done
[ -n "$KV" ] || die "no cloud kernel $series with image and headers (scripts/deps.sh installs them)"
mkdir -p "$OUT"
echo "$KV" > "$OUT/kernel-release"

# ksip.ko is built in a copy of its sources, so that builds for two kernels never share objects.
KSRC=$(cd "$OUT" && pwd)/ksip-src	# M= wants an absolute path
rm -rf "$KSRC" && mkdir -p "$KSRC" && cp -r Kbuild kmod include "$KSRC/" && rm -f "$KSRC"/kmod/*.o
make -s -C "/usr/src/linux-headers-$KV" M="$KSRC" modules W=1 >"$OUT/kmod-build.log" 2>&1 ||
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
# A real phone for tests/kernel/vm-phones.sh: baresip with the modules its config loads (G.711,
# a sine as microphone, WAV recording, the accounts file, the dial command).
mkdir -p "$R/usr/lib/baresip/modules"
copy_bin /usr/bin/baresip /usr/bin/baresip
for m in g711 ausine sndfile account menu; do
	copy_bin "/usr/lib/baresip/modules/$m.so" "/usr/lib/baresip/modules/$m.so"
done
cp "$KSRC/ksip.ko" "$R/lib/modules/"
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
# perf, to profile the guest's kernel from inside it (VM_PERF=1; see docs/benchmarks.md).
[ "${VM_PERF:-0}" = 1 ] && copy_bin "$(readlink -f /usr/bin/perf)" /bin/perf
# Kernel modules the tests load, with what each depends on (modules.dep), decompressed (6.12's
# are .ko.xz and busybox's insmod takes plain ones); MODULES.order lists them so that loading in
# that order satisfies every dependency. Modules built into this kernel are left out.
add_mod() {	# add_mod NAME ORDERFILE
	local path deps d base
	path=$(grep -E "^(kernel/.*/)?$1\.ko(\.xz|\.zst)?:" "/lib/modules/$KV/modules.dep" | head -1)
	if [ -z "$path" ]; then
		grep -qE "/$1\.ko$" "/lib/modules/$KV/modules.builtin" && return 0
		die "no module $1 in $KV"
	fi
	deps=${path#*:}
	path=${path%%:*}
	for d in $deps; do
		base=$(basename "$d"); base=${base%%.ko*}
		add_mod "$base" "$2"
	done
	grep -qx "$1" "$2" 2>/dev/null && return 0
	case $path in
	*.xz) xz -dc "/lib/modules/$KV/$path" > "$R/lib/modules/$1.ko" ;;
	*.zst) zstd -qdc "/lib/modules/$KV/$path" > "$R/lib/modules/$1.ko" ;;
	*) cp "/lib/modules/$KV/$path" "$R/lib/modules/$1.ko" ;;
	esac || die "cannot copy $path"
	echo "$1" >> "$2"
}
# bench/rtp batches the caller's packets with netem (VM_BENCH=1).
if [ "${VM_BENCH:-0}" = 1 ]; then
	copy_bin /usr/sbin/tc /usr/sbin/tc
	add_mod sch_netem "$R/lib/modules/bench.order"
fi
add_mod veth "$R/lib/modules/base.order"
# The nftables shield (tests/kernel/vm-shield.sh): nf_tables and the expressions ksipd's table
# uses that are modules of their own in this kernel (modules.alias names them nft-expr-X; no
# alias: built into nf_tables, as objref is since 6.x). objref: the rules' named counters;
# ct: notrack; limit: the rate meter.
add_mod nf_tables "$R/lib/modules/shield.order"
for e in objref limit ct; do
	m=$(awk -v a="nft-expr-$e" '$2 == a { print $3; exit }' "/lib/modules/$KV/modules.alias")
	[ -n "$m" ] && add_mod "$m" "$R/lib/modules/shield.order"
done
cp tests/kernel/sip/*.sip tests/kernel/sipp-send.xml "$R/tests/sip/"
cp tests/sipp/*.xml "$R/tests/sipp/"
for f in vm-calls vm-phones vm-shield vm-xfam vm-fanout vm-tap vm-page; do cp "tests/kernel/$f.sh" "$R/tests/"; done
cp "$SCRIPT" "$R/tests/vm-tests.sh"
cp tests/kernel/vm-init.sh "$R/init"
chmod +x "$R/init"
echo "root:x:0:0:root:/:/bin/sh" > "$R/etc/passwd"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initramfs.gz"

rm -f "$OUT/console.log" "$OUT/results.txt"
timeout "$TIMEOUT" qemu-system-x86_64 -name ksip-vm,debug-threads=on -m 1024 -smp "${VM_SMP:-2}" -nographic -no-reboot \
	-kernel "$BOOT/vmlinuz-$KV" -initrd "$OUT/initramfs.gz" \
	-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=1 quiet loglevel=4 ${VM_APPEND:-}" \
	-serial "file:$OUT/console.log" -serial "file:$OUT/results.txt" \
	-monitor none >"$OUT/qemu.log" 2>&1
rc=$?
[ $rc -eq 124 ] && exit 3
grep -qE "WARNING:|BUG:|Oops|Kernel panic|Call Trace|general protection|KASAN|UBSAN" \
	"$OUT/console.log" && exit 4
exit 0
