#!/bin/bash
# walkthrough.sh: both seeds' flows, end to end, against a running mediad, with curl.
#
#   1. register, login
#   2. project, upload (a PNG), render (POST /projects/:id/render), poll the job with a progress
#      display, the result
#   3. media upload (a WAV), stream link, download with Range, view (with the link only), analytics
#   4. events (play, click), project analytics, logout (then GET /auth/me answers 401)
#
# Usage:   BASE_URL=http://127.0.0.1:8080 examples/walkthrough.sh
#
# Needs curl, ffmpeg (to make the sample files) and python3 (to read the JSON answers). The render
# step needs a media-spawner working on the same database (`./dev up` starts one; so does the
# integration test that runs this script). Every request is printed with its status; any status
# other than the expected one stops the script with the answer's body and exit status 1.
#
# Environment:
#   BASE_URL         the server (default http://127.0.0.1:8080)
#   WALK_RENDER_WAIT seconds to wait for the render to finish (default 120)
#   WALK_KEEP=1      keep the project and media at the end (default: delete them before logout)
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:8080}
BASE_URL=${BASE_URL%/}
WALK_RENDER_WAIT=${WALK_RENDER_WAIT:-120}
WALK_KEEP=${WALK_KEEP:-}

die()
{
	printf 'walkthrough: FAILED: %s\n' "$*" >&2
	exit 1
}

for tool in curl ffmpeg python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is required (apt-get install $tool)"
done
case $WALK_RENDER_WAIT in
'' | *[!0-9]*) die "WALK_RENDER_WAIT must be a number of seconds" ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/walkthrough.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

TOKEN=
STATUS=
BODY=$WORK/body.json
HEADERS=$WORK/headers.txt

step()
{
	printf '\n==> %s\n' "$*"
}

say()
{
	printf '    %s\n' "$*"
}

# api METHOD PATH [CURL ARGS...]: one request; the status goes to STATUS, the body to $BODY, the
# response headers to $HEADERS. Sends the token when there is one. Connection failures are fatal.
api()
{
	local method=$1 path=$2 rc=0
	shift 2
	local auth=()
	[ -n "$TOKEN" ] && auth=(-H "Authorization: Bearer $TOKEN")
	: >"$BODY"
	STATUS=$(curl -sS --max-time 60 -X "$method" -o "$BODY" -D "$HEADERS" -w '%{http_code}' \
		${auth[@]+"${auth[@]}"} "$@" "$BASE_URL$path") || rc=$?
	[ "$rc" -eq 0 ] || die "$method $path: curl failed (exit $rc): is the server up at $BASE_URL?"
	printf '    %-6s %-45s -> %s\n' "$method" "$path" "$STATUS"
}

# expect STATUS...: the last answer must have one of these statuses.
expect()
{
	local s
	for s in "$@"; do
		[ "$STATUS" = "$s" ] && return 0
	done
	printf 'walkthrough: FAILED: expected HTTP %s, got %s; body:\n' "$*" "$STATUS" >&2
	head -c 2000 "$BODY" >&2 || true
	echo >&2
	exit 1
}

# json EXPR: a value from the JSON body of the last answer. EXPR is a dotted path (user.id,
# items.0.id); objects and arrays print as compact JSON, null prints as "null", strings bare.
json()
{
	python3 - "$BODY" "$1" <<'EOF'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        v = json.load(f)
except ValueError as e:
    sys.exit("walkthrough: the answer is not JSON: %s" % e)
for k in sys.argv[2].split("."):
    if isinstance(v, list) and k.isdigit() and int(k) < len(v):
        v = v[int(k)]
    elif isinstance(v, dict) and k in v:
        v = v[k]
    else:
        sys.exit("walkthrough: the answer has no %s: %s" % (sys.argv[2], json.dumps(v)[:300]))
if isinstance(v, str):
    print(v)
elif v is None:
    print("null")
else:
    print(json.dumps(v, separators=(",", ":")))
EOF
}

# header NAME: a header of the last answer (the last one of that name), without the line ending.
header()
{
	awk -v want="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" '
		{ sub(/\r$/, "") }
		{ i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == want) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); found = v } }
		END { print found }' "$HEADERS"
}

printf 'mediad walkthrough against %s\n' "$BASE_URL"

# ---- 0. the server is up ---------------------------------------------------------------------
step "0. health"
api GET /healthz
expect 200
say "$(cat "$BODY")"

# ---- 1. register, login ----------------------------------------------------------------------
step "1. register and log in"
EMAIL="walk-$(date +%s)-$$-$RANDOM@example.com"
PASSWORD="Walkthrough-$RANDOM-$RANDOM"
printf '{"email":"%s","password":"%s"}' "$EMAIL" "$PASSWORD" >"$WORK/cred.json"
api POST /auth/register -H 'Content-Type: application/json' --data-binary "@$WORK/cred.json"
expect 201
USER_ID=$(json user.id)
say "registered $EMAIL as user $USER_ID: $(json message)"
api POST /auth/login -H 'Content-Type: application/json' --data-binary "@$WORK/cred.json"
expect 200
TOKEN=$(json token)
[ -n "$TOKEN" ] || die "login answered no token"
say "token ${TOKEN:0:16}... valid until $(json expiresAt)"
api GET /auth/me
expect 200
[ "$(json user.email)" = "$EMAIL" ] || die "GET /auth/me names $(json user.email), not $EMAIL"
say "signed in as $(json user.email)"

# ---- 2. project, upload, render, poll, result -------------------------------------------------
step "2. project, asset upload, render"
api POST /projects -H 'Content-Type: application/json' \
	--data-binary '{"title":"Walkthrough","description":"made by examples/walkthrough.sh"}'
expect 201
PROJECT_ID=$(json id)
say "project $PROJECT_ID: $(json title)"

ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i color=c=0x3366cc:s=320x240 -frames:v 1 \
	"$WORK/still.png" || die "ffmpeg could not make the sample PNG"
say "made $WORK/still.png ($(wc -c <"$WORK/still.png") bytes)"
api POST "/projects/$PROJECT_ID/assets" -F "asset=@$WORK/still.png;type=image/png"
expect 201
ASSET_ID=$(json asset.id)
say "$(json message): $(json path) (asset $ASSET_ID, $(json asset.kind) $(json asset.mime)," \
	"$(json asset.width)x$(json asset.height))"

api POST "/projects/$PROJECT_ID/render" -H 'Content-Type: application/json' \
	--data-binary "{\"assetId\":$ASSET_ID,\"preset\":\"mp4\"}"
expect 202
JOB_ID=$(json jobId)
say "$(json message): job $JOB_ID, $(json inputFile) -> $(json outputFile)"

# Poll GET /jobs/:id until completed or failed, drawing a progress bar.
step "2b. waiting for the render (up to ${WALK_RENDER_WAIT}s; needs a running media-spawner)"
deadline=$(($(date +%s) + WALK_RENDER_WAIT))
last=
tty=
[ -t 1 ] && tty=1
while :; do
	api GET "/jobs/$JOB_ID" >"$WORK/poll.out"
	expect 200
	state=$(json state)
	progress=$(json progress)
	filled=$((progress / 5))
	bar=$(printf '%*s' "$filled" '' | tr ' ' '#')$(printf '%*s' $((20 - filled)) '' | tr ' ' '.')
	line=$(printf '[%s] %3s%%  %s' "$bar" "$progress" "$state")
	if [ -n "$tty" ]; then
		printf '\r    %s   ' "$line"
	elif [ "$line" != "$last" ]; then
		say "$line"
	fi
	last=$line
	case $state in
	completed | failed | cancelled) break ;;
	esac
	if [ "$(date +%s)" -ge "$deadline" ]; then
		[ -n "$tty" ] && echo
		die "job $JOB_ID still $state after ${WALK_RENDER_WAIT}s: is a media-spawner running on this database?"
	fi
	sleep 0.5
done
[ -n "$tty" ] && echo
case $state in
completed) ;;
*) die "job $JOB_ID ended $state: $(json failedReason)" ;;
esac
RESULT=$(json result)
OUTPUT_MEDIA=$(json outputMediaId)
say "result: $RESULT (media $OUTPUT_MEDIA, attempts $(json attempts))"
api GET "/media/$OUTPUT_MEDIA"
expect 200
say "rendered: $(json kind) $(json mime), $(json width)x$(json height)," \
	"$(json durationMs) ms, $(json sizeBytes) bytes"
api GET "/projects/$PROJECT_ID/jobs"
expect 200
say "the project has $(json total) job(s); the latest is $(json items.0.state)"

# ---- 3. media upload, stream link, Range download, view, analytics ----------------------------
step "3. media upload, stream link, download with Range, view, analytics"
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i sine=frequency=440:duration=2 \
	-c:a pcm_s16le "$WORK/tone.wav" || die "ffmpeg could not make the sample WAV"
say "made $WORK/tone.wav ($(wc -c <"$WORK/tone.wav") bytes)"
api POST /media -F "file=@$WORK/tone.wav;type=audio/wav" -F "title=Walkthrough tone" -F "type=audio"
expect 201
MEDIA_ID=$(json id)
MEDIA_SIZE=$(json sizeBytes)
say "media $MEDIA_ID: $(json title), $(json kind) $(json mime), $(json durationMs) ms, $MEDIA_SIZE bytes"

api GET "/media/$MEDIA_ID/stream-url"
expect 200
LINK=$(json url)
say "link (valid until $(json expiresAt)): $LINK"
# The link's query (expires and sig) is the capability; fetch it through BASE_URL, which may
# differ from public_base_url in the link.
QUERY=${LINK#*\?}
[ "$QUERY" != "$LINK" ] || die "the stream link has no query: $LINK"

TOKEN_SAVED=$TOKEN
TOKEN= # the link alone opens the stream: no Authorization from here to the view
api GET "/media/$MEDIA_ID/stream?$QUERY" -r 0-99
expect 206
got=$(wc -c <"$BODY")
[ "$got" -eq 100 ] || die "Range 0-99 returned $got bytes, not 100"
head -c 100 "$WORK/tone.wav" >"$WORK/first100"
cmp -s "$BODY" "$WORK/first100" || die "the 100 bytes differ from the start of the uploaded file"
range=$(header Content-Range)
[ "$range" = "bytes 0-99/$MEDIA_SIZE" ] || die "Content-Range is \"$range\", not \"bytes 0-99/$MEDIA_SIZE\""
say "206 Partial Content, Content-Range: $range, the bytes match the upload"

# No body, but a Content-Length (0): lighttpd answers a POST without one with 411.
api POST "/media/$MEDIA_ID/view?$QUERY" --data-binary ''
expect 201
say "view recorded with the link only: ip $(json view.ip) at $(json view.viewedAt)"
TOKEN=$TOKEN_SAVED

api GET "/media/$MEDIA_ID/analytics"
expect 200
views=$(json total_views)
[ "$views" -ge 1 ] || die "total_views is $views after a view"
say "total_views $views, unique_ips $(json unique_ips), per day $(json views_per_day)"

# ---- 4. events, project analytics, logout -----------------------------------------------------
step "4. events, project analytics, logout"
for ev in play click; do
	api POST /analytics -H 'Content-Type: application/json' \
		--data-binary "{\"projectId\":$PROJECT_ID,\"eventType\":\"$ev\"}"
	expect 201
	say "$(json message): $(json event.eventType) at $(json event.createdAt)"
done
api GET "/projects/$PROJECT_ID/analytics"
expect 200
totals=$(json totals)
if [ "$(json totals.play)" -lt 1 ] || [ "$(json totals.click)" -lt 1 ]; then
	die "project totals do not count the events: $totals"
fi
say "totals $totals, per day $(json per_day)"

if [ -z "$WALK_KEEP" ]; then
	api DELETE "/media/$MEDIA_ID"
	expect 204
	api DELETE "/projects/$PROJECT_ID"
	expect 204
	say "deleted media $MEDIA_ID and project $PROJECT_ID (with its asset and render; WALK_KEEP=1 keeps them)"
fi

api POST /auth/logout --data-binary ''
expect 200
say "$(json message)"
api GET /auth/me
expect 401
say "the token is revoked: $(json message)"

printf '\nwalkthrough: OK\n'
