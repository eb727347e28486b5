#!/bin/bash
# run-hls.sh: HLS in a real browser: a video uploaded through the API, rendered by media-spawner,
# plays in headless Chromium with hls.js 1.7.4 (Media Source Extensions; Chromium has no native
# HLS) from its signed link, under lighttpd and then under Apache + mod_proxy_fcgi.
#
# hls.js comes from scripts/fetch-hlsjs.sh (downloaded once, sha512-checked on every use; HLSJS
# names another hls.min.js to serve instead). A source video (ffmpeg lavfi testsrc + sine, 640x360,
# 10 s) is made first, and a page server (python3 -m http.server, 127.0.0.1 on a free port) serves
# www/hls.html, www/hls-test.js and hls.min.js from a temp folder: its origin is the stack's
# cors_origins, so the player fetches every playlist and segment across origins, as a web app
# would. Then, for each web server, tests/integration/harness.sh starts a stack and chromium-hls.sh
# runs the flow (upload, spawner, 'ready', stream-url, play; a tampered link must play nothing).
# BROWSER_SERVERS picks the web servers (default "lighttpd apache-proxy"; Apache is left out when
# it or its modules are not installed).
#
# HLS_FIXTURE=1 runs no stack: the page plays a package made here by ffmpeg (the fMP4 HLS shape of
# issue 14, two variants) from the page server itself. That checks the player harness alone; the
# test proper is the default.
#
# An automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status
# follows automake: 0 pass, 1 a check failed, 77 skip (chromium, python3 or ffmpeg missing: ./dev
# installs them; or hls.js neither cached nor downloadable), 99 hard error (a server did not start,
# hls.js failed its checksum). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/browser/run-hls.sh
set -u -o pipefail

me="run-hls.sh"
if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "$me: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi
for v in chromium python3 ffmpeg curl; do
	if ! command -v "$v" >/dev/null 2>&1; then
		echo "$me: $v is not installed (./dev installs it); skipped" >&2
		exit 77
	fi
done

hlsjs=${HLSJS:-}
if [ -z "$hlsjs" ]; then
	hlsjs=$("$abs_top_srcdir/scripts/fetch-hlsjs.sh")
	case $? in
	0) ;;
	1)
		echo "$me: hls.js is not cached and could not be downloaded (see above); skipped" >&2
		exit 77
		;;
	*)
		echo "$me: scripts/fetch-hlsjs.sh refused or failed (see above)" >&2
		exit 99
		;;
	esac
fi
[ -f "$hlsjs" ] || {
	echo "$me: $hlsjs is not a file" >&2
	exit 99
}

# shellcheck source=tests/integration/harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"

PAGE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mediad-hls.XXXXXX") || exit 99
PAGE_PID=

page_stop()
{
	if [ -n "$PAGE_PID" ]; then
		harness_kill_wait "$PAGE_PID" 5
		wait "$PAGE_PID" 2>/dev/null
	fi
	PAGE_PID=
	rm -rf "$PAGE_DIR"
}

# The page server on a free port; the port may be taken between the probe and the bind: try again.
page_start()
{
	local _
	for _ in 1 2 3; do
		PAGE_PORT=$(harness_free_port) || return 1
		python3 -m http.server --bind 127.0.0.1 --directory "$PAGE_DIR/www" "$PAGE_PORT" </dev/null \
			>>"$PAGE_DIR/page-server.log" 2>&1 &
		PAGE_PID=$!
		if harness_wait "the page server" curl -fsS -o /dev/null --max-time 2 \
			"http://127.0.0.1:$PAGE_PORT/hls.html"; then
			return 0
		fi
		harness_kill_wait "$PAGE_PID" 5
		wait "$PAGE_PID" 2>/dev/null
		PAGE_PID=
	done
	echo "$me: the page server did not start:" >&2
	tail -n 5 "$PAGE_DIR/page-server.log" >&2
	return 1
}

# EXIT trap once a stack runs: the page server goes too, then the harness tears down as usual.
# shellcheck disable=SC2317 # called by the trap
hls_on_exit()
{
	local rc=$?
	page_stop
	(exit "$rc")
	harness_on_exit
}

# Before any stack: the page server and the source video are ours alone.
# shellcheck disable=SC2317 # called by the trap
early_exit()
{
	local rc=$?
	page_stop
	exit "$rc"
}
trap early_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$PAGE_DIR/www" &&
	cp "$abs_top_srcdir/tests/browser/www/hls.html" "$abs_top_srcdir/tests/browser/www/hls-test.js" "$PAGE_DIR/www/" &&
	cp "$hlsjs" "$PAGE_DIR/www/hls.min.js" || exit 99
chmod -R a+rX "$PAGE_DIR"

# 10 s of a test pattern with a tone: with 4 s segments, three per variant. H.264 + AAC in MP4, as
# a phone or an editor would upload.
export HLS_SOURCE=$PAGE_DIR/source.mp4
if ! timeout 120 ffmpeg -nostdin -y -loglevel error -f lavfi -i testsrc=size=640x360:rate=25:duration=10 \
	-f lavfi -i sine=frequency=440:sample_rate=48000:duration=10 -c:v libx264 -preset veryfast \
	-pix_fmt yuv420p -c:a aac -b:a 96k -shortest -movflags +faststart "$HLS_SOURCE" \
	2>"$PAGE_DIR/ffmpeg.log"; then
	echo "$me: ffmpeg could not make the source video:" >&2
	tail -n 5 "$PAGE_DIR/ffmpeg.log" >&2
	exit 99
fi
chmod 644 "$HLS_SOURCE"

if [ "${HLS_FIXTURE:-}" = 1 ]; then
	# The package shape of issue 14 (fMP4, independent 2 s GOPs in 4 s segments), two variants.
	out=$PAGE_DIR/www/fixture
	mkdir -p "$out" || exit 99
	if ! timeout 300 ffmpeg -nostdin -y -loglevel error -i "$HLS_SOURCE" -filter_complex \
		"[0:v:0]split=2[s0][s1];[s0]scale=w=426:h=240:force_original_aspect_ratio=decrease:force_divisible_by=2[v0];[s1]scale=w=640:h=360:force_original_aspect_ratio=decrease:force_divisible_by=2[v1]" \
		-map '[v0]' -map 0:a:0 -map '[v1]' -map 0:a:0 -c:v libx264 -preset veryfast -b:v:0 400k -b:v:1 800k \
		-force_key_frames "expr:gte(t,n_forced*2)" -sc_threshold 0 -c:a aac -b:a 64k -f hls -hls_time 4 \
		-hls_playlist_type vod -hls_flags independent_segments -hls_segment_type fmp4 \
		-hls_fmp4_init_filename init.mp4 -hls_segment_filename "$out/%v/seg_%05d.m4s" \
		-master_pl_name master.m3u8 -var_stream_map "v:0,a:0,name:240p v:1,a:1,name:360p" "$out/%v/index.m3u8" \
		2>"$PAGE_DIR/ffmpeg.log"; then
		echo "$me: ffmpeg could not make the fixture package:" >&2
		tail -n 5 "$PAGE_DIR/ffmpeg.log" >&2
		exit 99
	fi
	page_start || exit 99
	page=http://127.0.0.1:$PAGE_PORT
	q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
		"$page/fixture/master.m3u8")
	echo "=== RUN  hls.html on a fixture package (no stack)"
	timeout -k 5 120 python3 "$abs_top_srcdir/tests/browser/cdp-run.py" --timeout 90 \
		--profile "$PAGE_DIR/profile" --out "$PAGE_DIR/result.json" --network "$PAGE_DIR/network.json" \
		"$page/hls.html?src=$q" || echo "$me: the page did not finish" >&2
	python3 "$abs_top_srcdir/tests/browser/check-hls.py" --expect play \
		--variants "$(grep -c '^#EXT-X-STREAM-INF:' "$out/master.m3u8")" --prefix "$page/fixture/" \
		"$PAGE_DIR/result.json" "$PAGE_DIR/network.json"
	exit $?
fi

servers=${BROWSER_SERVERS:-lighttpd apache-proxy}
run=()
for s in $servers; do
	if [ "$s" = apache-proxy ]; then
		ok=1
		for m in mod_proxy mod_proxy_fcgi mod_xsendfile; do
			[ -f "/usr/lib/apache2/modules/$m.so" ] || ok=0
		done
		command -v apache2 >/dev/null 2>&1 || ok=0
		if [ "$ok" = 0 ]; then
			echo "$me: apache2 or its modules are not installed: Chromium runs under lighttpd only" >&2
			continue
		fi
	fi
	run+=("$s")
done
[ -x "$abs_top_builddir/media-spawner" ] || {
	echo "$me: $abs_top_builddir/media-spawner is not built" >&2
	exit 99
}

page_start || exit 99
export HLS_PAGE=http://127.0.0.1:$PAGE_PORT
# The harness turns the automatic renditions off for its shared programs; this test is of them:
# the default set again (hls and poster), after the harness's line, so it wins.
export HARNESS_EXTRA_CONFIG="cors_origins = $HLS_PAGE
auto_renditions = hls,poster${HARNESS_EXTRA_CONFIG:+
$HARNESS_EXTRA_CONFIG}"

status=0
for s in "${run[@]}"; do
	export HARNESS_SERVER=$s
	# harness_start installs its own EXIT trap; ours, set right after, keeps its teardown and adds
	# the page server's.
	if ! harness_start "$abs_top_builddir" "$abs_top_srcdir"; then
		page_stop
		exit 99
	fi
	trap hls_on_exit EXIT
	harness_run_programs " in Chromium with hls.js ($s)" "$abs_top_srcdir/tests/browser/chromium-hls.sh" || status=1
	harness_cleanup
done
trap - EXIT
page_stop
exit "$status"
