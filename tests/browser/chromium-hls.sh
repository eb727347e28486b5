#!/bin/bash
# chromium-hls.sh: a video uploaded through the API plays in headless Chromium with hls.js from its
# signed HLS link, and the same link with a tampered signature plays nothing.
#
# A test program of harness_run_programs, run by run-hls.sh against a started stack: it reads
# MEDIAD_BASE_URL, MEDIAD_TEST_DIR, MEDIAD_CONFIG, MEDIA_ROOT and MEDIACTL from the harness, and
# HLS_PAGE (the page server's origin, in cors_origins) and HLS_SOURCE (the video to upload) from
# run-hls.sh. The harness runs no render spawner: this program starts media-spawner (as the media
# root's owner, as ./dev does under Apache) for its own jobs and stops it, bounded, on every exit.
# Steps: register and log in; POST /media; wait (HLS_READY_TIMEOUT, 180 s) until the media is
# 'ready'; GET /media/:id/stream-url for hlsUrl; the page (www/hls.html) plays it (cdp-run.py, at
# most CHROMIUM_TIMEOUT s, 90) and check-hls.py --expect play judges; then the link with one
# character of its signature changed, --expect refused. Exit 0 when every check holds, else 1.
set -u -o pipefail

: "${abs_top_builddir:?set by make check}" "${HLS_PAGE:?set by run-hls.sh}" "${HLS_SOURCE:?set by run-hls.sh}"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/spawner.sh
. "$here/../integration/spawner.sh"
STACK_TAG=chromium-hls
limit=${CHROMIUM_TIMEOUT:-90}
ready_limit=${HLS_READY_TIMEOUT:-180}
base=$MEDIAD_BASE_URL
work=$MEDIAD_TEST_DIR/hls
rc=0

say() { printf 'chromium-hls: %s\n' "$*"; }
fail() {
	say "FAIL: $*"
	rc=1
}

# json FIELD...: the value at that path of the JSON on stdin ("" when absent); lists by index.
json() {
	python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[int(k)] if isinstance(v, list) else (v or {}).get(k)
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v))' "$@" 2>/dev/null
}

spawner_traps

mkdir -p "$work" || exit 1

# ---- the spawner -------------------------------------------------------------------------------
spawner_start hls-browser-test || exit 1

# ---- the API flow -------------------------------------------------------------------------------
email="hls-$(date +%s)-$$-$RANDOM@example.com"
creds="{\"email\":\"$email\",\"password\":\"Password123\"}"
code=$(curl -s -o "$work/register.json" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
	--data-binary "$creds" "$base/auth/register")
[ "$code" = 201 ] || {
	say "register: HTTP $code: $(head -c 300 "$work/register.json")"
	exit 1
}
token=$(curl -s --max-time 30 -H 'Content-Type: application/json' --data-binary "$creds" "$base/auth/login" |
	json token)
[ -n "$token" ] || {
	say "login gave no token"
	exit 1
}
auth=(-H "Authorization: Bearer $token")

code=$(curl -s -o "$work/upload.json" -w '%{http_code}' --max-time 120 "${auth[@]}" \
	-F "file=@$HLS_SOURCE;type=video/mp4" -F title=hls-browser "$base/media")
id=$(json id <"$work/upload.json")
[ "$code" = 201 ] && [ -n "$id" ] || {
	say "POST /media: HTTP $code: $(head -c 300 "$work/upload.json")"
	exit 1
}
say "media $id uploaded ($(stat -c %s "$HLS_SOURCE") bytes); waiting up to ${ready_limit}s for 'ready'"

# Bounded poll of the media's status: 'processing' until its rendition jobs are done.
status=
deadline=$((SECONDS + ready_limit))
while [ "$SECONDS" -lt "$deadline" ]; do
	curl -s -o "$work/media.json" --max-time 10 "${auth[@]}" "$base/media/$id"
	status=$(json status <"$work/media.json")
	case $status in
	ready | failed) break ;;
	esac
	sleep 0.5
done
if [ "$status" != ready ]; then
	say "media $id is '$status' after up to ${ready_limit}s, not 'ready': $(head -c 1500 "$work/media.json")"
	say "its jobs: $(psql -X -q -tA -d "$DATABASE_URL" -c "SELECT preset || ' ' || state || ' ' ||
		coalesce(failed_reason, '') FROM render_jobs WHERE input_media_id = $id" 2>&1 | tr '\n' ';')"
	exit 1
fi
say "media $id is ready; renditions: $(json renditions <"$work/media.json" | head -c 600)"

code=$(curl -s -o "$work/stream-url.json" -w '%{http_code}' --max-time 30 "${auth[@]}" "$base/media/$id/stream-url")
hls=$(json hlsUrl <"$work/stream-url.json")
case $hls in
"$base/media/$id/hls/master.m3u8?"*expires=*sig=*) ;;
*)
	say "stream-url (HTTP $code) has no hlsUrl of the form $base/media/$id/hls/master.m3u8?expires=..&sig=..: $(head -c 600 "$work/stream-url.json")"
	exit 1
	;;
esac
prefix=$base/media/$id/hls/
# The variants the master playlist offers: what hls.levels.length must be.
code=$(curl -s -o "$work/master.m3u8" -w '%{http_code}' --max-time 30 "$hls")
variants=$(grep -c '^#EXT-X-STREAM-INF:' "$work/master.m3u8")
say "master playlist: HTTP $code, $variants variants"
[ "$code" = 200 ] || fail "the master playlist answered HTTP $code"

# run_page NAME EXPECT URL: one Chromium run of the page on the link, then its checks.
run_page() {
	local name=$1 expect=$2 url=$3 dir=$work/$1 q
	mkdir -p "$dir" || return 1
	q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$url")
	# The driver bounds itself; timeout is the backstop should it hang anyway.
	if ! timeout -k 5 $((limit + 30)) python3 "$here/cdp-run.py" --timeout "$limit" --profile "$dir/profile" \
		--out "$dir/result.json" --network "$dir/network.json" "$HLS_PAGE/hls.html?src=$q"; then
		say "the page ($name) did not finish; Chromium said:"
		grep -v -e dbus -e 'unexpected operator' "$dir/profile/chromium.log" 2>/dev/null | tail -n 20
	fi
	python3 "$here/check-hls.py" --expect "$expect" --variants "$variants" --prefix "$prefix" --signed \
		"$dir/result.json" "$dir/network.json"
}

run_page play play "$hls" || rc=1

# The same link with the first character of its signature changed (base64url is canonical: the
# first character is all data), which mediad must refuse.
sig=${hls##*sig=}
sig=${sig%%&*}
case ${sig:0:1} in
A) bad=B${sig:1} ;;
*) bad=A${sig:1} ;;
esac
run_page tampered refused "${hls/sig=$sig/sig=$bad}" || rc=1

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X DELETE "${auth[@]}" "$base/media/$id")
[ "$code" = 204 ] || fail "DELETE /media/$id: HTTP $code"
exit "$rc"
