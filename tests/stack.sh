# shellcheck shell=bash
# stack.sh: how each server of a mediad stack starts, becomes ready and stops, for ./dev,
# tests/integration/harness.sh and bench/ (sourced, bash).
#
# PostgreSQL, Redis, lighttpd with the mediad responders it spawns, Apache (mod_proxy_fcgi in front
# of a `mediad --listen` pool, or mod_fcgid), the pool itself, media-spawner and media-hooks. The callers keep
# their own policy: where the state lives, which ports, who owns what, what is kept and what is
# torn down. Every wait here polls and has a bound (STACK_TIMEOUT seconds, 30 unless said); none
# sleeps for a fixed time hoping a server is up. Functions print what went wrong on stderr, as
# "$STACK_TAG: ...", and return non-zero; they never exit.
#
# The web-server, pool and spawner functions act on the stack these variables describe:
#
#   STACK_SRCDIR       the source tree (fcgi-conf/, bench/lighttpd-bare.conf)
#   STACK_VAR          the state folder, lighttpd.conf's MEDIAD_VAR: run/ log/ tmp/ www/ lighttpd.d/
#                      apache/; every server log is in log/ (mediad.log: the responders' stderr)
#   STACK_PORT         the web server's port on 127.0.0.1
#   STACK_MEDIAD       the mediad program          STACK_SPAWNER  the media-spawner program
#   STACK_HOOKS        the media-hooks program (webhook delivery)
#   STACK_CONFIG       mediad.conf: the only settings of what starts here (see STACK_ENV_SCRUB)
#   STACK_MEDIA_ROOT   its media root (the web servers' X-Sendfile scope)
#   STACK_PROCS        responders (2)              STACK_UPLOAD_PROCS  more for the uploads (2)
#   STACK_ERRORS       the web servers' JSON error files (STACK_SRCDIR/fcgi-conf/errors)
#   STACK_CONSOLE      the assembled web console served as /console/ (a build's console-site/); unset or
#                      missing: an empty STACK_VAR/console-missing/ (then /console/ is a 404)
#   STACK_BARE         bench/bare-responder, served at /bare by lighttpd when set (the benchmark)
#   STACK_POOL_SOCKET, STACK_POOL_UPLOAD_SOCKET  the pool's unix sockets (Apache + mod_proxy_fcgi)
#   STACK_APP_USER     as root: the user Apache switches to (User/Group)
#   STACK_AS_APP       (array) the command prefix that runs the pool and the spawner as that user
#   STACK_APACHE_EXTRA lines added to the generated httpd.conf (MPM sizes...)
#   STACK_TIMEOUT      seconds per readiness wait (30)
#   STACK_TAG          the prefix of messages (dev, harness, run.sh)
#
# Set by the functions: STACK_PID (the server a *_start function started, even when it then
# failed to become ready; empty when nothing was started), STACK_PGBIN and STACK_AS_PG
# (stack_pg_find), STACK_CONFIG_ENV and STACK_ENV_SCRUB (stack_env_names).
#
# Safe under `set -euo pipefail` (./dev): a function that may fail is meant to be called in a
# condition (`if`, `||`); the others do not fail on what they cannot help (a process already gone).

STACK_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/stack.sh
# Arrays the functions expand: defined (empty) unless the caller has set them, for `set -u`.
declare -p STACK_AS_APP >/dev/null 2>&1 || STACK_AS_APP=()
declare -p STACK_AS_PG >/dev/null 2>&1 || STACK_AS_PG=()
declare -p STACK_ENV_SCRUB >/dev/null 2>&1 || STACK_ENV_SCRUB=()
declare -p STACK_CONFIG_ENV >/dev/null 2>&1 || STACK_CONFIG_ENV=()
STACK_PID=""

stack_log()
{
	printf '%s: %s\n' "${STACK_TAG:-stack}" "$*" >&2
}

# ---- waiting and stopping ------------------------------------------------------------------------

# stack_wait DESC SECONDS CMD...: runs CMD (its output dropped) every 0.1 s until it succeeds;
# after SECONDS says so and fails.
stack_wait()
{
	local desc=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	stack_log "timed out after ${secs}s waiting for $desc"
	return 1
}

# stack_wait_alive DESC SECONDS PID CMD...: stack_wait that gives up as soon as PID is gone, bounded
# in time rather than in tries (one try may take long: a curl to a server still spawning).
# Returns 0 (CMD succeeded), 1 (PID exited; nothing said) or 2 (timed out; said).
stack_wait_alive()
{
	local desc=$1 secs=$2 pid=$3 deadline
	shift 3
	deadline=$((SECONDS + secs))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$SECONDS" -lt "$deadline" ] || break
		sleep 0.1
	done
	stack_log "timed out after ${secs}s waiting for $desc"
	return 2
}

# stack_kill_wait PID [SECONDS]: SIGTERM, a wait until PID is gone (10 s unless said), then SIGKILL.
stack_kill_wait()
{
	local pid=$1 limit=$((${2:-10} * 10)) i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < limit; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	stack_log "pid $pid ignored SIGTERM for ${2:-10}s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

# stack_stop_group PGID NAME: stops a process group leader started with setsid (a web server, the
# pool) and reaps it when it is our child; then what is left of its group (responders, which
# LeakSanitizer makes slow to exit) gets 5 s, SIGTERM, 5 s more, and at last SIGKILL.
stack_stop_group()
{
	local pgid=$1 name=$2 i
	stack_kill_wait "$pgid"
	wait "$pgid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		pgrep -g "$pgid" >/dev/null 2>&1 || return 0
		[ "$i" != 50 ] || kill -TERM -- "-$pgid" 2>/dev/null || true
		sleep 0.1
	done
	stack_log "$name: processes outlived it; SIGKILL to process group $pgid"
	kill -KILL -- "-$pgid" 2>/dev/null || true
}

# stack_pid_alive PIDFILE WORD: the pid on PIDFILE's first line runs and its command line holds
# WORD (a recycled pid that now belongs to something else is not ours).
stack_pid_alive()
{
	local pid
	[ -s "$1" ] || return 1
	pid=$(head -n1 "$1") || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# stack_stop_pidfile PIDFILE WORD [SECONDS]: stops what PIDFILE names (stack_pid_alive, then
# stack_kill_wait) and removes PIDFILE. Returns 0 when it stopped something, 1 when nothing ran.
stack_stop_pidfile()
{
	if ! stack_pid_alive "$1" "$2"; then
		rm -f "$1"
		return 1
	fi
	stack_kill_wait "$(head -n1 "$1")" "${3:-10}"
	rm -f "$1"
	return 0
}

# ---- ports -----------------------------------------------------------------------------------------

# stack_port_free PORT: true when nothing listens on, or accepts connections at, 127.0.0.1:PORT.
stack_port_free()
{
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ] || return 1
	fi
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stack_free_port: prints a free TCP port from 20000-31999 (below Linux's ephemeral range),
# starting at a random point so parallel stacks rarely collide; callers retry on a lost race.
stack_free_port()
{
	local p i
	p=$((20000 + RANDOM % 12000))
	for ((i = 0; i < 500; i++)); do
		if stack_port_free "$p"; then
			echo "$p"
			return 0
		fi
		p=$((p + 1))
		[ "$p" -lt 32000 ] || p=20000
	done
	stack_log "no free TCP port found"
	return 1
}

# ---- the settings' environment -------------------------------------------------------------------

# stack_env_names MEDIACTL: STACK_CONFIG_ENV := every environment name a setting is read from
# (`mediactl config --env-names`), STACK_ENV_SCRUB := the `env` arguments that drop them all. What
# starts here must take its settings from STACK_CONFIG alone: a DATABASE_URL left in a developer's
# shell must not redirect it.
# The names come from the program that reads them, not from a copy here. There is no fallback
# list: every caller needs a built mediactl anyway (the harness refuses to start without one,
# ./dev builds before it starts anything, the benchmark needs build/), and a copy would drift.
# Fails, saying why, when MEDIACTL cannot tell.
stack_env_names()
{
	local out n
	if ! out=$("$1" config --env-names 2>/dev/null) || [ -z "$out" ]; then
		stack_log "$1 config --env-names failed: the settings' environment names are unknown"
		return 1
	fi
	STACK_CONFIG_ENV=()
	STACK_ENV_SCRUB=()
	for n in $out; do
		if ! [[ "$n" =~ ^[A-Z][A-Z0-9_]*$ ]]; then
			stack_log "$1 config --env-names printed \"$n\", not an environment name"
			return 1
		fi
		STACK_CONFIG_ENV+=("$n")
		STACK_ENV_SCRUB+=(-u "$n")
	done
}

# stack_env_unset: unsets every name of STACK_CONFIG_ENV in this shell.
stack_env_unset()
{
	local n
	for n in "${STACK_CONFIG_ENV[@]}"; do
		unset "$n"
	done
}

# stack_tool FILE WHAT FUNCTION ARGS...: writes FILE, a script a test program can run (execv): it
# sources this library and calls FUNCTION ARGS..., with STACK_PGBIN, STACK_AS_PG and STACK_TAG as
# they are now. WHAT describes it in its first comment.
stack_tool()
{
	local file=$1 what=$2
	shift 2
	{
		echo "#!/bin/bash"
		echo "# ${file##*/}: $what (written by tests/stack.sh)."
		printf '. %q || exit 1\n' "$STACK_LIB"
		declare -p STACK_PGBIN STACK_AS_PG STACK_TAG 2>/dev/null
		printf '%q ' "$@"
		echo
	} >"$file" && chmod 755 "$file"
}

# ---- PostgreSQL ------------------------------------------------------------------------------------

# stack_pg_find: STACK_PGBIN := the newest /usr/lib/postgresql/*/bin; STACK_AS_PG := the prefix
# that runs PostgreSQL's programs as postgres when we are root (initdb and postgres refuse root;
# the cluster's folders must then be postgres's).
stack_pg_find()
{
	STACK_PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	if [ -z "$STACK_PGBIN" ] || [ ! -x "$STACK_PGBIN/initdb" ]; then
		stack_log "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
		return 1
	fi
	STACK_AS_PG=()
	if [ "$(id -u)" = 0 ]; then
		if ! command -v runuser >/dev/null 2>&1; then
			stack_log "runuser not found (util-linux): needed to run PostgreSQL as postgres"
			return 1
		fi
		STACK_AS_PG=(runuser -u postgres --)
	fi
}

# stack_pg_init DATA LOG CONF [INITDB_ARG...]: a new cluster in DATA, made by initdb as STACK_AS_PG
# (-U postgres --auth=trust -E UTF8 and INITDB_ARGs), its output in LOG (the tail shown on failure);
# then CONF, lines of settings, appended to its postgresql.conf. Trust: the callers' clusters are
# reachable only through a socket folder of theirs (and, for the tests, 127.0.0.1).
stack_pg_init()
{
	local data=$1 log=$2 conf=$3
	shift 3
	# From /: the postgres user may not be allowed into the caller's working directory.
	if ! (cd / && "${STACK_AS_PG[@]}" "$STACK_PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 "$@") \
		>"$log" 2>&1; then
		stack_log "initdb failed:"
		tail -n 20 "$log" >&2
		return 1
	fi
	printf '%s\n' "$conf" >>"$data/postgresql.conf"
}

# stack_pg_start DATA LOG SECONDS: starts the cluster, its server log in LOG; pg_ctl -w itself polls
# until it accepts connections, for at most SECONDS.
stack_pg_start()
{
	(cd / && "${STACK_AS_PG[@]}" "$STACK_PGBIN/pg_ctl" -D "$1" -l "$2" -w -t "$3" start >/dev/null)
}

# stack_pg_stop DATA SECONDS: a fast stop (open sessions are cut), waited for (at most SECONDS).
stack_pg_stop()
{
	(cd / && "${STACK_AS_PG[@]}" "$STACK_PGBIN/pg_ctl" -D "$1" -w -t "$2" stop -m fast >/dev/null)
}

# stack_pg_running DATA: true when the cluster in DATA runs.
stack_pg_running()
{
	(cd / && "${STACK_AS_PG[@]}" "$STACK_PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1)
}

# stack_pg_ready HOST PORT: true when the server at HOST (a socket folder or an address) accepts
# connections.
stack_pg_ready()
{
	"$STACK_PGBIN/pg_isready" -q -h "$1" -p "$2" -U postgres
}

# stack_pg_role_db HOST PORT NAME: a login role NAME and a database NAME it owns, each made unless
# it exists.
stack_pg_role_db()
{
	local name=$3 psql have
	psql=("$STACK_PGBIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U postgres -d postgres)
	if ! [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]]; then
		stack_log "stack_pg_role_db: \"$name\" is not a plain lower-case name"
		return 1
	fi
	have=$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$name'") || return 1
	if [ -z "$have" ]; then
		"${psql[@]}" -c "CREATE ROLE $name LOGIN" || return 1
	fi
	have=$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$name'") || return 1
	if [ -z "$have" ]; then
		"${psql[@]}" -c "CREATE DATABASE $name OWNER $name" || return 1
	fi
}

# stack_pg_tools DIR DATA LOG SECONDS: DIR/pg-start and DIR/pg-stop, for test programs: each
# returns once PostgreSQL accepts connections again, or is down (stack_pg_start, stack_pg_stop).
stack_pg_tools()
{
	stack_tool "$1/pg-start" "starts the stack's PostgreSQL; returns once it accepts connections" \
		stack_pg_start "$2" "$3" "$4" &&
		stack_tool "$1/pg-stop" "stops the stack's PostgreSQL (fast: sessions are cut); returns once it is down" \
			stack_pg_stop "$2" "$4"
}

# ---- Redis -------------------------------------------------------------------------------------

# stack_redis_conf FILE SOCKET PIDFILE LOG: a configuration for a Redis that holds only what may be
# lost: nothing persisted, no TCP (port 0), the unix socket SOCKET (mode 700), its folder FILE's.
stack_redis_conf()
{
	cat >"$1" <<EOF
# redis.conf: written by tests/stack.sh
port 0
unixsocket $2
unixsocketperm 700
daemonize no
save ""
appendonly no
dir ${1%/*}
pidfile $3
logfile $4
EOF
}

# stack_redis_ping SOCKET: true when Redis answers PING there.
stack_redis_ping()
{
	[ "$(redis-cli -s "$1" ping 2>/dev/null)" = PONG ]
}

# stack_redis_start CONF SOCKET LOG SECONDS [PREFIX...]: redis-server CONF in a session of its own,
# through PREFIX (setpriv...: to run it as another user) when given, its output appended to LOG.
# Returns once it answers PING on SOCKET; 1 when it exits first or does not within SECONDS.
# STACK_PID: its pid (it writes its own pid file too, from CONF).
stack_redis_start()
{
	local conf=$1 sock=$2 log=$3 secs=$4 rc=0
	shift 4
	STACK_PID=""
	setsid "$@" redis-server "$conf" </dev/null >>"$log" 2>&1 &
	STACK_PID=$!
	stack_wait_alive "Redis to answer PING on $sock" "$secs" "$STACK_PID" stack_redis_ping "$sock" || rc=$?
	if [ "$rc" = 1 ]; then
		stack_log "redis-server exited during start-up; see $log"
	fi
	[ "$rc" = 0 ]
}

# stack_redis_stop PIDFILE: stops the Redis PIDFILE names (10 s, then SIGKILL), if it runs.
stack_redis_stop()
{
	stack_stop_pidfile "$1" redis-server || true
}

# stack_redis_tools DIR CONF SOCKET LOG PIDFILE SECONDS [PREFIX...]: DIR/redis-start and
# DIR/redis-stop, for test programs (stack_redis_start, stack_redis_stop).
stack_redis_tools()
{
	local dir=$1 conf=$2 sock=$3 log=$4 pidf=$5 secs=$6
	shift 6
	stack_tool "$dir/redis-start" "starts the stack's Redis; returns once it answers PING" \
		stack_redis_start "$conf" "$sock" "$log" "$secs" "$@" &&
		stack_tool "$dir/redis-stop" "stops the stack's Redis; returns once it is gone" \
			stack_redis_stop "$pidf"
}

# ---- lighttpd ------------------------------------------------------------------------------------

# stack_lighttpd_env CMD...: runs CMD with the variables fcgi-conf/lighttpd.conf reads (MEDIAD_PORT,
# MEDIAD_VAR...), from STACK_*, and without the settings' environment.
stack_lighttpd_env()
{
	env "${STACK_ENV_SCRUB[@]}" MEDIAD_PORT="$STACK_PORT" MEDIAD_VAR="$STACK_VAR" MEDIAD_BIN="$STACK_MEDIAD" \
		MEDIAD_PROCS="${STACK_PROCS:-2}" MEDIAD_UPLOAD_PROCS="${STACK_UPLOAD_PROCS:-2}" \
		MEDIAD_ERRORS="${STACK_ERRORS:-$STACK_SRCDIR/fcgi-conf/errors}" MEDIAD_CONFIG="$STACK_CONFIG" \
		MEDIA_ROOT="$STACK_MEDIA_ROOT" MEDIAD_BARE_BIN="${STACK_BARE:-}" MEDIAD_CONSOLE="$(stack_console_dir)" "$@"
}

# stack_console_dir: the folder served as /console/: STACK_CONSOLE when it holds an index.html, else
# an empty STACK_VAR/console-missing (made here), so the web servers start without a built console.
stack_console_dir()
{
	if [ -n "${STACK_CONSOLE:-}" ] && [ -f "$STACK_CONSOLE/index.html" ]; then
		printf '%s\n' "$STACK_CONSOLE"
	else
		mkdir -p "$STACK_VAR/console-missing" && printf '%s\n' "$STACK_VAR/console-missing"
	fi
}

# stack_lighttpd_start: lighttpd with fcgi-conf/lighttpd.conf (checked first, lighttpd -tt) on
# STACK_PORT: the mediad responders it spawns, /static/ from STACK_VAR/www, and /bare when STACK_BARE
# is a program. lighttpd -D stays in the foreground (our child) in a session of its own (setsid:
# it leads the process group of its responders, so a stop finds them even if lighttpd died first);
# its stderr, which the responders inherit, is appended to log/mediad.log.
# STACK_PID: lighttpd's pid, as its own pid file (run/lighttpd.pid) names it: setsid forks when its
# caller leads a process group (a shell with job control), and $! is then setsid's.
# Returns 0 once lighttpd has written that file, 1 when it did not (it may have exited: a port
# taken). Whether it answers is for the caller to wait for: each knows what must answer.
stack_lighttpd_start()
{
	local v=$STACK_VAR pidf=$STACK_VAR/run/lighttpd.pid conf=$STACK_SRCDIR/fcgi-conf/lighttpd.conf bg pid i gone=0
	STACK_PID=""
	mkdir -p "$v/www/static" "$v/tmp" "$v/lighttpd.d" "$v/run" "$v/log" || return 1
	echo "hello" >"$v/www/static/hello.txt"
	if [ -n "${STACK_BARE:-}" ] && [ -x "$STACK_BARE" ]; then
		ln -sf "$STACK_SRCDIR/bench/lighttpd-bare.conf" "$v/lighttpd.d/bare.conf"
	else
		rm -f "$v/lighttpd.d/bare.conf"
	fi
	if ! stack_lighttpd_env lighttpd -tt -f "$conf" >"$v/log/lighttpd-configtest.log" 2>&1; then
		stack_log "lighttpd rejects $conf:"
		cat "$v/log/lighttpd-configtest.log" >&2
		return 1
	fi
	rm -f "$pidf"
	stack_lighttpd_env setsid lighttpd -D -f "$conf" </dev/null >>"$v/log/mediad.log" 2>&1 &
	bg=$!
	STACK_PID=$bg
	# Bounded: STACK_TIMEOUT while the process we started lives, 2 s more once it is gone (when
	# setsid forked, it is gone at once and lighttpd still writes the file).
	for ((i = 0; i < ${STACK_TIMEOUT:-30} * 10 && gone < 20; i++)); do
		pid=$(head -n1 "$pidf" 2>/dev/null) || pid=""
		if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q lighttpd; then
			STACK_PID=$pid
			return 0
		fi
		kill -0 "$bg" 2>/dev/null || gone=$((gone + 1))
		sleep 0.1
	done
	return 1
}

# ---- Apache ----------------------------------------------------------------------------------------

# stack_apache_conf FILE KIND: writes FILE, the server part of an Apache configuration (what a
# Debian apache2.conf and mods-enabled/ provide on a real host) that includes the site file of
# fcgi-conf/: for KIND proxy, apache-proxy-fcgi.conf (mod_proxy_fcgi to the pool's sockets); for
# fcgid, apache-fcgid.conf (mod_fcgid spawns STACK_MEDIAD, handing it MEDIAD_TEST_ROUTES and the
# sanitizer settings when they are set here). Runtime files in STACK_VAR/apache/, logs in log/.
stack_apache_conf()
{
	local file=$1 kind=$2 v=$STACK_VAR mods=/usr/lib/apache2/modules m site
	case $kind in
	proxy) site=apache-proxy-fcgi.conf ;;
	fcgid) site=apache-fcgid.conf ;;
	*)
		stack_log "stack_apache_conf: KIND is proxy or fcgid, not \"$kind\""
		return 1
		;;
	esac
	{
		echo "# httpd.conf: written by tests/stack.sh ($kind) on each start; edit fcgi-conf/ instead"
		echo "ServerRoot \"$v/apache\""
		echo "DefaultRuntimeDir \"$v/apache/run\""
		echo "PidFile \"$v/apache/run/httpd.pid\""
		echo "Mutex file:$v/apache/run default"
		echo "ErrorLog \"$v/log/apache-error.log\""
		echo "LogLevel warn"
		echo "Listen 127.0.0.1:$STACK_PORT"
		echo "ServerName 127.0.0.1"
		echo "ServerTokens Prod"
		echo "ServerSignature Off"
		if [ -n "${STACK_APP_USER:-}" ]; then
			echo "User $STACK_APP_USER"
			echo "Group $(id -gn "$STACK_APP_USER")"
		fi
		for m in mpm_event authz_core mime alias env buffer reqtimeout headers dir \
			$([ "$kind" = proxy ] && echo proxy proxy_fcgi || echo fcgid) xsendfile; do
			echo "LoadModule ${m}_module $mods/mod_$m.so"
		done
		echo "TypesConfig /etc/mime.types"
		# %U, the path without the query string: stream links carry their signature there.
		echo "LogFormat \"%h %t \\\"%m %U %H\\\" %>s %B %D\" stack"
		echo "CustomLog \"$v/log/apache-access.log\" stack"
		# As in Debian's apache2.conf: nothing on the file system is served unless granted.
		echo "<Directory />"
		echo "  Options None"
		echo "  AllowOverride None"
		echo "  Require all denied"
		echo "</Directory>"
		if [ -n "${STACK_APACHE_EXTRA:-}" ]; then
			printf '%s\n' "$STACK_APACHE_EXTRA"
		fi
		echo "Define MEDIA_ROOT \"$STACK_MEDIA_ROOT\""
		echo "Define MEDIAD_DOCROOT \"$v/www\""
		echo "Define MEDIAD_ERRORS \"${STACK_ERRORS:-$STACK_SRCDIR/fcgi-conf/errors}\""
		echo "Define MEDIAD_CONSOLE \"$(stack_console_dir)\""
		if [ "$kind" = proxy ]; then
			echo "Define MEDIAD_SOCKET \"$STACK_POOL_SOCKET\""
			echo "Define MEDIAD_UPLOAD_SOCKET \"$STACK_POOL_UPLOAD_SOCKET\""
		else
			echo "Define MEDIAD_BIN \"$STACK_MEDIAD\""
			echo "Define MEDIAD_CONFIG \"$STACK_CONFIG\""
			echo "Define MEDIAD_PROCS ${STACK_PROCS:-2}"
			# mod_fcgid's sockets and process table. The children it spawns get no environment but
			# FcgidInitialEnv (and PATH): a test build's mediad needs MEDIAD_TEST_ROUTES, and a
			# sanitizer run's settings go on. mod_fcgid cuts a value at 127 bytes, so each of
			# those goes through a file the sanitizer runtime reads ("include=FILE").
			echo "FcgidIPCDir \"$v/apache/fcgid\""
			echo "FcgidProcessTableFile \"$v/apache/run/fcgid_shm\""
			if [ "${MEDIAD_TEST_ROUTES:-}" = 1 ]; then
				echo "FcgidInitialEnv MEDIAD_TEST_ROUTES 1"
			fi
			for m in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
				if [ -n "${!m:-}" ]; then
					printf '%s\n' "${!m}" >"$v/apache/$m"
					echo "FcgidInitialEnv $m \"include=$v/apache/$m\""
				fi
			done
		fi
		echo "Include \"$STACK_SRCDIR/fcgi-conf/$site\""
	} >"$file"
}

# stack_apache_start KIND: Apache (the apache2 binary) with the configuration stack_apache_conf
# writes to STACK_VAR/apache/httpd.conf, checked first (apache2 -t), in the foreground
# (-DFOREGROUND: its parent is our child) in a session of its own (it leads the process group of
# its children and of mod_fcgid's mediad processes), without the settings' environment, with
# TMPDIR = STACK_VAR/tmp (mod_fcgid spools request bodies there); start-up errors, written before
# ErrorLog is open, go to the same log/apache-error.log. For KIND proxy the pool must run
# (stack_pool_start). STACK_PID: Apache's parent. Whether it answers is for the caller to wait for.
stack_apache_start()
{
	local kind=$1 v=$STACK_VAR conf=$STACK_VAR/apache/httpd.conf
	STACK_PID=""
	mkdir -p "$v/www/static" "$v/tmp" "$v/apache/run" "$v/apache/fcgid" "$v/log" || return 1
	echo "hello" >"$v/www/static/hello.txt"
	if [ -n "${STACK_APP_USER:-}" ]; then
		# Apache's children and mod_fcgid work here as that user.
		chown "$STACK_APP_USER:" "$v/tmp" "$v/apache/fcgid" || return 1
	fi
	stack_apache_conf "$conf" "$kind" || return 1
	if ! apache2 -t -f "$conf" >"$v/log/apache-configtest.log" 2>&1; then
		stack_log "apache2 -t rejects $conf (it includes fcgi-conf/):"
		cat "$v/log/apache-configtest.log" >&2
		return 1
	fi
	TMPDIR=$v/tmp setsid env "${STACK_ENV_SCRUB[@]}" apache2 -DFOREGROUND -f "$conf" </dev/null \
		>>"$v/log/apache-error.log" 2>&1 &
	STACK_PID=$!
}

# ---- mediad --listen and media-spawner --------------------------------------------------------------

# stack_pool_start: the `mediad --listen` pool behind Apache's mod_proxy_fcgi: STACK_PROCS workers
# on STACK_POOL_SOCKET and STACK_UPLOAD_PROCS on STACK_POOL_UPLOAD_SOCKET (the upload routes), as
# STACK_AS_APP, in a session of its own (the master leads its workers' group; setpriv execs, so the
# pid is the master's), settings from STACK_CONFIG alone, output appended to log/mediad.log.
# STACK_PID: the master. Returns once the socket exists; 1, with the log's tail, when the master
# exits first or STACK_TIMEOUT passes.
stack_pool_start()
{
	local sock=$STACK_POOL_SOCKET up=$STACK_POOL_UPLOAD_SOCKET d
	STACK_PID=""
	for d in "${sock%/*}" "${up%/*}"; do
		mkdir -p "$d" || return 1
		if [ -n "${STACK_APP_USER:-}" ]; then
			chown "$STACK_APP_USER:" "$d" || return 1
		fi
	done
	rm -f "$sock" "$up"
	setsid "${STACK_AS_APP[@]}" env "${STACK_ENV_SCRUB[@]}" MEDIAD_CONFIG="$STACK_CONFIG" "$STACK_MEDIAD" \
		--listen "unix:$sock" --workers "${STACK_PROCS:-2}" --upload-listen "unix:$up" \
		--upload-workers "${STACK_UPLOAD_PROCS:-2}" </dev/null >>"$STACK_VAR/log/mediad.log" 2>&1 &
	STACK_PID=$!
	if ! stack_wait_alive "the mediad pool's socket" "${STACK_TIMEOUT:-30}" "$STACK_PID" test -S "$sock"; then
		stack_log "mediad --listen did not create $sock:"
		tail -n 20 "$STACK_VAR/log/mediad.log" >&2
		return 1
	fi
}

# stack_daemon_start PROGRAM LOG [ARG...]: PROGRAM with ARGs, as STACK_AS_APP, in a session of its
# own, settings from STACK_CONFIG alone, output appended to LOG. STACK_PID: its pid.
stack_daemon_start()
{
	local prog=$1 log=$2
	shift 2
	setsid "${STACK_AS_APP[@]}" env "${STACK_ENV_SCRUB[@]}" MEDIAD_CONFIG="$STACK_CONFIG" "$prog" "$@" \
		</dev/null >>"$log" 2>&1 &
	STACK_PID=$!
}

# stack_spawner_start LOG [ARG...]: media-spawner (STACK_SPAWNER) by stack_daemon_start, as
# STACK_AS_APP because it writes into the media root it shares with the responders. Without --once
# it is a daemon: LISTEN for new jobs, polling as a fallback.
stack_spawner_start()
{
	local log=$1
	shift
	stack_daemon_start "$STACK_SPAWNER" "$log" "$@"
}

# stack_hooks_start LOG [ARG...]: media-hooks (STACK_HOOKS) by stack_daemon_start. Without --once it
# is a daemon: LISTEN for new webhook deliveries, polling as a fallback.
stack_hooks_start()
{
	local log=$1
	shift
	stack_daemon_start "$STACK_HOOKS" "$log" "$@"
}
