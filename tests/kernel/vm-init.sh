#!/bin/sh
# PID 1 of the test VM: mount the basics, run the kernel tests with TAP on
# the second serial port (ttyS1), then power off. The console (ttyS0) keeps
# the kernel log, which the host checks for WARN/BUG/oops.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /run
mount -t tmpfs tmp /tmp
mkdir -p /run/netns /var && ln -s /run /var/run
echo 1 > /proc/sys/kernel/panic_on_warn
sh /tests/vm-tests.sh > /dev/ttyS1 2>&1
echo "# vm-tests exit $?" > /dev/ttyS1
sync
poweroff -f
