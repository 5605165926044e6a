#!/bin/bash
# ksipd's layers, checked from its #include lines (TAP).
#
#   top (daemon/*.c)   main, control, dispatch: wiring, commands, routing
#   conf/              conference focus and paging groups (ksipd as the UA)
#   proxy/             RFC 3261 §16, calls and dialogs
#   registrar/         §10.3 and digest challenges
#   txn/  media/       transactions and timers; relay ports and kernel flows
#   mixer/             conference audio: G.711, jitter buffers, N-1 mixing
#   transport/ store/  sockets, streams, workers; users, bindings, SQLite
#   shield/            bans, per-source rates, auth-failure counts
#   sip/               syntax: messages, SDP, digest math
#   base/              hash, lists, timers, event loop, log, config, stats
#
# A file may include headers of its own folder and of the folders its
# folder is allowed below (ALLOWED); anything else, a header of a layer
# above, or of the top, fails. Two folders that include each other fail
# too. The graph found is printed as comments, and so are the modules
# (x.c/x.h and y.c/y.h) of one folder that include each other's headers:
# inside a layer that is allowed, but each such pair is a place to look.
set -u
self=$(realpath "$0")
cd "${1:-$(dirname "$0")/..}" || exit 1

declare -A ALLOWED=(
	[base]=""
	[sip]="base"
	[store]="base sip"
	[transport]="base sip"
	[shield]="base sip"
	[txn]="base sip"
	[media]="base sip"
	[mixer]="base"
	[registrar]="base sip store txn shield"
	[proxy]="base sip store transport txn media registrar shield"
	[conf]="base sip store transport txn media mixer registrar shield proxy"
	[top]="base sip store transport shield txn media mixer registrar proxy conf"
)

layer_of() {	# daemon/X/file -> X; daemon/file -> top
	local rel=${1#daemon/}
	case "$rel" in
	*/*) echo "${rel%%/*}" ;;
	*) echo top ;;
	esac
}

n=0
fail=0
declare -A edges=()
declare -A modedges=()	# "daemon/store/location -> daemon/store/store"
bad=()
while IFS= read -r f; do
	from=$(layer_of "$f")
	if [ -z "${ALLOWED[$from]+x}" ]; then
		bad+=("$f: folder '$from' is not a known layer")
		continue
	fi
	while IFS= read -r inc; do
		# Headers outside daemon/ (include/ksip, uapi, kmod) are shared by everyone.
		[ -f "daemon/$inc" ] || continue
		to=$(layer_of "daemon/$inc")
		if [ "$to" = "$from" ]; then
			a=${f%.[ch]}
			b=daemon/${inc%.h}
			b=${b%_priv}	# a module's private header is the module
			[ "$a" != "$b" ] && modedges["$a -> $b"]=1
			continue
		fi
		edges["$from -> $to"]=$(( ${edges["$from -> $to"]:-0} + 1 ))
		case " ${ALLOWED[$from]} " in
		*" $to "*) ;;
		*) bad+=("$f includes $inc: $from may not include $to") ;;
		esac
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(find daemon -name '*.[ch]' | sort)

echo "TAP version 13"
echo "1..3"
for e in $(printf '%s\n' "${!edges[@]}" | tr ' ' '_' | sort); do
	echo "# ${e//_/ } (${edges[${e//_/ }]} includes)"
done
if [ ${#bad[@]} -eq 0 ]; then
	echo "ok 1 - every #include under daemon/ points to its own layer or one below"
else
	printf '# %s\n' "${bad[@]}"
	echo "not ok 1 - ${#bad[@]} includes point upward"
	fail=1
fi
# both_ways NAME: the "a <-> b" pairs of the edge set NAME found in both directions.
both_ways() {
	local -n set=$1
	local e a b

	mutual=()
	for e in "${!set[@]}"; do
		a=${e%% -> *}
		b=${e##* -> }
		[ -n "${set["$b -> $a"]+x}" ] && [[ "$a" < "$b" ]] && mutual+=("$a <-> $b")
	done
}

both_ways edges
if [ ${#mutual[@]} -eq 0 ]; then
	echo "ok 2 - no two folders include each other"
else
	printf '# %s\n' "${mutual[@]}"
	echo "not ok 2 - folders that include each other: ${#mutual[@]}"
	fail=1
fi
both_ways modedges
# The check itself must catch what it promises to: a copy of the tree with
# one upward include (base/ naming proxy/) has to fail.
if [ -z "${CHECK_LAYERS_INNER:-}" ]; then
	tmp=$(mktemp -d)
	cp -r daemon "$tmp/"
	echo '#include "proxy/proxy.h"' >> "$tmp/daemon/base/log.c"
	if CHECK_LAYERS_INNER=1 "$self" "$tmp" >/dev/null 2>&1; then
		echo "not ok 3 - an upward include planted in base/ goes unnoticed"
		fail=1
	else
		echo "ok 3 - an upward include planted in base/ is caught"
	fi
	rm -rf "$tmp"
else
	echo "ok 3 # SKIP inner run"
fi
[ ${#mutual[@]} -eq 0 ] || printf '# modules of one layer that include each other: %s\n' "${mutual[@]}"
exit $fail
