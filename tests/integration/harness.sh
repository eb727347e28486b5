# harness.sh: start a private PostgreSQL, Redis and web server + mediad stack for integration tests.
#
# Sourced (bash), not executed:
#
#   . tests/integration/harness.sh
#   harness_start BUILDDIR SRCDIR || exit 99   # starts everything, installs the teardown trap
#   ... run test programs (they read the variables below) ...
#   harness_stop                               # or let the EXIT trap do it
#
# Everything lives in one mktemp -d folder, removed on exit (HARNESS_KEEP=1 keeps it). Servers
# listen on unix sockets inside it plus 127.0.0.1 on free ports; readiness is polled, with a
# bound, never slept for. Exported for the test programs:
#
#   MEDIAD_BASE_URL  http://127.0.0.1:PORT (web server)  MEDIAD_TEST_DIR  the temp folder
#   MEDIAD_CONFIG    the generated mediad.conf           MEDIA_ROOT       its media root
#   DATABASE_URL     libpq keyword form, unix socket     PGDATA PGHOST PGPORT PGUSER PGDATABASE
#   REDIS_SOCKET     redis unix socket path              REDIS_URL        unix:$REDIS_SOCKET
#   PG_CTL_CMD       command prefix for pg_ctl (sh -c style; test tooling only)
#   MEDIACTL         path of the built mediactl
#   MEDIAD_WEB_SERVER  lighttpd, apache-proxy or apache-fcgid (see HARNESS_SERVER below)
#   MEDIAD_CONSOLE_DIR the web console the web server serves at $MEDIAD_BASE_URL/console/ (the folder
#                    named in the build's console.stamp, made by `make`; without it /console/ is a 404)
#   MEDIAD_WEB_PID   pid of the web server (lighttpd, or Apache's parent process); it leads its
#                    own process group, which holds the processes that send X-Sendfile files
#   $MEDIAD_TEST_DIR/{pg-stop,pg-start,redis-stop,redis-start}: small scripts a test can execv;
#   each returns once the server is down / ready again.
#
# Knobs (environment): MEDIAD_PROCS (responders, default 2), MEDIAD_UPLOAD_PROCS (responders of the
# upload routes, default 2), HARNESS_TIMEOUT (seconds per
# readiness wait, default 30), HARNESS_KEEP=1, HARNESS_EXTRA_CONFIG (lines appended to mediad.conf),
# HARNESS_NO_REDIS=1 (no Redis is started and mediad.conf has an empty redis_url: mediad runs
# without one; REDIS_URL and REDIS_SOCKET are then empty and MEDIAD_NO_REDIS=1 is exported),
# HARNESS_SERVER, the web server in front of mediad:
#   lighttpd       (default) fcgi-conf/lighttpd.conf; lighttpd spawns the responders
#   apache-proxy   the apache2 binary with fcgi-conf/apache-proxy-fcgi.conf, in front of a
#                  `mediad --listen unix:... --workers MEDIAD_PROCS` pool the harness starts
#                  (plus --upload-listen unix:....upload --upload-workers MEDIAD_UPLOAD_PROCS)
#   apache-fcgid   the apache2 binary with fcgi-conf/apache-fcgid.conf; mod_fcgid spawns mediad
# HARNESS_PGBOUNCER=1: /usr/sbin/pgbouncer (PGBOUNCER) between the programs and PostgreSQL, as
#   production may run it: pool_mode = transaction, default_pool_size = 2, on 127.0.0.1 on a free
#   port, log/pgbouncer.log. mediad.conf then has database_url = PgBouncer, db_direct_url = the
#   direct URL (LISTEN, migrations) and db_prepared = HARNESS_DB_PREPARED (default off; on shows
#   what a transaction pooler does to prepared statements). Exported besides: DATABASE_URL is
#   PgBouncer's (so the spawners and media-hooks a test starts, which inherit it, go through it too),
#   DB_PREPARED and DB_DIRECT_URL as in the file, HARNESS_DIRECT_DATABASE_URL the direct URL, and
#   PGBOUNCER_PORT. PostgreSQL logs each statement then (log_min_duration_statement = 0) with its
#   application_name and client (127.0.0.1: through PgBouncer, [local]: direct), so a runner can
#   check what was parsed under a name and which way each LISTEN came.
# Apache runs in the foreground (-DFOREGROUND) with a configuration generated in the temp folder
# (apache/httpd.conf; log/apache-error.log, log/apache-access.log) that includes the fcgi-conf
# file. As root, Apache must switch to an unprivileged User: HARNESS_WEB_USER (default www-data).
# Then the mediad pool and Redis run as that user too (mediad writes uploads 0640 as its own user,
# and Apache must read them for X-Sendfile), the media root is theirs and mediad.conf is 0640
# root:<its group>. Test programs keep running as the caller.
#
# How each server starts, becomes ready and stops is tests/stack.sh, shared with ./dev and the
# benchmark; this file is the tests' policy: a temp folder, free ports, the web user, the test
# settings, running the programs and tearing everything down.

# shellcheck source=tests/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/../stack.sh"
STACK_TAG=harness

# The programs of a test build have the /_test/ routes and refuse to start without this.
export MEDIAD_TEST_ROUTES=1

harness_log()
{
	printf 'harness: %s\n' "$*" >&2
}

# harness_wait DESC CMD...: runs CMD every 0.1 s until it succeeds; fails after HARNESS_TIMEOUT s.
harness_wait()
{
	local desc=$1
	shift
	stack_wait "$desc" "${HARNESS_TIMEOUT:-30}" "$@"
}

# harness_free_port: prints a free TCP port (stack_free_port); callers retry on a lost race.
harness_free_port()
{
	stack_free_port
}

# harness_kill_wait PID [SECONDS]: SIGTERM, wait until gone (polling), then SIGKILL.
harness_kill_wait()
{
	stack_kill_wait "$@"
}

# harness_stop_group PID NAME: stops a process group leader and what is left of its group.
harness_stop_group()
{
	stack_stop_group "$@"
}

harness_pg_setup()
{
	local t=$HARNESS_DIR attempt
	stack_pg_find || return 1
	# The postgres user must own the cluster's folders (and traverse the temp folder: it is 755).
	mkdir -p "$t/pg/run" || return 1
	: >"$t/log/postgres.log"
	if [ ${#STACK_AS_PG[@]} -gt 0 ]; then
		chown -R postgres: "$t/pg" "$t/log/postgres.log" || return 1
	fi
	export PGDATA=$t/pg/data
	export PGHOST=$t/pg/run
	# -N: no fsync of the new cluster; a private, disposable one, reachable only through a socket in
	# our private folder and 127.0.0.1.
	stack_pg_init "$PGDATA" "$t/log/initdb.log" "# added by harness.sh: a private, disposable test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGHOST'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 32MB" --locale=C -N || return 1
	PG_CTL_CMD="${STACK_AS_PG[*]}${STACK_AS_PG[*]:+ }$STACK_PGBIN/pg_ctl -D $PGDATA"
	export PG_CTL_CMD
	stack_pg_tools "$t" "$PGDATA" "$t/log/postgres.log" "${HARNESS_TIMEOUT:-30}" || return 1

	# The port may be taken between the probe and the bind: try a few.
	for attempt in 1 2 3; do
		PGPORT=$(harness_free_port) || return 1
		export PGPORT
		echo "port = $PGPORT" >>"$PGDATA/postgresql.conf"
		if [ -n "${HARNESS_PGBOUNCER:-}" ]; then
			printf '%s\n' "log_min_duration_statement = 0" "log_line_prefix = '%m [%p] %a %r '" \
				>>"$PGDATA/postgresql.conf"
		fi
		if stack_pg_start "$PGDATA" "$t/log/postgres.log" "${HARNESS_TIMEOUT:-30}" &&
			harness_wait "PostgreSQL" stack_pg_ready "$PGHOST" "$PGPORT"; then
			break
		fi
		harness_log "PostgreSQL did not start on port $PGPORT (attempt $attempt):"
		tail -n 5 "$t/log/postgres.log" >&2
		[ "$attempt" -lt 3 ] || return 1
	done
	HARNESS_PG_STARTED=1
	stack_pg_role_db "$PGHOST" "$PGPORT" media >&2 || return 1
	export PGUSER=media PGDATABASE=media
	export DATABASE_URL="host=$PGHOST port=$PGPORT dbname=media user=media"
}

# harness_pgbouncer_setup: PgBouncer in transaction pooling mode in front of the harness's
# PostgreSQL (HARNESS_PGBOUNCER=1, see the top). As root it runs as postgres, like the cluster
# (PgBouncer refuses root). DATABASE_URL becomes PgBouncer's; the direct one is kept.
harness_pgbouncer_setup()
{
	local t=$HARNESS_DIR d=$HARNESS_DIR/pgbouncer bin=${PGBOUNCER:-/usr/sbin/pgbouncer} attempt port
	[ -x "$bin" ] || {
		harness_log "$bin not found (Debian 12: apt-get install pgbouncer)"
		return 1
	}
	mkdir -p "$d" || return 1
	# trust: the user must still be listed in auth_file; PostgreSQL trusts 127.0.0.1 (stack_pg_init).
	# PgBouncer reaches PostgreSQL over TCP and everything direct over the socket, so its log (%r:
	# 127.0.0.1 or [local]) tells which way a statement came.
	echo '"media" ""' >"$d/userlist.txt" || return 1
	: >"$t/log/pgbouncer.log"
	if [ ${#STACK_AS_PG[@]} -gt 0 ]; then
		chown -R postgres: "$d" "$t/log/pgbouncer.log" || return 1
	fi
	export HARNESS_DIRECT_DATABASE_URL=$DATABASE_URL
	for attempt in 1 2 3; do
		port=$(harness_free_port) || return 1
		cat >"$d/pgbouncer.ini" <<-EOF || return 1
			; generated by tests/integration/harness.sh (HARNESS_PGBOUNCER=1)
			[databases]
			media = host=127.0.0.1 port=$PGPORT dbname=media user=media

			[pgbouncer]
			listen_addr = 127.0.0.1
			listen_port = $port
			unix_socket_dir =
			auth_type = trust
			auth_file = $d/userlist.txt
			pool_mode = transaction
			default_pool_size = 2
			max_client_conn = 200
			ignore_startup_parameters = extra_float_digits,options
			logfile = $t/log/pgbouncer.log
			pidfile = $d/pgbouncer.pid
			; bounded waits, as everywhere: a client waits at most this long for a server connection
			query_wait_timeout = 30
			server_connect_timeout = 5
		EOF
		[ ${#STACK_AS_PG[@]} -eq 0 ] || chown postgres: "$d/pgbouncer.ini" || return 1
		if (cd / && "${STACK_AS_PG[@]}" "$bin" -d -q "$d/pgbouncer.ini") >>"$t/log/pgbouncer.log" 2>&1 &&
			harness_wait "PgBouncer" "$STACK_PGBIN/psql" -X -q -tA -h 127.0.0.1 -p "$port" -U media -d media \
				-c "SELECT 1"; then
			HARNESS_PGBOUNCER_PIDFILE=$d/pgbouncer.pid
			break
		fi
		harness_log "PgBouncer did not start on port $port (attempt $attempt):"
		tail -n 5 "$t/log/pgbouncer.log" >&2
		harness_pgbouncer_stop
		[ "$attempt" -lt 3 ] || return 1
	done
	export PGBOUNCER_PORT=$port
	export DATABASE_URL="host=127.0.0.1 port=$port dbname=media user=media"
	export DB_PREPARED=${HARNESS_DB_PREPARED:-off}
	export DB_DIRECT_URL=$HARNESS_DIRECT_DATABASE_URL
}

# harness_pgbouncer_stop: stops PgBouncer (its pidfile, or the one a failed start may have left).
harness_pgbouncer_stop()
{
	local f=${HARNESS_PGBOUNCER_PIDFILE:-${HARNESS_DIR:-/nonexistent}/pgbouncer/pgbouncer.pid} pid
	HARNESS_PGBOUNCER_PIDFILE=
	[ -f "$f" ] || return 0
	pid=$(head -n1 "$f" 2>/dev/null)
	[ -z "$pid" ] || stack_kill_wait "$pid"
	rm -f "$f"
}

harness_redis_setup()
{
	local t=$HARNESS_DIR
	mkdir -p "$t/redis" || return 1
	export REDIS_SOCKET=$t/redis/redis.sock
	export REDIS_URL=unix:$REDIS_SOCKET
	stack_redis_conf "$t/redis/redis.conf" "$REDIS_SOCKET" "$t/redis/redis.pid" "$t/log/redis.log" || return 1
	# Under Apache as root, Redis runs as the web user, whose mediad must open its socket (700).
	: >>"$t/log/redis.log"
	if [ ${#HARNESS_AS_WEB[@]} -gt 0 ]; then
		chown -R "$HARNESS_WEB_USER:" "$t/redis" "$t/log/redis.log" || return 1
	fi
	stack_redis_tools "$t" "$t/redis/redis.conf" "$REDIS_SOCKET" "$t/log/redis.log" "$t/redis/redis.pid" \
		"${HARNESS_TIMEOUT:-30}" "${HARNESS_AS_WEB[@]}" || return 1
	HARNESS_REDIS_STARTED=1
	stack_redis_start "$t/redis/redis.conf" "$REDIS_SOCKET" "$t/log/redis.log" "${HARNESS_TIMEOUT:-30}" \
		"${HARNESS_AS_WEB[@]}"
}

harness_write_config()
{
	local t=$HARNESS_DIR secret key ffmpeg ffprobe
	secret=$(od -An -tx1 -N48 /dev/urandom | tr -d ' \n')
	key=$(od -An -tx1 -N48 /dev/urandom | tr -d ' \n')
	ffmpeg=$(command -v ffmpeg || echo /usr/bin/ffmpeg)
	ffprobe=$(command -v ffprobe || echo /usr/bin/ffprobe)
	export MEDIA_ROOT=$t/media
	mkdir -p "$MEDIA_ROOT/uploads" "$MEDIA_ROOT/outputs" || return 1
	export MEDIAD_CONFIG=$t/mediad.conf
	{
		echo "# mediad.conf: generated by tests/integration/harness.sh"
		echo "database_url = $DATABASE_URL"
		echo "redis_url = $REDIS_URL"
		echo "jwt_secret = $secret"
		echo "stream_key = $key"
		echo "media_root = $MEDIA_ROOT"
		echo "schema_dir = $HARNESS_SRCDIR/schema"
		echo "public_base_url = $MEDIAD_BASE_URL"
		echo "ffmpeg_path = $ffmpeg"
		echo "ffprobe_path = $ffprobe"
		echo "stream_mode = x-sendfile"
		# The web server on loopback is the trusted proxy: tests choose client addresses with
		# X-Forwarded-For, and connect from 127.0.0.2 to be an untrusted client.
		echo "trusted_proxies = 127.0.0.1/32"
		# A small upload cap keeps the over-cap test cheap; lighttpd keeps the production cap.
		echo "upload_max_bytes = 16777216"
		# The programs register their users from 127.0.0.1 (a few dozen a run; the default is 10
		# an hour); test_abuse fills this window from an address of its own with cheap requests.
		echo "register_rate_ip = 1000"
		# A quota (1 GiB, far above what any program stores) so that every upload takes the quota
		# path; test_abuse fills it with rows of its own.
		echo "storage_quota_bytes = 1073741824"
		# No automatic renditions on the shared stack: its programs count jobs and ffmpeg runs
		# per upload. test_renditions asks for them by preset; tests/browser/run-hls.sh starts
		# a stack of its own with the default (hls, poster) and tests the automatic path.
		echo "auto_renditions ="
		if [ -n "${HARNESS_PGBOUNCER:-}" ]; then
			echo "db_prepared = $DB_PREPARED"
			echo "db_direct_url = $DB_DIRECT_URL"
		fi
		if [ -n "${HARNESS_EXTRA_CONFIG:-}" ]; then
			printf '%s\n' "$HARNESS_EXTRA_CONFIG"
		fi
	} >"$MEDIAD_CONFIG" || return 1
	chmod 600 "$MEDIAD_CONFIG"
	# Under Apache as root, mediad runs as the web user: it reads the file (secrets: group-readable
	# by that user's group only) and owns the media root.
	if [ ${#HARNESS_AS_WEB[@]} -gt 0 ]; then
		chgrp "$(id -gn "$HARNESS_WEB_USER")" "$MEDIAD_CONFIG" && chmod 640 "$MEDIAD_CONFIG" &&
			chown -R "$HARNESS_WEB_USER:" "$MEDIA_ROOT" || return 1
	fi
}

# healthz answering "status":"ok" means mediad, PostgreSQL and Redis all work end to end (without
# Redis it answers 200 "degraded", which is not enough: a test must leave Redis running too).
harness_healthz_ok()
{
	curl -s --max-time 2 "$MEDIAD_BASE_URL/healthz" 2>/dev/null | grep -q '"status":"ok"'
}

# harness_web_ready DESC PID: waits (HARNESS_TIMEOUT, in time: under mod_fcgid one try may take the
# whole curl timeout) until healthz is "ok" or the web server PID exits. Returns 0 (healthy),
# 1 (PID exited: the caller looks at why) or 2 (it runs but is not healthy; said).
harness_web_ready()
{
	local rc=0
	stack_wait_alive "$1 to answer $MEDIAD_BASE_URL/healthz with \"status\":\"ok\"" "${HARNESS_TIMEOUT:-30}" \
		"$2" harness_healthz_ok || rc=$?
	if [ "$rc" = 2 ]; then
		harness_log "$1 runs but $MEDIAD_BASE_URL/healthz never answered 200 ok:"
		curl -s --max-time 2 "$MEDIAD_BASE_URL/healthz" >&2
		echo >&2
	fi
	return "$rc"
}

# harness_port_lost LOG...: after the web server exited at start-up: true (and a new port chosen)
# when a log says the port was taken meanwhile.
harness_port_lost()
{
	grep -q "Address already in use" "$@" 2>/dev/null || return 1
	harness_log "port $HARNESS_HTTP_PORT taken meanwhile; retrying"
	HARNESS_HTTP_PORT=$(harness_free_port) || return 1
	STACK_PORT=$HARNESS_HTTP_PORT
	export MEDIAD_BASE_URL=http://127.0.0.1:$HARNESS_HTTP_PORT
	sed -i "s|^public_base_url = .*|public_base_url = $MEDIAD_BASE_URL|" "$MEDIAD_CONFIG"
}

harness_lighttpd_setup()
{
	local t=$HARNESS_DIR attempt rc
	for attempt in 1 2 3; do
		: >"$t/log/lighttpd-error.log"
		# lighttpd spawns the responders; its stderr, theirs, is log/mediad.log. It leads their
		# process group, so teardown finds them even if lighttpd died first.
		if ! stack_lighttpd_start && [ -z "$STACK_PID" ]; then
			return 1
		fi
		HARNESS_LIGHTTPD_PID=$STACK_PID
		export MEDIAD_WEB_PID=$HARNESS_LIGHTTPD_PID
		rc=0
		harness_web_ready lighttpd "$HARNESS_LIGHTTPD_PID" || rc=$?
		[ "$rc" != 0 ] || return 0
		[ "$rc" = 1 ] || return 1
		wait "$HARNESS_LIGHTTPD_PID" 2>/dev/null
		if [ "$attempt" -lt 3 ] && harness_port_lost "$t/log/lighttpd-error.log" "$t/log/mediad.log"; then
			continue
		fi
		harness_log "lighttpd exited during start-up"
		return 1
	done
	return 1
}

harness_apache_setup()
{
	local t=$HARNESS_DIR attempt rc kind=${HARNESS_SERVER#apache-}
	if [ "$kind" = proxy ]; then
		stack_pool_start
		rc=$?
		HARNESS_POOL_PID=$STACK_PID
		[ "$rc" = 0 ] || return 1
	fi
	for attempt in 1 2 3; do
		: >"$t/log/apache-error.log"
		stack_apache_start "$kind" || return 1
		HARNESS_APACHE_PID=$STACK_PID
		export MEDIAD_WEB_PID=$HARNESS_APACHE_PID
		rc=0
		harness_web_ready apache2 "$HARNESS_APACHE_PID" || rc=$?
		[ "$rc" != 0 ] || return 0
		[ "$rc" = 1 ] || return 1
		wait "$HARNESS_APACHE_PID" 2>/dev/null
		HARNESS_APACHE_PID=
		if [ "$attempt" -lt 3 ] && harness_port_lost "$t/log/apache-error.log"; then
			# The pool read public_base_url at start-up: restart it.
			if [ -n "${HARNESS_POOL_PID:-}" ]; then
				stack_stop_group "$HARNESS_POOL_PID" "the mediad pool"
				stack_pool_start
				rc=$?
				HARNESS_POOL_PID=$STACK_PID
				[ "$rc" = 0 ] || return 1
			fi
			continue
		fi
		harness_log "apache2 exited during start-up:"
		tail -n 20 "$t/log/apache-error.log" >&2
		return 1
	done
	return 1
}

# harness_dump_logs: the last 50 lines of each server log, for a failed run.
harness_dump_logs()
{
	local f
	[ -n "${HARNESS_DIR:-}" ] && [ -d "$HARNESS_DIR/log" ] || return 0
	for f in lighttpd-error.log apache-error.log mediad.log redis.log pgbouncer.log postgres.log; do
		[ -s "$HARNESS_DIR/log/$f" ] || continue
		echo "----- last 50 lines of $f -----" >&2
		tail -n 50 "$HARNESS_DIR/log/$f" >&2
	done
	echo "----- end of logs -----" >&2
}

# harness_sanitizer_report: prints sanitizer findings from the mediad log (and Apache's error log,
# which is mediad's stderr under mod_fcgid); true when there were any.
harness_sanitizer_report()
{
	local log found=1
	for log in "$HARNESS_DIR/log/mediad.log" "$HARNESS_DIR/log/apache-error.log"; do
		[ -s "$log" ] || continue
		grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" || continue
		echo "harness: sanitizer reports in ${log##*/}:" >&2
		grep -E -A 30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -n 200 >&2
		found=0
	done
	return "$found"
}

# harness_stop: stops the web server (lighttpd and its mediad children; or Apache, with mod_fcgid's
# mediad processes, then the mediad pool), Redis, PostgreSQL, in that order.
# Safe to call twice; leaves the temp folder (harness_cleanup removes it).
harness_stop()
{
	local t=${HARNESS_DIR:-} pid
	[ -n "$t" ] || return 0
	# lighttpd (and mod_fcgid) send SIGTERM to their responders.
	if [ -n "${HARNESS_LIGHTTPD_PID:-}" ]; then
		stack_stop_group "$HARNESS_LIGHTTPD_PID" lighttpd
	fi
	HARNESS_LIGHTTPD_PID=
	if [ -n "${HARNESS_APACHE_PID:-}" ]; then
		stack_stop_group "$HARNESS_APACHE_PID" apache2
	fi
	HARNESS_APACHE_PID=
	# The pool's master passes SIGTERM on; each worker finishes its request first.
	if [ -n "${HARNESS_POOL_PID:-}" ]; then
		stack_stop_group "$HARNESS_POOL_PID" "the mediad pool"
	fi
	HARNESS_POOL_PID=
	if [ -n "${HARNESS_REDIS_STARTED:-}" ]; then
		stack_redis_stop "$t/redis/redis.pid"
	fi
	HARNESS_REDIS_STARTED=
	harness_pgbouncer_stop
	if [ -n "${HARNESS_PG_STARTED:-}" ] && [ -f "$PGDATA/postmaster.pid" ]; then
		stack_pg_stop "$PGDATA" "${HARNESS_TIMEOUT:-30}" 2>/dev/null || {
			pid=$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null)
			[ -z "$pid" ] || stack_kill_wait "$pid"
		}
	fi
	HARNESS_PG_STARTED=
	return 0
}

harness_cleanup()
{
	harness_stop
	if [ -n "${HARNESS_DIR:-}" ] && [ -d "$HARNESS_DIR" ]; then
		if [ -n "${HARNESS_KEEP:-}" ]; then
			harness_log "kept $HARNESS_DIR"
		else
			rm -rf "$HARNESS_DIR"
		fi
	fi
	HARNESS_DIR=
}

# EXIT trap: a non-zero status (a failed test, an error, a signal) shows the logs first.
harness_on_exit()
{
	local rc=$?
	trap - EXIT
	# A test program still running (set by the caller while it waits for one) goes first.
	if [ -n "${HARNESS_CHILD_PID:-}" ]; then
		harness_kill_wait "$HARNESS_CHILD_PID" 5
	fi
	if [ "$rc" -ne 0 ] && [ -z "${HARNESS_LOGS_SHOWN:-}" ]; then
		harness_dump_logs
	fi
	harness_cleanup
	exit "$rc"
}

# harness_start BUILDDIR SRCDIR: starts the whole stack. Returns non-zero (after printing why)
# when anything fails; the EXIT trap then tears down what was started.
harness_start()
{
	local v base
	if [ $# -ne 2 ]; then
		harness_log "usage: harness_start BUILDDIR SRCDIR"
		return 1
	fi
	HARNESS_BUILDDIR=$(cd "$1" && pwd) || return 1
	HARNESS_SRCDIR=$(cd "$2" && pwd) || return 1
	for v in mediad mediactl; do
		if [ ! -x "$HARNESS_BUILDDIR/$v" ]; then
			harness_log "$HARNESS_BUILDDIR/$v is not built"
			return 1
		fi
	done
	HARNESS_SERVER=${HARNESS_SERVER:-lighttpd}
	HARNESS_AS_WEB=()
	case $HARNESS_SERVER in
	lighttpd) base=lighttpd ;;
	apache-proxy | apache-fcgid)
		base=apache2
		for v in mod_mpm_event mod_authz_core mod_mime mod_alias mod_env mod_buffer mod_reqtimeout mod_headers mod_dir mod_xsendfile \
			$([ "$HARNESS_SERVER" = apache-proxy ] && echo mod_proxy mod_proxy_fcgi || echo mod_fcgid); do
			if [ ! -f "/usr/lib/apache2/modules/$v.so" ]; then
				harness_log "/usr/lib/apache2/modules/$v.so not found (./dev installs apache2," \
					"libapache2-mod-fcgid and libapache2-mod-xsendfile)"
				return 1
			fi
		done
		# As root, Apache must switch to an unprivileged user, and so do mediad and Redis.
		if [ "$(id -u)" = 0 ]; then
			HARNESS_WEB_USER=${HARNESS_WEB_USER:-www-data}
			id -u "$HARNESS_WEB_USER" >/dev/null 2>&1 || {
				harness_log "user $HARNESS_WEB_USER not found (set HARNESS_WEB_USER)"
				return 1
			}
			command -v setpriv >/dev/null 2>&1 || {
				harness_log "setpriv not found (util-linux): needed to run mediad as $HARNESS_WEB_USER"
				return 1
			}
			HARNESS_AS_WEB=(setpriv "--reuid=$HARNESS_WEB_USER" "--regid=$(id -gn "$HARNESS_WEB_USER")"
				--init-groups --)
		fi
		;;
	*)
		harness_log "HARNESS_SERVER must be lighttpd, apache-proxy or apache-fcgid (got \"$HARNESS_SERVER\")"
		return 1
		;;
	esac
	export MEDIAD_WEB_SERVER=$HARNESS_SERVER
	v=redis-server
	[ -z "${HARNESS_NO_REDIS:-}" ] || v=
	for v in "$base" $v ${v:+redis-cli} curl; do
		command -v "$v" >/dev/null 2>&1 || {
			harness_log "$v not found (./dev installs the dependencies)"
			return 1
		}
	done
	# Settings mediad reads from the environment over its file: dropped here, before anything
	# starts, so a developer's shell (DATABASE_URL of another project...) cannot leak into the
	# servers; the ones exported below are for the test programs, and the web servers and pools
	# are started without them (STACK_ENV_SCRUB). mediactl, checked above, says which they are.
	stack_env_names "$HARNESS_BUILDDIR/mediactl" || return 1
	stack_env_unset

	trap harness_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP

	# Unix socket paths are limited to 107 bytes: keep the folder short.
	base=${TMPDIR:-/tmp}
	[ ${#base} -le 40 ] || base=/tmp
	HARNESS_DIR=$(mktemp -d "$base/mediad-it.XXXXXX") || return 1
	chmod 755 "$HARNESS_DIR"
	export MEDIAD_TEST_DIR=$HARNESS_DIR
	mkdir -p "$HARNESS_DIR/log" "$HARNESS_DIR/run" || return 1
	harness_log "stack in $HARNESS_DIR"
	# The web user must run mediad and enter the temp folder. A build tree it cannot reach (a clone
	# under /root, say) is fine: mediad is copied into the temp folder, which is open to it. A
	# private TMPDIR is not: say so plainly.
	# Exported: tests that look for the responders by their program path use it.
	export HARNESS_MEDIAD=$HARNESS_BUILDDIR/mediad
	if [ ${#HARNESS_AS_WEB[@]} -gt 0 ] && ! "${HARNESS_AS_WEB[@]}" test -x "$HARNESS_MEDIAD" 2>/dev/null; then
		mkdir -p "$HARNESS_DIR/bin" && cp "$HARNESS_MEDIAD" "$HARNESS_DIR/bin/mediad" &&
			chmod 755 "$HARNESS_DIR/bin" "$HARNESS_DIR/bin/mediad" || return 1
		HARNESS_MEDIAD=$HARNESS_DIR/bin/mediad
		harness_log "$HARNESS_WEB_USER cannot reach the build tree: running a copy of mediad from $HARNESS_MEDIAD"
	fi
	# The web server's JSON error files (fcgi-conf/errors), which Apache's children read as the web
	# user: copied like mediad when the source tree is closed to it.
	HARNESS_ERRORS=$HARNESS_SRCDIR/fcgi-conf/errors
	if [ ${#HARNESS_AS_WEB[@]} -gt 0 ] && ! "${HARNESS_AS_WEB[@]}" test -r "$HARNESS_ERRORS/411.html" 2>/dev/null; then
		cp -r "$HARNESS_ERRORS" "$HARNESS_DIR/errors" && chmod -R a+rX "$HARNESS_DIR/errors" || return 1
		HARNESS_ERRORS=$HARNESS_DIR/errors
	fi
	if [ ${#HARNESS_AS_WEB[@]} -gt 0 ]; then
		for v in "$HARNESS_MEDIAD" "$HARNESS_DIR"; do
			if ! "${HARNESS_AS_WEB[@]}" test -x "$v" 2>/dev/null; then
				harness_log "$HARNESS_WEB_USER (Apache's user) cannot reach $v: a folder on the way" \
					"is closed to it; move the tree or TMPDIR, or set HARNESS_WEB_USER"
				return 1
			fi
		done
	fi

	# The web console (/console/): the folder the build assembled, named in its console.stamp (as
	# install-data-local reads it: console/, or console-site/ in an in-tree build, where console/ is
	# the raw sources); copied like mediad when the web user cannot read it. No stamp: no console.
	HARNESS_CONSOLE=
	if [ -s "$HARNESS_BUILDDIR/console.stamp" ]; then
		HARNESS_CONSOLE=$(head -n1 "$HARNESS_BUILDDIR/console.stamp") || return 1
		case $HARNESS_CONSOLE in
		/*) ;;
		*) HARNESS_CONSOLE=$HARNESS_BUILDDIR/$HARNESS_CONSOLE ;;
		esac
	fi
	if [ -n "$HARNESS_CONSOLE" ] && [ -f "$HARNESS_CONSOLE/index.html" ] && [ ${#HARNESS_AS_WEB[@]} -gt 0 ] &&
		! "${HARNESS_AS_WEB[@]}" test -r "$HARNESS_CONSOLE/index.html" 2>/dev/null; then
		cp -r "$HARNESS_CONSOLE" "$HARNESS_DIR/console" && chmod -R a+rX "$HARNESS_DIR/console" || return 1
		HARNESS_CONSOLE=$HARNESS_DIR/console
	fi
	export MEDIAD_CONSOLE_DIR=$HARNESS_CONSOLE

	harness_pg_setup || return 1
	if [ -n "${HARNESS_PGBOUNCER:-}" ]; then
		harness_pgbouncer_setup || return 1
	fi
	if [ -n "${HARNESS_NO_REDIS:-}" ]; then
		export REDIS_SOCKET= REDIS_URL= MEDIAD_NO_REDIS=1
	else
		harness_redis_setup || return 1
	fi
	HARNESS_HTTP_PORT=$(harness_free_port) || return 1
	export MEDIAD_BASE_URL=http://127.0.0.1:$HARNESS_HTTP_PORT
	harness_write_config || return 1
	# The web server and the mediad it runs, for tests/stack.sh.
	STACK_SRCDIR=$HARNESS_SRCDIR
	STACK_VAR=$HARNESS_DIR
	STACK_PORT=$HARNESS_HTTP_PORT
	STACK_MEDIAD=$HARNESS_MEDIAD
	STACK_CONFIG=$MEDIAD_CONFIG
	STACK_MEDIA_ROOT=$MEDIA_ROOT
	STACK_PROCS=${MEDIAD_PROCS:-2}
	STACK_UPLOAD_PROCS=${MEDIAD_UPLOAD_PROCS:-2}
	STACK_ERRORS=$HARNESS_ERRORS
	STACK_CONSOLE=$HARNESS_CONSOLE
	STACK_BARE=
	STACK_POOL_SOCKET=$HARNESS_DIR/pool/mediad.sock
	STACK_POOL_UPLOAD_SOCKET=$HARNESS_DIR/pool/mediad.sock.upload
	STACK_TIMEOUT=${HARNESS_TIMEOUT:-30}
	STACK_APP_USER=
	STACK_AS_APP=("${HARNESS_AS_WEB[@]}")
	[ ${#HARNESS_AS_WEB[@]} -eq 0 ] || STACK_APP_USER=$HARNESS_WEB_USER
	# A small event MPM: one child process of 25 threads is plenty for the tests.
	STACK_APACHE_EXTRA="StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 5
MaxSpareThreads 50
Timeout 60
KeepAlive On"
	export MEDIACTL=$HARNESS_BUILDDIR/mediactl
	if ! "$MEDIACTL" migrate >"$HARNESS_DIR/log/migrate.log" 2>&1; then
		harness_log "mediactl migrate failed:"
		cat "$HARNESS_DIR/log/migrate.log" >&2
		return 1
	fi
	if [ "$HARNESS_SERVER" = lighttpd ]; then
		harness_lighttpd_setup || return 1
	else
		harness_apache_setup || return 1
	fi
	harness_log "ready: $MEDIAD_BASE_URL ($HARNESS_SERVER, postgres port $PGPORT${PGBOUNCER_PORT:+, PgBouncer port $PGBOUNCER_PORT, db_prepared = $DB_PREPARED}, ${MEDIAD_PROCS:-2} responders${HARNESS_NO_REDIS:+, no Redis})"
}

# harness_run_programs LABEL PROGRAM...: runs each test program against the started stack (a .sh
# with bash), each under a timeout (MEDIAD_TEST_TIMEOUT, default 300 s), checks the stack is still
# healthy after each, shows the logs once if anything failed, stops the stack, looks for sanitizer
# reports, and prints one summary line. Returns 0 when everything passed, 1 otherwise.
harness_run_programs()
{
	local label=$1 t name start rc secs timeout_s=${MEDIAD_TEST_TIMEOUT:-300}
	local -a failed=()
	shift
	for t in "$@"; do
		name=${t##*/}
		echo "=== RUN  $name"
		start=$(date +%s)
		# In the background and waited for, so a signal to the script is handled at once (bash
		# runs traps only between foreground commands); the EXIT trap kills it.
		case $t in
		*.sh) timeout -k 10 "$timeout_s" bash "$t" & ;;
		*) timeout -k 10 "$timeout_s" "$t" & ;;
		esac
		HARNESS_CHILD_PID=$!
		wait "$HARNESS_CHILD_PID"
		rc=$?
		HARNESS_CHILD_PID=
		secs=$(($(date +%s) - start))
		if [ "$rc" -eq 0 ]; then
			echo "=== PASS $name (${secs}s)"
		else
			[ "$rc" -eq 124 ] && echo "harness: $name timed out after ${timeout_s}s"
			echo "=== FAIL $name (exit $rc, ${secs}s)"
			failed+=("$name")
		fi
		# A test that stopped a server must have started it again; otherwise later tests lie.
		if ! harness_healthz_ok; then
			echo "harness: the stack is unhealthy after $name" >&2
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
	echo "=== $# program(s)$label, ${#failed[@]} failure(s)${failed[*]:+: ${failed[*]}}"
	[ ${#failed[@]} -eq 0 ]
}

# harness_find_programs: sets HARNESS_PROGS to every built test_* program of the build tree, then
# every tests/integration/test_*.sh of the source tree (the walkthrough). Returns 1 when none.
harness_find_programs()
{
	local t
	HARNESS_PROGS=()
	for t in "$abs_top_builddir"/tests/integration/test_*; do
		case ${t##*/} in
		*.*) continue ;; # objects, logs, sources: only the built programs have no dot
		esac
		[ -f "$t" ] && [ -x "$t" ] && HARNESS_PROGS+=("$t")
	done
	for t in "$abs_top_srcdir"/tests/integration/test_*.sh; do
		[ -f "$t" ] && HARNESS_PROGS+=("$t")
	done
	[ ${#HARNESS_PROGS[@]} -gt 0 ]
}

# harness_need_apache ME VAR SERVERS: for a runner whose web servers VAR (its environment knob)
# lists as SERVERS: when apache-proxy is among them, Apache and the modules it needs must be
# installed. Returns 1 after saying so (a failure, not a skip: ./dev installs them), else 0.
harness_need_apache()
{
	local me=$1 var=$2 s m missing=
	for s in $3; do
		[ "$s" = apache-proxy ] || continue
		command -v apache2 >/dev/null 2>&1 || missing="apache2"
		for m in mod_proxy mod_proxy_fcgi mod_xsendfile; do
			[ -f "/usr/lib/apache2/modules/$m.so" ] || missing="${missing:+$missing, }$m"
		done
	done
	[ -n "$missing" ] || return 0
	echo "$me: FAIL: $var=\"$3\" runs Apache (apache-proxy) but $missing is not installed (./dev installs" \
		"them; Debian 12: apt-get install apache2 libapache2-mod-xsendfile); set $var=lighttpd to leave Apache out" >&2
	return 1
}
