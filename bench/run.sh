#!/bin/bash
# run.sh: the benchmark of issues 3-6 against the `./dev up` stack's PostgreSQL, Redis, media root
# and spawner, through a lighttpd of its own (bench/lib.sh says why), compared with two ceilings.
#
# The ceilings run under the same lighttpd: "static" (a small file lighttpd serves itself: the
# web server's own limit) and "bare" (bench/bare-responder: FastCGI with the same pool size but no
# work: the transport's limit). Every other wrk scenario is mediad; its ratios to the two ceilings
# say how much of the budget our code spends. Then: a 1 GiB upload (MB/s, responder RSS), a
# 100 MiB download through a stream link in both stream modes against the same file served
# statically, a cold analytics read over 1,000,000 views, renders (pickup latency, overhead
# against ffmpeg run directly, 8 renders at --concurrency 1 and 2), and HLS (issue 14: the HLS job
# of a 1080p upload against its ffmpeg run directly; a segment through its signed URL against the
# same file served statically; the signed master playlist against the bare ceiling), tus (issue 15:
# a 1 GiB upload through POST /uploads + PATCH against the same file through multipart POST /media)
# and hooks (issue 15: the time from a render's completion to its webhook at a loopback receiver).
#
# Invoked by `./dev bench [quick] [profile] [PART...]`. PARTs: wrk upload stream analytics renders
# hls tus hooks (default: all). `quick`: 3 s per wrk scenario and fewer repetitions elsewhere (a smoke run, not
# figures). `profile`: `perf record -a -g` over the whole machine during each wrk scenario; the
# table then gets where the two cores went (per program, and its kernel share), and the data stays
# in var/bench/perf-NAME.data for `perf report -i`.
# Environment: BENCH_SECONDS (10 per wrk scenario), BENCH_WARMUP (1), BENCH_THREADS (1),
# BENCH_CONNECTIONS (16), BENCH_ONLY (a regex: wrk scenarios to run; the ceilings always run),
# BENCH_PORT (first port tried for the bench lighttpd; default PORT + 1), MEDIAD_PROCS (2 x cores).
#
# What it leaves behind: nothing but var/bench/ (its config copy, logs) and the result file
# var/bench-<date>.txt. The bench user, with every row and file it made, is deleted at the end, the
# dev spawner it stops for the concurrency runs is started again (`./dev up`), large files removed.
# The hls part pauses the dev spawner (SIGSTOP, once it is idle) while a spawner of BUILD's runs the
# HLS jobs alone, and lets it go on (SIGCONT) after, on any exit.
#
# Adding a wrk scenario is one line in the "wrk" part:
#   scenario NAME METHOD PATH [--auth] [--body FILE] [--ctype TYPE] [--header "N: v"] [--target R]
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

VAR=${MEDIAD_VAR:-$ROOT/var}
BUILD=${MEDIAD_BUILD:-$ROOT/build} # another build dir: measure its binaries against the same stack
DEV_BASE=${MEDIAD_BASE_URL:-http://127.0.0.1:${PORT:-8080}}
BVAR=$VAR/bench
PROCS=${MEDIAD_PROCS:-$(($(nproc 2>/dev/null || echo 1) * 2))}
QUICK=0
PROFILE=0
PARTS=""
for a in "$@"; do
	case $a in
	quick) QUICK=1 ;;
	wrk | upload | stream | analytics | renders | hls | tus | hooks) PARTS="$PARTS $a" ;;
	profile) PROFILE=1 ;;
	-h | --help)
		sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		warn "unknown argument $a (quick, profile, wrk, upload, stream, analytics, renders, hls, tus, hooks)"
		exit 2
		;;
	esac
done
[ -n "$PARTS" ] || PARTS=" wrk upload stream analytics renders hls tus hooks"
want() { [[ " $PARTS " == *" $1 "* ]]; }

if [ "$QUICK" = 1 ]; then
	SECONDS_PER=${BENCH_SECONDS:-3}
	REPS=3 STREAM_REPS=3 PICKUP_JOBS=8 OVERHEAD_RUNS=2
else
	SECONDS_PER=${BENCH_SECONDS:-10}
	REPS=7 STREAM_REPS=21 PICKUP_JOBS=20 OVERHEAD_RUNS=7
fi
WARMUP=${BENCH_WARMUP:-1}
# Two cores run wrk, lighttpd, the responders, PostgreSQL and Redis together: one wrk thread
# leaves a core to the server side; 16 connections keep a pool of 4 responders busy (4 queued
# each) without measuring only queueing delay.
THREADS=${BENCH_THREADS:-1}
CONNS=${BENCH_CONNECTIONS:-16}

for t in wrk curl psql redis-cli ffmpeg lighttpd; do
	command -v "$t" >/dev/null || {
		warn "$t is not installed (./dev bench installs the dependencies)"
		exit 1
	}
done
[ -x "$BUILD/mediad" ] && [ -x "$BUILD/bench/bare-responder" ] && [ -x "$BUILD/bench/bcrypt-ceiling" ] &&
	[ -x "$BUILD/media-spawner" ] &&
	[ -x "$BUILD/mediactl" ] || {
	warn "build/ lacks mediad, media-spawner, mediactl, bench/bare-responder or bench/bcrypt-ceiling (./dev bench builds them)"
	exit 1
}
if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$DEV_BASE/healthz")" != 200 ]; then
	warn "$DEV_BASE/healthz is not 200; starting the stack with ./dev up"
	"$ROOT/dev" up >&2 || exit 1
fi

# The bench instance runs from its config file alone, like the dev stack: every setting's
# environment name (mediactl config --env-names) is dropped.
stack_env_names "$BUILD/mediactl" || exit 1
stack_env_unset
DB_URL=$(conf_get database_url "$VAR/mediad.conf")
REDIS_URL=$(conf_get redis_url "$VAR/mediad.conf")
MEDIA_ROOT=$(conf_get media_root "$VAR/mediad.conf")
FFMPEG=$(conf_get ffmpeg_path "$VAR/mediad.conf")
MEDIA_ROOT=${MEDIA_ROOT:-$VAR/media}
FFMPEG=${FFMPEG:-ffmpeg}
[ -n "$DB_URL" ] && [ -n "$REDIS_URL" ] || {
	warn "$VAR/mediad.conf has no database_url or redis_url"
	exit 1
}

BPORT=$(pick_port "${BENCH_PORT:-$((${PORT:-8080} + 1))}") || {
	warn "no free port from ${BENCH_PORT:-$((${PORT:-8080} + 1))} on for the bench lighttpd"
	exit 1
}
BBASE=http://127.0.0.1:$BPORT
mkdir -p "$BVAR/tmp" "$BVAR/log"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg), CPUs $(busy_pct 3) busy over 3 s"

# ---- state, cleanup ---------------------------------------------------------------------------

TOKEN=""
BENCH_UID=""
OWN_SPAWNER=""
DEV_SPAWNER_STOPPED=0
DEV_SPAWNER_PAUSED="" # the dev spawner's pid while the hls part has it stopped (SIGSTOP)
WRK_ROWS=()   # "name rps p50 p99 non2xx requests sockerr target"
OTHER_ROWS=() # "measurement|result|target|met"
NOTES=()
STATIC_RPS=""
BARE_RPS=""
BCRYPT_RPS=""
PROFILES=() # "name: program share (kernel share), ..."

# perf_split DATA: the samples of a system-wide profile per program (comm, PostgreSQL backends and
# lighttpd's children folded by name), largest first, each with the part spent in the kernel;
# "idle" is the swapper (cores with nothing to run).
perf_split() {
	perf report -i "$1" --no-children --sort comm,dso --stdio 2>/dev/null | awk '
		/^#/ || !/%/ { next }
		{
			pct = $1; sub(/%/, "", pct); comm = $2; dso = $3
			if (comm == "swapper") comm = "idle"
			else if (comm ~ /^postgres/ || comm ~ /^postmaster/) comm = "postgres"
			else if (comm ~ /^redis/) comm = "redis"
			else if (comm ~ /^mediad/) comm = "mediad"
			else if (comm ~ /^lighttpd/) comm = "lighttpd"
			else if (comm ~ /^wrk/) comm = "wrk"
			else if (comm ~ /^bare-resp/) comm = "bare"
			else comm = "other"
			tot[comm] += pct
			if (dso ~ /kernel/) kern[comm] += pct
		}
		END {
			for (c in tot) printf "%s %.1f %.1f\n", c, tot[c], kern[c]
		}' | sort -k2,2nr | awk '{ printf "%s%s %s%% (kernel %s%%)", (NR > 1 ? ", " : ""), $1, $2, $3 }'
}

other() { OTHER_ROWS+=("$1|$2|$3|$4"); }
note() {
	NOTES+=("$1")
	log "   note: $1"
}

dev_spawner_pid() {
	stack_pid_alive "$VAR/run/media-spawner.pid" media-spawner && head -n1 "$VAR/run/media-spawner.pid"
}

# stop_pid PID SECONDS: SIGTERM, wait (bounded), SIGKILL.
stop_pid() {
	stack_kill_wait "$1" "$2"
}

dev_spawner_restart() {
	log "-- restarting the dev spawner: ./dev up (log: var/bench/log/dev-up.log)"
	if PORT=${PORT:-8080} "$ROOT/dev" up >"$BVAR/log/dev-up.log" 2>&1 && [ -n "$(dev_spawner_pid)" ]; then
		DEV_SPAWNER_STOPPED=0
	else
		warn "./dev up did not bring the dev spawner back; see $BVAR/log/dev-up.log"
	fi
}

# hls_dev_spawner_pause: the dev spawner, once it runs no job, is stopped (SIGSTOP) so that the HLS
# jobs run alone on BUILD's spawner; hls_dev_spawner_resume (also on exit) lets it go on. Paused,
# not restarted: it keeps its process, its settings and its user, and nothing is rebuilt.
hls_dev_spawner_pause() {
	local pid i n=""
	pid=$(dev_spawner_pid) || pid=""
	[ -n "$pid" ] || return 0
	# Idle when no job is active; checked again once it is stopped (it may have just claimed one).
	for ((i = 0; i < 600; i++)); do
		n=$(sql "SELECT count(*) FROM render_jobs WHERE state = 'active'") || n=""
		if [ "$n" = 0 ]; then
			kill -STOP "$pid" 2>/dev/null || return 0
			DEV_SPAWNER_PAUSED=$pid
			n=$(sql "SELECT count(*) FROM render_jobs WHERE state = 'active'") || n=""
			[ "$n" = 0 ] && {
				log "-- hls: the dev spawner (pid $pid) is paused (SIGSTOP) while BUILD's spawner runs the HLS jobs"
				return 0
			}
			hls_dev_spawner_resume
		fi
		sleep 0.5
	done
	warn "hls: the dev spawner was never idle in 300 s"
	return 1
}
hls_dev_spawner_resume() {
	[ -n "$DEV_SPAWNER_PAUSED" ] || return 0
	kill -CONT "$DEV_SPAWNER_PAUSED" 2>/dev/null
	DEV_SPAWNER_PAUSED=""
}

cleanup_data() {
	local ids id path n
	[ -n "$BENCH_UID" ] || return 0
	ids=$(sql "SELECT id FROM media WHERE user_id = $BENCH_UID ORDER BY id") || ids=""
	n=0
	if [ -n "$BLPID" ] && [ -n "$TOKEN" ]; then
		for id in $ids; do
			[ $((n += 1)) -le 2000 ] || break
			API_MAX_TIME=120 api DELETE "/media/$id" >/dev/null
		done
	fi
	# Whatever the API could not delete: remove the files of the rows left, then the user (cascade).
	while read -r path; do
		[[ "$path" =~ ^(uploads|outputs)/[A-Za-z0-9._-]+$ ]] && rm -f "$MEDIA_ROOT/$path"
	done < <(sql "SELECT path FROM media WHERE user_id = $BENCH_UID" 2>/dev/null | head -n 2000)
	for id in $ids; do redis DEL "mediad:analytics:gen:$id" >/dev/null 2>&1; done
	sql "DELETE FROM users WHERE id = $BENCH_UID" >/dev/null || warn "could not delete bench user $BENCH_UID"
	BENCH_UID=""
}

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$OWN_SPAWNER" ]; then
		stop_pid "$OWN_SPAWNER" 15
		wait "$OWN_SPAWNER" 2>/dev/null
		OWN_SPAWNER=""
	fi
	hls_dev_spawner_resume
	declare -F hooks_stop >/dev/null && hooks_stop
	[ "$DEV_SPAWNER_STOPPED" = 1 ] && dev_spawner_restart
	cleanup_data
	instance_stop
	rm -f "$BVAR/tmp/"*.wav "$BVAR/tmp/"*.mp4 "$BVAR/tmp/"*.png "$BVAR/www/static/"*.wav "$BVAR/tmp/rss"* \
		"$BVAR/tmp/dd.out" "$BVAR/www/static/hls-seg.m4s" "$BVAR/tmp/hls-"*.m3u8
	rm -rf "$BVAR/tmp/hls-direct"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- wrk scenarios ----------------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

# scenario NAME METHOD PATH [--auth] [--body FILE] [--ctype TYPE] [--header "N: v"] [--target R] [--cpu]
scenario() {
	local name=$1 method=$2 path=$3 body="" ctype="" target="-" cpu=0 line code
	local hdrs=() curl_args=() shown=() c0 c1 t0 t1 ts0 ts1 pids
	shift 3
	while [ $# -gt 0 ]; do
		case $1 in
		--auth)
			hdrs+=(-H "Authorization: Bearer $TOKEN")
			shown+=(-H "'Authorization: Bearer \$TOKEN'")
			shift
			;;
		--body)
			body=$2
			shift 2
			;;
		--ctype)
			ctype=$2
			curl_args+=(-H "Content-Type: $2")
			shift 2
			;;
		--header)
			hdrs+=(-H "$2")
			shown+=(-H "'$2'")
			shift 2
			;;
		--target)
			target=$2
			shift 2
			;;
		--cpu)
			cpu=1
			shift
			;;
		*)
			warn "scenario $name: unknown option $1"
			return 1
			;;
		esac
	done
	if [ -n "${BENCH_ONLY:-}" ] && [ "$name" != static ] && [ "$name" != bare ] && [ "$name" != bare_end ] &&
		! [[ $name =~ $BENCH_ONLY ]]; then
		return 0
	fi
	[ -n "$body" ] && curl_args+=(--data-binary "@$body")
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$method" "${hdrs[@]}" "${curl_args[@]}" \
		"$BBASE$path")
	log "-- $name: $method $path (probe: HTTP $code)"
	log "   BENCH_METHOD=$method${body:+ BENCH_BODY_FILE=${body#"$ROOT"/}}${ctype:+ BENCH_CONTENT_TYPE=$ctype}" \
		"wrk -t$THREADS -c$CONNS -d${SECONDS_PER}s --latency --timeout 10s ${shown[*]} -s bench/report.lua $BBASE$path"
	export BENCH_METHOD=$method BENCH_BODY_FILE=$body BENCH_CONTENT_TYPE=$ctype
	if [ "$WARMUP" -gt 0 ]; then
		wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s "${hdrs[@]}" -s "$HERE/report.lua" \
			"$BBASE$path" >/dev/null 2>&1
	fi
	if [ "$cpu" = 1 ]; then
		pids=$(responders)
		c0=$(cpu_snap)
		t0=$(proc_ticks $pids)
		ts0=$(now_s)
	fi
	local perf_pid=""
	if [ "$PROFILE" = 1 ]; then
		perf record -a -g -F 499 -o "$BVAR/perf-$name.data" -- sleep "$SECONDS_PER" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	line=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_PER}s" --latency --timeout 10s "${hdrs[@]}" \
		-s "$HERE/report.lua" "$BBASE$path" | grep '^BENCH ')
	if [ -n "$perf_pid" ]; then
		wait "$perf_pid"
		PROFILES+=("$name: $(perf_split "$BVAR/perf-$name.data")")
	fi
	if [ "$cpu" = 1 ]; then
		c1=$(cpu_snap)
		t1=$(proc_ticks $pids)
		ts1=$(now_s)
		CPU_LINE=$(printf '%s\n%s\n' "$c0" "$c1" | awk '{ if ($1 in b) { printf "%s %.0f%% busy, ", $1,
			100 * ($2 - b[$1]) / ($3 - t[$1]) } else { b[$1] = $2; t[$1] = $3 } }')
		CPU_CORES=$(calc "%.2f" "($t1 - $t0) / $(getconf CLK_TCK) / ($ts1 - $ts0)")
		note "$name: during the run: ${CPU_LINE}the $(wc -w <<<"$pids") mediad responders used $CPU_CORES cores"
	fi
	unset BENCH_METHOD BENCH_BODY_FILE BENCH_CONTENT_TYPE
	if [ -z "$line" ]; then
		warn "wrk gave no result for $name"
		return 1
	fi
	log "   $line"
	local rps p50 p99 non2xx reqs sock
	rps=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line")
	p50=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$line")
	p99=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$line")
	non2xx=$(sed -n 's/.* non2xx=\([^ ]*\).*/\1/p' <<<"$line")
	reqs=$(sed -n 's/.* requests=\([^ ]*\).*/\1/p' <<<"$line")
	sock=$(sed -n 's/.* socket_errors=\([^ ]*\).*/\1/p' <<<"$line")
	[ "$name" = static ] && STATIC_RPS=$rps
	[ "$name" = bare ] && BARE_RPS=$rps
	if [ "$name" = bare_end ]; then
		note "bare ceiling: $BARE_RPS req/s before the scenarios, $rps after; vs_bare uses their mean"
		BARE_RPS=$(calc "%.1f" "($BARE_RPS + $rps) / 2")
	fi
	[ "$sock" != 0 ] && note "$name: $sock socket errors (connect/read/write/timeout) out of $reqs requests"
	case $code in 2??) ;; *) note "$name: the probe request answered HTTP $code" ;; esac
	WRK_ROWS+=("$name $rps $p50 $p99 $non2xx $reqs $sock $target")
}

print_wrk_table() {
	local r name rps p50 p99 non2xx reqs sock target vb tgt met ref rrps
	local -A last_rps=() # each row's req/s by name, as the rows go (vs: targets)
	printf '%-18s %9s %8s %8s %7s %9s %8s %-24s %s\n' scenario req/s p50_ms p99_ms non2xx vs_static vs_bare \
		target met?
	for r in "${WRK_ROWS[@]}"; do
		read -r name rps p50 p99 non2xx reqs sock target <<<"$r"
		vb=$(ratio "$rps" "$BARE_RPS")
		case $target in
		-)
			tgt="-"
			met="-"
			;;
		login)
			# The peer's bcrypt-10 logins are at most BCRYPT_RPS (bench/bcrypt-ceiling.c); ours must
			# be 1.5 times that, with the responders using every core.
			tgt=">= 1.5 x bcrypt-10"
			met=$(awk -v r="$rps" -v b="$BCRYPT_RPS" -v c="$CPU_CORES" -v n="$(nproc)" 'BEGIN {
				x = (b > 0) ? r / b : 0
				printf "%s (%.2fx %.1f/s; %s cores)\n", (x >= 1.5 && c >= 0.75 * n) ? "yes" : "NO", x, b, c }')
			;;
		vs:*)
			# vs:ROW:R: at least R times the req/s of the last wrk row named ROW before this one
			# (the same file served another way, just before, say).
			ref=${target#vs:}
			rrps=${last_rps[${ref%%:*}]:-}
			tgt=">= ${ref##*:} x ${ref%%:*}"
			met=$(awk -v a="$rps" -v b="${rrps:-0}" -v t="${ref##*:}" 'BEGIN { if (b <= 0) { print "-"; exit }
				v = a / b; printf "%s (%.2fx)\n", (v >= t) ? "yes" : "NO", v }')
			;;
		*)
			tgt=">= $target bare"
			met=$(awk -v v="$vb" -v t="$target" 'BEGIN { if (v >= t) print "yes"; else
				printf "NO (%.0f%% of target)\n", 100 * v / t }')
			;;
		esac
		[ "$non2xx" != 0 ] || [ "$sock" != 0 ] && met="INVALID: errors"
		printf '%-18s %9s %8s %8s %7s %9s %8s %-24s %s\n' "$name" "$rps" "$p50" "$p99" "$non2xx" \
			"$(ratio "$rps" "$STATIC_RPS")" "$vb" "$tgt" "$met"
		last_rps[$name]=$rps
	done
}

print_other_table() {
	local r a b c d
	printf '%-50s %-56s %-16s %s\n' measurement result target met?
	for r in "${OTHER_ROWS[@]}"; do
		IFS='|' read -r a b c d <<<"$r"
		printf '%-50s %-56s %-16s %s\n' "$a" "$b" "$c" "$d"
	done
}

# ---- setup: the bench user and what the scenarios need ------------------------------------------

instance_start x-sendfile || exit 1

EMAIL="bench-$(date +%s)-$$@example.com"
PASSWORD="bench-password-$$"
printf '{"email":"%s","password":"%s"}' "$EMAIL" "$PASSWORD" >"$BVAR/tmp/login.json"
out=$(curl -s --max-time 10 -H 'Content-Type: application/json' --data-binary "@$BVAR/tmp/login.json" \
	"$BBASE/auth/register")
BENCH_UID=$(jfield id <<<"$out")
[ -n "$BENCH_UID" ] || {
	warn "register failed: $out"
	exit 1
}
TOKEN=$(curl -s --max-time 10 -H 'Content-Type: application/json' --data-binary "@$BVAR/tmp/login.json" \
	"$BBASE/auth/login" | jfield token)
[ -n "$TOKEN" ] || {
	warn "login failed"
	exit 1
}
PROJECT=$(api POST /projects -H 'Content-Type: application/json' \
	--data-binary '{"title":"bench","description":"bench/run.sh"}' | jfield id)
[ -n "$PROJECT" ] || {
	warn "POST /projects failed (HTTP $(api_code))"
	exit 1
}
# A small WAV (1 s) for views and analytics; a PNG asset (1280x720) for renders.
make_wav "$BVAR/tmp/small.wav" 192044 || exit 1
MEDIA=$(api POST /media -F "file=@$BVAR/tmp/small.wav;type=audio/wav" -F title=bench | jfield id)
"$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=s=1280x720 -frames:v 1 \
	"$BVAR/tmp/in.png" || exit 1
asset_out=$(api POST "/projects/$PROJECT/assets" -F "asset=@$BVAR/tmp/in.png;type=image/png")
ASSET=$(sed 's/.*"asset":{//' <<<"$asset_out" | jfield id)
ASSET_PATH=$(jfield path <<<"$asset_out")
[ -n "$MEDIA" ] && [ -n "$ASSET" ] || {
	warn "uploads failed (media '$MEDIA', asset '$ASSET')"
	exit 1
}
log "setup: user $BENCH_UID ($EMAIL), project $PROJECT, media $MEDIA (WAV), asset $ASSET ($ASSET_PATH)"

# render JSON: POST /projects/$PROJECT/render; prints the job id.
render() {
	api POST "/projects/$PROJECT/render" -H 'Content-Type: application/json' --data-binary "$1" | jfield jobId
}
# wait_jobs SECONDS IDS...: until every job is completed, failed or cancelled; 0 if all completed.
# The timings come from the jobs' timestamps, so polling only needs to be light: a psql call costs
# about 30 ms of CPU (client and a forked backend), so one job is polled with GET /jobs/:id every
# 0.2 s, several with one psql call every 0.5 s.
wait_jobs() {
	local limit=$1 i list left st
	shift
	list=$(printf "'%s'," "$@")
	list=${list%,}
	if [ $# = 1 ]; then
		for ((i = 0; i < limit * 5; i++)); do
			sleep 0.2
			st=$(API_MAX_TIME=5 api GET "/jobs/$1" | jfield state)
			left=1
			case $st in "" | waiting | active) ;; *)
				left=0
				break
				;;
			esac
		done
	else
		for ((i = 0; i < limit * 2; i++)); do
			sleep 0.5
			left=$(sql "SELECT count(*) FROM render_jobs WHERE id IN ($list) AND state IN ('waiting','active')")
			[ "$left" = 0 ] && break
		done
	fi
	[ "$left" = 0 ] || {
		warn "jobs still unfinished after ${limit}s"
		return 1
	}
	[ "$(sql "SELECT count(*) FROM render_jobs WHERE id IN ($list) AND state <> 'completed'")" = 0 ] || {
		warn "some jobs did not complete: $(sql "SELECT state || ': ' || coalesce(failed_reason, '')
			FROM render_jobs WHERE id IN ($list) AND state <> 'completed' LIMIT 3")"
		return 1
	}
}

if want wrk; then
	printf '{"title":"bench project","description":"created by wrk"}' >"$BVAR/tmp/project.json"
	printf '{"projectId":%s,"eventType":"play"}' "$PROJECT" >"$BVAR/tmp/event.json"
	: >"$BVAR/tmp/empty"
	[ -n "$(dev_spawner_pid)" ] || dev_spawner_restart
	JOB=$(render "{\"assetId\":$ASSET,\"preset\":\"thumbnail\"}")
	wait_jobs 30 "$JOB"
fi

# ---- part 1: wrk -----------------------------------------------------------------------------------

run_wrk() {
	scenario static GET /static/hello.txt
	scenario bare GET /bare
	scenario healthz GET /healthz --target 0.60
	# The peer's login ceiling, in the same run: bcrypt cost 10 on every core, no HTTP around it.
	if [ -z "${BENCH_ONLY:-}" ] || [[ auth_login =~ $BENCH_ONLY ]]; then
		BCRYPT_RPS=$("$BUILD/bench/bcrypt-ceiling" "$SECONDS_PER" | sed -n 's/^hashes_per_s=\([0-9.]*\).*/\1/p')
		log "-- bcrypt-10 ceiling: bench/bcrypt-ceiling $SECONDS_PER: ${BCRYPT_RPS:-?} hashes/s on $(nproc) cores"
	fi
	scenario auth_login POST /auth/login --body "$BVAR/tmp/login.json" --ctype application/json --target login --cpu
	scenario auth_me GET /auth/me --auth --target 0.50
	scenario projects_create POST /projects --auth --body "$BVAR/tmp/project.json" --ctype application/json \
		--target 0.30
	# An empty body with Content-Length: 0 (lighttpd answers 411 to a POST without a length).
	scenario media_view POST "/media/$MEDIA/view" --auth --body "$BVAR/tmp/empty" --target 0.30
	local i
	for i in 1 2; do
		log "   analytics cache, request $i before the cached scenario: $(curl -s -o /dev/null -D - --max-time 5 \
			-H "Authorization: Bearer $TOKEN" "$BBASE/media/$MEDIA/analytics" | tr -d '\r' | grep -i '^x-cache')"
	done
	scenario analytics_cached GET "/media/$MEDIA/analytics" --auth --target 0.50
	scenario events_create POST /analytics --auth --body "$BVAR/tmp/event.json" --ctype application/json \
		--target 0.30
	scenario job_get GET "/jobs/$JOB" --auth --target 0.50
	# The ceiling again: the machine is shared, so a drift of outside load shows here.
	scenario bare_end GET /bare
}

# ---- part 2: a 1 GiB upload ----------------------------------------------------------------------

# upload_1g FILE: POST /media with it; sets UP_CODE UP_SIZE UP_TIME, deletes the media afterwards.
upload_1g() {
	local out id
	out=$(curl -s --max-time 300 -H "Authorization: Bearer $TOKEN" -F "file=@$1;type=audio/wav" \
		-F title=bench-1g -w '\n%{http_code} %{size_upload} %{time_total}' "$BBASE/media")
	read -r UP_CODE UP_SIZE UP_TIME <<<"${out##*$'\n'}"
	id=$(jfield id <<<"${out%$'\n'*}")
	[ "$UP_CODE" = 201 ] || note "upload answered HTTP $UP_CODE: ${out:0:200}"
	[ -n "$id" ] && API_MAX_TIME=60 api DELETE "/media/$id" >/dev/null
}

# upload_spool_sampler OUT: every 100 ms, the bytes of lighttpd's temp files in upload-dirs ($BVAR/tmp:
# with stream-request-body = 1, what mediad has not read yet waits there), until OUT.stop exists
# (at most 6,000 ticks).
upload_spool_sampler() {
	local out=$1 i
	for ((i = 0; i < 6000; i++)); do
		[ -e "$out.stop" ] && break
		find "$BVAR/tmp" -maxdepth 1 -name 'lighttpd-upload-*' -printf '%s\n' 2>/dev/null |
			awk '{ s += $1 } END { print s + 0 }'
		sleep 0.1
	done >"$out"
}

# The 1 GiB WAV, UPLOAD_REPS (3; quick: 1) times, each after a dd of the same bytes to the same
# file system: the machine may be shared, so each upload is compared with the dd just before it and
# the median of those ratios is the figure (issue 13: 0.8). Then once more with the responders'
# VmRSS sampled every 50 ms (the bash sampler costs about 6 % of a core) and VmHWM reset before, and
# lighttpd's spool sampled (upload_spool_sampler).
run_upload() {
	local f=$BVAR/tmp/upload-1g.wav pids pid rss0 hwm growth best="" spid mbs i t0 dt r
	local reps=${UPLOAD_REPS:-3} dds=() ups=() prs=() same_fs=0 spool_pid
	[ "$QUICK" = 1 ] && reps=1
	log "-- upload: writing a 1 GiB WAV"
	make_wav "$f" $((1 << 30)) || {
		warn "cannot write $f"
		return 1
	}
	[ "$(stat -c %d "$BVAR/tmp")" = "$(stat -c %d "$MEDIA_ROOT/uploads")" ] && same_fs=1
	log "   curl -F 'file=@upload-1g.wav;type=audio/wav' -H 'Authorization: Bearer \$TOKEN' $BBASE/media"
	for ((i = 0; i < reps; i++)); do
		if [ "$same_fs" = 1 ]; then
			# The ceiling: the same bytes written and fsync'd by dd on the media root's file system
			# (the upload path writes, fsyncs, then runs ffprobe).
			sync
			t0=$(now_s)
			dd if="$f" of="$BVAR/tmp/dd.out" bs=1M conv=fsync status=none
			dt=$(calc "%.3f" "$(now_s) - $t0")
			rm -f "$BVAR/tmp/dd.out"
			dds+=("$(calc "%.0f" "1073741824 / $dt / 1e6")")
		fi
		sync
		upload_1g "$f"
		log "   upload $((i + 1)) (throughput): HTTP $UP_CODE, $UP_SIZE bytes in ${UP_TIME}s${dds[i]:+; dd just before: ${dds[i]} MB/s}"
		[ "$UP_CODE" = 201 ] || break
		ups+=("$(calc "%.0f" "$UP_SIZE / $UP_TIME / 1e6")")
		[ -n "${dds[i]:-}" ] && prs+=("$(ratio "${ups[i]}" "${dds[i]}")")
	done
	[ ${#dds[@]} -gt 0 ] && other "ceiling: dd 1 GiB, write + fsync, same file system" \
		"$(printf '%s\n' "${dds[@]}" | median) MB/s (median of ${dds[*]})" "-" "-"
	if [ "$UP_CODE" = 201 ]; then
		mbs=$(printf '%s\n' "${ups[@]}" | median)
		other "upload 1 GiB, POST /media (curl -F)" "$mbs MB/s (median of ${ups[*]}; MB = 10^6 B)" \
			">= 330 MB/s" "$(awk -v v="$mbs" 'BEGIN { print (v >= 330) ? "yes" : sprintf("NO (%.0f%% of target)", v / 3.3) }')"
		if [ ${#prs[@]} -gt 0 ]; then
			r=$(printf '%s\n' "${prs[@]}" | median)
			other "upload / dd, each against the dd just before" "$r (median of ${prs[*]})" ">= 0.80" \
				"$(awk -v v="$r" 'BEGIN { print (v >= 0.8) ? "yes" : "NO" }')"
		fi
	else
		other "upload 1 GiB, POST /media (curl -F)" "failed: HTTP $UP_CODE" ">= 330 MB/s" "NO"
	fi

	pids=$(responders)
	declare -A idle ticks
	for pid in $pids; do
		echo 5 >"/proc/$pid/clear_refs" 2>/dev/null # VmHWM := VmRSS now
		idle[$pid]=$(vm_field "$pid" VmRSS)
		ticks[$pid]=$(proc_ticks "$pid")
	done
	rm -f "$BVAR/tmp/rss.stop" "$BVAR/tmp/spool.stop"
	rss_sampler "$BVAR/tmp/rss" $pids &
	spid=$!
	upload_spool_sampler "$BVAR/tmp/spool" &
	spool_pid=$!
	sleep 0.2
	upload_1g "$f"
	touch "$BVAR/tmp/rss.stop" "$BVAR/tmp/spool.stop"
	wait "$spid" "$spool_pid"
	log "   last upload (RSS): HTTP $UP_CODE, $UP_SIZE bytes in ${UP_TIME}s, $(wc -l <"$BVAR/tmp/rss") RSS samples"
	note "upload: lighttpd's temp files in upload-dirs peaked at $(sort -n "$BVAR/tmp/spool" | tail -n1 |
		awk '{ printf "%.0f", $1 / 1048576 }') MiB during the last upload (sampled every 100 ms)"
	# The responder that took the upload is the one that used the most CPU meanwhile.
	local busiest="" most=-1 d
	for pid in $pids; do
		rss0=${idle[$pid]}
		hwm=$(awk -v p="$pid" -v m="$(vm_field "$pid" VmHWM)" '$2 == p && $3 > m { m = $3 } END { print m + 0 }' \
			"$BVAR/tmp/rss")
		growth=$((hwm - rss0))
		d=$(($(proc_ticks "$pid") - ticks[$pid]))
		log "   responder $pid: idle VmRSS $rss0 KiB, peak $hwm KiB (max of 50 ms samples and VmHWM), +$growth KiB," \
			"$d CPU ticks"
		if [ -z "$best" ] || [ "$growth" -gt "${best%% *}" ]; then best="$growth $rss0 $hwm"; fi
		if [ "$d" -gt "$most" ]; then
			most=$d
			busiest="pid $pid: +$growth KiB (idle $rss0 KiB, peak $hwm KiB)"
		fi
	done
	rm -f "$f" "$BVAR/tmp/rss" "$BVAR/tmp/rss.stop" "$BVAR/tmp/spool" "$BVAR/tmp/spool.stop"
	read -r growth rss0 hwm <<<"$best"
	other "upload 1 GiB: RSS growth, worst responder" "+$growth KiB (idle $rss0 KiB, peak $hwm KiB)" "< 1024 KiB" \
		"$([ "${growth:-0}" -lt 1024 ] && [ "$UP_CODE" = 201 ] && echo yes || echo NO)"
	note "upload: the responder that took the last upload (most CPU) $busiest; peak = max of 50 ms VmRSS samples and VmHWM (reset through clear_refs before)"
}

# ---- part 3: streams ---------------------------------------------------------------------------

STREAM_MEDIA=""
stream_setup() {
	local f=$BVAR/tmp/stream-100m.wav out path
	make_wav "$f" $((100 << 20)) || return 1
	out=$(API_MAX_TIME=120 api POST /media -F "file=@$f;type=audio/wav" -F title=bench-100m)
	rm -f "$f"
	STREAM_MEDIA=$(jfield id <<<"$out")
	path=$(jfield path <<<"$out")
	[ -n "$STREAM_MEDIA" ] && [ -f "$MEDIA_ROOT/$path" ] || {
		warn "100 MiB upload failed (HTTP $(api_code))"
		return 1
	}
	# The static side serves the same file: a hard link, the same pages in the page cache. A copy
	# is another file whose pages sit differently (its own folios, its own writeback after the
	# upload), which alone moved the ratio by a few hundredths; cp only across file systems.
	ln -f "$MEDIA_ROOT/$path" "$BVAR/www/static/bench-100m.wav" 2>/dev/null ||
		cp "$MEDIA_ROOT/$path" "$BVAR/www/static/bench-100m.wav"
}

# stream_run MODE: REPS alternated downloads of the static copy and of the stream link. The ratio of
# the median speeds is the figure; beside it, the median of each pair's ratio (a stream download
# against the static one just before it: steadier while the machine's load drifts) and the median
# time to the first byte of each, which is the per-request cost (the FastCGI round trip, the link
# check, one query) that a 100 MiB transfer carries on top of moving the bytes.
stream_run() {
	local mode=$1 url i s d fs fd st=() sm=() ft=() fm=() pr=() code ms mst
	url=$(api GET "/media/$STREAM_MEDIA/stream-url" | jfield url)
	[ -n "$url" ] || {
		warn "stream-url failed (HTTP $(api_code))"
		return 1
	}
	log "-- stream ($mode): curl -s -o /dev/null -w '%{speed_download}' <url>, $STREAM_REPS times each, alternated:"
	log "   $BBASE/static/bench-100m.wav  vs  ${url%%\?*}?expires=...&sig=..."
	# One unmeasured download of each first (page cache, the responders' first open).
	curl -s -o /dev/null --max-time 60 "$BBASE/static/bench-100m.wav"
	curl -s -o /dev/null --max-time 60 "$url"
	for ((i = 0; i < STREAM_REPS; i++)); do
		read -r code s fs < <(curl -s -o /dev/null --max-time 60 \
			-w '%{http_code} %{speed_download} %{time_starttransfer}\n' "$BBASE/static/bench-100m.wav")
		[ "$code" = 200 ] || note "static download answered HTTP $code"
		st+=("$s")
		ft+=("$fs")
		read -r code d fd < <(curl -s -o /dev/null --max-time 60 \
			-w '%{http_code} %{speed_download} %{time_starttransfer}\n' "$url")
		[ "$code" = 200 ] || note "stream ($mode) download answered HTTP $code"
		sm+=("$d")
		fm+=("$fd")
		pr+=("$(ratio "$d" "$s")")
	done
	mst=$(printf '%s\n' "${st[@]}" | median)
	ms=$(printf '%s\n' "${sm[@]}" | median)
	log "   static MB/s: $(printf '%s\n' "${st[@]}" | awk '{ printf "%.0f ", $1 / 1e6 }')"
	log "   $mode MB/s: $(printf '%s\n' "${sm[@]}" | awk '{ printf "%.0f ", $1 / 1e6 }')"
	local r t
	r=$(ratio "$ms" "$mst")
	[ "$mode" = x-sendfile ] && t=0.95 || t=0.60
	other "stream 100 MiB, $mode (median of $STREAM_REPS)" "$r of static ($(calc "%.0f" "$ms / 1e6") vs $(calc "%.0f" \
		"$mst / 1e6") MB/s)" ">= $t" "$(awk -v v="$r" -v t="$t" 'BEGIN { print (v >= t) ? "yes" : "NO" }')"
	note "stream ($mode): median of the $STREAM_REPS pairs' ratios $(printf '%s\n' "${pr[@]}" | median); first byte after $(calc \
		"%.2f" "$(printf '%s\n' "${fm[@]}" | median) * 1000") ms vs $(calc "%.2f" \
		"$(printf '%s\n' "${ft[@]}" | median) * 1000") ms static (medians)"
}

# ---- part 4: a cold analytics read over 1,000,000 views ---------------------------------------------

run_analytics() {
	local m t0 t1 loaded q i out code tt hit samples total label today from7 from90
	m=$(api POST /media -F "file=@$BVAR/tmp/small.wav;type=audio/wav" -F title=bench-1m-views | jfield id)
	[ -n "$m" ] || {
		warn "analytics: upload failed"
		return 1
	}
	# 1,000,000 views over the last 90 days (every day about 11,000), from 100,000 distinct IPs:
	# about 900,000 distinct (day, ip) pairs. One statement of that many rows is aggregated by set
	# queries, not row by row (schema/006_analytics_counters.sql).
	q="INSERT INTO views (media_id, ip, viewed_at)
	   SELECT $m, '10.0.0.0'::inet + ((g::bigint * 7919) % 100000),
	          now() - (g % 90) * interval '1 day' - ((g * 37) % 86400) * interval '1 second'
	   FROM generate_series(1, 1000000) g"
	log "-- analytics: loading 1,000,000 views on media $m with one INSERT ... SELECT generate_series"
	t0=$(now_s)
	sql "$q" >/dev/null || {
		warn "analytics: the bulk insert failed"
		return 1
	}
	t1=$(now_s)
	sql "ANALYZE views; ANALYZE media_view_day_counts; ANALYZE media_view_returns; ANALYZE media_view_ip_days" \
		>/dev/null
	loaded=$(calc "%.1f" "$t1 - $t0")
	note "analytics: 1,000,000 views loaded in ${loaded}s (the trigger's set path included); then ANALYZE"
	today=$(date -u +%F)
	from7=$(date -u -d '6 days ago' +%F)
	from90=$(date -u -d '91 days ago' +%F)
	for q in "" "?from=$from7&to=$today" "?from=$from90&to=$today"; do
		samples=()
		for ((i = 0; i < REPS; i++)); do
			# Cold: a new generation (what a view does), so no cached entry can answer
			# (the cache keys entries by generation: DEL of the old hash name missed them).
			redis INCR "mediad:analytics:gen:$m" >/dev/null
			out=$(curl -s -D "$BVAR/tmp/hdr" --max-time 30 -H "Authorization: Bearer $TOKEN" \
				-w '\n%{http_code} %{time_total}' "$BBASE/media/$m/analytics$q")
			read -r code tt <<<"${out##*$'\n'}"
			hit=$(tr -d '\r' <"$BVAR/tmp/hdr" | sed -n 's/^[Xx]-[Cc]ache: //p')
			[ "$code" = 200 ] && [ "$hit" = miss ] || note "analytics$q: HTTP $code, X-Cache $hit"
			[ "$i" = 0 ] && total=$(jfield total_views <<<"${out%$'\n'*}")
			samples+=("$(calc "%.1f" "$tt * 1000")")
		done
		case $q in
		"") label="no range" ;;
		*"$from7"*) label="?from=&to= 7 days" ;;
		*) label="?from=&to= all 92 days" ;;
		esac
		log "   GET /media/$m/analytics$q after INCR mediad:analytics:gen:$m: ms ${samples[*]} (total_views $total)"
		[ -n "$q" ] || [ "$total" = 1000000 ] || note "analytics: total_views is '$total', not 1000000"
		local med
		med=$(printf '%s\n' "${samples[@]}" | median)
		other "analytics cold, 1M views, $label" "median $med ms (${samples[*]})" "< 20 ms" \
			"$(awk -v v="$med" 'BEGIN { print (v < 20) ? "yes" : sprintf("NO (%.1fx the target)", v / 20) }')"
	done
	rm -f "$BVAR/tmp/hdr"
	t0=$(now_s)
	API_MAX_TIME=300 api DELETE "/media/$m" >/dev/null
	log "   DELETE /media/$m (with its 1M views): HTTP $(api_code) in $(calc "%.1f" "$(now_s) - $t0")s"
}

# ---- part 5: renders -----------------------------------------------------------------------------

# ARGV := the argv the spawner runs for the mp4 preset on IN (probed by mediactl as an upload is:
# an image here) into OUT, from the code that builds it (mediactl presets --argv).
preset_argv() {
	local a
	ARGV=()
	while IFS= read -r a; do ARGV+=("$a"); done < <(MEDIAD_CONFIG=$VAR/mediad.conf "$BUILD/mediactl" presets \
		--argv mp4 "$1" "$2")
	[ ${#ARGV[@]} -gt 20 ]
}

# batch N: 8 mp4 renders submitted at once to a media-spawner --concurrency N of our own.
batch() {
	local n=$1 i ids=() log=$BVAR/log/spawner-c$1.log secs
	: >"$log"
	# With the dev stack's configuration, like the dev spawner it stands in for.
	STACK_CONFIG=$VAR/mediad.conf stack_spawner_start "$log" --concurrency "$n" --name "bench-c$n"
	OWN_SPAWNER=$STACK_PID
	for ((i = 0; i < 100; i++)); do
		grep -q 'slot' "$log" && break
		sleep 0.1
	done
	local posts=()
	for ((i = 0; i < 8; i++)); do
		render "{\"assetId\":$ASSET,\"preset\":\"mp4\"}" >"$BVAR/tmp/job.$i" &
		posts+=($!)
	done
	wait "${posts[@]}" # each POST is bounded by curl --max-time
	for ((i = 0; i < 8; i++)); do ids+=("$(cat "$BVAR/tmp/job.$i")"); done
	rm -f "$BVAR/tmp/job."*
	wait_jobs 300 "${ids[@]}"
	stop_pid "$OWN_SPAWNER" 15
	wait "$OWN_SPAWNER" 2>/dev/null
	OWN_SPAWNER=""
	local list
	list=$(printf "'%s'," "${ids[@]}")
	secs=$(sql "SELECT round(extract(epoch FROM max(finished_at) - min(created_at))::numeric, 2)
		FROM render_jobs WHERE id IN (${list%,}) AND state = 'completed'")
	log "   --concurrency $n: 8 renders in ${secs}s (first POST to last finished_at)"
	BATCH[$n]=$secs
}

run_renders() {
	local i id ids=() t0 t1 direct=() job=() list lat
	if [ -z "$(dev_spawner_pid)" ]; then dev_spawner_restart; fi
	[ -n "$(dev_spawner_pid)" ] || {
		warn "no dev spawner; renders skipped"
		return 1
	}
	# Pickup: one job at a time (thumbnail, the quickest preset), each waited for, so no job queues
	# behind another; started_at is the claim (just before posix_spawn), created_at the enqueue.
	log "-- renders: pickup latency, $PICKUP_JOBS thumbnail jobs one at a time, dev spawner (daemon, LISTEN)"
	for ((i = 0; i < PICKUP_JOBS; i++)); do
		id=$(render "{\"assetId\":$ASSET,\"preset\":\"thumbnail\"}")
		[ -n "$id" ] || break
		ids+=("$id")
		wait_jobs 30 "$id" || break
		sleep 0.05
	done
	list=$(printf "'%s'," "${ids[@]}")
	lat=$(sql "SELECT round((extract(epoch FROM started_at - created_at) * 1000)::numeric, 1) FROM render_jobs
		WHERE id IN (${list%,}) AND started_at IS NOT NULL")
	log "   started_at - created_at, ms: $(tr '\n' ' ' <<<"$lat")"
	local p50 p90 pmax
	p50=$(pct 50 <<<"$lat")
	p90=$(pct 90 <<<"$lat")
	pmax=$(pct 100 <<<"$lat")
	other "render pickup, daemon ($(wc -l <<<"$lat") jobs)" "p50 $p50 ms, p90 $p90 ms, max $pmax ms" "p50 < 20 ms" \
		"$(awk -v v="$p50" 'BEGIN { print (v < 20) ? "yes" : "NO" }')"

	# Overhead: the mp4 preset on the PNG, as a job (started_at -> finished_at: claim, ffmpeg, ffprobe
	# of the output, rename, media row) and as the same ffmpeg argv run directly; alternated.
	preset_argv "$MEDIA_ROOT/$ASSET_PATH" "$BVAR/tmp/direct.mp4" || {
		warn "mediactl presets --argv mp4 gave no argv for the asset"
		return 1
	}
	# direct_run: the argv once, timed (wall, and CPU for the cores note), then the ffprobe the
	# spawner runs on every output (src/media/probe.c's argv), timed apart.
	local cpu=() probe=()
	direct_run() {
		local TIMEFORMAT='%R %U %S' r u sy t0
		{ time "${ARGV[@]}" >/dev/null 2>"$BVAR/tmp/ff.err"; } 2>"$BVAR/tmp/ff.time" ||
			warn "direct ffmpeg failed: $(head -c 300 "$BVAR/tmp/ff.err")"
		read -r r u sy <"$BVAR/tmp/ff.time"
		direct+=("$r")
		cpu+=("$(calc "%.2f" "($u + $sy) / $r")")
		t0=$(now_s)
		ffprobe -v error -hide_banner -protocol_whitelist file -print_format json -show_format -show_streams \
			"file:$BVAR/tmp/direct.mp4" >/dev/null 2>&1
		probe+=("$(calc "%.3f" "$(now_s) - $t0")")
	}
	log "-- renders: overhead, $OVERHEAD_RUNS x (job vs direct), direct argv:"
	log "   ${ARGV[*]} >/dev/null"
	for ((i = 0; i < OVERHEAD_RUNS; i++)); do
		if [ $((i % 2)) = 0 ]; then
			direct_run
		fi
		id=$(render "{\"assetId\":$ASSET,\"preset\":\"mp4\"}")
		wait_jobs 120 "$id" && job+=("$(sql "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 3)
			FROM render_jobs WHERE id = '$id'")")
		if [ $((i % 2)) = 1 ]; then
			direct_run
		fi
	done
	rm -f "$BVAR/tmp/direct.mp4" "$BVAR/tmp/ff.err" "$BVAR/tmp/ff.time"
	log "   job s: ${job[*]}   direct s: ${direct[*]}   ffprobe of the output s: ${probe[*]}"
	note "renders: the spawner's ffprobe of each output takes $(printf '%s\n' "${probe[@]}" | median) s alone (median); ffmpeg run directly keeps $(printf '%s\n' "${cpu[@]}" | median) cores busy (CPU time / wall time)"
	local mj md ov
	mj=$(printf '%s\n' "${job[@]}" | median)
	md=$(printf '%s\n' "${direct[@]}" | median)
	ov=$(calc "%.1f" "($mj - $md) / $md * 100")
	other "render overhead, PNG->MP4 (median of $OVERHEAD_RUNS)" "${ov}% (job $mj s vs ffmpeg $md s)" "< 5%" \
		"$(awk -v v="$ov" 'BEGIN { print (v < 5) ? "yes" : "NO" }')"

	# 8 renders at once: the dev spawner is stopped, ours run with --concurrency 1, then 2.
	log "-- renders: 8 mp4 jobs at once; stopping the dev spawner (pid $(dev_spawner_pid))"
	stop_pid "$(dev_spawner_pid)" 15
	DEV_SPAWNER_STOPPED=1
	declare -gA BATCH
	batch 1
	batch 2
	dev_spawner_restart
	local sp
	sp=$(calc "%.2f" "${BATCH[1]:-0} / (${BATCH[2]:-0} + 1e-9)")
	other "8 renders at once, --concurrency 1 / 2" "${BATCH[1]:--} s / ${BATCH[2]:--} s (x$sp)" \
		"scales with N" "$(awk -v v="$sp" 'BEGIN { print (v > 1.1) ? "yes" : "NO" }')"
}

# ---- part 6: HLS (issue 14) ------------------------------------------------------------------------

HLS_SRC=$BVAR/tmp/hls-1080p.mp4
HLS_MEDIA=""

# hls_upload: uploads the 1080p source as an asset of the bench's project and asks for its hls
# job (the bench's mediad has auto_renditions off: see bench_config), then waits (600 s at most)
# until the media is 'ready'; prints its id.
hls_upload() {
	local out id st="" i
	out=$(API_MAX_TIME=120 api POST "/projects/$PROJECT/assets" -F "asset=@$HLS_SRC;type=video/mp4" \
		-F title=bench-hls)
	id=$(jfield id <<<"$out")
	[ -n "$id" ] || {
		warn "hls: upload failed (HTTP $(api_code)): ${out:0:300}"
		return 1
	}
	out=$(api POST "/projects/$PROJECT/render" -H 'Content-Type: application/json' \
		--data-binary "{\"preset\":\"hls\",\"assetId\":$id}")
	[ "$(api_code)" = 202 ] || {
		warn "hls: the hls job was refused (HTTP $(api_code)): ${out:0:300}"
		return 1
	}
	for ((i = 0; i < 1200; i++)); do
		st=$(API_MAX_TIME=5 api GET "/media/$id" | jfield status)
		case $st in ready | failed) break ;; esac
		sleep 0.5
	done
	[ "$st" = ready ] || {
		warn "hls: media $id is '$st', not 'ready': $(API_MAX_TIME=5 api GET "/media/$id" | head -c 600)"
		return 1
	}
	echo "$id"
}

# hls_url_dir URL: URL without its query and its last path segment (what a relative URI is
# resolved against), ending in /.
hls_url_dir() {
	local u=${1%%\?*}
	printf '%s/' "${u%/*}"
}

# hls_resolve BASE_URL URI: URI (from a playlist) made absolute against the playlist's URL.
hls_resolve() {
	case $2 in
	http://* | https://*) printf '%s' "$2" ;;
	/*) printf '%s%s' "$BBASE" "$2" ;;
	*) printf '%s%s' "$(hls_url_dir "$1")" "$2" ;;
	esac
}

# run_hls: hls_job (the HLS job of a fixed 1080p 10 s source, started_at -> finished_at, against
# the same ffmpeg argv run directly: mediactl presets --argv hls, the code the spawner runs),
# hls_segment (a segment through its signed URL: mediad's check, then X-Sendfile, against lighttpd
# serving the same file as /static/) and hls_master (the signed master playlist, written by mediad
# from the renditions' rows, against the bare ceiling).
run_hls() {
	local runs=5 i id ids=() job=() direct=() log=$BVAR/log/spawner-hls.log out=$BVAR/tmp/hls-direct
	local TIMEFORMAT='%R' t mj md ov url vurl surl best vname seg dir file n r
	[ "$QUICK" = 1 ] && runs=1
	log "-- hls: the source: 10 s of testsrc2 1920x1080 at 30 fps with a 48 kHz stereo tone (H.264 + AAC)"
	"$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=10 \
		-f lavfi -i sine=frequency=440:sample_rate=48000:duration=10 -c:v libx264 -preset veryfast -crf 20 \
		-pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 -shortest -movflags +faststart "$HLS_SRC" || {
		warn "hls: ffmpeg could not make the source"
		return 1
	}
	ARGV=()
	while IFS= read -r t; do ARGV+=("$t"); done < <(MEDIAD_CONFIG=$VAR/mediad.conf "$BUILD/mediactl" presets \
		--argv hls "$HLS_SRC" "$out")
	[ ${#ARGV[@]} -gt 20 ] || {
		warn "hls: mediactl presets --argv hls gave no argv for the source (a build without the hls preset?)"
		return 1
	}

	# The jobs: on a spawner of BUILD's with one slot, the dev spawner paused meanwhile.
	hls_dev_spawner_pause || return 1
	: >"$log"
	STACK_CONFIG=$VAR/mediad.conf stack_spawner_start "$log" --concurrency 1 --name bench-hls
	OWN_SPAWNER=$STACK_PID
	stack_wait_alive "the bench spawner" 10 "$OWN_SPAWNER" grep -q slot "$log" || {
		warn "hls: media-spawner did not start; see $log"
		return 1
	}
	log "-- hls: $runs x (job vs direct), alternated; direct argv (mediactl presets --argv hls):"
	log "   ${ARGV[*]} >/dev/null"
	for ((i = 0; i < runs; i++)); do
		if [ $((i % 2)) = 1 ]; then
			rm -rf "$out" && mkdir -p "$out"
			{ time "${ARGV[@]}" >/dev/null 2>"$BVAR/tmp/ff.err"; } 2>"$BVAR/tmp/ff.time" ||
				warn "hls: direct ffmpeg failed: $(head -c 300 "$BVAR/tmp/ff.err")"
			direct+=("$(cat "$BVAR/tmp/ff.time")")
		fi
		id=$(hls_upload) || break
		ids+=("$id")
		t=$(sql "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 3) || ' ' || attempts
			FROM render_jobs WHERE input_media_id = $id AND preset = 'hls' AND state = 'completed'
			ORDER BY created_at DESC LIMIT 1")
		if [ -z "$t" ]; then
			warn "hls: media $id has no completed hls job"
			break
		fi
		[ "${t#* }" = 1 ] || note "hls: the job of media $id took ${t#* } attempts"
		job+=("${t%% *}")
		if [ $((i % 2)) = 0 ]; then
			rm -rf "$out" && mkdir -p "$out"
			{ time "${ARGV[@]}" >/dev/null 2>"$BVAR/tmp/ff.err"; } 2>"$BVAR/tmp/ff.time" ||
				warn "hls: direct ffmpeg failed: $(head -c 300 "$BVAR/tmp/ff.err")"
			direct+=("$(cat "$BVAR/tmp/ff.time")")
		fi
	done
	stop_pid "$OWN_SPAWNER" 15
	wait "$OWN_SPAWNER" 2>/dev/null
	OWN_SPAWNER=""
	hls_dev_spawner_resume
	rm -rf "$out" "$BVAR/tmp/ff.err" "$BVAR/tmp/ff.time"
	[ ${#job[@]} -gt 0 ] && [ ${#direct[@]} -gt 0 ] && [ ${#ids[@]} -gt 0 ] || {
		warn "hls: no job completed, or no direct run; see $log"
		return 1
	}
	HLS_MEDIA=${ids[-1]}
	n=$(sql "SELECT count(*) || ' variants: ' || string_agg(name, ' ' ORDER BY height) FROM media_renditions
		WHERE media_id = $HLS_MEDIA AND kind = 'hls'")
	log "   job s: ${job[*]}   direct s: ${direct[*]}   ($n)"
	# Each job against the direct run beside it (the machine may be shared: a pair sees the same
	# load); the median of those overheads is the figure, the medians of each side beside it.
	local pairs=()
	for ((i = 0; i < ${#job[@]} && i < ${#direct[@]}; i++)); do
		pairs+=("$(calc "%.1f" "(${job[i]} - ${direct[i]}) / ${direct[i]} * 100")")
	done
	mj=$(printf '%s\n' "${job[@]}" | median)
	md=$(printf '%s\n' "${direct[@]}" | median)
	ov=$(printf '%s\n' "${pairs[@]}" | median)
	other "hls_job: HLS job vs ffmpeg direct, 1080p 10 s" \
		"${ov}% (median of pairs ${pairs[*]}; job $mj s vs ffmpeg $md s)" "<= 5%" \
		"$(awk -v v="$ov" 'BEGIN { print (v <= 5) ? "yes" : "NO" }')"
	# The spawner's own share of each job, from its log ("ffmpeg A s, ... recorded C s after the
	# claim"): C - A does not depend on how busy the machine was for ffmpeg.
	local own=() uuid line
	for id in "${ids[@]}"; do
		uuid=$(sql "SELECT id FROM render_jobs WHERE input_media_id = $id AND preset = 'hls' AND state = 'completed'
			ORDER BY created_at DESC LIMIT 1")
		line=$(grep -F "job $uuid: completed" "$log" | sed -n 's/.*ffmpeg \([0-9.]*\) s,.* recorded \([0-9.]*\) s after.*/\1 \2/p')
		[ -n "$line" ] && own+=("$(awk -v l="$line" 'BEGIN { split(l, a, " "); printf "%.3f", a[2] - a[1] }')")
	done
	note "hls_job: $n; job = render_jobs finished_at - started_at (claim, ffmpeg, read-back, fsync, rows)${own[0]:+; time of the spawner itself in each job (its log: recorded after the claim - ffmpeg): ${own[*]} s}"
	# The other uploads go; the last one serves the wrk scenarios.
	for id in "${ids[@]}"; do
		[ "$id" = "$HLS_MEDIA" ] || API_MAX_TIME=60 api DELETE "/media/$id" >/dev/null
	done

	# A segment: the second of the variant with the highest BANDWIDTH (a full 4 s at the top rate).
	url=$(api GET "/media/$HLS_MEDIA/stream-url" | jfield hlsUrl)
	[ -n "$url" ] && curl -s --max-time 10 -o "$BVAR/tmp/hls-master.m3u8" "$url" || {
		warn "hls: no hlsUrl (HTTP $(api_code)) or no master playlist"
		return 1
	}
	best=$(awk '/^#EXT-X-STREAM-INF:/ { match($0, /[:,]BANDWIDTH=[0-9]+/); bw = substr($0, RSTART + 11, RLENGTH - 11); next }
		/^[^#]/ && bw != "" { if (bw + 0 > max) { max = bw + 0; uri = $0 } bw = "" } END { print uri }' \
		"$BVAR/tmp/hls-master.m3u8" | tr -d '\r')
	vurl=$(hls_resolve "$url" "$best")
	curl -s --max-time 10 -o "$BVAR/tmp/hls-variant.m3u8" "$vurl"
	seg=$(grep -v '^#' "$BVAR/tmp/hls-variant.m3u8" | tr -d '\r' | sed -n '2p')
	[ -n "$seg" ] || seg=$(grep -v '^#' "$BVAR/tmp/hls-variant.m3u8" | tr -d '\r' | sed -n '1p')
	surl=$(hls_resolve "$vurl" "$seg")
	vname=${best%%/*}
	dir=$(sql "SELECT dir FROM media_renditions WHERE media_id = $HLS_MEDIA AND kind = 'hls' AND name = '$vname'")
	file=$MEDIA_ROOT/$dir/$vname/${seg%%\?*}
	[ -n "$best" ] && [ -n "$seg" ] && [ -f "$file" ] || {
		warn "hls: no segment found (variant '$best', segment '$seg', file $file)"
		return 1
	}
	ln -f "$file" "$BVAR/www/static/hls-seg.m4s" 2>/dev/null || cp "$file" "$BVAR/www/static/hls-seg.m4s"
	curl -s --max-time 10 "$surl" | cmp -s - "$file" || note "hls: the signed segment URL does not answer the file's bytes"
	log "-- hls: segment ${vname}/${seg%%\?*} ($(stat -c %s "$file") bytes), signed vs /static/hls-seg.m4s (the same file)"
	# Pairs, static then signed, each pair's ratio the figure of its moment (the machine may be
	# shared); their median is the row.
	local sr fr n0
	pairs=()
	for ((i = 0; i < (QUICK ? 1 : 3); i++)); do
		n0=${#WRK_ROWS[@]}
		scenario hls_seg_file GET /static/hls-seg.m4s || continue
		scenario hls_segment GET "${surl#"$BBASE"}" --target vs:hls_seg_file:0.90 || continue
		[ ${#WRK_ROWS[@]} = $((n0 + 2)) ] || continue # BENCH_ONLY left one out
		fr=$(cut -d' ' -f2 <<<"${WRK_ROWS[-2]}")
		sr=$(cut -d' ' -f2 <<<"${WRK_ROWS[-1]}")
		pairs+=("$(ratio "$sr" "$fr")")
	done
	if [ ${#pairs[@]} -gt 0 ]; then
		r=$(printf '%s\n' "${pairs[@]}" | median)
		other "hls_segment: signed URL / lighttpd static, same file" \
			"$r (median of pairs ${pairs[*]}; ${vname}/${seg%%\?*}, $(stat -c %s "$file") bytes)" ">= 0.90" \
			"$(awk -v v="$r" 'BEGIN { print (v >= 0.9) ? "yes" : "NO" }')"
	fi
	# The master playlist, signed: mediad writes it from the rows and signs every URI in it. A new
	# link, so that it is far from its expiry.
	[ -n "$BARE_RPS" ] || scenario bare GET /bare
	url=$(api GET "/media/$HLS_MEDIA/stream-url" | jfield hlsUrl)
	scenario hls_master GET "${url#"$BBASE"}" --target 0.40
	rm -f "$BVAR/www/static/hls-seg.m4s" "$BVAR/tmp/hls-"*.m3u8 "$HLS_SRC"
}

# ---- part 7: tus uploads against multipart (issue 15) --------------------------------------------

# tus_1g FILE: the tus creation (POST /uploads) and one PATCH of the whole file, as curl sends it
# (-T streams the file). Sets TUS_CODE TUS_SIZE TUS_TIME (both requests) and deletes the media.
tus_1g() {
	local size loc out t0 res id
	size=$(stat -c %s "$1")
	t0=$(now_s)
	loc=$(curl -s --max-time 30 -o /dev/null -D - -X POST -H 'Content-Length: 0' -H "Authorization: Bearer $TOKEN" \
		-H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $size" \
		-H "Upload-Metadata: filename $(printf 'bench-1g.wav' | base64 -w0),title $(printf 'bench-tus' | base64 -w0)" \
		"$BBASE/uploads" | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p')
	TUS_CODE="" TUS_SIZE=0 TUS_TIME=0
	[ -n "$loc" ] || {
		note "tus: POST /uploads gave no Location"
		return 1
	}
	# The Location is absolute, from public_base_url; the bench instance is at BBASE.
	loc=$BBASE/${loc#http*://*/}
	out=$(curl -s --max-time 300 -X PATCH -T "$1" -H "Authorization: Bearer $TOKEN" -H 'Tus-Resumable: 1.0.0' \
		-H 'Upload-Offset: 0' -H 'Content-Type: application/offset+octet-stream' -H 'Expect:' \
		-D "$BVAR/tmp/tus.h" -o /dev/null -w '%{http_code} %{size_upload}' "$loc")
	read -r TUS_CODE TUS_SIZE <<<"$out"
	TUS_TIME=$(calc "%.3f" "$(now_s) - $t0")
	res=$(tr -d '\r' <"$BVAR/tmp/tus.h" | sed -n 's/^[Mm]ediad-[Rr]esource: *//p')
	id=${res##*/}
	[ "$TUS_CODE" = 204 ] && [ -n "$id" ] || note "tus: PATCH answered HTTP $TUS_CODE, Mediad-Resource '$res'"
	[ -n "$id" ] && API_MAX_TIME=60 api DELETE "/media/$id" >/dev/null
	rm -f "$BVAR/tmp/tus.h"
}

# The same 1 GiB WAV, multipart (curl -F) then tus (POST /uploads + one PATCH), TUS_REPS (3; quick:
# 1) pairs: each pair's tus/multipart ratio is the figure of its moment; their median is the row.
run_tus() {
	local f=$BVAR/tmp/upload-1g.wav i reps=${TUS_REPS:-3} ups=() tus=() prs=() r
	[ "$QUICK" = 1 ] && reps=1
	log "-- tus: writing a 1 GiB WAV"
	make_wav "$f" $((1 << 30)) || {
		warn "cannot write $f"
		return 1
	}
	for ((i = 0; i < reps; i++)); do
		sync
		upload_1g "$f"
		[ "$UP_CODE" = 201 ] || break
		sync
		tus_1g "$f"
		[ "$TUS_CODE" = 204 ] || break
		ups+=("$(calc "%.0f" "$UP_SIZE / $UP_TIME / 1e6")")
		tus+=("$(calc "%.0f" "$TUS_SIZE / $TUS_TIME / 1e6")")
		prs+=("$(ratio "${tus[i]}" "${ups[i]}")")
		log "   pair $((i + 1)): multipart ${ups[i]} MB/s, tus ${tus[i]} MB/s"
	done
	rm -f "$f"
	if [ ${#prs[@]} -gt 0 ]; then
		r=$(printf '%s\n' "${prs[@]}" | median)
		other "tus 1 GiB (POST /uploads + 1 PATCH) / multipart POST /media, same file" \
			"$r (median of ${prs[*]}; tus ${tus[*]} MB/s, multipart ${ups[*]} MB/s)" ">= 0.90" \
			"$(awk -v v="$r" 'BEGIN { print (v >= 0.9) ? "yes" : "NO" }')"
	else
		other "tus 1 GiB / multipart, same file" "failed: multipart $UP_CODE, tus ${TUS_CODE:-none}" ">= 0.90" "NO"
	fi
}

# ---- part 8: webhook delivery latency (issue 15) --------------------------------------------------

HOOKS_PID=""
RECV_PID=""
DEV_HOOKS_PAUSED=""
hooks_stop() {
	[ -n "$HOOKS_PID" ] && stop_pid "$HOOKS_PID" 15 && wait "$HOOKS_PID" 2>/dev/null
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null && wait "$RECV_PID" 2>/dev/null
	[ -n "$DEV_HOOKS_PAUSED" ] && kill -CONT "$DEV_HOOKS_PAUSED" 2>/dev/null
	HOOKS_PID="" RECV_PID="" DEV_HOOKS_PAUSED=""
}

# 100 thumbnail renders (HOOK_JOBS; quick: 20) run by the dev spawner, each completion sent by a
# media-hooks of BUILD's (the dev one is paused: it would refuse the loopback receiver) to a
# receiver on loopback that notes when each job's event arrived. Latency: arrival minus the job's
# finished_at (set in the transaction that completes it, which also writes the event).
run_hooks() {
	local n=${HOOK_JOBS:-100} port wid out ids=() i j batch list lat p50 p99 pmax got pid
	[ "$QUICK" = 1 ] && n=20
	[ -x "$BUILD/media-hooks" ] || {
		warn "hooks: $BUILD/media-hooks is not built"
		return 1
	}
	port=$(pick_port $((BPORT + 20))) || return 1
	: >"$BVAR/tmp/hooks.arrivals"
	python3 - "$port" "$BVAR/tmp/hooks.arrivals" <<'PY' &
import http.server, json, sys, time
out = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        t = time.time()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        try:
            out.write("%s %.6f\n" % (json.loads(body)["data"]["id"], t))
        except Exception:
            pass
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
	RECV_PID=$!
	for ((i = 0; i < 50; i++)); do
		curl -s -o /dev/null --max-time 1 -X POST "http://127.0.0.1:$port/ready" && break
		sleep 0.1
	done
	pid=$(stack_pid_alive "$VAR/run/media-hooks.pid" media-hooks && head -n1 "$VAR/run/media-hooks.pid")
	if [[ "$pid" =~ ^[0-9]+$ ]] && kill -STOP "$pid" 2>/dev/null; then DEV_HOOKS_PAUSED=$pid; fi
	setsid env MEDIAD_CONFIG="$BVAR/mediad.conf" "$BUILD/media-hooks" </dev/null >>"$BVAR/log/media-hooks.log" 2>&1 &
	HOOKS_PID=$!
	out=$(api POST /webhooks -H 'Content-Type: application/json' \
		--data-binary "{\"url\":\"http://127.0.0.1:$port/hook\",\"events\":[\"job.completed\"]}")
	wid=$(jfield id <<<"$out")
	[ -n "$wid" ] || {
		warn "hooks: POST /webhooks answered $(api_code): ${out:0:200}"
		hooks_stop
		return 1
	}
	[ -n "$(dev_spawner_pid)" ] || dev_spawner_restart
	log "-- hooks: $n thumbnail renders, each completion delivered to a loopback receiver (media-hooks daemon, LISTEN)"
	for ((i = 0; i < n; i += 50)); do
		batch=()
		for ((j = i; j < n && j < i + 50; j++)); do
			batch+=("$(render "{\"assetId\":$ASSET,\"preset\":\"thumbnail\"}")")
		done
		ids+=("${batch[@]}")
		wait_jobs 300 "${batch[@]}" || break
	done
	for ((i = 0; i < 100; i++)); do
		got=$(wc -l <"$BVAR/tmp/hooks.arrivals")
		[ "$got" -ge ${#ids[@]} ] && break
		sleep 0.2
	done
	list=$(printf "'%s'," "${ids[@]}")
	lat=$(join -o 1.2,2.2 <(sort "$BVAR/tmp/hooks.arrivals") \
		<(sql "SELECT id, extract(epoch FROM finished_at) FROM render_jobs WHERE id IN (${list%,})" | tr '|' ' ' | sort) |
		awk '{ printf "%.1f\n", ($1 - $2) * 1000 }')
	api DELETE "/webhooks/$wid" >/dev/null
	hooks_stop
	got=$(grep -c . <<<"$lat")
	p50=$(pct 50 <<<"$lat")
	p99=$(pct 99 <<<"$lat")
	pmax=$(pct 100 <<<"$lat")
	other "webhook delivery, job completed -> receiver ($got of ${#ids[@]} jobs)" \
		"p50 $p50 ms, p99 $p99 ms, max $pmax ms" "p99 < 1000 ms" \
		"$(awk -v v="$p99" -v g="$got" -v n="${#ids[@]}" 'BEGIN { print (g == n && v < 1000) ? "yes" : "NO" }')"
	rm -f "$BVAR/tmp/hooks.arrivals"
}

# ---- run ---------------------------------------------------------------------------------------

# The machine may be shared: before each part, 2 s with the bench idle show the load from elsewhere.
OUTSIDE=()
outside() {
	OUTSIDE+=("$1 $(busy_pct 2)")
	log "-- CPUs busy while the bench idles, before $1: ${OUTSIDE[-1]#* }"
}

T_START=$(now_s)
log "bench: load average $LOAD_BEFORE before the run; parts:$PARTS"
want wrk && outside wrk && run_wrk
want upload && outside upload && run_upload
if want stream; then
	if stream_setup; then
		outside stream && stream_run x-sendfile
	fi
fi
want analytics && outside analytics && run_analytics
want renders && outside renders && run_renders
want hls && outside hls && run_hls
want tus && outside tus && run_tus
want hooks && outside hooks && run_hooks
if want stream && [ -n "$STREAM_MEDIA" ]; then
	log "-- restarting the bench lighttpd with stream_mode = direct"
	instance_stop
	instance_start direct && outside stream-direct && stream_run direct
fi
cleanup_data
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
ELAPSED=$(calc "%.0f" "$(now_s) - $T_START")

RESULT=$VAR/bench-$(date +%Y%m%d-%H%M%S).txt
{
	echo
	echo "$BBASE (bench lighttpd, $PROCS responders), $(nproc) cores; before the run: load average" \
		"$LOAD_BEFORE; after: load average $LOAD_AFTER; ${ELAPSED}s"
	echo "CPUs busy from elsewhere (2 s, bench idle) before each part: ${OUTSIDE[*]}"
	if [ ${#WRK_ROWS[@]} -gt 0 ]; then
		echo "wrk -t$THREADS -c$CONNS -d${SECONDS_PER}s per scenario; vs_* are req/s ratios; non2xx = status >= 400"
		print_wrk_table
		echo
	fi
	[ ${#OTHER_ROWS[@]} -gt 0 ] && print_other_table
	if [ ${#PROFILES[@]} -gt 0 ]; then
		echo
		echo "where the CPUs went (perf record -a -g -F 499, share of all samples on $(nproc) cores):"
		printf '  %s\n' "${PROFILES[@]}"
	fi
	if [ ${#NOTES[@]} -gt 0 ]; then
		echo
		printf 'note: %s\n' "${NOTES[@]}"
	fi
} | tee "$RESULT"
