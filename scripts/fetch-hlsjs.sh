#!/bin/bash
# fetch-hlsjs.sh: hls.js 1.7.4 (Apache-2.0), pinned: downloads the npm tarball once into a cache
# folder, checks its sha512 against the integrity npm publishes, and prints the path of
# dist/hls.min.js (the browser build: a global `Hls`).
#
#   scripts/fetch-hlsjs.sh [--cache DIR]
#
# The cache (DIR, else $HLSJS_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/mediad) holds the tarball as
# downloaded and, beside it, hls.js-1.7.4/{hls.min.js,LICENSE} taken out of it. It is per user, not
# per build tree: one download serves every build directory, `make distcheck` (whose source tree is
# read-only) and whatever else needs the player (tests/browser/run-hls.sh; a web console later).
# Every run checks the tarball's sha512 again and that hls.min.js is still the tarball's own, so
# the path printed is always of verified bytes, and a warm cache needs no network.
#
# Exit: 0 (the path on stdout), 1 when the tarball is not cached and cannot be downloaded (offline),
# 2 when a checksum does not match (nothing is used; a bad download is deleted, a bad cached tarball
# is left for a human to look at), 3 when a tool is missing. Only curl reaches the network
# (https://registry.npmjs.org), once.
set -u -o pipefail

VERSION=1.7.4
URL=https://registry.npmjs.org/hls.js/-/hls.js-$VERSION.tgz
# From the registry's metadata (dist.integrity): sha512, base64.
INTEGRITY=sha512-3GlxGdPvT2YHvQYOt+yOzT/DEior/qJVNIylHA77kgeoBTdQQqi70GwefNEUmHQeNGyjC8U62+bruqW/Tpm+tg==

me=fetch-hlsjs.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }

cache=${HLSJS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/mediad}
while [ $# -gt 0 ]; do
	case $1 in
	--cache)
		[ $# -ge 2 ] || {
			say "--cache needs a folder"
			exit 3
		}
		cache=$2
		shift 2
		;;
	-h | --help)
		sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		say "unknown argument $1"
		exit 3
		;;
	esac
done

for t in sha512sum base64 od tr tar gzip cmp mktemp; do
	command -v "$t" >/dev/null 2>&1 || {
		say "$t is not installed"
		exit 3
	}
done

# The integrity's digest in hex, as sha512sum prints it.
want=$(printf '%s' "${INTEGRITY#sha512-}" | base64 -d | od -An -tx1 -v | tr -d ' \n')
[ ${#want} = 128 ] || {
	say "the pinned integrity does not decode to a sha512"
	exit 3
}

# sha512_ok FILE: true when FILE's sha512 is the pinned one.
sha512_ok()
{
	local got
	got=$(sha512sum <"$1" | cut -d' ' -f1) || return 1
	[ "$got" = "$want" ]
}

mkdir -p "$cache" || {
	say "cannot create the cache folder $cache"
	exit 3
}
tgz=$cache/hls.js-$VERSION.tgz
dir=$cache/hls.js-$VERSION

# Two runs at once (make -j check) take turns: one downloads, the other then finds the tarball.
exec 9>>"$cache/.hls.js.lock"
if command -v flock >/dev/null 2>&1 && ! flock -w 300 9; then
	say "another fetch has held $cache/.hls.js.lock for 300 s"
	exit 1
fi

tmp=$(mktemp -d "$cache/.fetch.XXXXXX") || exit 3
trap 'rm -rf "$tmp"' EXIT

if [ -e "$tgz" ]; then
	if ! sha512_ok "$tgz"; then
		say "REFUSED: the cached $tgz does not match $INTEGRITY; it is left there: look at it, delete it, run again"
		exit 2
	fi
else
	command -v curl >/dev/null 2>&1 || {
		say "hls.js is not cached ($tgz) and curl is not installed (./dev installs it)"
		exit 3
	}
	say "downloading $URL into $cache"
	if ! curl -fsSL --proto '=https' --tlsv1.2 --connect-timeout 15 --max-time 180 --retry 2 \
		-o "$tmp/dl.tgz" "$URL"; then
		say "could not download $URL (offline?); with a cached $tgz no network is needed"
		exit 1
	fi
	if ! sha512_ok "$tmp/dl.tgz"; then
		say "REFUSED: the download does not match $INTEGRITY (got sha512 $(sha512sum <"$tmp/dl.tgz" | cut -c1-32)...); deleted"
		exit 2
	fi
	mv -f "$tmp/dl.tgz" "$tgz" || exit 3
fi

# The files the callers use, taken out of the verified tarball each time; replaced only when they
# differ from it (a stale or edited copy), by a rename, so a reader never sees half a file.
if ! tar -xzf "$tgz" -C "$tmp" package/dist/hls.min.js package/LICENSE 2>"$tmp/tar.err"; then
	say "REFUSED: $tgz matches its checksum but does not hold package/dist/hls.min.js: $(head -c 300 "$tmp/tar.err")"
	exit 2
fi
mkdir -p "$dir" || exit 3
for f in dist/hls.min.js LICENSE; do
	if ! cmp -s "$tmp/package/$f" "$dir/${f##*/}"; then
		mv -f "$tmp/package/$f" "$dir/${f##*/}" || exit 3
	fi
done
printf '%s\n' "$dir/hls.min.js"
