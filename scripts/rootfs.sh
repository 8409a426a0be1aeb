#!/usr/bin/env bash
# Builds the busybox root filesystem that the integration tests and the
# benchmark run containers from.
#
#   scripts/rootfs.sh [DIR]
#
# DIR defaults to ${NSINIT_CACHE:-/var/cache/nsinit}/rootfs/busybox. The
# rootfs is made from Debian's busybox-static (installed if missing): the
# static /bin/busybox, a relative symlink for every applet at the path that
# `busybox --list-full` names (bin/, sbin/, usr/bin/, usr/sbin/), the usual
# empty mount points and a minimal /etc (root, user 1000, nobody 65534).
#
# Idempotent and atomic: the tree is built in a temporary directory next to
# DIR and renamed into place; a marker file inside it records the layout
# version and the busybox package version, so an up-to-date DIR is left
# alone and a busybox upgrade (or a change of this script's layout) rebuilds
# it. Concurrent runs serialise on DIR.lock. Needs no network beyond the apt
# mirror, and that only when busybox-static is missing.
#
# The last line on stdout is the rootfs path; everything else goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

# Bump when the contents this script produces change, to force a rebuild.
layout=1
marker=.nsinit-rootfs

need_root
dir=${1:-$(nsinit_cache_dir)/rootfs/busybox}
dir=$(realpath -m -- "$dir")
[ "$dir" != / ] || die "refusing to build a rootfs at /"

ensure_pkgs busybox-static
bb_version=$(dpkg-query -W -f='${Version}' busybox-static)
want="nsinit busybox rootfs: layout=$layout busybox-static=$bb_version"

up_to_date() {
	[ -f "$dir/$marker" ] && [ "$(cat "$dir/$marker")" = "$want" ]
}

if up_to_date; then
	log "up to date: $dir ($bb_version)"
	printf '%s\n' "$dir"
	exit 0
fi

mkdir -p "$(dirname "$dir")"
lock_file "$dir.lock"
# Someone else may have finished the job while we waited for the lock.
if up_to_date; then
	printf '%s\n' "$dir"
	exit 0
fi

# The static binary as the package ships it (/bin on bookworm, /usr/bin on
# later releases).
bb_src=$(dpkg -L busybox-static | grep -E '/s?bin/busybox$' | head -n1 || true)
if [ -z "$bb_src" ] || [ ! -x "$bb_src" ]; then
	die "busybox-static ships no busybox binary?"
fi

# Leftovers of an interrupted run (we hold the lock, so nobody is using them).
for stale in "$dir".tmp.* "$dir".old.*; do
	if [ -e "$stale" ]; then remove_tree "$stale"; fi
done

tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'remove_tree "$tmp"' EXIT
log "building $dir from $bb_src ($bb_version)"

chmod 0755 "$tmp"
cd "$tmp"
install -d -m 0755 bin sbin usr/bin usr/sbin proc sys dev etc run mnt home var
install -d -m 1777 tmp var/tmp
install -d -m 0700 root
install -d -m 0755 -o 1000 -g 1000 home/user
install -m 0755 "$bb_src" bin/busybox

n=0
while IFS= read -r applet; do
	applet=${applet#/}
	case $applet in
	'' | bin/busybox) continue ;;
	esac
	# A relative target works both from the host and inside the container:
	# one "../" per directory level of the link, then bin/busybox.
	slashes=${applet//[^\/]/}
	up=
	for ((i = 0; i < ${#slashes}; i++)); do up+=../; done
	if [ -n "$slashes" ] && [ ! -d "${applet%/*}" ]; then
		mkdir -p "${applet%/*}"
	fi
	ln -sfn "${up}bin/busybox" "$applet"
	n=$((n + 1))
done < <(./bin/busybox --list-full)
[ "$n" -gt 100 ] || die "busybox --list-full listed only $n applets"

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >etc/group <<'EOF'
root:x:0:
wheel:x:10:user
audio:x:29:user
user:x:1000:
nogroup:x:65534:
EOF
printf 'nsinit\n' >etc/hostname
cat >etc/hosts <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
: >etc/resolv.conf
chmod 0644 etc/passwd etc/group etc/hostname etc/hosts etc/resolv.conf

# Sanity: the links resolve and busybox runs as its applets.
./bin/sh -c 'exit 0' || die "bin/sh from the new rootfs does not run"
[ "$(./usr/bin/basename /a/b)" = b ] || die "usr/bin/basename link is broken"

printf '%s\n' "$want" >"$marker"
cd /

# Swap in the new tree: rename(2) is atomic; the old tree (if any) moves
# aside first because a directory cannot be renamed over a non-empty one.
if [ -e "$dir" ] || [ -L "$dir" ]; then
	old=$dir.old.$$
	mv -T -- "$dir" "$old"
	mv -T -- "$tmp" "$dir"
	remove_tree "$old"
else
	mv -T -- "$tmp" "$dir"
fi
trap - EXIT
log "built $dir ($n applets)"
printf '%s\n' "$dir"
