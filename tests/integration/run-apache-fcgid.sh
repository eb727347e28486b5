#!/bin/bash
# run-apache-fcgid.sh: a smoke subset of the integration suite under Apache + mod_fcgid.
#
# test_http (healthz, 404/405, 413, bad JSON, PostgreSQL down and up), test_auth and test_media,
# against the real apache2 binary running fcgi-conf/apache-fcgid.conf, where mod_fcgid spawns
# mediad itself: tests/integration/harness.sh with HARNESS_SERVER=apache-fcgid. As root, Apache (and
# so the mediad processes it spawns) and Redis run as www-data (HARNESS_WEB_USER). Under mod_fcgid,
# mediad's log (and any sanitizer report) is in Apache's error log. An automake TESTS entry: the
# Makefile exports abs_top_builddir and abs_top_srcdir. Exit status follows automake: 0 pass, 1 a
# test failed, 77 skip (the programs are not built, or apache2 / its modules are missing), 99 hard
# error (the stack did not start). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/integration/run-apache-fcgid.sh
set -u -o pipefail

me=run-apache-fcgid.sh
SMOKE="test_http test_auth test_media test_stream"

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "$me: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi

# shellcheck source=tests/integration/harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"
export HARNESS_SERVER=apache-fcgid

# Per program; a hung test must not hang `make check`.
TEST_TIMEOUT=${MEDIAD_TEST_TIMEOUT:-300}

progs=()
for name in $SMOKE; do
	t=$abs_top_builddir/tests/integration/$name
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then
		echo "$me: $t is not built" >&2
		exit 77
	fi
	progs+=("$t")
done
for m in mod_fcgid mod_xsendfile; do
	if ! command -v apache2 >/dev/null 2>&1 || [ ! -f "/usr/lib/apache2/modules/$m.so" ]; then
		echo "$me: apache2 or $m is not installed (./dev installs them); skipped" >&2
		exit 77
	fi
done

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99

failed=()
for t in "${progs[@]}"; do
	name=${t##*/}
	echo "=== RUN  $name"
	start=$(date +%s)
	# In the background and waited for, so a signal to this script is handled at once (bash runs
	# traps only between foreground commands); the EXIT trap kills it.
	timeout -k 10 "$TEST_TIMEOUT" "$t" &
	HARNESS_CHILD_PID=$!
	wait "$HARNESS_CHILD_PID"
	rc=$?
	HARNESS_CHILD_PID=
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		echo "=== PASS $name (${secs}s)"
	else
		[ "$rc" -eq 124 ] && echo "$me: $name timed out after ${TEST_TIMEOUT}s"
		echo "=== FAIL $name (exit $rc, ${secs}s)"
		failed+=("$name")
	fi
	# A test that stopped a server must have started it again; otherwise later tests lie.
	if ! harness_healthz_ok; then
		echo "$me: the stack is unhealthy after $name" >&2
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
# Stop the servers first: mod_fcgid stops mediad with SIGTERM and LeakSanitizer reports at exit.
harness_stop
if harness_sanitizer_report; then
	failed+=("(sanitizer reports in the mediad log)")
fi

echo "=== ${#progs[@]} program(s) under Apache + mod_fcgid, ${#failed[@]} failure(s)${failed[*]:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ] && exit 0
exit 1
