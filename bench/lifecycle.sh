#!/usr/bin/env bash
# Container lifecycle benchmark: how long one complete `run` of a busybox
# container executing /bin/true takes (create, start, wait, destroy), and the
# peak RSS of the runtime, for nsinit and its peers on the same bundle in the
# same run.
#
#   bench/lifecycle.sh [N]        N timed runs per runtime (default 50)
#
# NSINIT_BENCH_NO_BUILD=1 skips the cargo build and uses target/x86_64-unknown-linux-gnu/release/nsinit
# as it is.
#
# Runtimes measured (each skipped with a note when not installed / not
# working):
#   unshare  `unshare -fmpuin --mount-proc true`: the floor (namespaces only)
#   runc     `runc run -b BUNDLE ID`
#   crun     `crun run -b BUNDLE ID` (see the hybrid cgroup note below)
#   nsinit   `target/x86_64-unknown-linux-gnu/release/nsinit exec --config BUNDLE/config.json --id ID true`
#
# The bundle is temporary: rootfs = a copy of scripts/rootfs.sh's busybox
# rootfs, config.json = `runc spec` (or `crun spec`) with args ["/bin/true"],
# terminal false, root not read-only. Every runtime gets its own state root
# under a temp dir in /run (--root), unique container ids, and after each run any
# container state left behind is deleted. Timings: wall time of each run
# taken with bash's $EPOCHREALTIME (no fork around the measurement), after
# 3 untimed warm-up runs; reported as median and p90 in ms. Peak RSS: the
# median over a few runs of GNU time's %M (max RSS of the runtime's process
# and the children it waited for), in MiB.
#
# crun 1.8.1 and this machine's hybrid cgroups: crun refuses to run
# ("cgroups in hybrid mode not supported, drop all controllers from
# cgroupv2") because the v2 tree at /sys/fs/cgroup/unified has the hugetlb
# controller. What works: inside `unshare -m`, mount a v1 hierarchy with
# `-o hugetlb` at /sys/fs/cgroup/hugetlb, which moves hugetlb from v2 to that
# v1 hierarchy, and run crun there. Caveats found doing it:
#   - the controller move is global (cgroup hierarchies are not per mount
#     namespace): while the crun section runs, v2 has no hugetlb on the
#     whole machine;
#   - the mount point has to exist on the host's /sys/fs/cgroup tmpfs (the
#     mkdir is visible outside the namespace), so it is created if missing
#     and removed again afterwards;
#   - unmounting does not always give hugetlb back to v2: if a cgroup crun
#     just removed is still dying when the namespace goes away, the v1
#     hierarchy stays alive with no mount. Mounting it again (it reattaches)
#     and unmounting once it has no children destroys it, and hugetlb returns
#     to v2; the script does that until /proc/cgroups shows hugetlb on
#     hierarchy 0 again (also from its EXIT trap).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

WARMUP=3
RSS_RUNS=5

# ---------------------------------------------------------------- helpers

now_us() {
	local t=$EPOCHREALTIME
	printf '%s\n' "${t/./}"
}

# container_cmd RUNTIME I: sets CMD to the argv of run number I.
container_cmd() {
	local id=nsb-$1-$$-$2
	case $1 in
	unshare) CMD=(unshare -fmpuin --mount-proc true) ;;
	runc) CMD=(runc --root "$STATE/runc" run -b "$BUNDLE" "$id") ;;
	crun) CMD=(crun --root "$STATE/crun" run -b "$BUNDLE" "$id") ;;
	nsinit) CMD=("$NSINIT" --root "$STATE/nsinit" exec --config "$BUNDLE/config.json" --id "$id" true) ;;
	*) die "unknown runtime $1" ;;
	esac
}

# cleanup_run RUNTIME I: removes whatever run I of RUNTIME left behind.
cleanup_run() {
	local id=nsb-$1-$$-$2 c
	case $1 in
	runc | crun)
		if [ -e "$STATE/$1/$id" ]; then
			"$1" --root "$STATE/$1" delete -f "$id" >/dev/null 2>&1 || true
		fi
		;;
	nsinit)
		if [ -e "$STATE/nsinit/$id" ]; then
			rm -rf --one-file-system "${STATE:?}/nsinit/$id"
		fi
		# Its default cgroup path, in every v1 hierarchy and in v2.
		for c in /sys/fs/cgroup/*/nsinit/"$id" /sys/fs/cgroup/nsinit/"$id"; do
			if [ -d "$c" ]; then rmdir "$c" 2>/dev/null || true; fi
		done
		;;
	esac
}

# measure RUNTIME N: N timed runs (after warm-up) into $RESULTS/RUNTIME.us,
# then RSS runs into $RESULTS/RUNTIME.rss. Fails (returns 1) with the first
# error shown if a run fails.
measure() {
	local rt=$1 n=$2 i t0 t1 err
	err=$RESULTS/$rt.err
	: >"$RESULTS/$rt.us"
	: >"$RESULTS/$rt.rss"
	for ((i = 1; i <= WARMUP + n; i++)); do
		container_cmd "$rt" "$i"
		t0=$(now_us)
		if ! "${CMD[@]}" </dev/null >/dev/null 2>"$err"; then
			cleanup_run "$rt" "$i"
			log "$rt: run $i failed: ${CMD[*]}"
			sed 's/^/    /' "$err" | head -n 20 >&2
			return 1
		fi
		t1=$(now_us)
		cleanup_run "$rt" "$i"
		if [ "$i" -gt "$WARMUP" ]; then
			echo $((t1 - t0)) >>"$RESULTS/$rt.us"
		fi
	done
	for ((i = WARMUP + n + 1; i <= WARMUP + n + RSS_RUNS; i++)); do
		container_cmd "$rt" "$i"
		if ! "$TIME" -f %M -o "$RESULTS/$rt.rss1" "${CMD[@]}" </dev/null >/dev/null 2>"$err"; then
			cleanup_run "$rt" "$i"
			log "$rt: RSS run failed: ${CMD[*]}"
			sed 's/^/    /' "$err" | head -n 20 >&2
			return 1
		fi
		cleanup_run "$rt" "$i"
		tail -n1 "$RESULTS/$rt.rss1" >>"$RESULTS/$rt.rss"
	done
}

# ---------------------------------------- crun inside its own mount namespace

hugetlb_hierarchy() {
	awk '$1 == "hugetlb" { print $2 }' /proc/cgroups
}

# Gives hugetlb back to cgroup v2 if a v1 hierarchy we made still holds it.
restore_hugetlb_v2() {
	local try d
	[ "${HUGETLB_WAS_V2:-}" = 1 ] || return 0
	for ((try = 0; try < 40; try++)); do
		[ "$(hugetlb_hierarchy)" = 0 ] && return 0
		log "hugetlb is still on v1 hierarchy $(hugetlb_hierarchy): remounting it to release it (try $((try + 1)))"
		d=$(mktemp -d /tmp/nsinit-bench-hugetlb.XXXXXX)
		# shellcheck disable=SC2016  # expanded by the inner bash
		unshare -m bash -c 'mount -t cgroup -o hugetlb none "$1" || exit 0
			find "$1" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
			umount "$1"' bash "$d" || true
		rmdir "$d"
		sleep 0.25
	done
	log "warning: hugetlb is still bound to a v1 hierarchy ($(hugetlb_hierarchy)); cgroup v2 lost it"
}

if [ "${1:-}" = __crun_in_hugetlb_ns ]; then
	# Internal: runs in a private mount namespace (see the header).
	shift
	n=$1
	mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb ||
		die "cannot mount a v1 hugetlb hierarchy at /sys/fs/cgroup/hugetlb"
	rc=0
	measure crun "$n" || rc=$?
	umount /sys/fs/cgroup/hugetlb || true
	exit "$rc"
fi

# ------------------------------------------------------------------- main

need_root
N=${1:-50}
case $N in '' | *[!0-9]* | 0) die "N must be a positive integer, not '$N'" ;; esac

ensure_pkgs time busybox-static
TIME=/usr/bin/time

TMP=$(mktemp -d /tmp/nsinit-bench.XXXXXX)
# The runtimes' state roots live on tmpfs, as their defaults (/run/runc,
# /run/crun, /run/nsinit) do: on a disk filesystem each run would mostly
# measure the journal.
STATE=$(mktemp -d /run/nsinit-bench-state.XXXXXX)
export BUNDLE=$TMP/bundle STATE RESULTS=$TMP/results
MADE_HUGETLB_DIR=
HUGETLB_WAS_V2=
export HUGETLB_WAS_V2 TIME WARMUP RSS_RUNS
cleanup() {
	local rt
	restore_hugetlb_v2
	if [ -n "$MADE_HUGETLB_DIR" ]; then rmdir /sys/fs/cgroup/hugetlb 2>/dev/null || true; fi
	for rt in runc crun; do
		if [ -d "$STATE/$rt" ] && command -v "$rt" >/dev/null; then
			for c in "$STATE/$rt"/*; do
				[ -e "$c" ] || continue
				"$rt" --root "$STATE/$rt" delete -f "${c##*/}" >/dev/null 2>&1 || true
			done
		fi
	done
	rm -rf --one-file-system "$TMP" "$STATE"
}
trap cleanup EXIT
mkdir -p "$BUNDLE" "$STATE"/{runc,crun,nsinit} "$RESULTS"

# The bundle.
rootfs_src=$("$repo/scripts/rootfs.sh" | tail -n1)
cp -a "$rootfs_src" "$BUNDLE/rootfs"
if command -v runc >/dev/null; then
	(cd "$BUNDLE" && runc spec)
elif command -v crun >/dev/null; then
	(cd "$BUNDLE" && crun spec)
else
	die "need runc or crun to generate the bundle's config.json (runc spec)"
fi
if command -v python3 >/dev/null; then
	python3 - "$BUNDLE/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    spec = json.load(f)
spec["process"]["args"] = ["/bin/true"]
spec["process"]["terminal"] = False
spec["root"]["readonly"] = False
with open(path, "w") as f:
    json.dump(spec, f, indent=2)
EOF
else
	ensure_pkgs jq
	jq '.process.args = ["/bin/true"] | .process.terminal = false | .root.readonly = false' \
		"$BUNDLE/config.json" >"$BUNDLE/config.json.new"
	mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
fi

# nsinit.
NSINIT=$repo/target/x86_64-unknown-linux-gnu/release/nsinit
nsinit_note=
if ! command -v cargo >/dev/null && [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
	PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
if [ -n "${NSINIT_BENCH_NO_BUILD:-}" ]; then
	log "NSINIT_BENCH_NO_BUILD is set: using $NSINIT as it is"
else
	log "building nsinit (cargo build --release -p nsinit)"
	if ! (cd "$repo" && cargo build --release -p nsinit >&2); then
		nsinit_note="cargo build --release -p nsinit failed"
	fi
fi
if [ -z "$nsinit_note" ] && [ ! -x "$NSINIT" ]; then
	nsinit_note="$NSINIT does not exist"
fi
if [ -n "$nsinit_note" ]; then
	log "NOTE: nsinit will not be measured ($nsinit_note); measuring the peers only"
fi
export NSINIT

cd "$BUNDLE"
declare -A status
runtimes=(unshare runc crun nsinit)

for rt in "${runtimes[@]}"; do
	case $rt in
	unshare | runc | crun)
		if ! command -v "$rt" >/dev/null; then
			status[$rt]="skipped: $rt is not installed"
			continue
		fi
		;;
	nsinit)
		if [ -n "$nsinit_note" ]; then
			status[$rt]="skipped: $nsinit_note"
			continue
		fi
		;;
	esac
	log "measuring $rt: $N runs"
	if [ "$rt" = crun ]; then
		# Try it plainly first; on the hybrid layout fall back to the v1
		# hugetlb mount in a private mount namespace.
		container_cmd crun 0
		if "${CMD[@]}" </dev/null >/dev/null 2>"$RESULTS/crun.probe"; then
			cleanup_run crun 0
			if measure crun "$N"; then status[$rt]=ok; else status[$rt]="failed (see above)"; fi
			continue
		fi
		cleanup_run crun 0
		if ! grep -q 'hybrid mode not supported' "$RESULTS/crun.probe"; then
			log "crun: probe run failed:"
			sed 's/^/    /' "$RESULTS/crun.probe" >&2
			status[$rt]="failed (see above)"
			continue
		fi
		log "crun refuses the hybrid cgroup layout; running it with a v1 hugetlb mount in a private mount namespace"
		if [ "$(hugetlb_hierarchy)" = 0 ]; then HUGETLB_WAS_V2=1; fi
		if [ ! -d /sys/fs/cgroup/hugetlb ]; then
			mkdir /sys/fs/cgroup/hugetlb
			MADE_HUGETLB_DIR=1
		fi
		crun_rc=0
		unshare -m "$here/lifecycle.sh" __crun_in_hugetlb_ns "$N" || crun_rc=$?
		restore_hugetlb_v2
		if [ -n "$MADE_HUGETLB_DIR" ]; then
			rmdir /sys/fs/cgroup/hugetlb 2>/dev/null || true
			MADE_HUGETLB_DIR=
		fi
		if [ "$crun_rc" = 0 ]; then
			status[$rt]="ok (v1 hugetlb mount in a private mount namespace)"
		else
			status[$rt]="failed (see above)"
		fi
		continue
	fi
	if measure "$rt" "$N"; then status[$rt]=ok; else status[$rt]="failed (see above)"; fi
done

# ---------------------------------------------------------------- report

declare -A med p90 rss
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }

echo
echo "Container lifecycle: run of busybox /bin/true, $N runs each (+$WARMUP warm-up), kernel $(uname -r)"
printf '%-8s %12s %12s %14s  %s\n' runtime "median ms" "p90 ms" "peak RSS MiB" note
for rt in "${runtimes[@]}"; do
	case ${status[$rt]:-} in
	ok*)
		med[$rt]=$(pick "$RESULTS/$rt.us" median)
		p90[$rt]=$(pick "$RESULTS/$rt.us" p90)
		rss[$rt]=$(pick "$RESULTS/$rt.rss" median)
		note=${status[$rt]#ok}
		note=${note# }
		printf '%-8s %12s %12s %14s  %s\n' "$rt" "$(ms "${med[$rt]}")" "$(ms "${p90[$rt]}")" \
			"$(mib "${rss[$rt]}")" "${note:-}"
		;;
	*)
		printf '%-8s %12s %12s %14s  %s\n' "$rt" - - - "${status[$rt]:-not run}"
		;;
	esac
done
echo
for peer in runc crun; do
	if [ -n "${med[nsinit]:-}" ] && [ -n "${med[$peer]:-}" ]; then
		echo "nsinit/$peer: time $(ratio "${med[nsinit]}" "${med[$peer]}"), peak RSS $(ratio "${rss[nsinit]}" "${rss[$peer]}")"
	else
		echo "nsinit/$peer: n/a (${status[nsinit]:-not run} / ${status[$peer]:-not run})"
	fi
done
if [ -n "${med[unshare]:-}" ]; then
	echo "floor (bare unshare): $(ms "${med[unshare]}") ms median"
fi
