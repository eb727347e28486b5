#!/bin/bash
# walkthrough.sh: both seeds' flows, end to end, against a running mediad, with curl.
#
#   1. register, login
#   2. project, upload (a PNG), render (POST /projects/:id/render), poll the job with a progress
#      display, the result
#   3. media upload (a WAV), stream link, download with Range, view (with the link only), analytics
#   4. adaptive streaming: a video asset (6 s, 640x360), its HLS renditions and poster (made on
#      upload when the server's auto_renditions says so, else asked for), status "ready", the HLS
#      link, the master playlist, 2 s of the top rendition pulled with ffmpeg
#   5. events (play, click), project analytics, logout (then GET /auth/me answers 401)
#
# Usage:   BASE_URL=http://127.0.0.1:8080 examples/walkthrough.sh
#
# Needs curl, ffmpeg and ffprobe (to make the sample files and play the HLS link) and python3 (to
# read the JSON answers). The render steps need a media-spawner working on the same database
# (`./dev up` starts one; so does the integration test that runs this script). Every request is
# printed with its status; any status other than the expected one stops the script with the
# answer's body and exit status 1.
#
# Environment:
#   BASE_URL         the server (default http://127.0.0.1:8080)
#   WALK_RENDER_WAIT seconds to wait for the render, and then for the renditions (default 120 each)
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

for tool in curl ffmpeg ffprobe python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is required (apt-get install ${tool/ffprobe/ffmpeg})"
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

# json_each LIST FIELD...: for each object of the array LIST (a dotted path, as json takes) in the
# last answer, one line of its FIELDs separated by blanks (null prints as "-").
json_each()
{
	python3 - "$BODY" "$@" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    v = json.load(f)
for k in sys.argv[2].split("."):
    if isinstance(v, list) and k.isdigit() and int(k) < len(v):
        v = v[int(k)]
    else:
        v = v.get(k) if isinstance(v, dict) else None
if not isinstance(v, list):
    sys.exit("walkthrough: the answer has no list %s" % sys.argv[2])
for o in v:
    print(" ".join("-" if o.get(f) is None else str(o.get(f)) for f in sys.argv[3:]))
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

# ---- 4. adaptive streaming: renditions, status, HLS link, 2 s of the top rendition -------------
step "4. adaptive streaming (HLS): video asset, renditions, status, HLS link, playback"
# 6 s of 640x360 with sound: the ladder's 240p and 360p rungs (none above the source).
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc=size=640x360:rate=25:duration=6 \
	-f lavfi -i sine=frequency=440:duration=6 -c:v libx264 -preset veryfast -pix_fmt yuv420p \
	-c:a aac -shortest -movflags +faststart "$WORK/clip.mp4" || die "ffmpeg could not make the sample video"
say "made $WORK/clip.mp4 ($(wc -c <"$WORK/clip.mp4") bytes)"
api POST "/projects/$PROJECT_ID/assets" -F "asset=@$WORK/clip.mp4;type=video/mp4"
expect 201
CLIP_ID=$(json asset.id)
say "asset $CLIP_ID: $(json asset.kind) $(json asset.width)x$(json asset.height)," \
	"$(json asset.durationMs) ms, status $(json asset.status)"

# The server's auto_renditions (default hls,poster) decides which rendition jobs an upload gets;
# ask for hls and poster when it gave none of them (auto_renditions may be empty, as in the test
# harness). Every hls or poster job of this project is this clip's: it is the only video upload.
api GET "/projects/$PROJECT_ID/jobs"
expect 200
queued=$(json_each items preset)
for preset in hls poster; do
	if grep -qx "$preset" <<<"$queued"; then
		say "$preset: queued by the upload (auto_renditions)"
		continue
	fi
	api POST "/projects/$PROJECT_ID/render" -H 'Content-Type: application/json' \
		--data-binary "{\"assetId\":$CLIP_ID,\"preset\":\"$preset\"}"
	expect 202
	say "$preset: $(json message): job $(json jobId) -> $(json outputFile)"
done

# Poll GET /media/:id until the renditions are done: status follows the newest job of each
# rendition preset (processing while one waits or runs, failed when one failed).
step "4b. waiting for the renditions (up to ${WALK_RENDER_WAIT}s; needs a running media-spawner)"
deadline=$(($(date +%s) + WALK_RENDER_WAIT))
started=$(date +%s)
last=
while :; do
	api GET "/media/$CLIP_ID" >"$WORK/poll.out"
	expect 200
	status=$(json status)
	line=$(printf 'status %-10s (%ds)' "$status" $(($(date +%s) - started)))
	if [ -n "$tty" ]; then
		printf '\r    %s   ' "$line"
	elif [ "$status" != "$last" ]; then
		say "$line"
	fi
	last=$status
	case $status in
	ready | failed) break ;;
	esac
	if [ "$(date +%s)" -ge "$deadline" ]; then
		[ -n "$tty" ] && echo
		die "media $CLIP_ID still $status after ${WALK_RENDER_WAIT}s: is a media-spawner running on this database?"
	fi
	sleep 0.5
done
[ -n "$tty" ] && echo
[ "$status" = ready ] || die "media $CLIP_ID is $status: $(json statusReason)"
say "renditions (kind name resolution bitrate bandwidth codecs frameRate):"
json_each renditions kind name resolution bitrate bandwidth codecs frameRate | sed 's/^/      /'
kinds=$(json_each renditions kind)
grep -qx hls <<<"$kinds" || die "media $CLIP_ID is ready but has no hls rendition"

api GET "/media/$CLIP_ID/stream-url"
expect 200
HLS_LINK=$(json hlsUrl)
POSTER_LINK=$(json posterUrl)
say "hlsUrl (valid until $(json expiresAt)): $HLS_LINK"
say "posterUrl: $POSTER_LINK"
# As in step 3: the query is the capability, fetched through BASE_URL. The playlists' own URIs are
# relative, so a player that opens the master here follows them to the same server.
QUERY=${HLS_LINK#*\?}
[ "$QUERY" != "$HLS_LINK" ] || die "the HLS link has no query: $HLS_LINK"
HLS_URL="$BASE_URL/media/$CLIP_ID/hls/master.m3u8?$QUERY"

TOKEN_SAVED=$TOKEN
TOKEN= # the link alone plays: no Authorization from here to the view
api GET "/media/$CLIP_ID/hls/master.m3u8?$QUERY"
expect 200
ctype=$(header Content-Type)
[ "$ctype" = application/vnd.apple.mpegurl ] || die "the master playlist came as \"$ctype\""
say "master playlist ($ctype, Cache-Control: $(header Cache-Control)):"
grep -A1 '^#EXT-X-STREAM-INF:' "$BODY" | grep -v '^--$' | sed -e 's/sig=[^&]*$/sig=.../' -e 's/^/      /'
variants=$(grep -c '^#EXT-X-STREAM-INF:' "$BODY") || die "the master playlist lists no variant"
# The variants come lowest bandwidth first: the last is the top rendition.
top=$(grep '^#EXT-X-STREAM-INF:' "$BODY" | tail -n 1 | sed -n 's/.*RESOLUTION=\([0-9]*x[0-9]*\).*/\1/p')

# ffmpeg reads the master, then the top variant's playlist, init segment and segments, each by its
# own signed URI; -map 0:v:N picks the Nth video stream, one per variant in the master's order.
ffmpeg -nostdin -hide_banner -loglevel error -i "$HLS_URL" -map "0:v:$((variants - 1))" -t 2 -c copy \
	-f mp4 -y "$WORK/top.mp4" || die "ffmpeg could not play the HLS link"
[ -s "$WORK/top.mp4" ] || die "ffmpeg wrote nothing from the HLS link"
got=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x \
	"$WORK/top.mp4") || die "ffprobe cannot read what ffmpeg pulled from the HLS link"
[ -n "$got" ] || die "what ffmpeg pulled from the HLS link has no video stream"
[ "$got" = "$top" ] || die "the top rendition played as $got, but the master says RESOLUTION=$top"
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$WORK/top.mp4") || dur='?'
say "ffmpeg pulled ${dur}s of the top rendition (video $got, $(wc -c <"$WORK/top.mp4") bytes) from $variants variant(s)"

api GET "/media/$CLIP_ID/poster.jpg?$QUERY"
expect 200
[ "$(header Content-Type)" = image/jpeg ] || die "the poster came as \"$(header Content-Type)\""
say "poster: $(wc -c <"$BODY") bytes of $(header Content-Type)"

api POST "/media/$CLIP_ID/view?$QUERY" --data-binary ''
expect 201
say "view recorded with the HLS link's signature: ip $(json view.ip)"
TOKEN=$TOKEN_SAVED

# ---- 5. events, project analytics, logout -----------------------------------------------------
step "5. events, project analytics, logout"
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
	# The clip first, on its own: deleting a media removes its rendition folders too.
	api DELETE "/media/$CLIP_ID"
	expect 204
	api DELETE "/projects/$PROJECT_ID"
	expect 204
	say "deleted media $MEDIA_ID, the clip $CLIP_ID with its renditions, and project $PROJECT_ID" \
		"(with its assets and render; WALK_KEEP=1 keeps them)"
fi

api POST /auth/logout --data-binary ''
expect 200
say "$(json message)"
api GET /auth/me
expect 401
say "the token is revoked: $(json message)"

printf '\nwalkthrough: OK\n'
