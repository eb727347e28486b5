#!/bin/bash
# run-no-redis.sh: mediad without Redis (redis_url empty, issue 19): test_no_redis and test_cron
# against a stack where no Redis runs, with MEDIAD_PROCS responders (default 2, at least 2 for the
# test to mean anything): the account lock (login_fail_account = 8) is kept in PostgreSQL and must
# hold across them; the per-address limits (login_rate_ip_email = 5) are each process's own, and
# test_no_redis asserts what any number of processes gives (test_no_redis's settings).
#
# run-lighttpd.sh runs test_no_redis too, against Redis: it then says so and tests nothing. An
# automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status follows
# automake: 0 pass, 1 fail, 77 skip (a program not built), 99 hard error (the stack did not start).
# Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/integration/run-no-redis.sh
set -u -o pipefail

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "run-no-redis.sh: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi

# shellcheck source=harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"

progs=()
for name in test_no_redis test_cron; do
	prog=$abs_top_builddir/tests/integration/$name
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
		echo "run-no-redis.sh: $prog is not built" >&2
		exit 77
	fi
	progs+=("$prog")
done

export HARNESS_NO_REDIS=1 MEDIAD_PROCS=${MEDIAD_PROCS:-2} MEDIAD_UPLOAD_PROCS=1
export HARNESS_EXTRA_CONFIG="login_rate_ip_email = 5
login_fail_account = 8${HARNESS_EXTRA_CONFIG:+
$HARNESS_EXTRA_CONFIG}"

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99
harness_run_programs " (no Redis: redis_url empty)" "${progs[@]}"
exit $?
