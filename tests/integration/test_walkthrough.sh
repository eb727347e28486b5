#!/bin/bash
# test_walkthrough.sh: runs examples/walkthrough.sh against the harness's stack, so it cannot rot.
#
# Run from the integration harness (run-lighttpd.sh), which exports MEDIAD_BASE_URL and
# MEDIAD_CONFIG; make check exports abs_top_builddir and abs_top_srcdir. The harness starts no
# render spawner, and the walkthrough renders: this starts the built media-spawner on the
# harness's configuration for the duration of the run, and always stops it (SIGTERM, then a
# bounded wait: the spawner gives running jobs 10 s, so 20 s before SIGKILL).
#
# Exit status: 0 the walkthrough passed; 1 it failed (its output says where; the spawner's log
# follows); 99 the environment is not the harness's.

# SC2154: the abs_top_* variables come from make check (checked below); SC2317: stop and on_exit
# run from traps.
# shellcheck disable=SC2154,SC2317
set -u -o pipefail

me=test_walkthrough
for v in abs_top_builddir abs_top_srcdir MEDIAD_BASE_URL MEDIAD_CONFIG; do
	if [ -z "${!v:-}" ]; then
		echo "$me: $v is not set: run me from tests/integration/run-lighttpd.sh (make check)" >&2
		exit 99
	fi
done
spawner=$abs_top_builddir/media-spawner
walk=$abs_top_srcdir/examples/walkthrough.sh
[ -x "$spawner" ] || {
	echo "$me: $spawner is not built" >&2
	exit 99
}
[ -f "$walk" ] || {
	echo "$me: $walk not found" >&2
	exit 99
}

logdir=${MEDIAD_TEST_DIR:-}
[ -n "$logdir" ] && [ -d "$logdir/log" ] && logdir=$logdir/log
own_logdir=
if [ -z "$logdir" ] || [ ! -d "$logdir" ]; then
	logdir=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX") || exit 99
	own_logdir=$logdir
fi
log=$logdir/walkthrough-spawner.log

spawner_pid=
walk_pid=

# stop PID SECONDS: SIGTERM, wait up to SECONDS (polling), then SIGKILL; reaps it.
stop()
{
	local pid=$1 limit=$(($2 * 10)) i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null
		return 0
	}
	for ((i = 0; i < limit; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$me: pid $pid ignored SIGTERM for $2 s; SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

on_exit()
{
	local rc=$?
	trap - EXIT
	stop "$walk_pid" 5
	walk_pid=
	stop "$spawner_pid" 20
	spawner_pid=
	if [ "$rc" -ne 0 ] && [ -s "$log" ]; then
		echo "----- last 40 lines of the walkthrough's media-spawner log -----" >&2
		tail -n 40 "$log" >&2
	fi
	[ -n "$own_logdir" ] && rm -rf "$own_logdir"
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# One slot keeps the run light; the name shows in job leases and in the log.
"$spawner" --concurrency 1 --name walkthrough </dev/null >>"$log" 2>&1 &
spawner_pid=$!
sleep 0.2
if ! kill -0 "$spawner_pid" 2>/dev/null; then
	wait "$spawner_pid"
	echo "$me: media-spawner exited at once (status $?)" >&2
	spawner_pid=
	exit 1
fi

# In the background and waited for, so a SIGTERM from the runner's timeout is handled at once
# (bash runs traps only between foreground commands); the EXIT trap stops it.
BASE_URL=$MEDIAD_BASE_URL bash "$walk" &
walk_pid=$!
wait "$walk_pid"
rc=$?
walk_pid=
if [ "$rc" -ne 0 ]; then
	echo "$me: examples/walkthrough.sh failed (exit $rc)" >&2
	exit 1
fi
if ! kill -0 "$spawner_pid" 2>/dev/null; then
	echo "$me: media-spawner died during the walkthrough" >&2
	exit 1
fi
# With nothing running, SIGTERM must stop the spawner at once and cleanly.
kill -TERM "$spawner_pid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$spawner_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$spawner_pid" 2>/dev/null; then
	echo "$me: media-spawner, idle, still runs 10 s after SIGTERM" >&2
	exit 1
fi
wait "$spawner_pid"
rc=$?
spawner_pid=
if [ "$rc" -ne 0 ]; then
	echo "$me: media-spawner exited with $rc after SIGTERM" >&2
	exit 1
fi
exit 0
