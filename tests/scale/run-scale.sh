#!/bin/bash
# run-scale.sh: issue 17's scale-out run: many hosts on one machine, each a Linux network namespace.
#
#   lb      10.77.0.2    HAProxy on :8080, round robin over web1 and web2, health checks on /healthz;
#                        also the client host: the load and the checks run here (scale.py)
#   web1    10.77.0.11   lighttpd + a mediad pool (SCALE_PROCS responders, 2 upload responders)
#   web2    10.77.0.12   the same
#   spawn1  10.77.0.21   media-spawner (a copy of tests/fake-ffmpeg as its ffmpeg; real ffmpeg later)
#   spawn2  10.77.0.22   the same
#   db      10.77.0.31   PostgreSQL :5432 and PgBouncer :6432 in front of it: database "media" in
#                        transaction mode (every program's statements: db_prepared = off) and
#                        "media_session" in session mode (LISTEN, migrations: db_direct_url)
#   cache   10.77.0.41   Redis :6379, nothing persisted
#
# The namespaces are joined by a bridge that lives in a namespace of its own, so nothing is added to
# the machine's own network: traffic goes only between these addresses. The media root is one
# folder every host uses at the same path (it stands for NFS or CephFS: README "Scaling out").
# PostgreSQL trusts 10.77.0.0/24: the subnet exists only inside these namespaces.
#
# An automake TESTS entry run by `./dev test --scale` (needs root: namespaces; otherwise 77, skip):
# the Makefile exports abs_top_builddir and abs_top_srcdir. scale.py does the phases and asserts.
# Everything is torn down on every exit (the EXIT trap): each namespace's processes are killed,
# the namespaces deleted, the folder removed (SCALE_KEEP=1 keeps the folder for a look).
# Exit: 0 pass, 1 an assertion failed, 77 skip, 99 the topology could not be built.
set -u -o pipefail

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "run-scale.sh: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi
B=$abs_top_builddir
S=$abs_top_srcdir
if [ "$(id -u)" != 0 ]; then
	echo "run-scale.sh: SKIP: network namespaces need root (CI runs as root)" >&2
	exit 77
fi
for p in ip haproxy pgbouncer wrk lighttpd redis-server python3 ffmpeg ffprobe runuser setpriv; do
	if ! command -v "$p" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$p" ]; then
		echo "run-scale.sh: $p not found (./dev installs it)" >&2
		exit 99
	fi
done
for p in mediad media-spawner mediactl tests/fake-ffmpeg; do
	[ -x "$B/$p" ] || {
		echo "run-scale.sh: $B/$p is not built" >&2
		exit 99
	}
done
PATH=$PATH:/usr/sbin

STACK_TAG=run-scale.sh
# shellcheck source=tests/stack.sh
. "$S/tests/stack.sh"

T=$(mktemp -d /tmp/mediad-scale.XXXXXX) || exit 99
chmod 755 "$T"
# Namespace names carry our pid: two runs (or a leftover) never collide.
P=ms$(($$ % 100000))
HOSTS=(lb web1 web2 spawn1 spawn2 db cache)
declare -A ADDR=([lb]=10.77.0.2 [web1]=10.77.0.11 [web2]=10.77.0.12 [spawn1]=10.77.0.21
	[spawn2]=10.77.0.22 [db]=10.77.0.31 [cache]=10.77.0.41)
SCALE_PROCS=${SCALE_PROCS:-6}
POOL_SIZE=5
log() { printf 'run-scale.sh: %s\n' "$*" >&2; }

# ns_kill NS: SIGKILL for every process in NS (ip netns pids), waited for (5 s).
ns_kill()
{
	local pids i
	for ((i = 0; i < 50; i++)); do
		pids=$(ip netns pids "$1" 2>/dev/null) || return 0
		[ -n "$pids" ] || return 0
		# shellcheck disable=SC2086 # a list of pids
		kill -9 $pids 2>/dev/null
		sleep 0.1
	done
}

teardown()
{
	local h
	trap - EXIT INT TERM
	[ -n "${PY_PID:-}" ] && kill -TERM "$PY_PID" 2>/dev/null && wait "$PY_PID" 2>/dev/null
	# PostgreSQL first, cleanly, so its shared memory goes; then every process of every host.
	if [ -f "$T/db/pg/data/postmaster.pid" ]; then
		(cd / && runuser -u postgres -- "$STACK_PGBIN/pg_ctl" -D "$T/db/pg/data" -w -t 20 stop -m immediate \
			>/dev/null 2>&1)
	fi
	for h in "${HOSTS[@]}"; do
		ns_kill "$P-$h"
		ip netns del "$P-$h" 2>/dev/null
	done
	ip netns del "$P-sw" 2>/dev/null
	if [ "${SCALE_KEEP:-0}" = 1 ]; then
		log "kept $T"
	else
		rm -rf "$T"
	fi
}
trap teardown EXIT
trap 'exit 1' INT TERM

# ---- the network -----------------------------------------------------------------------------------

topology()
{
	local h i=0
	ip netns add "$P-sw" || return 1
	ip -n "$P-sw" link add br0 type bridge || return 1
	ip -n "$P-sw" link set br0 up || return 1
	for h in "${HOSTS[@]}"; do
		i=$((i + 1))
		ip netns add "$P-$h" || return 1
		# Both ends are made inside the namespaces: nothing appears in the machine's own.
		ip link add "v$P$i" netns "$P-sw" type veth peer name eth0 netns "$P-$h" || return 1
		ip -n "$P-sw" link set "v$P$i" master br0 up || return 1
		ip -n "$P-$h" addr add "${ADDR[$h]}/24" dev eth0 || return 1
		ip -n "$P-$h" link set eth0 up || return 1
		ip -n "$P-$h" link set lo up || return 1
	done
	# No STP on the bridge: its ports forward as soon as they are up.
}

# in HOST CMD...: CMD in HOST's namespace, in a session of its own, in the background; output
# appended to $T/log/HOST.log.
in_bg()
{
	local h=$1
	shift
	(ip netns exec "$P-$h" setsid "$@" </dev/null >>"$T/log/$h.log" 2>&1 &)
}

# wait_for SECONDS WHAT CMD...: polls CMD every 0.1 s until it succeeds; 1 after SECONDS.
wait_for()
{
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	log "timed out after ${secs}s waiting for $what"
	return 1
}

# ---- db: PostgreSQL and PgBouncer ------------------------------------------------------------------

db_start()
{
	local d=$T/db
	stack_pg_find || return 1
	mkdir -p "$d/pg" "$d/run" && chown -R postgres: "$d" && : >"$T/log/postgres.log" &&
		chown postgres: "$T/log/postgres.log" || return 1
	# fsync off: a disposable cluster that is never crashed here (the hosts in front of it are).
	stack_pg_init "$d/pg/data" "$T/log/initdb.log" "# added by run-scale.sh
listen_addresses = '${ADDR[db]}'
port = 5432
unix_socket_directories = '$d/run'
max_connections = 200
fsync = off
full_page_writes = off
shared_buffers = 64MB" --locale=C -N || return 1
	echo "host all all 10.77.0.0/24 trust" >>"$d/pg/data/pg_hba.conf"
	STACK_AS_PG=(ip netns exec "$P-db" runuser -u postgres --)
	stack_pg_start "$d/pg/data" "$T/log/postgres.log" 30 || return 1
	STACK_AS_PG=(runuser -u postgres --)
	ip netns exec "$P-db" bash -c ". '$STACK_LIB'; STACK_PGBIN='$STACK_PGBIN'; stack_pg_role_db '${ADDR[db]}' 5432 media" ||
		return 1
	# The bounds every connection sets on connect land on whichever server connection PgBouncer
	# hands out: set them on the role too, so a server connection has them before any client.
	ip netns exec "$P-db" "$STACK_PGBIN/psql" -X -q -h "${ADDR[db]}" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c "ALTER ROLE media SET statement_timeout = '5s'" -c "ALTER ROLE media SET lock_timeout = '2s'" \
		-c "ALTER ROLE media SET idle_in_transaction_session_timeout = '10s'" || return 1

	printf '"media" ""\n"postgres" ""\n' >"$d/userlist.txt"
	cat >"$d/pgbouncer.ini" <<EOF
; pgbouncer.ini: written by tests/scale/run-scale.sh
[databases]
media = host=${ADDR[db]} port=5432 dbname=media pool_mode=transaction
media_session = host=${ADDR[db]} port=5432 dbname=media pool_mode=session pool_size=20

[pgbouncer]
listen_addr = ${ADDR[db]}
listen_port = 6432
unix_socket_dir =
auth_type = trust
auth_file = $d/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $POOL_SIZE
reserve_pool_size = 0
max_client_conn = 400
logfile = $T/log/pgbouncer.log
pidfile = $d/pgbouncer.pid
EOF
	chown -R postgres: "$d" && : >"$T/log/pgbouncer.log" && chown postgres: "$T/log/pgbouncer.log" || return 1
	in_bg db runuser -u postgres -- pgbouncer "$d/pgbouncer.ini"
	wait_for 20 "PgBouncer" ip netns exec "$P-db" "$STACK_PGBIN/pg_isready" -q -h "${ADDR[db]}" -p 6432 -U media -d media
}

# ---- cache: Redis ----------------------------------------------------------------------------------

cache_start()
{
	mkdir -p "$T/cache" || return 1
	cat >"$T/cache/redis.conf" <<EOF
# redis.conf: written by tests/scale/run-scale.sh; holds only what may be lost
bind ${ADDR[cache]}
port 6379
protected-mode no
daemonize no
save ""
appendonly no
dir $T/cache
EOF
	# scale.py restarts it mid-run with this same script.
	cat >"$T/cache/start" <<EOF
#!/bin/bash
ip netns exec $P-cache setsid redis-server $T/cache/redis.conf </dev/null >>$T/log/cache.log 2>&1 &
for ((i = 0; i < 100; i++)); do
	[ "\$(ip netns exec $P-cache redis-cli -h ${ADDR[cache]} ping 2>/dev/null)" = PONG ] && exit 0
	sleep 0.1
done
echo "redis did not answer PING in 10 s" >&2
exit 1
EOF
	chmod 755 "$T/cache/start"
	"$T/cache/start"
}

# ---- the web hosts and the spawners ----------------------------------------------------------------

# conf FILE DBURL PREPARED DIRECT: a mediad.conf every host's programs read.
conf()
{
	{
		echo "# mediad.conf: written by tests/scale/run-scale.sh"
		echo "database_url = $2"
		echo "db_prepared = $3"
		echo "db_direct_url = $4"
		echo "redis_url = redis://${ADDR[cache]}:6379"
		echo "jwt_secret = $JWT"
		echo "stream_key = $KEY"
		echo "media_root = $T/media"
		echo "schema_dir = $S/schema"
		echo "public_base_url = http://${ADDR[lb]}:8080"
		echo "ffmpeg_path = $T/FFMPEG_OF_THE_HOST"
		echo "ffprobe_path = $(command -v ffprobe)"
		echo "trusted_proxies = ${ADDR[lb]}/32"
		echo "auto_renditions ="
		# One client address (the load generator behind HAProxy) makes every request: the
		# per-address limits are not what this run measures.
		echo "view_rate_limit = 100000000"
		echo "login_rate_ip = 1000000"
		echo "login_rate_ip_email = 1000000"
		echo "register_rate_ip = 1000000"
		echo "render_max_queued_per_user = 5000"
		echo "render_concurrency = 8"
		echo "render_lease = 10"
		echo "render_poll_interval = 2"
	} >"$1"
	chmod 600 "$1"
}

web_setup()
{
	local h=$1 v=$T/$1
	mkdir -p "$v/www/static" "$v/tmp" "$v/lighttpd.d" "$v/run" "$v/log" || return 1
	# fcgi-conf/lighttpd.conf binds 127.0.0.1; one more listening socket on the host's address.
	cat >"$v/lighttpd.conf" <<EOF
# lighttpd.conf of $h: written by tests/scale/run-scale.sh
include "$S/fcgi-conf/lighttpd.conf"
\$SERVER["socket"] == "${ADDR[$h]}:8080" { }
EOF
	# start [CONFIG]: lighttpd with this host's pool (scale.py restarts hosts with other configs).
	cat >"$v/start" <<EOF
#!/bin/bash
cfg=\${1:-$T/conf/pooled.conf}
ip netns exec $P-$h env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \\
	MEDIAD_TEST_ROUTES=1 MEDIAD_PORT=8080 MEDIAD_VAR=$v MEDIAD_BIN=$B/mediad MEDIAD_PROCS=$SCALE_PROCS MEDIAD_UPLOAD_PROCS=2 \\
	MEDIAD_ERRORS=$S/fcgi-conf/errors MEDIAD_CONFIG=\$cfg MEDIA_ROOT=$T/media MEDIAD_BARE_BIN= \\
	MEDIAD_CONSOLE=$v/www setsid lighttpd -D -f $v/lighttpd.conf </dev/null >>$v/log/mediad.log 2>&1 &
for ((i = 0; i < 300; i++)); do
	[ "\$(ip netns exec $P-$h curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://${ADDR[$h]}:8080/healthz)" = 200 ] && exit 0
	sleep 0.1
done
echo "$h: /healthz did not answer 200 in 30 s" >&2
tail -n 20 $v/log/mediad.log >&2
exit 1
EOF
	chmod 755 "$v/start"
}

spawn_setup()
{
	local h=$1 v=$T/$1
	mkdir -p "$v" || return 1
	cp "$B/tests/fake-ffmpeg" "$v/fake-ffmpeg" || return 1
	# The host's ffmpeg: a wrapper that scale.py points at the fake (volume) or the real one.
	printf '#!/bin/sh\ntrap "" PIPE\nexec %s "$@"\n' "$v/fake-ffmpeg" >"$v/ffmpeg" && chmod 755 "$v/ffmpeg" || return 1
	sed "s|^ffmpeg_path = .*|ffmpeg_path = $v/ffmpeg|" "$T/conf/pooled.conf" >"$v/mediad.conf" && chmod 600 "$v/mediad.conf" ||
		return 1
	cat >"$v/start" <<EOF
#!/bin/bash
ip netns exec $P-$h env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \\
	MEDIAD_TEST_ROUTES=1 MEDIAD_CONFIG=$v/mediad.conf setsid $B/media-spawner </dev/null >>$T/log/$h.log 2>&1 &
echo \$!
EOF
	chmod 755 "$v/start"
}

haproxy_start()
{
	mkdir -p "$T/lb" || return 1
	cat >"$T/lb/haproxy.cfg" <<EOF
# haproxy.cfg: written by tests/scale/run-scale.sh
global
	maxconn 2000
	# One line per request on stdout (log/lb.log): scale.py attributes every failed request.
	log stdout format raw local0
	stats socket $T/lb/admin.sock mode 600 level admin
	pidfile $T/lb/haproxy.pid

defaults
	mode http
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	timeout http-request 10s
	# A connection that fails is tried again, on the other server (a dead host's refusals).
	retries 3
	option redispatch
	option forwardfor
	log global
	log-format "%Ts.%ms %b/%s %ST %tsc %Ta %HM %HU"

frontend api
	bind ${ADDR[lb]}:8080
	use_backend write if !METH_GET !METH_HEAD
	default_backend web

# Reads: one that got no answer from a host that died is sent again to the other one.
backend web
	balance roundrobin
	retry-on conn-failure empty-response response-timeout
	option httpchk GET /healthz
	http-check expect status 200
	default-server inter 500ms fall 2 rise 2
	server web1 ${ADDR[web1]}:8080 check
	server web2 ${ADDR[web2]}:8080 check

# Writes: only a connection that failed is tried again (nothing was sent); a write that got no
# answer may have been committed, so it is not sent again. No connection reuse either: HAProxy
# may resend a request on its own when the idle server connection it reused turns out closed.
# Same servers, same checks.
backend write
	balance roundrobin
	retry-on conn-failure
	http-reuse never
	server web1 ${ADDR[web1]}:8080 track web/web1
	server web2 ${ADDR[web2]}:8080 track web/web2
EOF
	haproxy -c -q -f "$T/lb/haproxy.cfg" || return 1
	in_bg lb haproxy -db -f "$T/lb/haproxy.cfg"
	wait_for 20 "HAProxy to answer /healthz" ip netns exec "$P-lb" curl -fsS --max-time 2 -o /dev/null \
		"http://${ADDR[lb]}:8080/healthz"
}

build()
{
	mkdir -p "$T/log" "$T/conf" "$T/media/uploads" "$T/media/outputs" || return 1
	JWT=$(od -An -tx1 -N48 /dev/urandom | tr -d ' \n')
	KEY=$(od -An -tx1 -N48 /dev/urandom | tr -d ' \n')
	local pg="host=${ADDR[db]} port=5432 dbname=media user=media"
	local pool="host=${ADDR[db]} port=6432 dbname=media user=media"
	local session="host=${ADDR[db]} port=6432 dbname=media_session user=media"
	# The three ways a web host can reach PostgreSQL (scale.py measures them on the same route).
	# SCALE_PREPARED=on shows why db_prepared = off exists: PgBouncer 1.18 in transaction mode hands
	# a statement to a server connection that never prepared it.
	conf "$T/conf/pooled.conf" "$pool" "${SCALE_PREPARED:-off}" "$session"
	conf "$T/conf/direct-prepared.conf" "$pg" on ""
	conf "$T/conf/direct-unprepared.conf" "$pg" off ""
	log "topology $P-*: ${HOSTS[*]} (folder $T)"
	topology || return 1
	db_start || return 1
	log "PostgreSQL on ${ADDR[db]}:5432, PgBouncer on :6432 (default_pool_size $POOL_SIZE)"
	# Migrations through the session-mode pool (they hold an advisory lock for the session).
	ip netns exec "$P-web1" env -i PATH="$PATH" MEDIAD_CONFIG="$T/conf/pooled.conf" "$B/mediactl" migrate \
		>>"$T/log/migrate.log" 2>&1 || {
		log "mediactl migrate failed:"
		tail -n 20 "$T/log/migrate.log" >&2
		return 1
	}
	cache_start || return 1
	web_setup web1 && web_setup web2 && spawn_setup spawn1 && spawn_setup spawn2 || return 1
	"$T/web1/start" && "$T/web2/start" || return 1
	haproxy_start || return 1
	log "HAProxy on ${ADDR[lb]}:8080 over web1 and web2 ($SCALE_PROCS + 2 responders each)"
}

if ! build; then
	log "the topology could not be built; logs:"
	for f in "$T"/log/*.log "$T"/web*/log/*.log; do
		[ -s "$f" ] && {
			echo "--- $f"
			tail -n 15 "$f"
		}
	done >&2
	exit 99
fi

ip netns exec "$P-lb" env SCALE_DIR="$T" SCALE_NS="$P" SCALE_PROCS="$SCALE_PROCS" SCALE_POOL_SIZE="$POOL_SIZE" \
	SCALE_FAKE="$B/tests/fake-ffmpeg" SCALE_SRCDIR="$S" SCALE_PGBIN="$STACK_PGBIN" \
	SCALE_REPORT="${SCALE_REPORT:-$B/tests/scale/report.txt}" \
	timeout -k 10 "${SCALE_TIMEOUT:-1200}" python3 "$S/tests/scale/scale.py" &
PY_PID=$!
wait "$PY_PID"
rc=$?
PY_PID=
[ "$rc" -eq 124 ] && log "scale.py timed out after ${SCALE_TIMEOUT:-1200}s"
if grep -lE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T"/log/*.log "$T"/web*/log/*.log 2>/dev/null; then
	log "a sanitizer reported an error (files above)"
	[ "$rc" -eq 0 ] && rc=1
fi
if [ "$rc" -ne 0 ]; then
	for f in "$T"/log/*.log "$T"/web*/log/*.log; do
		[ -s "$f" ] && {
			echo "--- $f (last 20 lines)"
			tail -n 20 "$f"
		}
	done >&2
fi
exit "$rc"
