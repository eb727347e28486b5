# shellcheck shell=bash
# spawner.sh: a media-spawner of a test program's own, for a program run by harness_run_programs
# against a started stack (the harness runs no render spawner). Sourced (bash), not executed:
#
#   . tests/integration/spawner.sh
#   spawner_start NAME || exit 1   # started and listening for jobs
#   ...                            # jobs are rendered
#   spawner_stop || rc=1           # stopped, bounded; 1 when its log has sanitizer reports
#
# It reads its settings from MEDIAD_CONFIG alone, like every server of the stack, and runs as the
# owner of the media root (www-data under Apache as root, as ./dev does), from a copy of the program
# when the build tree is closed to that user (as the harness does for mediad). Needs the harness's
# abs_top_builddir, MEDIAD_CONFIG, MEDIAD_TEST_DIR, MEDIA_ROOT and MEDIACTL. Its log is
# $MEDIAD_TEST_DIR/log/media-spawner.log (SPAWNER_LOG); spawner_log_tail prints its end.

# shellcheck source=tests/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/../stack.sh"
SPAWNER_PID=
SPAWNER_LOG=${MEDIAD_TEST_DIR:-/nonexistent}/log/media-spawner.log

# spawner_start NAME: starts it (--name NAME); returns once it has said how many slots it has (it
# then LISTENs for jobs), 1 (said) when it is not built or did not start.
spawner_start()
{
	local owner
	stack_env_names "$MEDIACTL" || return 1
	STACK_SPAWNER=${abs_top_builddir:?}/media-spawner
	STACK_CONFIG=$MEDIAD_CONFIG
	STACK_AS_APP=()
	owner=$(stat -c %U "$MEDIA_ROOT")
	if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then
		STACK_AS_APP=(setpriv "--reuid=$owner" "--regid=$(id -gn "$owner")" --init-groups --)
		if ! "${STACK_AS_APP[@]}" test -x "$STACK_SPAWNER" 2>/dev/null; then
			mkdir -p "$MEDIAD_TEST_DIR/bin" && cp "$STACK_SPAWNER" "$MEDIAD_TEST_DIR/bin/media-spawner" &&
				chmod 755 "$MEDIAD_TEST_DIR/bin" "$MEDIAD_TEST_DIR/bin/media-spawner" || return 1
			STACK_SPAWNER=$MEDIAD_TEST_DIR/bin/media-spawner
		fi
	fi
	[ -x "$STACK_SPAWNER" ] || {
		echo "spawner.sh: $STACK_SPAWNER is not built" >&2
		return 1
	}
	: >>"$SPAWNER_LOG"
	[ ${#STACK_AS_APP[@]} -eq 0 ] || chown "$owner:" "$SPAWNER_LOG"
	stack_spawner_start "$SPAWNER_LOG" --name "$1"
	SPAWNER_PID=$STACK_PID
	if ! stack_wait_alive "media-spawner to start" 30 "$SPAWNER_PID" grep -q 'slot' "$SPAWNER_LOG"; then
		echo "spawner.sh: media-spawner did not start" >&2
		return 1
	fi
	echo "spawner.sh: media-spawner runs (pid $SPAWNER_PID, as $(ps -o user= -p "$SPAWNER_PID" 2>/dev/null))"
}

# spawner_stop: stops it (SIGTERM, then SIGKILL after 15 s); safe to call twice. Returns 1 when its
# log has sanitizer reports (the harness looks at mediad's log only; this one is ours), printed.
spawner_stop()
{
	[ -n "$SPAWNER_PID" ] || return 0
	stack_kill_wait "$SPAWNER_PID" 15
	wait "$SPAWNER_PID" 2>/dev/null
	SPAWNER_PID=
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$SPAWNER_LOG" 2>/dev/null; then
		echo "spawner.sh: sanitizer reports in media-spawner.log:"
		grep -E -A 30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$SPAWNER_LOG" | head -n 100
		return 1
	fi
}

# spawner_log_tail: the last 30 lines of its log, if it has any.
spawner_log_tail()
{
	[ -s "$SPAWNER_LOG" ] || return 0
	echo "last 30 lines of media-spawner.log:"
	tail -n 30 "$SPAWNER_LOG"
}

# spawner_traps: the traps of a program that starts the spawner: on exit it is stopped, the
# program's status is the worst of rc (the caller's variable, which a check sets to 1) and how it
# ended, and the spawner's log is shown when that is not 0; TERM and INT end the program.
spawner_traps()
{
	trap spawner_on_exit EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
}
# shellcheck disable=SC2317 # the EXIT trap
spawner_on_exit()
{
	local st=$?
	trap - EXIT
	spawner_stop || rc=1
	[ "$st" = 0 ] || rc=$st
	[ "${rc:-0}" = 0 ] || spawner_log_tail
	exit "${rc:-0}"
}
