#!/usr/bin/env bash
# The project's test command (the one README.md names and .ci/run calls).
#
#   ./scripts/test.sh [CARGO-TEST-ARGS...] [-- TEST-BINARY-ARGS...]
#
# Prepares what the integration tests need, then runs the whole workspace's
# tests in release mode as root:
#   - NSINIT_TEST_ROOTFS: the busybox rootfs from scripts/rootfs.sh
#   - NSINIT_CRIU:        a criu that works on this kernel, from
#                         scripts/criu-setup.sh
# Either variable, when already set, is taken as is. Arguments before `--` go
# to `cargo test` (a test name filter, -p CRATE, --test NAME...), arguments
# after it to the test binaries (--nocapture, --ignored...), following cargo's
# own convention. NSINIT_TEST_THREADS sets the harness's --test-threads
# (default 2: the project's machines have two cores).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
cd "$root"

need_root
ensure_pkgs "${NSINIT_APT_PACKAGES[@]}"
if ! command -v cargo >/dev/null && [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
	PATH=${HOME:-/root}/.cargo/bin:$PATH
fi

if [ -z "${NSINIT_TEST_ROOTFS:-}" ]; then
	NSINIT_TEST_ROOTFS=$("$root/scripts/rootfs.sh" | tail -n1)
fi
if [ -z "${NSINIT_CRIU:-}" ]; then
	NSINIT_CRIU=$("$root/scripts/criu-setup.sh" | tail -n1)
fi
[ -x "$NSINIT_TEST_ROOTFS/bin/busybox" ] || die "no busybox rootfs at '$NSINIT_TEST_ROOTFS'"
[ -x "$NSINIT_CRIU" ] || die "no criu at '$NSINIT_CRIU'"
export NSINIT_TEST_ROOTFS NSINIT_CRIU
log "NSINIT_TEST_ROOTFS=$NSINIT_TEST_ROOTFS"
log "NSINIT_CRIU=$NSINIT_CRIU"

cargo_args=()
harness_args=()
while [ "$#" -gt 0 ]; do
	if [ "$1" = -- ]; then
		shift
		harness_args=("$@")
		break
	fi
	cargo_args+=("$1")
	shift
done

# The whole workspace, unless the caller picked packages (cargo would let
# --workspace win over -p).
scope=(--workspace)
for a in "${cargo_args[@]}"; do
	case $a in
	-p | -p* | --package | --package=*) scope=() ;;
	esac
done

set -x
exec cargo test "${scope[@]}" --release "${cargo_args[@]}" -- \
	--test-threads="${NSINIT_TEST_THREADS:-2}" "${harness_args[@]}"
