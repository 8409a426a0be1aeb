#!/usr/bin/env bash
# The main job, end to end, on a fresh machine: build nsinit, build the busybox
# root filesystem, generate and validate a config, and run a container from it.
#
#   ./scripts/demo.sh [COMMAND...]
#
# Without a command the container prints what it sees of itself (pid 1, its
# hostname, its cgroups, its mounts and capabilities). With a command, that
# runs instead; add NSINIT_DEMO_TTY=1 for an interactive shell
# (`NSINIT_DEMO_TTY=1 ./scripts/demo.sh /bin/sh`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
cd "$root"

need_root
ensure_pkgs busybox-static
if ! command -v cargo >/dev/null && [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
	PATH=${HOME:-/root}/.cargo/bin:$PATH
fi

log "building nsinit (release)"
cargo build --release -q -p nsinit
nsinit=$root/target/x86_64-unknown-linux-gnu/release/nsinit
rootfs=$("$root/scripts/rootfs.sh" | tail -n1)

work=$(mktemp -d /tmp/nsinit-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

log "generating a config for $rootfs"
"$nsinit" config --rootfs "$rootfs" --hostname demo --memory-limit 64m \
	--pids-limit 128 --file "$work/container.json"
"$nsinit" config --validate "$work/container.json" >&2

tty=()
[ "${NSINIT_DEMO_TTY:-}" = 1 ] && tty=(--tty)
if [ "$#" -eq 0 ]; then
	set -- /bin/sh -c '
echo "pid:      $$"
echo "hostname: $(hostname)"
echo "user:     $(id)"
echo "cgroup:   $(grep memory /proc/self/cgroup)"
echo "caps:     $(grep CapEff /proc/self/status)"
echo "mounts:"; cut -d" " -f5,9 /proc/self/mountinfo | sed "s/^/  /"
echo "rootfs:   $(ls /)" | tr "\n" " "; echo'
fi
log "running: nsinit exec --config $work/container.json $*"
rc=0
"$nsinit" --root "$work/state" exec "${tty[@]}" --config "$work/container.json" --id "demo-$$" -- "$@" || rc=$?
exit "$rc"
