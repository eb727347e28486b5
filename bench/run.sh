#!/bin/bash
# run.sh: load scenarios (wrk) against the `./dev up` stack, compared with two ceilings.
#
# The ceilings run under the same lighttpd: "static" (a small file lighttpd serves itself: the
# web server's own limit) and "bare" (bench/bare-responder: FastCGI with the same pool size but no
# work: the transport's limit). Every other scenario is mediad; its ratios to the two ceilings say
# how much of the budget our code spends.
#
# Invoked by `./dev bench`. Environment: MEDIAD_BASE_URL (default http://127.0.0.1:${PORT:-8080}),
# BENCH_SECONDS (10 per scenario), BENCH_WARMUP (1), BENCH_THREADS (1), BENCH_CONNECTIONS (16),
# BENCH_ONLY (a regex: run matching scenarios only; the ceilings always run).
#
# Adding a scenario is one line at the bottom:
#   scenario NAME METHOD PATH [--body FILE] [--header "Name: value"]...
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BASE=${MEDIAD_BASE_URL:-http://127.0.0.1:${PORT:-8080}}
SECONDS_PER=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-1}
# Two cores run wrk, lighttpd, the responders, PostgreSQL and Redis together: one wrk thread
# leaves a core to the server side; 16 connections keep a pool of 4 responders busy (4 queued
# each) without measuring only queueing delay.
THREADS=${BENCH_THREADS:-1}
CONNS=${BENCH_CONNECTIONS:-16}

command -v wrk >/dev/null || {
	echo "run.sh: wrk is not installed (./dev bench installs it)" >&2
	exit 1
}

status_of() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@"
}

if [ "$(status_of "$BASE/healthz")" != 200 ]; then
	echo "run.sh: $BASE/healthz is not 200; starting the stack with ./dev up" >&2
	"$ROOT/dev" up || exit 1
fi
if [ "$(status_of "$BASE/bare")" != 200 ]; then
	echo "run.sh: $BASE/bare is not served: the running lighttpd was started without the bare" >&2
	echo "        responder. Build it (make -C build bench/bare-responder), then ./dev down && ./dev up" >&2
	exit 1
fi

RESULTS=()   # "name rps p50 p99 non2xx"
STATIC_RPS=""
BARE_RPS=""

# scenario NAME METHOD PATH [--body FILE] [--header "Name: value"]...
scenario() {
	local name=$1 method=$2 path=$3 body="" line rps p50 p99 non2xx code
	local hdrs=() curl_args=()
	shift 3
	while [ $# -gt 0 ]; do
		case $1 in
		--body)
			body=$2
			shift 2
			;;
		--header)
			hdrs+=(-H "$2")
			curl_args+=(-H "$2")
			shift 2
			;;
		*)
			echo "run.sh: scenario $name: unknown option $1" >&2
			return 1
			;;
		esac
	done
	if [ -n "${BENCH_ONLY:-}" ] && [ "$name" != static ] && [ "$name" != bare ] &&
		! [[ $name =~ $BENCH_ONLY ]]; then
		return 0
	fi
	[ -n "$body" ] && curl_args+=(--data-binary "@$body")
	code=$(status_of -X "$method" "${curl_args[@]}" "$BASE$path")
	echo "-- $name: $method $path (probe: HTTP $code; ${SECONDS_PER}s, $THREADS thread(s), $CONNS connections)" >&2
	if [ "$WARMUP" -gt 0 ]; then
		BENCH_METHOD=$method BENCH_BODY_FILE=$body wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
			"${hdrs[@]}" -s "$HERE/report.lua" "$BASE$path" >/dev/null 2>&1
	fi
	line=$(BENCH_METHOD=$method BENCH_BODY_FILE=$body wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_PER}s" \
		--latency "${hdrs[@]}" -s "$HERE/report.lua" "$BASE$path" | grep '^BENCH ')
	if [ -z "$line" ]; then
		echo "run.sh: wrk gave no result for $name" >&2
		return 1
	fi
	echo "   $line" >&2
	rps=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line")
	p50=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$line")
	p99=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$line")
	non2xx=$(sed -n 's/.* non2xx=\([^ ]*\).*/\1/p' <<<"$line")
	[ "$name" = static ] && STATIC_RPS=$rps
	[ "$name" = bare ] && BARE_RPS=$rps
	RESULTS+=("$name $rps $p50 $p99 $non2xx")
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'
}

print_table() {
	local r name rps p50 p99 non2xx
	printf '%-12s %10s %9s %9s %8s %10s %10s\n' scenario req/s p50_ms p99_ms non2xx vs_static vs_bare
	for r in "${RESULTS[@]}"; do
		read -r name rps p50 p99 non2xx <<<"$r"
		printf '%-12s %10s %9s %9s %8s %10s %10s\n' "$name" "$rps" "$p50" "$p99" "$non2xx" \
			"$(ratio "$rps" "$STATIC_RPS")" "$(ratio "$rps" "$BARE_RPS")"
	done
}

# ---- scenarios: the two ceilings first, then one line per API scenario ----------------------
scenario static  GET /static/hello.txt
scenario bare    GET /bare
scenario healthz GET /healthz
# Later (issue: auth), for example:
# scenario login POST /auth/login --body "$HERE/login.json" --header "Content-Type: application/json"
# scenario me    GET  /auth/me --header "Authorization: Bearer $(cat "$MEDIAD_VAR/bench-token")"

echo
echo "$BASE, $(nproc) cores, ${SECONDS_PER}s per scenario, wrk -t$THREADS -c$CONNS"
print_table | tee "${MEDIAD_VAR:-$ROOT/var}/bench-$(date +%Y%m%d-%H%M%S).txt"
