#!/bin/bash
# run-pgbouncer.sh: the API walkthrough, the pool, the render (real media-spawner, fake and real
# ffmpeg), media-hooks, webhooks and mediactl programs again, with every program reaching
# PostgreSQL through PgBouncer 1.18 in transaction pooling mode (issue 17): db_prepared = off,
# db_direct_url = the direct URL (LISTEN, migrations), four responders sharing two server
# connections. Afterwards PostgreSQL's log must show no statement parsed under a name: with
# db_prepared = off nothing of ours prepares.
#
# HARNESS_DB_PREPARED=on runs the same with prepared statements, which PgBouncer < 1.21 cannot
# carry in transaction mode ("prepared statement ... does not exist"): expected to fail.
# An automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status
# follows automake: 0 pass, 1 fail, 77 skip (a program not built), 99 hard error (the stack or
# PgBouncer did not start). Run by hand:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/integration/run-pgbouncer.sh
set -u -o pipefail

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "run-pgbouncer.sh: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi

# shellcheck source=harness.sh
. "$abs_top_srcdir/tests/integration/harness.sh"

if [ ! -x "${PGBOUNCER:-/usr/sbin/pgbouncer}" ]; then
	echo "run-pgbouncer.sh: SKIP: ${PGBOUNCER:-/usr/sbin/pgbouncer} not found (Debian 12: apt-get install pgbouncer)" >&2
	exit 77
fi

progs=()
for name in test_jobs_api test_pool test_spawner test_renditions test_hooks test_webhooks test_mediactl; do
	prog=$abs_top_builddir/tests/integration/$name
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
		echo "run-pgbouncer.sh: $prog is not built" >&2
		exit 77
	fi
	progs+=("$prog")
done
progs+=("$abs_top_srcdir/tests/integration/test_walkthrough.sh")

export HARNESS_PGBOUNCER=1
export HARNESS_DB_PREPARED=${HARNESS_DB_PREPARED:-off}
# More responders than PgBouncer has server connections: they must share them.
export MEDIAD_PROCS=${MEDIAD_PROCS:-4}

harness_start "$abs_top_builddir" "$abs_top_srcdir" || exit 99
rc=0
harness_run_programs " (through PgBouncer, pool_mode = transaction, db_prepared = $HARNESS_DB_PREPARED)" \
	"${progs[@]}" || rc=1

# log_min_duration_statement = 0 logs each extended-protocol step as "parse NAME: SQL"; an unnamed
# statement is "parse <unnamed>: ...". The harness stopped the servers; the log stays until exit.
pglog=$HARNESS_DIR/log/postgres.log
if ! grep -q 'parse <unnamed>' "$pglog"; then
	echo "run-pgbouncer.sh: FAIL: PostgreSQL logged no statement at all; the check below would prove nothing"
	rc=1
elif named=$(grep -E 'parse [^<]' "$pglog"); then
	echo "run-pgbouncer.sh: statements parsed under a name (db_prepared = $HARNESS_DB_PREPARED):"
	printf '%s\n' "$named" | head -n 10
	if [ "$HARNESS_DB_PREPARED" = off ]; then
		echo "run-pgbouncer.sh: FAIL: db_prepared = off, yet $(printf '%s\n' "$named" | wc -l) named statement(s)"
		rc=1
	fi
else
	echo "run-pgbouncer.sh: no statement parsed under a name: ok"
fi
# media-hooks and media-spawner daemons LISTEN on db_direct_url (the socket, "[local]"), never
# through PgBouncer (127.0.0.1), where the LISTEN would hold a server connection for one transaction
# only and the notifications would be lost.
listens=$(grep -E 'statement: LISTEN' "$pglog")
if [ -z "$listens" ]; then
	echo "run-pgbouncer.sh: FAIL: no LISTEN at all: the daemons should LISTEN on db_direct_url"
	rc=1
elif printf '%s\n' "$listens" | grep -v '\[local\]' | grep -q .; then
	echo "run-pgbouncer.sh: FAIL: a LISTEN came through PgBouncer:"
	printf '%s\n' "$listens" | grep -v '\[local\]' | head -n 5
	rc=1
else
	echo "run-pgbouncer.sh: $(printf '%s\n' "$listens" | wc -l) LISTEN(s), all on db_direct_url: ok"
fi
exit "$rc"
