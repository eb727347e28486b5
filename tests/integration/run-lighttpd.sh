#!/bin/bash
# run-lighttpd.sh: the integration suite under lighttpd: start the stack, run every test_* program.
#
# An automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status
# follows automake: 0 pass, 1 a test failed, 77 skip (no test program built), 99 hard error
# (the stack did not start). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/integration/run-lighttpd.sh
set -u -o pipefail

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "run-lighttpd.sh: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi

# shellcheck source=tests/integration/harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"

# Per program; a hung test must not hang `make check`.
TEST_TIMEOUT=${MEDIAD_TEST_TIMEOUT:-300}

progs=()
for t in "$abs_top_builddir"/tests/integration/test_*; do
	case ${t##*/} in
	*.*) continue ;; # objects, logs, sources: only the built programs have no dot
	esac
	[ -f "$t" ] && [ -x "$t" ] && progs+=("$t")
done
# Shell tests from the source tree (the walkthrough), run with bash: no executable bit needed.
for t in "$abs_top_srcdir"/tests/integration/test_*.sh; do
	[ -f "$t" ] && progs+=("$t")
done
if [ ${#progs[@]} -eq 0 ]; then
	echo "run-lighttpd.sh: no test programs in $abs_top_builddir/tests/integration" >&2
	exit 77
fi

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99

failed=()
for t in "${progs[@]}"; do
	name=${t##*/}
	echo "=== RUN  $name"
	start=$(date +%s)
	# In the background and waited for, so a signal to this script is handled at once (bash runs
	# traps only between foreground commands); the EXIT trap kills it.
	case $t in
	*.sh) timeout -k 10 "$TEST_TIMEOUT" bash "$t" & ;;
	*) timeout -k 10 "$TEST_TIMEOUT" "$t" & ;;
	esac
	HARNESS_CHILD_PID=$!
	wait "$HARNESS_CHILD_PID"
	rc=$?
	HARNESS_CHILD_PID=
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		echo "=== PASS $name (${secs}s)"
	else
		[ "$rc" -eq 124 ] && echo "run-lighttpd.sh: $name timed out after ${TEST_TIMEOUT}s"
		echo "=== FAIL $name (exit $rc, ${secs}s)"
		failed+=("$name")
	fi
	# A test that stopped a server must have started it again; otherwise later tests lie.
	if ! harness_healthz_ok; then
		echo "run-lighttpd.sh: the stack is unhealthy after $name" >&2
		harness_wait "the stack to recover" harness_healthz_ok || {
			failed+=("(stack after $name)")
			break
		}
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	harness_dump_logs
	# shellcheck disable=SC2034 # read by harness_on_exit: do not print the logs twice
	HARNESS_LOGS_SHOWN=1
fi
# Stop the servers first: the responders exit on SIGTERM and LeakSanitizer reports at exit.
harness_stop
if harness_sanitizer_report; then
	failed+=("(sanitizer reports in the mediad log)")
fi

echo "=== ${#progs[@]} program(s), ${#failed[@]} failure(s)${failed[*]:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ] && exit 0
exit 1
