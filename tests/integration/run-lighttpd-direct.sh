#!/bin/bash
# run-lighttpd-direct.sh: test_stream again, with mediad sending media itself (stream_mode = direct).
#
# run-lighttpd.sh runs every program with the harness's default, stream_mode = x-sendfile, where
# lighttpd sends the file. This runs the same stream tests against a stack whose mediad.conf ends
# with "stream_mode = direct" (a later key wins), and tells the test program so through
# MEDIAD_STREAM_MODE. An automake TESTS entry: the Makefile exports abs_top_builddir and
# abs_top_srcdir. Exit status follows automake: 0 pass, 1 fail, 77 skip (test_stream not built),
# 99 hard error (the stack did not start). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/integration/run-lighttpd-direct.sh
set -u -o pipefail

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "run-lighttpd-direct.sh: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi

# shellcheck source=harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"

prog=$abs_top_builddir/tests/integration/test_stream
if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
	echo "run-lighttpd-direct.sh: $prog is not built" >&2
	exit 77
fi

export HARNESS_EXTRA_CONFIG="stream_mode = direct${HARNESS_EXTRA_CONFIG:+
$HARNESS_EXTRA_CONFIG}"
export MEDIAD_STREAM_MODE=direct

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99
harness_run_programs " (stream_mode = direct)" "$prog"
exit $?
