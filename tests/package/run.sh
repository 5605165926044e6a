#!/bin/sh
# Packages, unit, sd_notify, DKMS, man pages and config keys: TAP (tests/package/test_package.py).
cd "$(dirname "$0")" || exit 1
exec python3 test_package.py
