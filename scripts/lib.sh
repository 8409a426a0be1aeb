# shellcheck shell=bash
# Shared helpers for the project's shell scripts (scripts/, .ci/run, bench/).
# Source it; it defines functions and a few variables and runs nothing else.
#
# Conventions: progress and diagnostics go to stderr, so that a script's
# stdout stays machine readable (the scripts print their result, a path, as
# the last stdout line).

# Debian packages the project needs on a machine: to build the workspace
# (libseccomp-dev, pkg-config), to run the integration tests (busybox-static
# for the test rootfs, iproute2/iptables/nftables for networking and CRIU's
# network locking, patchelf for the private CRIU, tmux for tty tests) and to
# benchmark against the peers (runc, crun, hyperfine, time).
# shellcheck disable=SC2034  # used by the scripts that source this file
NSINIT_APT_PACKAGES=(
	busybox-static iptables nftables patchelf tmux iproute2 runc crun
	hyperfine libseccomp-dev pkg-config time
)

nsinit_script_name=${nsinit_script_name:-$(basename "${0:-nsinit}")}

log() {
	printf '%s: %s\n' "$nsinit_script_name" "$*" >&2
}

die() {
	printf '%s: error: %s\n' "$nsinit_script_name" "$*" >&2
	exit 1
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (uid 0), not uid $(id -u)"
}

# Base directory of everything the scripts build and keep between runs.
nsinit_cache_dir() {
	printf '%s\n' "${NSINIT_CACHE:-/var/cache/nsinit}"
}

# pkg_installed PKG: true when dpkg reports PKG as fully installed.
pkg_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# ensure_pkgs PKG...: installs the packages that are missing. Does nothing
# (and touches no network) when all are installed; runs `apt-get update` only
# when something has to be installed, and at most once per process.
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	need_root
	log "installing missing packages: ${missing[*]}"
	if [ -z "${NSINIT_APT_UPDATED:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
			die "apt-get update failed"
		NSINIT_APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" </dev/null >&2 ||
		die "apt-get install ${missing[*]} failed"
	for p in "${missing[@]}"; do
		pkg_installed "$p" || die "package $p is still not installed"
	done
}

# lock_file PATH: takes an exclusive flock on PATH (created if needed) for the
# rest of the calling process; concurrent runs of a setup script wait here.
# The lock is released when the process exits.
# Its fd number is kept in NSINIT_LOCK_FD: close it (`{NSINIT_LOCK_FD}>&-`) in
# long-lived children, or they keep holding the lock (and CRIU refuses to
# dump a process holding a file lock).
NSINIT_LOCK_FD=
lock_file() {
	mkdir -p "$(dirname "$1")"
	exec {NSINIT_LOCK_FD}>"$1"
	flock "$NSINIT_LOCK_FD" || die "cannot lock $1"
}

# remove_tree PATH: rm -rf that never crosses into another file system (so a
# stale bind mount left inside a rootfs cannot take the host's files with it).
remove_tree() {
	if [ -z "$1" ] || [ "$1" = / ]; then
		die "refusing to remove '$1'"
	fi
	rm -rf --one-file-system -- "$1"
}

# pick FILE WHICH: median / p90 (nearest rank) of the numbers in FILE.
pick() {
	sort -n "$1" | awk -v which="$2" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print ""; exit }
			if (which == "median") {
				m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			} else {
				r = int(NR * 0.9); if (r < NR * 0.9) r++; if (r < 1) r = 1
				m = v[r]
			}
			print m
		}'
}
