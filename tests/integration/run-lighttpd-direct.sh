#!/bin/bash
# run-lighttpd-direct.sh: test_stream, test_cors, test_webserver and test_hls again, with mediad
# sending media itself (stream_mode = direct) and CORS limited to a list of origins. (test_webserver
# checks the 416 of this mode, and leaves its slow-client part, which does not depend on it, to the
# other runs.)
#
# run-lighttpd.sh runs every program with the harness's defaults: stream_mode = x-sendfile, where
# lighttpd sends the file, and cors_origins = *. This runs the stream and CORS tests against a
# stack whose mediad.conf ends with "stream_mode = direct" and a cors_origins list (a later key
# wins), and tells the test programs the stream mode through MEDIAD_STREAM_MODE (test_cors reads
# cors_origins from the file). An automake TESTS entry: the Makefile exports abs_top_builddir and
# abs_top_srcdir. Exit status follows automake: 0 pass, 1 fail, 77 skip (a program not built),
# 99 hard error (the stack did not start). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/integration/run-lighttpd-direct.sh
set -u -o pipefail

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "run-lighttpd-direct.sh: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi

# shellcheck source=harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"

progs=()
for name in test_stream test_cors test_webserver test_hls; do
	prog=$abs_top_builddir/tests/integration/$name
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
		echo "run-lighttpd-direct.sh: $prog is not built" >&2
		exit 77
	fi
	progs+=("$prog")
done

# The first origin is the one test_stream and test_cors call from.
export HARNESS_EXTRA_CONFIG="stream_mode = direct
cors_origins = https://app.example.test, https://player.example.test${HARNESS_EXTRA_CONFIG:+
$HARNESS_EXTRA_CONFIG}"
export MEDIAD_STREAM_MODE=direct

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99
harness_run_programs " (stream_mode = direct, cors_origins = a list)" "${progs[@]}"
exit $?
