#!/bin/bash
# run.sh: the fault-injection suite of issue 10: start the stack, run the scenarios of faults.py.
#
# An automake TESTS entry (also `make check-faults`): the Makefile exports abs_top_builddir and
# abs_top_srcdir. The scenarios kill -9 spawners, stop PostgreSQL, lock tables and fill a tmpfs
# (as root; otherwise that scenario is skipped) on the harness's own servers. Exit status follows
# automake: 0 pass, 1 a scenario failed, 77 skip (no python3, or every scenario skipped), 99 hard
# error (the stack did not start). Run by hand, one scenario or a few:
#   FAULTS_ONLY=kill9_mid_render abs_top_builddir=$PWD/build abs_top_srcdir=$PWD tests/faults/run.sh
set -u -o pipefail

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "run.sh: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi
command -v python3 >/dev/null 2>&1 || {
	echo "run.sh: python3 not found; the fault scenarios need it" >&2
	exit 77
}
for v in media-spawner tests/fake-ffmpeg; do
	if [ ! -x "$abs_top_builddir/$v" ]; then
		echo "run.sh: $abs_top_builddir/$v is not built" >&2
		exit 99
	fi
done

# user_cap_and_fairness needs the cap; the many users of the other scenarios log in within a minute.
HARNESS_EXTRA_CONFIG="${HARNESS_EXTRA_CONFIG:-}${HARNESS_EXTRA_CONFIG:+
}render_max_queued_per_user = 20
login_rate_ip = 1000"
export HARNESS_EXTRA_CONFIG

# shellcheck source=tests/integration/harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99
echo "=== RUN  faults.py${FAULTS_ONLY:+ ($FAULTS_ONLY)}"
# In the background and waited for, so the EXIT trap can stop it (it cleans up on SIGTERM).
timeout -k 15 "${FAULTS_TIMEOUT:-900}" python3 "$abs_top_srcdir/tests/faults/faults.py" &
HARNESS_CHILD_PID=$!
wait "$HARNESS_CHILD_PID"
rc=$?
HARNESS_CHILD_PID=
[ "$rc" -eq 124 ] && echo "run.sh: faults.py timed out after ${FAULTS_TIMEOUT:-900}s" >&2
if ! harness_healthz_ok; then
	echo "run.sh: the stack is unhealthy after the scenarios" >&2
	[ "$rc" -eq 0 ] && rc=1
fi
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
	harness_dump_logs
	# shellcheck disable=SC2034 # read by harness_on_exit: do not print the logs twice
	HARNESS_LOGS_SHOWN=1
fi
# Stop the servers first: the responders exit on SIGTERM and LeakSanitizer reports at exit.
harness_stop
if harness_sanitizer_report; then
	rc=1
fi
case $rc in
0 | 1 | 77 | 99) ;;
*) rc=1 ;; # a timeout, a signal, a crash of the suite
esac
exit "$rc"
