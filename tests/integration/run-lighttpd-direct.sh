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

TEST_TIMEOUT=${MEDIAD_TEST_TIMEOUT:-300}
prog=$abs_top_builddir/tests/integration/test_stream
if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
	echo "run-lighttpd-direct.sh: $prog is not built" >&2
	exit 77
fi

export HARNESS_EXTRA_CONFIG="stream_mode = direct${HARNESS_EXTRA_CONFIG:+
$HARNESS_EXTRA_CONFIG}"
export MEDIAD_STREAM_MODE=direct

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99

failed=()
echo "=== RUN  test_stream (stream_mode = direct)"
start=$(date +%s)
# In the background and waited for, so a signal to this script is handled at once; the EXIT trap
# kills it.
timeout -k 10 "$TEST_TIMEOUT" "$prog" &
HARNESS_CHILD_PID=$!
wait "$HARNESS_CHILD_PID"
rc=$?
HARNESS_CHILD_PID=
secs=$(($(date +%s) - start))
if [ "$rc" -eq 0 ]; then
	echo "=== PASS test_stream (direct, ${secs}s)"
else
	[ "$rc" -eq 124 ] && echo "run-lighttpd-direct.sh: test_stream timed out after ${TEST_TIMEOUT}s"
	echo "=== FAIL test_stream (direct, exit $rc, ${secs}s)"
	failed+=(test_stream)
fi
if ! harness_healthz_ok; then
	echo "run-lighttpd-direct.sh: the stack is unhealthy after test_stream" >&2
	failed+=("(stack after test_stream)")
fi

if [ ${#failed[@]} -gt 0 ]; then
	harness_dump_logs
	HARNESS_LOGS_SHOWN=1
fi
# Stop the servers first: the responders exit on SIGTERM and LeakSanitizer reports at exit.
harness_stop
if harness_sanitizer_report; then
	failed+=("(sanitizer reports in the mediad log)")
fi

echo "=== 1 program (direct mode), ${#failed[@]} failure(s)${failed[*]:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ] && exit 0
exit 1
