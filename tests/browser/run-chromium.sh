#!/bin/bash
# run-chromium.sh: CORS in a real browser: headless Chromium runs a page of another origin against
# the API, under lighttpd and then under Apache + mod_proxy_fcgi.
#
# A page server (python3 -m http.server on tests/browser/www, 127.0.0.1 on a free port) starts
# first, so that its origin http://127.0.0.1:PORT can be the stack's cors_origins; then, for each
# web server, tests/integration/harness.sh starts a stack and chromium-cors.sh loads the page from
# that origin (everything must be readable) and from http://localhost:PORT (same page, an origin
# not in the list: nothing may be). BROWSER_SERVERS picks the web servers (default "lighttpd
# apache-proxy"; Apache is left out when it or its modules are not installed).
#
# An automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status
# follows automake: 0 pass, 1 a check failed, 77 skip (chromium or python3 missing: ./dev installs
# both), 99 hard error (a server did not start). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/browser/run-chromium.sh
set -u -o pipefail

me="run-chromium.sh"
if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "$me: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi
for v in chromium python3; do
	if ! command -v "$v" >/dev/null 2>&1; then
		echo "$me: $v is not installed (./dev installs it); skipped" >&2
		exit 77
	fi
done

# shellcheck source=tests/integration/harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"

PAGE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mediad-page.XXXXXX") || exit 99
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
		python3 -m http.server --bind 127.0.0.1 --directory "$abs_top_srcdir/tests/browser/www" \
			"$PAGE_PORT" </dev/null >>"$PAGE_DIR/page-server.log" 2>&1 &
		PAGE_PID=$!
		if harness_wait "the page server" curl -fsS -o /dev/null --max-time 2 \
			"http://127.0.0.1:$PAGE_PORT/cors.html"; then
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
browser_on_exit()
{
	local rc=$?
	page_stop
	(exit "$rc")
	harness_on_exit
}

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

page_start || {
	page_stop
	exit 99
}
export CORS_PAGE_ALLOWED=http://127.0.0.1:$PAGE_PORT
export CORS_PAGE_REFUSED=http://localhost:$PAGE_PORT
# Only the page's first origin is let in; localhost is the same page from an origin that is not.
export HARNESS_EXTRA_CONFIG="cors_origins = $CORS_PAGE_ALLOWED${HARNESS_EXTRA_CONFIG:+
$HARNESS_EXTRA_CONFIG}"

status=0
for s in "${run[@]}"; do
	export HARNESS_SERVER=$s
	if ! harness_start "$abs_top_builddir" "$abs_top_srcdir"; then
		page_stop
		exit 99
	fi
	trap browser_on_exit EXIT
	harness_run_programs " in Chromium ($s)" "$abs_top_srcdir/tests/browser/chromium-cors.sh" || status=1
	harness_cleanup
done
page_stop
exit "$status"
