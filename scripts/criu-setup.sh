#!/usr/bin/env bash
# Provides a CRIU that works on the running kernel, at a fixed path:
#
#   ${NSINIT_CACHE:-/var/cache/nsinit}/criu/criu
#
#   scripts/criu-setup.sh             set up (or confirm) and print the path
#   scripts/criu-setup.sh --selftest  additionally dump and restore a test process
#
# Order of preference:
#  1. the system's criu, when `criu check` passes with it: the fixed path
#     becomes a symlink to it;
#  2. otherwise a private install of a newer criu from the next Debian release
#     (NSINIT_CRIU_SUITE, default forky) that touches nothing of the system:
#     apt runs with its own state (a sources list naming that suite on the
#     same mirror the machine already uses, an empty dpkg status file, its own
#     lists and cache dirs), downloads criu and its whole dependency closure
#     (`install --download-only`), every deb is unpacked with `dpkg -x` into
#     ${NSINIT_CACHE}/criu/prefix, and a copy of usr/sbin/criu gets that
#     prefix's dynamic loader as its interpreter and the prefix's library dir
#     as its DT_RPATH (patchelf --force-rpath).
#
# Idempotent: when the fixed path exists and `criu check` passes, nothing is
# done. Concurrent runs serialise on a lock. The last stdout line is the path;
# on any failure the script exits non-zero with the reason on stderr.
#
# Peculiarities found on the project's machines (Debian bookworm, kernel 6.18,
# hybrid cgroups), worth knowing when debugging checkpoint/restore:
#  - bookworm's criu 3.17 fails `criu check` ("vdso: Failed to fill self vdso
#    symtable" / "Unexpected rt vDSO area bounds"); trixie's 4.1.1 passes.
#  - 4.1.1 still cannot dump any process with an inet (TCP/UDP) socket on
#    kernels 6.16+: "sockets: Can't get 1:16 opt: Operation not supported"
#    (the kernel refuses getsockopt SO_PASSCRED/SO_PASSSEC on inet sockets
#    since 6.16; CRIU 4.2 asks only unix and netlink sockets). So on such a
#    kernel 4.2 is required (criu_min_version) and taken from forky (Debian
#    testing, 4.2.1), whose private install passes the same self-test.
#  - DT_RPATH, not DT_RUNPATH, is deliberate: RPATH of the executable applies
#    to the whole dependency chain and wins over LD_LIBRARY_PATH, so no
#    environment variable is needed and none leaks into the programs criu
#    runs (ip, iptables-save, tar...). That is why there is no wrapper script:
#    the patched binary is the criu.
#  - criu 4.1 execs helpers from PATH, taken from the system (bookworm)
#    packages: `ip` (iproute2; addr/route/rule save and restore of a
#    container's net namespace), iptables-save / ip6tables-save (to detect the
#    nft backend), iptables-legacy-save / ip6tables-legacy-save and the
#    matching *-restore (network locking with the default
#    --network-lock iptables), and tar for tmpfs mounts. `--network-lock
#    nftables` works too (libnftables is linked in from the prefix). Plugins
#    are looked up in /usr/lib/criu; the criu package (trixie's, forky's)
#    ships none, and the system dir only holds 3.17's scripts/, so nothing
#    stale is loaded.
#  - Root here lacks CAP_SYS_RESOURCE, so every run logs
#    "Error (criu/util.c:...): rlimit: Can't setup RLIMIT_NOFILE for self:
#    Operation not permitted". It is harmless (criu goes on and succeeds);
#    do not treat that line as the failure when reading a log.
#  - `criu check --all` says "Dirty tracking is OFF. Memory snapshot will not
#    work" (no soft-dirty page tracking in this kernel), so pre-dump /
#    --track-mem (iterative migration) is unavailable; plain dump/restore
#    works. `criu check` (without --all) says "Looks good."
#  - /run is not a tmpfs, so criu warns "Can't keep kdat cache on non-tempfs".
#  - A dump kills the tree; its pids must be free again before a restore
#    into the same pid namespace, or restore fails with "Can't fork for PID:
#    File exists". pid 1 of these VMs reaps orphans only lazily, so keep the
#    dumped process a child of someone who waits for it, and mind its
#    children too: a killed child's zombie that pid 1 has not reaped yet
#    still pins its session/group id, i.e. the leader's pid.
#  - A process dumped in its own pid namespace must be a session leader
#    inside it ("A session leader of PID(1) is outside of its pid namespace"
#    otherwise), e.g. `unshare -fpn setsid ...`; a host process started with
#    setsid needs no --shell-job.
#  - A dumped process must not hold an inherited flock: "Some file locks are
#    hold by dumping tasks! You can try --file-locks to dump them." (this
#    script's own lock fd did exactly that until the self-test closed it).
#  - `ip addr restore` into a restored net namespace prints "Error: ipv4:
#    Address already assigned." for lo; that is noise, the restore succeeds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

selftest=
case ${1:-} in
'') ;;
--selftest) selftest=1 ;;
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
*) die "unknown argument '$1' (expected --selftest)" ;;
esac

need_root
base=$(nsinit_cache_dir)/criu
target=$base/criu
prefix=$base/prefix
suite=${NSINIT_CRIU_SUITE:-forky}

# criu_min_version: the CRIU the running kernel needs (see above).
criu_min_version() {
	local k major minor
	k=$(uname -r)
	major=${k%%.*}
	minor=${k#*.}
	minor=${minor%%[!0-9]*}
	if [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "${minor:-0}" -ge 16 ]; }; then
		echo 4.2
	elif [ "$major" -eq 6 ] && [ "${minor:-0}" -ge 13 ]; then
		echo 4.1
	else
		echo 4.0
	fi
}
min_version=$(criu_min_version)

# version_ge A B: version A >= version B.
version_ge() {
	[ -n "$1" ] && [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# criu's helpers at run time come from the system; patchelf is needed for the
# private install.
ensure_pkgs iptables nftables iproute2 tar patchelf

criu_version() {
	"$1" --version 2>/dev/null | awk '/^Version:/ { print $2; exit }'
}

# criu_works PATH: new enough for this kernel and `criu check` passes (quietly).
criu_works() {
	[ -x "$1" ] && version_ge "$(criu_version "$1")" "$min_version" && "$1" check >/dev/null 2>&1
}

# Dumps a setsid'd shell loop that bumps a counter, restores it detached,
# checks that the counter goes on from where it was, and kills it by pid.
selftest_dump_restore() (
	criu=$1
	dir=$(mktemp -d /tmp/nsinit-criu-selftest.XXXXXX)
	mkdir "$dir/img"
	pid=
	rpid=
	keeper=
	# shellcheck disable=SC2317  # invoked through the EXIT trap
	cleanup_selftest() {
		if [ -n "$rpid" ] && kill -0 "$rpid" 2>/dev/null; then kill -9 "$rpid"; fi
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
		if [ -n "$keeper" ]; then wait "$keeper" || true; fi
		rm -rf "$dir"
	}
	trap cleanup_selftest EXIT
	# The writer truncates and rewrites the file: retry an empty read.
	read_count() {
		local c='' n
		for ((n = 0; n < 50; n++)); do
			c=$(cat "$dir/count")
			[ -n "$c" ] && break
			sleep 0.01
		done
		printf '%s\n' "$c"
	}

	# The test process must inherit no fd but stdio: an inherited lock (our
	# own flock on the setup lock) or a socket of whoever runs us would make
	# the dump fail or capture things that are not ours.
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
	done

	# The test process is one bash that never forks: it bumps a counter in a
	# file and sleeps with `read -t` on a fifo nobody writes to. (With an
	# external `sleep`, the dump also kills that child, whose zombie is
	# reparented to pid 1 and keeps the session id, i.e. the loop's pid,
	# allocated until pid 1 gets round to reaping it; restore then fails with
	# "Can't fork for PID: File exists".)
	mkfifo "$dir/fifo"
	# shellcheck disable=SC2016  # expanded by the inner bash
	loop='echo $$ >"$1/pid"; exec 3<>"$1/fifo"; i=0
		while :; do i=$((i+1)); echo $i >"$1/count"; read -r -t 0.05 -u 3 || :; done'
	# An intermediate bash ("keeper") is the loop's parent and reaps it when
	# the dump kills it (so our own stderr gets no "Killed" job notice). The
	# keeper is not part of the dumped tree. setsid runs in the loop's own
	# process (a background job of a non-interactive shell is no group
	# leader), so the pid the loop writes is the one to dump.
	bash -c 'setsid bash -c "$1" bash "$2" & wait' keeper "$loop" "$dir" \
		</dev/null >/dev/null 2>&1 &
	keeper=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/count" ] && break
		sleep 0.05
	done
	[ -s "$dir/count" ] || { log "selftest: the test process did not start"; exit 1; }
	pid=$(cat "$dir/pid")
	if [ -z "$pid" ] || ! kill -0 "$pid"; then
		log "selftest: no test process"
		exit 1
	fi

	if ! "$criu" dump -t "$pid" -D "$dir/img" -o dump.log -v4; then
		log "selftest: criu dump failed; log follows"
		grep -E 'Error|Warn' "$dir/img/dump.log" >&2 || true
		exit 1
	fi
	# The dump killed the loop; the keeper reaps it, so once the keeper is
	# gone the loop's pid is free for the restore.
	wait "$keeper" || true
	keeper=
	a=$(read_count)
	pid=
	sleep 0.3
	[ "$(read_count)" = "$a" ] || { log "selftest: the loop still ran after dump"; exit 1; }

	if ! "$criu" restore -D "$dir/img" -d -o restore.log -v4 --pidfile "$dir/restored.pid"; then
		log "selftest: criu restore failed; log follows"
		grep -E 'Error|Warn' "$dir/img/restore.log" >&2 || true
		exit 1
	fi
	rpid=$(cat "$dir/restored.pid")
	sleep 0.5
	b=$(read_count)
	log "selftest: counter $a at dump, $b after restore (pid $rpid)"
	[ "$b" -gt "$a" ] || { log "selftest: counter did not advance after restore"; exit 1; }
	kill -9 "$rpid"
	rpid=
	exit 0
)

finish() {
	local v
	v=$(criu_version "$target")
	if [ -n "$selftest" ]; then
		selftest_dump_restore "$target" || die "dump/restore self-test failed with $target (criu $v)"
		log "selftest passed"
	fi
	log "using criu $v at $target -> $(readlink -f "$target")"
	printf '%s\n' "$target"
	exit 0
}

if criu_works "$target"; then finish; fi

lock_file "$base/.lock"
if criu_works "$target"; then finish; fi

# 1. The system's criu.
sys_criu=$(command -v criu || true)
if [ -n "$sys_criu" ]; then
	if criu_works "$sys_criu"; then
		log "system criu $(criu_version "$sys_criu") passes 'criu check'"
		ln -sfn "$sys_criu" "$target.new"
		mv -Tf "$target.new" "$target"
		finish
	fi
	log "system criu $(criu_version "$sys_criu") is older than $min_version or fails 'criu check' on kernel $(uname -r):"
	"$sys_criu" check 2>&1 | grep -m3 -E 'Error|error' | sed 's/^/    /' >&2 || true
else
	log "no system criu"
fi

# 2. Private install from $suite.

# The mirror the machine already uses for its own release: the first URI of a
# deb822 stanza (or a one-line entry) whose suites include the release
# codename itself. NSINIT_APT_MIRROR overrides it.
find_mirror() {
	local codename f
	if [ -n "${NSINIT_APT_MIRROR:-}" ]; then
		printf '%s\n' "$NSINIT_APT_MIRROR"
		return
	fi
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v want="$codename" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
					n = split(suites, s, " ")
					for (i = 1; i <= n; i++) if (s[i] == want) {
						split(uris, u, " "); print u[1]; found = 1; exit
					}
				}
				types = ""; suites = ""; uris = ""; enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				key = tolower($1); sub(/:$/, "", key)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (key == "types") types = val
				else if (key == "suites") suites = val
				else if (key == "uris") uris = val
				else if (key == "enabled") enabled = tolower(val)
			}
			END { if (!found) flush() }
		' "$f"
	done | head -n1 | grep . && return
	# One-line format: deb [options] URI SUITE COMPONENTS...
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' |
		awk -v want="$codename" '$1 == "deb" && $3 == want { print $2; exit }' |
		grep . && return
	die "found no apt source for '$codename' in /etc/apt (set NSINIT_APT_MIRROR)"
}

mirror=$(find_mirror)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
ensure_pkgs debian-archive-keyring
log "installing criu from $suite of $mirror into $prefix"

work=$base/apt
remove_tree "$work"
mkdir -p "$work"/{lists/partial,archives/partial,cache,state,sources.list.d,preferences.d}
: >"$work/status"
printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" >"$work/sources.list"
arch=$(dpkg --print-architecture)
apt_opts=(
	-q
	-o "Dir::Etc::SourceList=$work/sources.list"
	-o "Dir::Etc::SourceParts=$work/sources.list.d"
	-o "Dir::Etc::Preferences=$work/preferences"
	-o "Dir::Etc::PreferencesParts=$work/preferences.d"
	-o "Dir::State=$work/state"
	-o "Dir::State::Lists=$work/lists"
	-o "Dir::State::status=$work/status"
	-o "Dir::Cache=$work/cache"
	-o "Dir::Cache::Archives=$work/archives"
	-o "Dir::Cache::pkgcache=$work/cache/pkgcache.bin"
	-o "Dir::Cache::srcpkgcache=$work/cache/srcpkgcache.bin"
	-o "APT::Architectures::=$arch"
	-o "Debug::NoLocking=true"
	-o "Acquire::Languages=none"
	# No AppStream metadata: only the package lists are needed.
	-o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
	-o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
	-o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
	-o "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false"
)
apt-get "${apt_opts[@]}" update </dev/null >&2 ||
	die "apt-get update of the private $suite state failed"
apt-get "${apt_opts[@]}" -y --no-install-recommends install --download-only criu </dev/null >&2 ||
	die "downloading criu from $suite failed"

shopt -s nullglob
debs=("$work"/archives/*.deb)
shopt -u nullglob
[ "${#debs[@]}" -gt 0 ] || die "apt downloaded no packages"

remove_tree "$prefix"
mkdir -p "$prefix"
for deb in "${debs[@]}"; do
	dpkg -x "$deb" "$prefix" || die "dpkg -x $deb failed"
done
log "unpacked ${#debs[@]} packages into $prefix"

[ -x "$prefix/usr/sbin/criu" ] || die "the criu package has no usr/sbin/criu"
# The loader and libc's directory as the unpacked libc6 lays them out.
interp=$(patchelf --print-interpreter "$prefix/usr/sbin/criu")
interp_in_prefix=$prefix/usr${interp#/usr}
[ -e "$interp_in_prefix" ] || die "no dynamic loader $interp_in_prefix in the prefix"
libc=$(find "$prefix/usr/lib" -name libc.so.6 -print -quit)
[ -n "$libc" ] || die "no libc.so.6 in the prefix"
libdir=$(dirname "$libc")

cp "$prefix/usr/sbin/criu" "$target.new"
patchelf --force-rpath --set-interpreter "$interp_in_prefix" --set-rpath "$libdir" "$target.new" ||
	die "patchelf failed"
chmod 0755 "$target.new"

if ! "$target.new" check >&2; then
	die "the private criu $(criu_version "$target.new") fails 'criu check' too"
fi
v=$(criu_version "$target.new")
version_ge "$v" "$min_version" || die "private criu from $suite has version '$v', this kernel needs >= $min_version"
# A fresh install is exercised once for real before it takes the fixed path.
selftest_dump_restore "$target.new" || die "dump/restore self-test failed with the private criu $v"
log "selftest passed"
mv -Tf "$target.new" "$target"
remove_tree "$work"
selftest=
finish
