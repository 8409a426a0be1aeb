#!/usr/bin/env bash
# Checkpoint / restore benchmark: how long `checkpoint` and `restore` of the
# same running container take with nsinit and with runc, in the same run, on
# the same bundle and with the same criu.
#
#   bench/checkpoint.sh [N]       N timed rounds per runtime (default 15)
#
# NSINIT_BENCH_NO_BUILD=1 skips the cargo build and uses
# ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/nsinit as it is. NSINIT_CRIU names the
# criu (default: what scripts/criu-setup.sh provides).
#
# The workload: a busybox shell loop in a container (pid, net, ipc, uts,
# mount namespaces: `runc spec`'s defaults; nsinit runs the same config.json)
# that bumps a counter in a file of its rootfs every 50 ms, started detached
# with stdio on /dev/null. One round, for each runtime in turn (runc and
# nsinit alternate, so drift of the machine hits both alike):
#   start the container (untimed), wait until it counts;
#   checkpoint --image-path DIR          timed; the container must be gone
#   restore --detach --image-path DIR    timed; the count must go on
#   delete it (untimed).
# Both runtimes drive the same criu binary: runc 1.1.5 looks `criu` up in
# PATH, so PATH gets a temporary directory first holding a `criu` symlink to
# it; nsinit gets it with --criu. Both have CRIU log at level 4 into the
# image directory (runc's fixed choice, nsinit's default). Timings: wall time
# of each command with bash's $EPOCHREALTIME after 2 untimed warm-up rounds,
# reported as median and p90 in ms, and the ratio nsinit / runc of the
# medians (target: <= 1).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

WARMUP=2

now_us() {
	local t=$EPOCHREALTIME
	printf '%s\n' "${t/./}"
}

ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }

need_root
N=${1:-15}
case $N in '' | *[!0-9]* | 0) die "N must be a positive integer, not '$N'" ;; esac
command -v runc >/dev/null || die "runc is not installed (apt-get install runc)"

if [ -z "${NSINIT_CRIU:-}" ]; then
	NSINIT_CRIU=$("$repo/scripts/criu-setup.sh" | tail -n1)
fi
[ -x "$NSINIT_CRIU" ] || die "no criu at '$NSINIT_CRIU'"
CRIU=$NSINIT_CRIU

if ! command -v cargo >/dev/null && [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
	PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
NSINIT=${CARGO_TARGET_DIR:-$repo/target}/x86_64-unknown-linux-gnu/release/nsinit
if [ -z "${NSINIT_BENCH_NO_BUILD:-}" ]; then
	log "building nsinit (cargo build --release -p nsinit)"
	(cd "$repo" && cargo build --release -p nsinit >&2) || die "cargo build failed"
fi
[ -x "$NSINIT" ] || die "$NSINIT does not exist"

TMP=$(mktemp -d /tmp/nsinit-bench-ckpt.XXXXXX)
BUNDLE=$TMP/bundle
STATE=$TMP/state
RESULTS=$TMP/results
BIN=$TMP/bin
CUR_RT=
CUR_ID=
cleanup() {
	local c
	if [ -n "$CUR_ID" ]; then delete_ct "$CUR_RT" "$CUR_ID"; fi
	for c in "$STATE"/runc/*; do
		[ -e "$c" ] || continue
		runc --root "$STATE/runc" delete -f "${c##*/}" >/dev/null 2>&1 || true
	done
	for c in "$STATE"/nsinit/*; do
		[ -e "$c/state.json" ] || continue
		"$NSINIT" --root "$STATE/nsinit" delete -f "${c##*/}" >/dev/null 2>&1 || true
	done
	rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT
mkdir -p "$BUNDLE" "$STATE"/{runc,nsinit} "$RESULTS" "$BIN"
ln -s "$CRIU" "$BIN/criu"

rootfs_src=$("$repo/scripts/rootfs.sh" | tail -n1)
cp -a "$rootfs_src" "$BUNDLE/rootfs"
(cd "$BUNDLE" && runc spec)
# shellcheck disable=SC2016  # expanded by the container's shell
counter='i=0; while :; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; sleep 0.05; done'
if command -v python3 >/dev/null; then
	python3 - "$BUNDLE/config.json" "$counter" <<'EOF'
import json, sys
path, script = sys.argv[1], sys.argv[2]
with open(path) as f:
    spec = json.load(f)
spec["process"]["args"] = ["/bin/sh", "-c", script]
spec["process"]["terminal"] = False
spec["root"]["readonly"] = False
with open(path, "w") as f:
    json.dump(spec, f, indent=2)
EOF
else
	ensure_pkgs jq
	jq --arg s "$counter" '.process.args = ["/bin/sh", "-c", $s] | .process.terminal = false | .root.readonly = false' \
		"$BUNDLE/config.json" >"$BUNDLE/config.json.new"
	mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
fi
COUNT=$BUNDLE/rootfs/count

count() { cat "$COUNT" 2>/dev/null || echo 0; }

# wait_counting: until the count moves (5 s at most).
wait_counting() {
	local a b n
	a=$(count)
	for ((n = 0; n < 250; n++)); do
		b=$(count)
		if [ -n "$b" ] && [ "$b" != "$a" ]; then return 0; fi
		sleep 0.02
	done
	return 1
}

# The command lines of each runtime.
start_ct() { # RT ID
	case $1 in
	runc) PATH=$BIN:$PATH runc --root "$STATE/runc" run -d -b "$BUNDLE" "$2" ;;
	nsinit)
		"$NSINIT" --root "$STATE/nsinit" create --id "$2" --config "$BUNDLE/config.json" &&
			"$NSINIT" --root "$STATE/nsinit" start "$2"
		;;
	esac
}
checkpoint_ct() { # RT ID DIR
	case $1 in
	runc) PATH=$BIN:$PATH runc --root "$STATE/runc" checkpoint --image-path "$3" "$2" ;;
	nsinit) "$NSINIT" --root "$STATE/nsinit" --criu "$CRIU" checkpoint --id "$2" --image-path "$3" ;;
	esac
}
restore_ct() { # RT ID DIR
	case $1 in
	runc) PATH=$BIN:$PATH runc --root "$STATE/runc" restore -d -b "$BUNDLE" --image-path "$3" "$2" ;;
	nsinit) "$NSINIT" --root "$STATE/nsinit" --criu "$CRIU" restore --detach --id "$2" --image-path "$3" ;;
	esac
}
delete_ct() { # RT ID
	case $1 in
	runc) runc --root "$STATE/runc" delete -f "$2" >/dev/null 2>&1 || true ;;
	nsinit) "$NSINIT" --root "$STATE/nsinit" delete -f "$2" >/dev/null 2>&1 || true ;;
	esac
}
exists_ct() { # RT ID: the runtime still knows the container
	case $1 in
	runc) runc --root "$STATE/runc" state "$2" >/dev/null 2>&1 ;;
	nsinit) "$NSINIT" --root "$STATE/nsinit" state "$2" >/dev/null 2>&1 ;;
	esac
}

# fail RT STEP ERRFILE: shows what went wrong and stops.
fail() {
	log "$1: $2 failed:"
	sed 's/^/    /' "$3" | head -n 20 >&2
	exit 1
}

# round RT I: one timed round; appends to RESULTS/RT.{ckpt,rst} after warm-up.
round() {
	local rt=$1 i=$2 id=ckb-$1-$$-$2 dir=$TMP/img-$1-$2 err=$RESULTS/$1.err t0 t1 t2 at
	CUR_RT=$rt
	CUR_ID=$id
	# stdio all /dev/null: runc cannot checkpoint a container whose stdio
	# is a file of the host (CRIU: "Can't lookup mount ... path=<file>").
	if ! start_ct "$rt" "$id" </dev/null >/dev/null 2>&1; then
		echo "(stderr went to /dev/null: try the command by hand)" >"$err"
		fail "$rt" "start" "$err"
	fi
	wait_counting || fail "$rt" "start (no counting)" "$err"
	t0=$(now_us)
	checkpoint_ct "$rt" "$id" "$dir" </dev/null >/dev/null 2>"$err" || fail "$rt" "checkpoint" "$err"
	t1=$(now_us)
	at=$(count)
	if [ "$rt" = nsinit ] && exists_ct "$rt" "$id"; then
		log "$rt: the container still exists after checkpoint"
		exit 1
	fi
	restore_ct "$rt" "$id" "$dir" </dev/null >/dev/null 2>"$err" || fail "$rt" "restore" "$err"
	t2=$(now_us)
	wait_counting || fail "$rt" "restore (no counting)" "$err"
	if [ "$(count)" -lt "$at" ]; then
		log "$rt: the count went back from $at to $(count) after restore"
		exit 1
	fi
	delete_ct "$rt" "$id"
	CUR_ID=
	rm -rf --one-file-system "$dir"
	if [ "$i" -gt "$WARMUP" ]; then
		echo $((t1 - t0)) >>"$RESULTS/$rt.ckpt"
		echo $((t2 - t1)) >>"$RESULTS/$rt.rst"
	fi
}

log "criu: $CRIU ($("$CRIU" --version | awk '/^Version:/ { print $2 }')); runc: $(runc --version | head -n1)"
log "nsinit: $NSINIT"
: >"$RESULTS/runc.ckpt"
: >"$RESULTS/runc.rst"
: >"$RESULTS/nsinit.ckpt"
: >"$RESULTS/nsinit.rst"
for ((i = 1; i <= WARMUP + N; i++)); do
	round runc "$i"
	round nsinit "$i"
done

printf '\ncheckpoint / restore of a counting busybox container, %d rounds each (ms)\n' "$N"
printf '%-8s %12s %12s %12s %12s\n' runtime ckpt-median ckpt-p90 rst-median rst-p90
for rt in runc nsinit; do
	printf '%-8s %12s %12s %12s %12s\n' "$rt" \
		"$(ms "$(pick "$RESULTS/$rt.ckpt" median)")" "$(ms "$(pick "$RESULTS/$rt.ckpt" p90)")" \
		"$(ms "$(pick "$RESULTS/$rt.rst" median)")" "$(ms "$(pick "$RESULTS/$rt.rst" p90)")"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '\nnsinit / runc (medians): checkpoint %sx, restore %sx (target <= 1.00)\n' \
	"$(ratio "$(pick "$RESULTS/nsinit.ckpt" median)" "$(pick "$RESULTS/runc.ckpt" median)")" \
	"$(ratio "$(pick "$RESULTS/nsinit.rst" median)" "$(pick "$RESULTS/runc.rst" median)")"
