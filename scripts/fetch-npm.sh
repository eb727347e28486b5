#!/bin/bash
# fetch-npm.sh: a test's npm client, pinned by its folder's package-lock.json (tests/tus: tus-js-client;
# tests/console: playwright-core): installs it once with `npm ci` into a cache folder and prints
# that folder (its node_modules/ holds the package).
#
#   scripts/fetch-npm.sh TESTDIR PACKAGE [--cache DIR]
#
# TESTDIR is the folder (of the source tree, e.g. tests/tus) that holds package.json, which pins
# PACKAGE to an exact version, and package-lock.json. The cache (DIR, else $MEDIAD_NPM_CACHE, else
# ${XDG_CACHE_HOME:-~/.cache}/mediad) holds PACKAGE-<version>/ with the lock file it was installed
# from. It is per user, not per build tree: one install serves every build folder and `make
# distcheck` (whose source tree is read-only; nothing is written beside the lock file). npm checks
# every package against the lock's sha512 integrity; a folder whose lock no longer matches ours is
# installed again. A warm cache needs no network and runs no npm at all. Install scripts of the
# packages are not run (--ignore-scripts), and no browser is downloaded
# (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
#
# Exit: 0 (the folder on stdout), 1 when it is not cached and `npm ci` failed (offline), 3 when
# node or npm is missing (Debian 12: apt-get install nodejs npm) or the arguments are wrong.
set -u -o pipefail

me=fetch-npm.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
cache=${MEDIAD_NPM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/mediad}
args=()
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
	-*)
		say "unknown option $1"
		exit 3
		;;
	*)
		args+=("$1")
		shift
		;;
	esac
done
[ ${#args[@]} -eq 2 ] || {
	say "usage: $me TESTDIR PACKAGE [--cache DIR]"
	exit 3
}
pkg=${args[1]}
src=$(cd "$(dirname "$0")/.." && cd "${args[0]}" && pwd) || exit 3
if [ ! -f "$src/package.json" ] || [ ! -f "$src/package-lock.json" ]; then
	say "$src has no package.json and package-lock.json"
	exit 3
fi

for t in node npm flock cmp mktemp; do
	command -v "$t" >/dev/null 2>&1 || {
		say "$t is not installed (Debian 12: apt-get install nodejs npm; ./dev checks for it)"
		exit 3
	}
done
version=$(sed -n "s/^ *\"$pkg\": \"\\([0-9.]*\\)\".*/\\1/p" "$src/package.json" | head -n1)
[ -n "$version" ] || {
	say "no pinned $pkg version in $src/package.json"
	exit 3
}
mkdir -p "$cache" || {
	say "cannot create the cache folder $cache"
	exit 3
}
dir=$cache/$pkg-$version

# installed: true when dir holds an install made from our very lock file.
installed()
{
	cmp -s "$src/package-lock.json" "$dir/package-lock.json" &&
		[ -f "$dir/node_modules/$pkg/package.json" ]
}

if installed; then
	printf '%s\n' "$dir"
	exit 0
fi
# Two runs at once (make -j check) take turns: one installs, the other then finds it (5 min at most).
exec 9>"$cache/.$pkg.lock"
flock -w 300 9 || {
	say "another install holds $cache/.$pkg.lock"
	exit 1
}
if installed; then
	printf '%s\n' "$dir"
	exit 0
fi
tmp=$(mktemp -d "$cache/.$pkg.XXXXXX") || exit 3
# Whatever way this ends, a half-made folder does not stay in the cache (after the mv: nothing).
trap 'rm -rf "$tmp"' EXIT
cp "$src/package.json" "$src/package-lock.json" "$tmp/" || exit 3
say "installing $pkg $version into $dir (npm ci)"
if ! (cd "$tmp" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund \
	--loglevel=error >&2); then
	say "npm ci failed (offline?)"
	exit 1
fi
rm -rf "$dir" && mv "$tmp" "$dir" || exit 3
printf '%s\n' "$dir"
