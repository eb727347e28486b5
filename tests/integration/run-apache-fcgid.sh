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
harness_run_programs " under Apache + mod_fcgid" "${progs[@]}"
exit $?
