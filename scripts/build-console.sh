#!/bin/bash
# build-console.sh: assembles the web console (console/) into the folder the web server serves as
# /console/: index.html, the console's modules and stylesheet under v-<hash>/ (a hash of every
# source file, so a changed console gets new names and the old ones can be cached for good), and
# the two libraries under vendor/ as <lib>-<version>-<hash of the file>.min.js (served immutable:
# another build of the same version gets another name).
#
#   scripts/build-console.sh --src SRCDIR/console --out OUTDIR --chartjs FILE [--hlsjs FILE]
#
# --chartjs: Chart.js's UMD build (Debian's libjs-chart.js: /usr/share/javascript/chart.js/chart.min.js);
# its version is read from its banner. --hlsjs: hls.min.js; without it scripts/fetch-hlsjs.sh
# (pinned, sha512-checked, cached) gives it. The four references in index.html (console.css,
# app.js, vendor/chart.min.js, vendor/hls.min.js) are rewritten; each must be found exactly once.
# Only the files named in SOURCES below are hashed and copied (keep it in step with CONSOLE_SOURCES
# in Makefile.am): nothing else that lies in SRCDIR (an editor's backup, an earlier output) gets
# in. OUTDIR must not be SRCDIR nor lie inside it. OUTDIR is replaced whole (built beside it, then
# renamed). Exit 0, or 1 with a message.
set -euo pipefail

# The console's files, relative to SRCDIR; index.html first (it is rewritten, not copied).
SOURCES=(
	index.html
	app.js
	api.js
	ui.js
	console.css
	views/auth.js
	views/library.js
	views/media.js
	views/jobs.js
	views/projects.js
)

me=build-console.sh
die() {
	printf '%s: %s\n' "$me" "$*" >&2
	exit 1
}

src="" out="" chartjs="" hlsjs=""
while [ $# -gt 0 ]; do
	case $1 in
	--src) src=${2:-} && shift $(($# >= 2 ? 2 : 1)) ;;
	--out) out=${2:-} && shift $(($# >= 2 ? 2 : 1)) ;;
	--chartjs) chartjs=${2:-} && shift $(($# >= 2 ? 2 : 1)) ;;
	--hlsjs) hlsjs=${2:-} && shift $(($# >= 2 ? 2 : 1)) ;;
	*) die "unknown argument $1" ;;
	esac
done
[ -n "$src" ] && [ -n "$out" ] && [ -n "$chartjs" ] || die "usage: $me --src DIR --out DIR --chartjs FILE [--hlsjs FILE]"
[ -f "$src/index.html" ] && [ -f "$src/app.js" ] && [ -f "$src/console.css" ] || die "$src is not the console's source folder"
[ -f "$chartjs" ] || die "Chart.js not found at $chartjs (apt-get install libjs-chart.js, or make CHARTJS=/path/to/chart.min.js)"
src=$(cd "$src" && pwd -P) || die "cannot enter $src"
# --out, made absolute (its parent may not exist yet), must not be --src nor lie inside it.
out_parent=$(dirname "$out")
mkdir -p "$out_parent" || die "cannot create $out_parent"
case $(basename "$out") in
. | .. | /) die "--out $out: name the folder to make" ;;
esac
out_abs=$(cd "$out_parent" && pwd -P) || die "cannot enter $out_parent"
out_abs=${out_abs%/}/$(basename "$out")
if [ -d "$out_abs" ]; then
	out_abs=$(cd "$out_abs" && pwd -P) || die "cannot enter $out"
fi
case $out_abs/ in
"$src"/*) die "--out $out lies inside --src $src: its output would be read back as a source" ;;
esac
case $src/ in
"$out_abs"/*) die "--src $src lies inside --out $out, which is replaced whole" ;;
esac
for f in "${SOURCES[@]}"; do
	[ -f "$src/$f" ] || die "$src/$f is missing"
done

chart_ver=$(head -c 300 "$chartjs" | sed -n 's/^ \* Chart\.js v\([0-9][0-9.]*\)$/\1/p' | sed -n 1p) ||
	die "cannot read $chartjs"
[ -n "$chart_ver" ] || die "$chartjs has no \"Chart.js vX.Y.Z\" banner: not Chart.js's UMD build?"

if [ -z "$hlsjs" ]; then
	hlsjs=$("$(dirname "$0")/fetch-hlsjs.sh") || die "hls.js: scripts/fetch-hlsjs.sh failed (see above); or make HLSJS=/path/to/hls.min.js"
fi
[ -f "$hlsjs" ] || die "hls.js not found at $hlsjs"
# fetch-hlsjs.sh keeps it in hls.js-<version>/; another file names its version in its code.
hls_ver=$(basename "$(dirname "$hlsjs")" | sed -n 's/^hls\.js-\([0-9][0-9.]*\)$/\1/p')
if [ -z "$hls_ver" ]; then
	hls_ver=$(grep -o '"[0-9]\+\.[0-9]\+\.[0-9]\+"' "$hlsjs" | sed -n 1p | tr -d '"') || hls_ver=""
fi
[ -n "$hls_ver" ] || die "cannot tell the version of $hlsjs"

# short_hash FILE: the first 10 hex digits of the sha256 of its content; fails when it cannot be read.
short_hash() {
	local sum
	sum=$(sha256sum <"$1") || return 1
	sum=${sum%% *}
	[[ $sum =~ ^[0-9a-f]{64}$ ]] || return 1
	printf '%s\n' "${sum:0:10}"
}
hash=$(cd "$src" && for f in "${SOURCES[@]}"; do
	printf '%s\0' "$f"
	cat "$f" || exit 1
done | sha256sum) || die "cannot hash the sources in $src"
hash=${hash:0:10}
[[ $hash =~ ^[0-9a-f]{10}$ ]] || die "sha256sum failed"
chart_hash=$(short_hash "$chartjs") || die "cannot hash $chartjs"
hls_hash=$(short_hash "$hlsjs") || die "cannot hash $hlsjs"
chart_name=chart-$chart_ver-$chart_hash.min.js
hls_name=hls-$hls_ver-$hls_hash.min.js

tmp=$out.tmp.$$
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp/v-$hash" "$tmp/vendor" || die "cannot create $tmp"
for f in "${SOURCES[@]}"; do
	[ "$f" = index.html ] && continue
	mkdir -p "$tmp/v-$hash/$(dirname "$f")" && cp "$src/$f" "$tmp/v-$hash/$f" || die "cannot copy $f"
done
cp "$chartjs" "$tmp/vendor/$chart_name" || die "cannot copy $chartjs"
cp "$hlsjs" "$tmp/vendor/$hls_name" || die "cannot copy $hlsjs"
if [ -f "$(dirname "$hlsjs")/LICENSE" ]; then
	cp "$(dirname "$hlsjs")/LICENSE" "$tmp/vendor/hls-$hls_ver-$hls_hash.LICENSE.txt" || die "cannot copy hls.js's LICENSE"
fi

# index.html: each reference rewritten, and found exactly once.
for ref in 'href="console.css"' 'src="app.js"' 'src="vendor/chart.min.js"' 'src="vendor/hls.min.js"'; do
	n=$(grep -c -F -- "$ref" "$src/index.html") || [ "$n" = 0 ] || die "cannot read $src/index.html"
	[ "$n" = 1 ] || die "index.html must hold $ref exactly once (found $n)"
done
sed -e "s|href=\"console.css\"|href=\"v-$hash/console.css\"|" \
	-e "s|src=\"app.js\"|src=\"v-$hash/app.js\"|" \
	-e "s|src=\"vendor/chart.min.js\"|src=\"vendor/$chart_name\"|" \
	-e "s|src=\"vendor/hls.min.js\"|src=\"vendor/$hls_name\"|" \
	"$src/index.html" >"$tmp/index.html" || die "cannot write index.html"
chmod -R a+rX "$tmp" || die "cannot chmod $tmp"
rm -rf "$out" && mv "$tmp" "$out" || die "cannot move $tmp to $out"
trap - EXIT
printf '%s: %s (v-%s, %s, %s)\n' "$me" "$out" "$hash" "$chart_name" "$hls_name"
