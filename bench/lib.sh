# shellcheck shell=bash
# lib.sh: helpers for bench/run.sh (sourced): the bench's own lighttpd, SQL, Redis, JSON fields,
# statistics, process sampling. Every loop here is bounded in count and time. How lighttpd and the
# spawner start and stop is tests/stack.sh, shared with ./dev and the test harness.

# shellcheck source=tests/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/stack.sh"
STACK_TAG=run.sh

log() { printf '%s\n' "$*" >&2; }
warn() { printf 'run.sh: %s\n' "$*" >&2; }

now_s() { printf '%s' "$EPOCHREALTIME"; } # seconds, microsecond resolution (bash 5)

# ---- JSON: the API answers plain json-c ("key":value, no spaces) ---------------------------------

# jfield KEY < JSON: the first "KEY": value (a number, or a string without its quotes).
jfield() {
	grep -o "\"$1\":\(\"[^\"]*\"\|-\?[0-9.]*\)" | head -n1 | sed "s/^\"$1\"://; s/^\"//; s/\"\$//"
}

# ---- statistics -------------------------------------------------------------------------------

# median < numbers (one a line): the middle one (the mean of the two middle ones if even).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# pct P < numbers: nearest-rank percentile.
pct() {
	sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR; print v[r] }'
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---- database and Redis (settings read from the stack's var/mediad.conf) -----------------------

conf_get() { sed -n "s/^$1[[:space:]]*=[[:space:]]*//p" "$2" | tail -n1; }

# sql QUERY: one psql call, unaligned, tuples only; fails on any error.
sql() {
	PGCONNECT_TIMEOUT=5 psql -X -q -tA -v ON_ERROR_STOP=1 -d "$DB_URL" -c "$1"
}

redis() {
	case $REDIS_URL in
	unix:*) redis-cli -s "${REDIS_URL#unix:}" "$@" ;;
	*) redis-cli -u "$REDIS_URL" "$@" ;;
	esac
}

# ---- HTTP against the bench instance ----------------------------------------------------------

# api METHOD PATH [curl args...]: the body on stdout, the status in $BVAR/tmp/api.code (api is
# mostly called in $(...), where a variable would not reach the caller; api_code reads it back).
api() {
	local m=$1 p=$2 out
	shift 2
	out=$(curl -s --max-time "${API_MAX_TIME:-30}" -X "$m" -H "Authorization: Bearer $TOKEN" \
		-w '\n%{http_code}' "$@" "$BBASE$p")
	printf '%s\n' "${out##*$'\n'}" >"$BVAR/tmp/api.code"
	printf '%s' "${out%$'\n'*}"
}
api_code() { cat "$BVAR/tmp/api.code" 2>/dev/null; }

# ---- the bench's own lighttpd -------------------------------------------------------------------
#
# The benchmark runs its own lighttpd, from the same fcgi-conf/lighttpd.conf and the same binaries
# as `./dev up`, on another 127.0.0.1 port, with MEDIAD_VAR = var/bench and a mediad.conf that is a
# copy of var/mediad.conf (same database, Redis, media root and keys) plus the bench's settings
# (rate limits raised, the stream mode under test). The developer's stack and its configuration
# are never edited or restarted for this; a stream-mode switch restarts only this instance.

# pick_port FIRST: the first free port of FIRST..FIRST+19.
pick_port() {
	local p
	for ((p = $1; p < $1 + 20; p++)); do
		stack_port_free "$p" && {
			echo "$p"
			return 0
		}
	done
	return 1
}

# bench_config MODE: writes $BVAR/mediad.conf.
BENCH_OVERRIDES="view_rate_limit login_rate_ip login_rate_ip_email login_fail_account register_rate_ip public_base_url
stream_mode auto_renditions webhook_allow_private"
bench_config() {
	local k filter=""
	for k in $BENCH_OVERRIDES; do filter="$filter|$k"; done
	(
		umask 077
		{
			grep -Ev "^[[:space:]]*(${filter#|})[[:space:]]*=" "$VAR/mediad.conf"
			echo "# ---- bench/run.sh settings (this file is a copy of var/mediad.conf) ----"
			echo "view_rate_limit = 100000000"
			echo "login_rate_ip = 1000000"
			echo "login_rate_ip_email = 1000000"
			# Every run registers its user; the window's counter is in the dev stack's Redis.
			echo "register_rate_ip = 1000000"
			# Each login in flight counts on the account until it succeeds: the auth_login
			# scenario keeps up to MEDIAD_PROCS of one account in flight.
			echo "login_fail_account = 1000000"
			echo "public_base_url = $BBASE"
			echo "stream_mode = $1"
			# The uploads the bench measures must not start HLS encodes on the dev spawner
			# while other rows are measured; the hls part asks for its jobs by preset.
			echo "auto_renditions ="
			# The hooks part's receiver listens on loopback.
			echo "webhook_allow_private = on"
		} >"$BVAR/mediad.conf"
	)
}

# bench_stack: the bench instance, for tests/stack.sh: lighttpd on BPORT with MEDIAD_VAR = BVAR and
# the bench's copy of the configuration, the bare responder at /bare.
bench_stack() {
	STACK_SRCDIR=$ROOT
	STACK_VAR=$BVAR
	STACK_PORT=$BPORT
	STACK_MEDIAD=$BUILD/mediad
	STACK_SPAWNER=$BUILD/media-spawner
	STACK_CONFIG=$BVAR/mediad.conf
	STACK_MEDIA_ROOT=$MEDIA_ROOT
	STACK_PROCS=$PROCS
	STACK_UPLOAD_PROCS=${MEDIAD_UPLOAD_PROCS:-2}
	STACK_ERRORS=$ROOT/fcgi-conf/errors
	STACK_BARE=$BUILD/bench/bare-responder
}

# bench_answers: the bench lighttpd answers 200 on /healthz (mediad) and /bare (the bare responder).
bench_answers() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BBASE/healthz")" = 200 ] &&
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BBASE/bare")" = 200 ]
}

BLPID=""
instance_start() {
	local mode=$1 old
	# A bench lighttpd that an interrupted earlier run left (its own pid file, MEDIAD_VAR = ours).
	old=$(head -n1 "$BVAR/run/lighttpd.pid" 2>/dev/null)
	if [[ "$old" =~ ^[0-9]+$ ]] && tr '\0' '\n' <"/proc/$old/environ" 2>/dev/null | grep -qx "MEDIAD_VAR=$BVAR"; then
		warn "stopping the bench lighttpd an earlier run left (pid $old)"
		BLPID=$old
		instance_stop
	fi
	mkdir -p "$BVAR/run" "$BVAR/log" "$BVAR/tmp"
	bench_config "$mode"
	: >"$BVAR/log/mediad.log"
	bench_stack
	# STACK_PID is lighttpd's own, from its pid file (setsid may fork: see tests/stack.sh).
	if ! stack_lighttpd_start; then
		warn "the bench lighttpd did not start (no pid file); see $BVAR/log/"
		return 1
	fi
	BLPID=$STACK_PID
	if stack_wait_alive "/healthz and /bare" 15 "$BLPID" bench_answers; then
		log "bench lighttpd: pid $BLPID on $BBASE, $PROCS responders, stream_mode = $mode"
		return 0
	fi
	warn "the bench lighttpd did not answer /healthz and /bare; logs in $BVAR/log/"
	tail -n 5 "$BVAR/log/lighttpd-error.log" "$BVAR/log/mediad.log" >&2 2>/dev/null
	instance_stop
	return 1
}

# Stops only the lighttpd this script started (its pid, its process group), bounded.
instance_stop() {
	[ -n "$BLPID" ] || return 0
	stack_stop_group "$BLPID" "the bench lighttpd"
	rm -f "$BVAR/run/lighttpd.pid"
	BLPID=""
}

# The mediad processes of the bench lighttpd (not the bare responders).
responders() { pgrep -P "$BLPID" -f "^$BUILD/mediad" 2>/dev/null; }

# ---- CPU and memory sampling -------------------------------------------------------------------

# cpu_snap: "cpuN busy total" per CPU from /proc/stat.
cpu_snap() { awk '/^cpu[0-9]/ { t = 0; for (i = 2; i <= NF; i++) t += $i; print $1, t - $5 - $6, t }' /proc/stat; }

# busy_pct SECONDS: how busy all CPUs were over the next SECONDS (outside load, before a run).
busy_pct() {
	local a b
	a=$(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
	sleep "$1"
	b=$(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
	printf '%s %s\n' "$a" "$b" | awk '{ printf "%.0f%%", 100 * ($3 - $1) / ($4 - $2 + 1e-9) }'
}

# proc_ticks PIDS...: utime + stime of these processes, clock ticks.
proc_ticks() {
	local pid s t=0 fields
	for pid in "$@"; do
		s=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		read -r -a fields <<<"${s##*) }"
		t=$((t + fields[11] + fields[12]))
	done
	echo "$t"
}

# rss_sampler OUT PIDS...: every 50 ms, "tick pid VmRSS_kB" per pid, until OUT.stop exists (at
# most 12,000 ticks = 10 min and more).
rss_sampler() {
	local out=$1 i pid k v _
	shift
	for ((i = 0; i < 12000; i++)); do
		[ -e "$out.stop" ] && break
		for pid in "$@"; do
			while read -r k v _; do
				[ "$k" = VmRSS: ] && {
					echo "$i $pid $v"
					break
				}
			done <"/proc/$pid/status"
		done 2>/dev/null
		sleep 0.05
	done >"$out"
}

vm_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---- media files ---------------------------------------------------------------------------------

le32() {
	printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))"
	printf "\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"
}

# make_wav FILE BYTES: a PCM WAV (48 kHz, stereo, 16 bit) of exactly BYTES bytes (a multiple of 4),
# its samples a 4 MiB random block repeated (incompressible at any scale that matters here).
make_wav() {
	local f=$1 size=$2 data=$(($2 - 44)) n
	{
		printf 'RIFF'
		le32 $((size - 8))
		printf 'WAVEfmt '
		le32 16
		printf '\x01\x00\x02\x00'
		le32 48000
		le32 192000
		printf '\x04\x00\x10\x00data'
		le32 "$data"
	} >"$f"
	head -c $((4 << 20)) /dev/urandom >"$f.block"
	n=$((data / (4 << 20) + 1))
	for ((i = 0; i < n && i < 1024; i++)); do cat "$f.block"; done | head -c "$data" >>"$f"
	rm -f "$f.block"
	[ "$(stat -c %s "$f")" = "$size" ]
}
