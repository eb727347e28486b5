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

if ! harness_find_programs; then
	echo "run-lighttpd.sh: no test programs in $abs_top_builddir/tests/integration" >&2
	exit 77
fi

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99
harness_run_programs "" "${HARNESS_PROGS[@]}"
exit $?
