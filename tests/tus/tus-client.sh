#!/bin/bash
# tus-client.sh: tus-js-client against the stack the harness started (run by run-tus.sh through
# harness_run_programs): a user signs up, then upload.mjs uploads TUS_SOURCE whole, and again cut
# off at about 50 % and resumed from its stored URL. After each: the media's file on disk has the
# source's sha256, and exactly one media row was made of the upload.
#
# Needs: TUS_CLIENT (the client folder), TUS_SOURCE, and the harness's MEDIAD_BASE_URL, MEDIA_ROOT
# and PostgreSQL environment (PGHOST, PGPORT, PGUSER, PGDATABASE). Exit 0, or 1 naming the check.
set -u -o pipefail
me=tus-client.sh
fail() {
	echo "$me: $*" >&2
	exit 1
}
: "${TUS_CLIENT:?}" "${TUS_SOURCE:?}" "${MEDIAD_BASE_URL:?}" "${MEDIA_ROOT:?}"
here=$(cd "$(dirname "$0")" && pwd)
email="tus-$(date +%s)-$$@example.com"
body="{\"email\":\"$email\",\"password\":\"Password123\"}"
curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$body" "$MEDIAD_BASE_URL/auth/register" ||
	fail "cannot register $email"
TUS_TOKEN=$(curl -fsS -H 'Content-Type: application/json' -d "$body" "$MEDIAD_BASE_URL/auth/login" |
	node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))') ||
	fail "cannot log in"
export TUS_TOKEN
want=$(sha256sum <"$TUS_SOURCE" | cut -d' ' -f1)

for mode in whole resume; do
	echo "--- tus-js-client: $mode"
	out=$(timeout 120 node "$here/upload.mjs" "$TUS_CLIENT" "$mode" "$TUS_SOURCE") || fail "$mode: upload.mjs failed"
	echo "$out"
	res=$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(o.mediaResource+" "+o.uploadUrl+" "+o.resumeOffset)})') ||
		fail "$mode: cannot read the output"
	read -r resource url offset <<<"$res"
	[[ $resource =~ ^/media/[0-9]+$ ]] || fail "$mode: Mediad-Resource is \"$resource\""
	if [ "$mode" = resume ] && ! [ "$offset" -gt 0 ]; then
		fail "resume: the HEAD before resuming said $offset"
	fi
	rel=$(curl -fsS -H "Authorization: Bearer $TUS_TOKEN" "$MEDIAD_BASE_URL$resource" |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).path))') ||
		fail "$mode: GET $resource failed"
	got=$(sha256sum <"$MEDIA_ROOT/$rel" | cut -d' ' -f1) || fail "$mode: cannot read $MEDIA_ROOT/$rel"
	[ "$got" = "$want" ] || fail "$mode: sha256 of $rel is $got, the source's is $want"
	id=${url##*/}
	rows=$(psql -X -tA -c "SELECT count(*) FROM media m JOIN users u ON u.id = m.user_id
		WHERE u.email = '$email' AND m.title = (SELECT title FROM uploads WHERE id = '$id')") ||
		fail "$mode: psql failed"
	[ "$rows" = 1 ] || fail "$mode: $rows media rows for upload $id, want exactly 1"
	echo "--- $mode: ok (sha256 $got, one media row $resource${offset:+, resumed at byte $offset})"
done
