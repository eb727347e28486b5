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
#   MEDIAD_WEB_PID   pid of the web server (lighttpd, or Apache's parent process); it leads its
#                    own process group, which holds the processes that send X-Sendfile files
#   $MEDIAD_TEST_DIR/{pg-stop,pg-start,redis-stop,redis-start}: small scripts a test can execv;
#   each returns once the server is down / ready again.
#
# Knobs (environment): MEDIAD_PROCS (responders, default 2), MEDIAD_UPLOAD_PROCS (responders of the
# upload routes, default 2), HARNESS_TIMEOUT (seconds per
# readiness wait, default 30), HARNESS_KEEP=1, HARNESS_EXTRA_CONFIG (lines appended to mediad.conf),
# HARNESS_SERVER, the web server in front of mediad:
#   lighttpd       (default) fcgi-conf/lighttpd.conf; lighttpd spawns the responders
#   apache-proxy   the apache2 binary with fcgi-conf/apache-proxy-fcgi.conf, in front of a
#                  `mediad --listen unix:... --workers MEDIAD_PROCS` pool the harness starts
#                  (plus --upload-listen unix:....upload --upload-workers MEDIAD_UPLOAD_PROCS)
#   apache-fcgid   the apache2 binary with fcgi-conf/apache-fcgid.conf; mod_fcgid spawns mediad
# Apache runs in the foreground (-DFOREGROUND) with a configuration generated in the temp folder
# (log/apache-error.log, log/apache-access.log) that includes the fcgi-conf file. As root, Apache
# must switch to an unprivileged User: HARNESS_WEB_USER (default www-data). Then the mediad pool
# and Redis run as that user too (mediad writes uploads 0640 as its own user, and Apache must read
# them for X-Sendfile), the media root is theirs and mediad.conf is 0640 root:<its group>. Test
# programs keep running as the caller.

# Settings mediad reads from the environment over its file. Scrubbed before anything starts, so
# a developer's shell (DATABASE_URL of another project...) cannot leak into the servers we run.
HARNESS_CONFIG_ENV="DATABASE_URL REDIS_URL JWT_SECRET STREAM_KEY MEDIA_ROOT SCHEMA_DIR PUBLIC_BASE_URL
CORS_ORIGINS CORS_ORIGIN TRUSTED_PROXIES FFMPEG_PATH FFPROBE_PATH LISTEN_GROUP TOKEN_TTL STREAM_TTL MAX_JSON_BYTES MAX_JSON_DEPTH
UPLOAD_MAX_BYTES UPLOAD_MAX_PARTS UPLOAD_MAX_HEADER_BYTES LOGIN_RATE_IP_EMAIL LOGIN_RATE_IP
VIEW_RATE_LIMIT REGISTER_RATE_IP LOGIN_FAIL_ACCOUNT STORAGE_QUOTA_BYTES DB_CONNECT_TIMEOUT REDIS_TIMEOUT_MS FFPROBE_TIMEOUT RENDER_CONCURRENCY
RENDER_MAX_ATTEMPTS RENDER_TIMEOUT RENDER_LEASE RENDER_POLL_INTERVAL RENDER_GRACE RENDER_MAX_INTERRUPTIONS RENDER_MAX_QUEUED_PER_USER RENDER_MIN_FREE_MB DB_STATEMENT_TIMEOUT_MS DB_LOCK_TIMEOUT_MS DB_IDLE_TX_TIMEOUT_MS DB_TCP_TIMEOUT STREAM_MODE
BODY_READ_TIMEOUT_MS BODY_MIN_RATE_BPS"

# The programs of a test build have the /_test/ routes and refuse to start without this.
export MEDIAD_TEST_ROUTES=1

# `env` arguments that drop every setting mediad reads from the environment: for the web servers
# and pools the harness starts, which must take their settings from mediad.conf only.
HARNESS_ENV_SCRUB=()
for harness_v in $HARNESS_CONFIG_ENV; do
	HARNESS_ENV_SCRUB+=(-u "$harness_v")
done
unset harness_v

harness_log()
{
	printf 'harness: %s\n' "$*" >&2
}

# harness_wait DESC CMD...: runs CMD every 0.1 s until it succeeds; fails after HARNESS_TIMEOUT s.
harness_wait()
{
	local desc=$1 i limit
	shift
	limit=$((${HARNESS_TIMEOUT:-30} * 10))
	for ((i = 0; i < limit; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	harness_log "timed out after ${HARNESS_TIMEOUT:-30}s waiting for $desc"
	return 1
}

# harness_port_free PORT: true when nothing accepts connections on 127.0.0.1:PORT.
harness_port_free()
{
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ] || return 1
	fi
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# harness_free_port: prints a free TCP port from 20000-31999 (below Linux's ephemeral range),
# starting at a random point so parallel harnesses rarely collide; callers retry on a lost race.
harness_free_port()
{
	local p i
	p=$((20000 + RANDOM % 12000))
	for ((i = 0; i < 500; i++)); do
		if harness_port_free "$p"; then
			echo "$p"
			return 0
		fi
		p=$((p + 1))
		[ "$p" -lt 32000 ] || p=20000
	done
	harness_log "no free TCP port found"
	return 1
}

# harness_kill_wait PID [SECONDS]: SIGTERM, wait until gone (polling), then SIGKILL.
harness_kill_wait()
{
	local pid=$1 limit=$((${2:-10} * 10)) i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < limit; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	harness_log "pid $pid ignored SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	return 0
}

harness_pg_setup()
{
	local t=$HARNESS_DIR attempt
	HARNESS_PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	if [ -z "$HARNESS_PGBIN" ] || [ ! -x "$HARNESS_PGBIN/initdb" ]; then
		harness_log "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
		return 1
	fi
	# initdb and postgres refuse to run as root: run them as the postgres user, which then must own
	# the cluster folders (and be able to traverse the temp folder: it is 755).
	HARNESS_AS_PG=()
	if [ "$(id -u)" = 0 ]; then
		command -v runuser >/dev/null 2>&1 || {
			harness_log "runuser not found (util-linux): needed to run PostgreSQL as postgres"
			return 1
		}
		HARNESS_AS_PG=(runuser -u postgres --)
	fi
	mkdir -p "$t/pg/run" || return 1
	: >"$t/log/postgres.log"
	if [ ${#HARNESS_AS_PG[@]} -gt 0 ]; then
		chown -R postgres: "$t/pg" "$t/log/postgres.log" || return 1
	fi
	export PGDATA=$t/pg/data
	export PGHOST=$t/pg/run
	# -N: no fsync of the new cluster; trust: a throwaway cluster reachable only through a socket
	# in our private folder and 127.0.0.1.
	# From /: the postgres user may not be allowed into the caller's working directory.
	if ! (cd / && "${HARNESS_AS_PG[@]}" "$HARNESS_PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust \
		-E UTF8 --locale=C -N) >"$t/log/initdb.log" 2>&1; then
		harness_log "initdb failed:"
		tail -n 20 "$t/log/initdb.log" >&2
		return 1
	fi
	cat >>"$PGDATA/postgresql.conf" <<EOF
# added by harness.sh: a private, disposable test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGHOST'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 32MB
EOF
	# pg_ctl with -w polls the server itself until it accepts connections (bounded by -t).
	PG_CTL_CMD="${HARNESS_AS_PG[*]}${HARNESS_AS_PG[*]:+ }$HARNESS_PGBIN/pg_ctl -D $PGDATA"
	export PG_CTL_CMD
	cat >"$t/pg-start" <<EOF
#!/bin/sh
# pg-start: starts the harness's PostgreSQL and returns once it accepts connections.
cd /
exec $PG_CTL_CMD -l $t/log/postgres.log -w -t ${HARNESS_TIMEOUT:-30} start >/dev/null
EOF
	cat >"$t/pg-stop" <<EOF
#!/bin/sh
# pg-stop: stops the harness's PostgreSQL (fast: open sessions are cut) and waits until it is down.
cd /
exec $PG_CTL_CMD -w -t ${HARNESS_TIMEOUT:-30} stop -m fast >/dev/null
EOF
	chmod 755 "$t/pg-start" "$t/pg-stop"

	# The port may be taken between the probe and the bind: try a few.
	for attempt in 1 2 3; do
		PGPORT=$(harness_free_port) || return 1
		export PGPORT
		echo "port = $PGPORT" >>"$PGDATA/postgresql.conf"
		if "$t/pg-start" && harness_wait "PostgreSQL" "$HARNESS_PGBIN/pg_isready" -q -h "$PGHOST" -p "$PGPORT" -U postgres; then
			break
		fi
		harness_log "PostgreSQL did not start on port $PGPORT (attempt $attempt):"
		tail -n 5 "$t/log/postgres.log" >&2
		[ "$attempt" -lt 3 ] || return 1
	done
	HARNESS_PG_STARTED=1
	"$HARNESS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres \
		-c "CREATE ROLE media LOGIN" -c "CREATE DATABASE media OWNER media" >&2 || return 1
	export PGUSER=media PGDATABASE=media
	export DATABASE_URL="host=$PGHOST port=$PGPORT dbname=media user=media"
}

harness_redis_setup()
{
	local t=$HARNESS_DIR
	mkdir -p "$t/redis" || return 1
	export REDIS_SOCKET=$t/redis/redis.sock
	export REDIS_URL=unix:$REDIS_SOCKET
	# port 0: no TCP at all; nothing persisted; the pid file lets the stop script find it.
	cat >"$t/redis/redis.conf" <<EOF
port 0
unixsocket $REDIS_SOCKET
unixsocketperm 700
daemonize no
save ""
appendonly no
dir $t/redis
pidfile $t/redis/redis.pid
logfile $t/log/redis.log
EOF
	# Under Apache as root, Redis runs as the web user, whose mediad must open its socket (700).
	: >>"$t/log/redis.log"
	if [ ${#HARNESS_AS_WEB[@]} -gt 0 ]; then
		chown -R "$HARNESS_WEB_USER:" "$t/redis" "$t/log/redis.log" || return 1
	fi
	cat >"$t/redis-start" <<EOF
#!/bin/sh
# redis-start: starts the harness's Redis in the background, returns once it answers PING.
${HARNESS_AS_WEB[*]}${HARNESS_AS_WEB[*]:+ }redis-server $t/redis/redis.conf </dev/null >>$t/log/redis.log 2>&1 &
i=0
while [ \$i -lt $((${HARNESS_TIMEOUT:-30} * 10)) ]; do
	[ "\$(redis-cli -s $REDIS_SOCKET ping 2>/dev/null)" = PONG ] && exit 0
	sleep 0.1
	i=\$((i + 1))
done
echo "redis-start: Redis did not answer PING" >&2
exit 1
EOF
	cat >"$t/redis-stop" <<EOF
#!/bin/sh
# redis-stop: stops the harness's Redis and returns once the process is gone.
[ -s $t/redis/redis.pid ] || exit 0
pid=\$(cat $t/redis/redis.pid)
kill -TERM "\$pid" 2>/dev/null || exit 0
i=0
while kill -0 "\$pid" 2>/dev/null; do
	[ \$i -lt 100 ] || { kill -KILL "\$pid"; break; }
	sleep 0.1
	i=\$((i + 1))
done
rm -f $t/redis/redis.pid
EOF
	chmod 755 "$t/redis-start" "$t/redis-stop"
	HARNESS_REDIS_STARTED=1
	"$t/redis-start" || return 1
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

# True while lighttpd lives and healthz is not yet 200; false (stop polling) when either changes.
harness_lighttpd_pending()
{
	kill -0 "$HARNESS_LIGHTTPD_PID" 2>/dev/null || return 1
	! harness_healthz_ok
}

harness_lighttpd_setup()
{
	local t=$HARNESS_DIR attempt i limit
	mkdir -p "$t/www/static" "$t/tmp" "$t/lighttpd.d" || return 1
	echo "hello" >"$t/www/static/hello.txt"
	for attempt in 1 2 3; do
		: >"$t/log/lighttpd-error.log"
		# lighttpd -D stays in the foreground: we own its pid, and its stderr, which the mediad
		# children inherit, is the mediad log. setsid makes it a process group leader: the group
		# is lighttpd plus its responders, so teardown finds them even if lighttpd died first.
		MEDIAD_PORT=$HARNESS_HTTP_PORT MEDIAD_VAR=$t MEDIAD_BIN=$HARNESS_BUILDDIR/mediad \
			MEDIAD_PROCS=${MEDIAD_PROCS:-2} MEDIAD_UPLOAD_PROCS=${MEDIAD_UPLOAD_PROCS:-2} \
			MEDIAD_ERRORS=$HARNESS_ERRORS \
			setsid lighttpd -D -f "$HARNESS_SRCDIR/fcgi-conf/lighttpd.conf" </dev/null \
			>>"$t/log/mediad.log" 2>&1 &
		HARNESS_LIGHTTPD_PID=$!
		export MEDIAD_WEB_PID=$HARNESS_LIGHTTPD_PID
		limit=$((${HARNESS_TIMEOUT:-30} * 10))
		for ((i = 0; i < limit; i++)); do
			harness_lighttpd_pending || break
			sleep 0.1
		done
		if harness_healthz_ok; then
			return 0
		fi
		if kill -0 "$HARNESS_LIGHTTPD_PID" 2>/dev/null; then
			harness_log "lighttpd runs but $MEDIAD_BASE_URL/healthz never answered 200:"
			curl -s --max-time 2 "$MEDIAD_BASE_URL/healthz" >&2
			echo >&2
			return 1
		fi
		wait "$HARNESS_LIGHTTPD_PID" 2>/dev/null
		if grep -q "Address already in use" "$t/log/lighttpd-error.log" "$t/log/mediad.log" 2>/dev/null &&
			[ "$attempt" -lt 3 ]; then
			harness_log "port $HARNESS_HTTP_PORT taken meanwhile; retrying"
			HARNESS_HTTP_PORT=$(harness_free_port) || return 1
			export MEDIAD_BASE_URL=http://127.0.0.1:$HARNESS_HTTP_PORT
			sed -i "s|^public_base_url = .*|public_base_url = $MEDIAD_BASE_URL|" "$MEDIAD_CONFIG"
			continue
		fi
		harness_log "lighttpd exited during start-up"
		return 1
	done
	return 1
}

# ---- Apache ------------------------------------------------------------------------------------

# harness_apache_conf FILE: writes the server part of the Apache configuration (what a Debian
# apache2.conf and mods-enabled/ provide) and includes the site file from fcgi-conf/.
harness_apache_conf()
{
	local t=$HARNESS_DIR mods=/usr/lib/apache2/modules m site v
	{
		echo "# httpd.conf: generated by tests/integration/harness.sh ($HARNESS_SERVER)"
		echo "ServerRoot \"$t/apache\""
		echo "DefaultRuntimeDir \"$t/apache/run\""
		echo "PidFile \"$t/run/apache.pid\""
		echo "Mutex file:$t/apache/run default"
		echo "ErrorLog \"$t/log/apache-error.log\""
		echo "LogLevel warn"
		echo "Listen 127.0.0.1:$HARNESS_HTTP_PORT"
		echo "ServerName 127.0.0.1"
		echo "ServerTokens Prod"
		echo "ServerSignature Off"
		if [ ${#HARNESS_AS_WEB[@]} -gt 0 ]; then
			echo "User $HARNESS_WEB_USER"
			echo "Group $(id -gn "$HARNESS_WEB_USER")"
		fi
		for m in mpm_event authz_core mime alias env buffer reqtimeout; do
			echo "LoadModule ${m}_module $mods/mod_$m.so"
		done
		case $HARNESS_SERVER in
		apache-proxy)
			echo "LoadModule proxy_module $mods/mod_proxy.so"
			echo "LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so"
			;;
		apache-fcgid)
			echo "LoadModule fcgid_module $mods/mod_fcgid.so"
			;;
		esac
		echo "LoadModule xsendfile_module $mods/mod_xsendfile.so"
		# A small event MPM: one child process of 25 threads is plenty for the tests.
		echo "StartServers 1"
		echo "ServerLimit 2"
		echo "ThreadsPerChild 25"
		echo "MaxRequestWorkers 50"
		echo "MinSpareThreads 5"
		echo "MaxSpareThreads 50"
		echo "Timeout 60"
		echo "KeepAlive On"
		echo "TypesConfig /etc/mime.types"
		# %U, the path without the query string: stream links carry their signature there.
		echo "LogFormat \"%h \\\"%m %U %H\\\" %>s %B %D\" harness"
		echo "CustomLog \"$t/log/apache-access.log\" harness"
		# As in Debian's apache2.conf: nothing on the file system is served unless granted.
		echo "<Directory />"
		echo "  Options None"
		echo "  AllowOverride None"
		echo "  Require all denied"
		echo "</Directory>"
		echo "Define MEDIA_ROOT \"$MEDIA_ROOT\""
		echo "Define MEDIAD_DOCROOT \"$t/www\""
		echo "Define MEDIAD_ERRORS \"$HARNESS_ERRORS\""
		case $HARNESS_SERVER in
		apache-proxy)
			echo "Define MEDIAD_SOCKET \"$HARNESS_POOL_SOCKET\""
			echo "Define MEDIAD_UPLOAD_SOCKET \"$HARNESS_POOL_SOCKET.upload\""
			site=apache-proxy-fcgi.conf
			;;
		apache-fcgid)
			echo "Define MEDIAD_BIN \"$HARNESS_MEDIAD\""
			echo "Define MEDIAD_CONFIG \"$MEDIAD_CONFIG\""
			echo "Define MEDIAD_PROCS ${MEDIAD_PROCS:-2}"
			# mod_fcgid's sockets and process table. The children it spawns get no environment but
			# FcgidInitialEnv (and PATH): pass the sanitizer settings of a `./dev test` run on.
			# mod_fcgid cuts a value at 127 bytes, so each goes through a file the sanitizer
			# runtime reads ("include=FILE").
			echo "FcgidIPCDir \"$t/apache/fcgid\""
			echo "FcgidProcessTableFile \"$t/apache/run/fcgid_shm\""
			echo "FcgidInitialEnv MEDIAD_TEST_ROUTES 1"
			for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
				if [ -n "${!v:-}" ]; then
					printf '%s\n' "${!v}" >"$t/apache/$v"
					echo "FcgidInitialEnv $v \"include=$t/apache/$v\""
				fi
			done
			site=apache-fcgid.conf
			;;
		esac
		echo "Include \"$HARNESS_SRCDIR/fcgi-conf/$site\""
	} >"$1"
}

# harness_pool_start: the `mediad --listen` pool for apache-proxy, as the web user, in its own
# process group (setpriv execs: the pid is mediad's master itself). Returns once the socket exists.
harness_pool_start()
{
	local t=$HARNESS_DIR
	rm -f "$HARNESS_POOL_SOCKET" "$HARNESS_POOL_SOCKET.upload"
	# Without the settings exported for the test programs: the pool reads mediad.conf only.
	# The upload routes have workers of their own (apache-proxy-fcgi.conf sends them there).
	setsid "${HARNESS_AS_WEB[@]}" env "${HARNESS_ENV_SCRUB[@]}" "$HARNESS_MEDIAD" --listen "unix:$HARNESS_POOL_SOCKET" \
		--workers "${MEDIAD_PROCS:-2}" --upload-listen "unix:$HARNESS_POOL_SOCKET.upload" \
		--upload-workers "${MEDIAD_UPLOAD_PROCS:-2}" </dev/null >>"$t/log/mediad.log" 2>&1 &
	HARNESS_POOL_PID=$!
	harness_wait "the mediad pool's socket" test -S "$HARNESS_POOL_SOCKET" || {
		harness_log "mediad --listen did not create $HARNESS_POOL_SOCKET:"
		tail -n 20 "$t/log/mediad.log" >&2
		return 1
	}
}

# True while Apache lives and healthz is not yet 200; false (stop polling) when either changes.
harness_apache_pending()
{
	kill -0 "$HARNESS_APACHE_PID" 2>/dev/null || return 1
	! harness_healthz_ok
}

harness_apache_setup()
{
	local t=$HARNESS_DIR attempt deadline conf=$HARNESS_DIR/apache/httpd.conf
	mkdir -p "$t/www/static" "$t/tmp" "$t/apache/run" "$t/apache/fcgid" || return 1
	echo "hello" >"$t/www/static/hello.txt"
	if [ ${#HARNESS_AS_WEB[@]} -gt 0 ]; then
		# Apache's children and mod_fcgid work here as the web user; mod_fcgid spools request
		# bodies into TMPDIR ($t/tmp).
		chown "$HARNESS_WEB_USER:" "$t/tmp" "$t/apache/fcgid" || return 1
	fi
	if [ "$HARNESS_SERVER" = apache-proxy ]; then
		mkdir -p "$t/pool" || return 1
		if [ ${#HARNESS_AS_WEB[@]} -gt 0 ]; then
			chown "$HARNESS_WEB_USER:" "$t/pool" || return 1
		fi
		HARNESS_POOL_SOCKET=$t/pool/mediad.sock
		harness_pool_start || return 1
	fi
	for attempt in 1 2 3; do
		: >"$t/log/apache-error.log"
		harness_apache_conf "$conf" || return 1
		if ! apache2 -t -f "$conf" >"$t/log/apache-configtest.log" 2>&1; then
			harness_log "apache2 -t rejects the configuration:"
			cat "$t/log/apache-configtest.log" >&2
			return 1
		fi
		# -DFOREGROUND: Apache's parent stays our child and its pid is ours; setsid makes it lead a
		# process group (its children, and mod_fcgid's mediad processes) for the teardown.
		# Start-up errors go to stderr before ErrorLog is open: the same file.
		TMPDIR=$t/tmp setsid env "${HARNESS_ENV_SCRUB[@]}" apache2 -DFOREGROUND -f "$conf" </dev/null \
			>>"$t/log/apache-error.log" 2>&1 &
		HARNESS_APACHE_PID=$!
		export MEDIAD_WEB_PID=$HARNESS_APACHE_PID
		# Bounded in time, not in tries: under mod_fcgid one try may take the whole curl timeout.
		deadline=$((SECONDS + ${HARNESS_TIMEOUT:-30}))
		while [ "$SECONDS" -lt "$deadline" ]; do
			harness_apache_pending || break
			sleep 0.1
		done
		if harness_healthz_ok; then
			return 0
		fi
		if kill -0 "$HARNESS_APACHE_PID" 2>/dev/null; then
			harness_log "apache2 runs but $MEDIAD_BASE_URL/healthz never answered 200:"
			curl -s --max-time 2 "$MEDIAD_BASE_URL/healthz" >&2
			echo >&2
			return 1
		fi
		wait "$HARNESS_APACHE_PID" 2>/dev/null
		HARNESS_APACHE_PID=
		if grep -q "Address already in use" "$t/log/apache-error.log" 2>/dev/null && [ "$attempt" -lt 3 ]; then
			harness_log "port $HARNESS_HTTP_PORT taken meanwhile; retrying"
			HARNESS_HTTP_PORT=$(harness_free_port) || return 1
			export MEDIAD_BASE_URL=http://127.0.0.1:$HARNESS_HTTP_PORT
			sed -i "s|^public_base_url = .*|public_base_url = $MEDIAD_BASE_URL|" "$MEDIAD_CONFIG"
			# The pool read public_base_url at start-up: restart it.
			if [ -n "${HARNESS_POOL_PID:-}" ]; then
				harness_stop_group "$HARNESS_POOL_PID" "the mediad pool"
				HARNESS_POOL_PID=
				harness_pool_start || return 1
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
	for f in lighttpd-error.log apache-error.log mediad.log redis.log postgres.log; do
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

# harness_stop_group PID NAME: SIGTERM to PID, a process group leader (lighttpd, Apache, the mediad
# pool), and a wait for it; then its group's leftovers (responders) get time to exit (and
# LeakSanitizer to report), then SIGTERM, and at last SIGKILL.
harness_stop_group()
{
	local pgid=$1 name=$2 i
	harness_kill_wait "$pgid"
	wait "$pgid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		pgrep -g "$pgid" >/dev/null 2>&1 || break
		[ "$i" = 50 ] && kill -TERM -- "-$pgid" 2>/dev/null
		sleep 0.1
	done
	if pgrep -g "$pgid" >/dev/null 2>&1; then
		harness_log "$name: processes ignored SIGTERM; SIGKILL to process group $pgid"
		kill -KILL -- "-$pgid" 2>/dev/null
	fi
	return 0
}

# harness_stop: stops the web server (lighttpd and its mediad children; or Apache, with mod_fcgid's
# mediad processes, then the mediad pool), Redis, PostgreSQL, in that order.
# Safe to call twice; leaves the temp folder (harness_cleanup removes it).
harness_stop()
{
	local t=${HARNESS_DIR:-}
	[ -n "$t" ] || return 0
	# lighttpd (and mod_fcgid) send SIGTERM to their responders.
	if [ -n "${HARNESS_LIGHTTPD_PID:-}" ]; then
		harness_stop_group "$HARNESS_LIGHTTPD_PID" lighttpd
	fi
	HARNESS_LIGHTTPD_PID=
	if [ -n "${HARNESS_APACHE_PID:-}" ]; then
		harness_stop_group "$HARNESS_APACHE_PID" apache2
	fi
	HARNESS_APACHE_PID=
	# The pool's master passes SIGTERM on; each worker finishes its request first.
	if [ -n "${HARNESS_POOL_PID:-}" ]; then
		harness_stop_group "$HARNESS_POOL_PID" "the mediad pool"
	fi
	HARNESS_POOL_PID=
	if [ -n "${HARNESS_REDIS_STARTED:-}" ] && [ -x "$t/redis-stop" ]; then
		"$t/redis-stop"
	fi
	HARNESS_REDIS_STARTED=
	if [ -n "${HARNESS_PG_STARTED:-}" ] && [ -f "$PGDATA/postmaster.pid" ]; then
		"$t/pg-stop" 2>/dev/null || {
			pid=$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null)
			[ -n "$pid" ] && harness_kill_wait "$pid"
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
		for v in mod_mpm_event mod_authz_core mod_mime mod_alias mod_env mod_buffer mod_reqtimeout mod_xsendfile \
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
	for v in "$base" redis-server redis-cli curl; do
		command -v "$v" >/dev/null 2>&1 || {
			harness_log "$v not found (./dev installs the dependencies)"
			return 1
		}
	done
	for v in $HARNESS_CONFIG_ENV; do
		unset "$v"
	done

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

	harness_pg_setup || return 1
	harness_redis_setup || return 1
	HARNESS_HTTP_PORT=$(harness_free_port) || return 1
	export MEDIAD_BASE_URL=http://127.0.0.1:$HARNESS_HTTP_PORT
	harness_write_config || return 1
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
	harness_log "ready: $MEDIAD_BASE_URL ($HARNESS_SERVER, postgres port $PGPORT, ${MEDIAD_PROCS:-2} responders)"
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
