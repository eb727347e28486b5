#!/bin/bash
# run-tus.sh: resumable uploads with the real tus client: tus-js-client (pinned by
# tests/tus/package-lock.json, installed by scripts/fetch-npm.sh) run by Node uploads a
# generated video through lighttpd and then through Apache + mod_proxy_fcgi, once whole and once
# aborted at about 50 % and resumed from its stored URL (tus-client.sh says what is checked).
# TUS_SERVERS picks the web servers (default "lighttpd apache-proxy"). Apache or one of its modules
# missing while apache-proxy is among them is a failure, not a skip (./dev installs them): leave
# Apache out with TUS_SERVERS=lighttpd.
#
# An automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status
# follows automake: 0 pass, 1 a check failed or node/npm is missing (a failure, not a skip: ./dev
# checks for both; Debian 12: apt-get install nodejs npm), 77 skip (the client is neither cached nor
# installable: offline), 99 hard error (a server did not start). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/tus/run-tus.sh
set -u -o pipefail
me="run-tus.sh"

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "$me: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi
for v in node npm; do
	if ! command -v "$v" >/dev/null 2>&1; then
		echo "$me: FAIL: $v is not installed; the tus test needs Node 18 or later and npm (Debian 12: apt-get install nodejs npm)" >&2
		exit 1
	fi
done
for v in ffmpeg curl psql sha256sum; do
	if ! command -v "$v" >/dev/null 2>&1; then
		echo "$me: $v is not installed (./dev installs it)" >&2
		exit 99
	fi
done
# shellcheck source=tests/integration/harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"
# Before anything is made: a web server asked for must be there.
harness_need_apache "$me" TUS_SERVERS "${TUS_SERVERS:-lighttpd apache-proxy}" || exit 1
TUS_CLIENT=$("$abs_top_srcdir/scripts/fetch-npm.sh" tests/tus tus-js-client)
case $? in
0) export TUS_CLIENT ;;
1)
	echo "$me: tus-js-client is not cached and could not be installed (see above); skipped" >&2
	exit 77
	;;
*)
	echo "$me: scripts/fetch-npm.sh failed (see above)" >&2
	exit 1
	;;
esac

SRC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mediad-tus.XXXXXX") || exit 99
trap 'rm -rf "$SRC_DIR"' EXIT
# About 10 MB of H.264 (a noisy test pattern at 10 Mbit/s, under the harness's 16 MiB
# upload_max_bytes): more than the loopback socket and the web server take in at once, so the
# abort at 50 % lands mid-body.
export TUS_SOURCE=$SRC_DIR/source.mp4
if ! timeout 120 ffmpeg -nostdin -y -loglevel error -f lavfi -i testsrc=size=1280x720:rate=25:duration=8 \
	-vf noise=alls=40:allf=t+u -c:v libx264 -preset ultrafast -b:v 10M -maxrate 10M -bufsize 20M \
	-pix_fmt yuv420p -movflags +faststart "$TUS_SOURCE" \
	2>"$SRC_DIR/ffmpeg.log"; then
	echo "$me: ffmpeg could not make the source video:" >&2
	tail -n 5 "$SRC_DIR/ffmpeg.log" >&2
	exit 99
fi
chmod -R a+rX "$SRC_DIR"

status=0
for s in ${TUS_SERVERS:-lighttpd apache-proxy}; do
	export HARNESS_SERVER=$s
	# harness_start installs its own EXIT trap (teardown); the source folder goes after it.
	harness_start "$abs_top_builddir" "$abs_top_srcdir" || {
		rm -rf "$SRC_DIR"
		exit 99
	}
	trap 'rc=$?; rm -rf "$SRC_DIR"; (exit $rc); harness_on_exit' EXIT
	harness_run_programs " with tus-js-client ($s)" "$abs_top_srcdir/tests/tus/tus-client.sh" || status=1
	harness_cleanup
done
trap - EXIT
rm -rf "$SRC_DIR"
exit "$status"
