#!/bin/bash
# run-console.sh: the web console (console/, issue 16) end to end in headless Chromium, under
# lighttpd and then under Apache + mod_proxy_fcgi. For each web server tests/integration/harness.sh
# starts a stack that serves the console at /console/ on the API's origin, with the automatic
# renditions on (hls,poster, as ./dev up has them), and console-flow.sh runs flow.mjs against it:
# sign up and log in, upload a generated video through the picker, see it become ready, play and
# seek it, see the view count and today's bar, run a thumbnail render (the poster preset: a /media
# upload has no project, so no `thumbnail`) to completion, log out; then the library at 360 px.
# flow.mjs drives Debian's /usr/bin/chromium with playwright-core (pinned by
# tests/console/package-lock.json, installed by scripts/fetch-npm.sh; no browser is downloaded).
#
# Screenshots (NN-step.png) go to $abs_top_builddir/tests/console/artifacts/<server>/; the media
# page's (1280x800) is copied to $abs_top_builddir/tests/console/artifacts/media-page.png, from
# which the README's docs/ screenshot is taken. CONSOLE_SERVERS picks the web servers (default
# "lighttpd apache-proxy"); Apache or one of its modules missing while apache-proxy is among them
# is a failure, not a skip (./dev installs them): leave Apache out with CONSOLE_SERVERS=lighttpd.
#
# An automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status
# follows automake: 0 pass, 1 a check failed or node, npm or chromium is missing (a failure, not a
# skip: ./dev installs them), 77 skip (playwright-core is neither cached nor installable: offline),
# 99 hard error (a server did not start, the console was not built). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/console/run-console.sh
set -u -o pipefail
me="run-console.sh"

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "$me: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi
for v in node npm; do
	if ! command -v "$v" >/dev/null 2>&1; then
		echo "$me: FAIL: $v is not installed; the console test needs Node 18 or later and npm (./dev installs them)" >&2
		exit 1
	fi
done
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
	echo "$me: FAIL: Node $(node --version) is too old: playwright-core 1.61 needs Node 18 or later" \
		"(Debian 12 has nodejs 18)" >&2
	exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
	echo "$me: FAIL: /usr/bin/chromium is not installed (./dev installs it; Debian 12: apt-get install chromium)" >&2
	exit 1
fi
for v in ffmpeg curl; do
	if ! command -v "$v" >/dev/null 2>&1; then
		echo "$me: $v is not installed (./dev installs it)" >&2
		exit 99
	fi
done
# The assembled console, named by the build's console.stamp (console, or console-site in an
# in-tree build, whose console/ holds the sources): the folder the harness serves.
console_out=$(head -n1 "$abs_top_builddir/console.stamp" 2>/dev/null) || console_out=
case $console_out in /*) ;; ?*) console_out=$abs_top_builddir/$console_out ;; esac
[ -n "$console_out" ] && [ -f "$console_out/index.html" ] || {
	echo "$me: $abs_top_builddir/console.stamp names no assembled console: make assembles it" >&2
	exit 99
}
[ -x "$abs_top_builddir/media-spawner" ] || {
	echo "$me: $abs_top_builddir/media-spawner is not built" >&2
	exit 99
}
# shellcheck source=tests/integration/harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"
# Before anything is made: a web server asked for must be there.
harness_need_apache "$me" CONSOLE_SERVERS "${CONSOLE_SERVERS:-lighttpd apache-proxy}" || exit 1
CONSOLE_CLIENT=$("$abs_top_srcdir/scripts/fetch-npm.sh" tests/console playwright-core)
case $? in
0) export CONSOLE_CLIENT ;;
1)
	echo "$me: playwright-core is not cached and could not be installed (see above); skipped" >&2
	exit 77
	;;
*)
	echo "$me: scripts/fetch-npm.sh failed (see above)" >&2
	exit 1
	;;
esac

SRC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mediad-console.XXXXXX") || exit 99
trap 'rm -rf "$SRC_DIR"' EXIT
# 8 s of a test pattern with a tone, H.264 + AAC in MP4, as a phone or an editor would upload.
export CONSOLE_SOURCE=$SRC_DIR/console-test.mp4
if ! timeout 120 ffmpeg -nostdin -y -loglevel error -f lavfi -i testsrc=size=640x360:rate=25:duration=8 \
	-f lavfi -i sine=frequency=440:sample_rate=48000:duration=8 -c:v libx264 -preset veryfast \
	-pix_fmt yuv420p -c:a aac -b:a 96k -shortest -movflags +faststart "$CONSOLE_SOURCE" \
	2>"$SRC_DIR/ffmpeg.log"; then
	echo "$me: ffmpeg could not make the source video:" >&2
	tail -n 5 "$SRC_DIR/ffmpeg.log" >&2
	exit 99
fi
chmod -R a+rX "$SRC_DIR"

# The harness turns the automatic renditions off for its shared programs; the console shows them
# (the poster in the library, HLS in the player): the default set again, after the harness's line.
export HARNESS_EXTRA_CONFIG="auto_renditions = hls,poster${HARNESS_EXTRA_CONFIG:+
$HARNESS_EXTRA_CONFIG}"
art=$abs_top_builddir/tests/console/artifacts
export CONSOLE_MEDIA_PNG=$art/media-page.png
rm -f "$CONSOLE_MEDIA_PNG"
status=0
for s in ${CONSOLE_SERVERS:-lighttpd apache-proxy}; do
	export HARNESS_SERVER=$s
	export CONSOLE_ARTIFACTS=$art/$s
	rm -rf "$CONSOLE_ARTIFACTS"
	mkdir -p "$CONSOLE_ARTIFACTS" || exit 99
	# harness_start installs its own EXIT trap (teardown); the source folder goes after it.
	harness_start "$abs_top_builddir" "$abs_top_srcdir" || {
		rm -rf "$SRC_DIR"
		exit 99
	}
	trap 'rc=$?; rm -rf "$SRC_DIR"; (exit $rc); harness_on_exit' EXIT
	harness_run_programs " in Chromium ($s)" "$abs_top_srcdir/tests/console/console-flow.sh" || status=1
	harness_cleanup
	echo "$me: screenshots of $s: $(cd "$CONSOLE_ARTIFACTS" && echo *.png)"
	# The README's copy is the first server's.
	unset CONSOLE_MEDIA_PNG
done
trap - EXIT
rm -rf "$SRC_DIR"
[ "$status" != 0 ] || echo "$me: the media page: $art/media-page.png"
exit "$status"
