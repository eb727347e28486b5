#!/bin/bash
# fetch-tus-client.sh: tus-js-client (MIT), pinned by tests/tus/package-lock.json: installs it once
# with `npm ci` into a cache folder and prints that folder (its node_modules/ holds the client).
#
#   scripts/fetch-tus-client.sh [--cache DIR]
#
# The cache (DIR, else $TUS_CLIENT_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/mediad) holds
# tus-js-client-<version>/ with the lock file it was installed from. It is per user, not per build
# tree: one install serves every build folder and `make distcheck` (whose source tree is read-only;
# nothing is written beside the lock file). npm checks every package against the lock's sha512
# integrity; a folder whose lock no longer matches ours is installed again. A warm cache needs no
# network and runs no npm at all. Install scripts of the packages are not run (--ignore-scripts).
#
# Exit: 0 (the folder on stdout), 1 when it is not cached and `npm ci` failed (offline), 3 when
# node or npm is missing (Debian 12: apt-get install nodejs npm).
set -u -o pipefail

me=fetch-tus-client.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
src=$(cd "$(dirname "$0")/../tests/tus" && pwd) || exit 3
cache=${TUS_CLIENT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/mediad}
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
		sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		say "unknown argument $1"
		exit 3
		;;
	esac
done

for t in node npm flock cmp mktemp; do
	command -v "$t" >/dev/null 2>&1 || {
		say "$t is not installed (Debian 12: apt-get install nodejs npm; ./dev checks for it)"
		exit 3
	}
done
version=$(sed -n 's/^ *"tus-js-client": "\([0-9.]*\)".*/\1/p' "$src/package.json" | head -n1)
[ -n "$version" ] || {
	say "no pinned tus-js-client version in $src/package.json"
	exit 3
}
mkdir -p "$cache" || {
	say "cannot create the cache folder $cache"
	exit 3
}
dir=$cache/tus-js-client-$version

# installed: true when dir holds an install made from our very lock file.
installed()
{
	cmp -s "$src/package-lock.json" "$dir/package-lock.json" &&
		[ -f "$dir/node_modules/tus-js-client/package.json" ]
}

if installed; then
	printf '%s\n' "$dir"
	exit 0
fi
# Two runs at once (make -j check) take turns: one installs, the other then finds it (5 min at most).
exec 9>"$cache/.tus-js-client.lock"
flock -w 300 9 || {
	say "another install holds $cache/.tus-js-client.lock"
	exit 1
}
if installed; then
	printf '%s\n' "$dir"
	exit 0
fi
tmp=$(mktemp -d "$cache/.tus-js-client.XXXXXX") || exit 3
cp "$src/package.json" "$src/package-lock.json" "$tmp/" || exit 3
say "installing tus-js-client $version into $dir (npm ci)"
if ! (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
	say "npm ci failed (offline?)"
	rm -rf "$tmp"
	exit 1
fi
rm -rf "$dir" && mv "$tmp" "$dir" || exit 3
printf '%s\n' "$dir"
