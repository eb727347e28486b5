#!/bin/bash
# run-apache-proxy.sh: the whole integration suite under Apache + mod_proxy_fcgi + a mediad pool.
#
# The same programs as run-lighttpd.sh (every built tests/integration/test_*), against the real
# apache2 binary running fcgi-conf/apache-proxy-fcgi.conf in front of
# `mediad --listen unix:... --workers MEDIAD_PROCS`: tests/integration/harness.sh with
# HARNESS_SERVER=apache-proxy. As root, Apache, the pool and Redis run as www-data
# (HARNESS_WEB_USER). An automake TESTS entry: the Makefile exports abs_top_builddir and
# abs_top_srcdir. Exit status follows automake: 0 pass, 1 a test failed, 77 skip (no test program
# built, or apache2 / its modules missing), 99 hard error (the stack did not start). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/integration/run-apache-proxy.sh
set -u -o pipefail

me=run-apache-proxy.sh
if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "$me: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi

# shellcheck source=tests/integration/harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"
export HARNESS_SERVER=apache-proxy

if ! harness_find_programs; then
	echo "$me: no test programs in $abs_top_builddir/tests/integration" >&2
	exit 77
fi
for m in mod_proxy mod_proxy_fcgi mod_xsendfile; do
	if ! command -v apache2 >/dev/null 2>&1 || [ ! -f "/usr/lib/apache2/modules/$m.so" ]; then
		echo "$me: apache2 or $m is not installed (./dev installs them); skipped" >&2
		exit 77
	fi
done

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99
harness_run_programs " under Apache + mod_proxy_fcgi" "${HARNESS_PROGS[@]}"
exit $?
