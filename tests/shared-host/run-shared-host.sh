#!/bin/bash
# run-shared-host.sh: mediad on a shared host (issue 19): a customer with a home directory, no
# root, no server configuration of their own, no Redis, no ports, installs mediad into
# $HOME/mediad, writes its configuration with `mediactl init`, deploys it with an .htaccess and
# mediad.fcgi (fcgi-conf/shared-host/) under /~user/api/, and renders from "cron".
#
# What it sets up, as a hosting company would:
#  - a new user (useradd; home in the test's temp folder; removed at exit, always);
#  - PostgreSQL on a free port (tests/stack.sh), with a role and database named after the user;
#  - Apache with mod_fcgid, mod_rewrite and mod_userdir (~user -> $HOME/public_html, AllowOverride
#    All), FcgidMaxRequestLen 2 MiB, no mod_xsendfile, run as that user (suexec-like) on a free
#    port. Its configuration never names mediad.
# What the user does, as that user, with nothing but their home: configure --prefix=$HOME/mediad,
# make, make install (from a copy of the source tree, as from a release tarball), mediactl init,
# copy the shared-host files into public_html/api/, and run the crontab line of media-spawner.
# Then the walkthrough through http://127.0.0.1:PORT/~user/api/: register, login, a protected
# route with Bearer (the Authorization header reaches mediad), a video upload, links and Location
# headers under the prefix, a tus upload, the renditions made by the cron line, the stream link in
# direct mode with a Range (206, the right bytes), the HLS playlist, a render job, a JSON 413 past
# the cap; and at last: nothing the user owns outside their home (and the host's folder).
#
# An automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status:
# 0 pass, 1 a check failed, 77 skip (not root: creating a user needs it), 99 hard error (a tool or
# server missing or not starting). SHARED_HOST_KEEP=1 keeps the temp folder (the user is removed
# regardless). Run by hand, as root:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/shared-host/run-shared-host.sh
set -u -o pipefail
me="run-shared-host.sh"
TIMEOUT=${SHARED_HOST_TIMEOUT:-30}

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "$me: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi
if [ "$(id -u)" != 0 ]; then
	echo "$me: skipped: creating the test user needs root (CI runs as root)" >&2
	exit 77
fi
for v in useradd userdel setpriv runuser apache2 ffmpeg ffprobe curl python3 flock make cc cmp find; do
	if ! command -v "$v" >/dev/null 2>&1; then
		echo "$me: $v is not installed (./dev installs the dependencies)" >&2
		exit 99
	fi
done
APACHE2=$(command -v apache2)
MODS=/usr/lib/apache2/modules
for m in mpm_event authz_core mime alias dir rewrite userdir fcgid; do
	if [ ! -f "$MODS/mod_$m.so" ]; then
		echo "$me: $MODS/mod_$m.so not found (apache2, libapache2-mod-fcgid)" >&2
		exit 99
	fi
done
# shellcheck source=tests/stack.sh
. "$abs_top_srcdir/tests/stack.sh"
STACK_TAG=shared-host
stack_pg_find || exit 99
stack_env_names "$abs_top_builddir/mediactl" || exit 99
stack_env_unset

# ---- the log of the walkthrough ----------------------------------------------------------------
step() { printf '\n== %s\n' "$*"; }
say() { printf '   %s\n' "$*"; }
FAILED=0
fail()
{
	printf '   FAIL: %s\n' "$*"
	FAILED=1
}
die()
{
	printf '   FAIL: %s\n' "$*"
	exit 1
}

# ---- teardown ------------------------------------------------------------------------------------
T="" U="" APACHE_PID="" PG_STARTED=""
cleanup()
{
	local rc=$? pids p
	trap - EXIT INT TERM HUP
	if [ -n "$APACHE_PID" ]; then
		stack_stop_group "$APACHE_PID" "Apache"
	fi
	if [ -n "$PG_STARTED" ]; then
		stack_pg_stop "$T/pg/data" "$TIMEOUT" || echo "$me: PostgreSQL did not stop" >&2
	fi
	if [ -n "$U" ] && id -u "$U" >/dev/null 2>&1; then
		# What the user still runs (a mediad mod_fcgid spawned, a spawner): by pid, then the user.
		pids=$(ps -o pid= -u "$U" 2>/dev/null)
		for p in $pids; do
			kill -TERM "$p" 2>/dev/null
		done
		for p in $pids; do
			stack_kill_wait "$p" 5 2>/dev/null
		done
		userdel "$U" 2>/dev/null || echo "$me: userdel $U failed" >&2
		getent group "$U" >/dev/null 2>&1 && groupdel "$U" 2>/dev/null
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ $rc -ne 0 ] && [ -f "$T/host/log/error.log" ]; then
			echo "---- the last lines of Apache's error log:" >&2
			tail -n 30 "$T/host/log/error.log" >&2
		fi
		if [ "${SHARED_HOST_KEEP:-}" = 1 ]; then
			echo "$me: kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

T=$(mktemp -d /tmp/mediad-sh.XXXXXX) || exit 99
chmod 755 "$T"
# A name free now, short (PostgreSQL role and database take it too: lower case and digits).
for _ in 1 2 3 4 5; do
	U=mdsh$((RANDOM % 100000))
	id -u "$U" >/dev/null 2>&1 || break
done
H=$T/home/$U
mkdir -p "$T/home"
step "the host: user $U, home $H"
if ! useradd -M -U -d "$H" -s /bin/sh "$U"; then
	U=""
	echo "$me: useradd failed" >&2
	exit 99
fi
G=$(id -gn "$U")
mkdir -p "$H" && chown "$U:$G" "$H" && chmod 711 "$H" || exit 99
say "useradd -M -U -d $H $U"

# as_user CMD...: CMD as the user, in their home, with the environment cron or a login gives.
as_user()
{
	(cd "$H" && setpriv --reuid="$U" --regid="$G" --clear-groups -- \
		env -i HOME="$H" USER="$U" LOGNAME="$U" SHELL=/bin/sh PATH=/usr/local/bin:/usr/bin:/bin "$@")
}

# ---- PostgreSQL: the host made a database and a role for the user -------------------------------
mkdir -p "$T/pg/run" "$T/log" || exit 99
: >"$T/log/postgres.log"
[ ${#STACK_AS_PG[@]} -eq 0 ] || chown -R postgres: "$T/pg" "$T/log/postgres.log" || exit 99
PGHOST=$T/pg/run
stack_pg_init "$T/pg/data" "$T/log/initdb.log" "listen_addresses = ''
unix_socket_directories = '$PGHOST'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
shared_buffers = 16MB" --locale=C -N || exit 99
for attempt in 1 2 3; do
	PGPORT=$(stack_free_port) || exit 99
	echo "port = $PGPORT" >>"$T/pg/data/postgresql.conf"
	PG_STARTED=1
	if stack_pg_start "$T/pg/data" "$T/log/postgres.log" "$TIMEOUT" &&
		stack_wait "PostgreSQL" "$TIMEOUT" stack_pg_ready "$PGHOST" "$PGPORT"; then
		break
	fi
	[ "$attempt" -lt 3 ] || {
		tail -n 5 "$T/log/postgres.log" >&2
		exit 99
	}
done
stack_pg_role_db "$PGHOST" "$PGPORT" "$U" >/dev/null || exit 99
DB_URL="host=$PGHOST port=$PGPORT dbname=$U user=$U"
say "PostgreSQL on port $PGPORT: role and database $U"

# ---- install without root ------------------------------------------------------------------------
step "install: ./configure --prefix=\$HOME/mediad && make && make install, as $U"
# The source as a release tarball would bring it (no build folders, no node_modules).
mkdir -p "$H/src" || exit 99
(cd "$abs_top_srcdir" && tar -cf - --exclude=node_modules --exclude='*.o' --exclude='.deps' \
	configure configure.ac Makefile.am Makefile.in aclocal.m4 config.h.in build-aux m4 src schema \
	docs fcgi-conf console scripts examples README.md) | tar -xf - -C "$H/src" || exit 99
# hls.js for the web console, from this build (the user's make would download it otherwise).
HLSJS=$(ls "$abs_top_builddir/$(cat "$abs_top_builddir/console.stamp" 2>/dev/null)"/vendor/hls-*.min.js 2>/dev/null | head -n1)
[ -n "$HLSJS" ] && cp "$HLSJS" "$H/src/hls.min.js" || {
	echo "$me: no hls.js in the build's console (make builds it)" >&2
	exit 99
}
chown -R "$U:$G" "$H/src"
mkdir -p "$H/build" && chown "$U:$G" "$H/build"
if ! (cd "$H/build" && as_user sh -c 'cd "$HOME/build" && ../src/configure --prefix="$HOME/mediad" \
		--disable-tests' >"$T/log/configure.log" 2>&1); then
	tail -n 20 "$T/log/configure.log"
	die "configure --prefix=\$HOME/mediad failed"
fi
say "configure: $(grep -E '^ *(prefix|sysconfdir):' "$T/log/configure.log" | tr -s ' ' | tr '\n' ' ')"
if ! as_user sh -c 'cd "$HOME/build" && make -j"$1" HLSJS="$HOME/src/hls.min.js" && make install' sh \
	"$(nproc 2>/dev/null || echo 2)" >"$T/log/make.log" 2>&1; then
	tail -n 30 "$T/log/make.log"
	die "make && make install failed"
fi
P=$H/mediad
for f in bin/mediad bin/mediactl bin/media-spawner bin/media-hooks etc/mediad.conf.sample \
	share/mediad/schema/001_init.sql share/mediad/fcgi-conf/shared-host/.htaccess \
	share/mediad/fcgi-conf/shared-host/mediad.fcgi share/mediad/fcgi-conf/shared-host/crontab \
	share/man/man8/mediactl.8; do
	[ -e "$P/$f" ] || fail "make install did not install \$HOME/mediad/$f"
done
say "installed: $(cd "$P" && find . -type f | wc -l) files under \$HOME/mediad (bin: $(ls "$P/bin" | tr '\n' ' '))"
say "runtime libraries of mediad: $(ldd "$P/bin/mediad" | awk '$3 ~ /^\// { print $1 }' | tr '\n' ' ')"

# ---- mediactl init -------------------------------------------------------------------------------
step "mediactl init (no Redis: redis_url left out)"
MEDIA=$P/var/media
as_user "$P/bin/mediactl" init --database-url "$DB_URL" --media-root "$MEDIA" --stream-mode direct \
	--set upload_max_bytes=1500000 >"$T/log/init.out" 2>&1
rc=$?
sed 's/^/   | /' "$T/log/init.out"
[ $rc -eq 0 ] || die "mediactl init exited $rc"
CONF=$P/etc/mediad.conf
[ "$(stat -c '%a %U' "$CONF")" = "600 $U" ] || fail "$CONF is $(stat -c '%a %U' "$CONF"), not 600 $U"
grep -Eq '^jwt_secret = [0-9a-f]{64}$' "$CONF" || fail "no fresh 64-hex jwt_secret in $CONF"
grep -Eq '^stream_key = [0-9a-f]{64}$' "$CONF" || fail "no fresh 64-hex stream_key in $CONF"
grep -q '^redis_url' "$CONF" && fail "mediactl init wrote a redis_url"
sum=$(sha256sum <"$CONF")
as_user "$P/bin/mediactl" init --database-url "$DB_URL" >"$T/log/init2.out" 2>&1
rc=$?
say "again: exit $rc: $(cat "$T/log/init2.out")"
[ $rc -ne 0 ] || fail "a second mediactl init succeeded"
grep -q "already exists" "$T/log/init2.out" || fail "the second init did not say the file exists"
[ "$(sha256sum <"$CONF")" = "$sum" ] || fail "the second init changed $CONF"
as_user "$P/bin/mediactl" init "$H/bad.conf" --database-url "$DB_URL" --stream-mode bogus \
	>"$T/log/init3.out" 2>&1
rc=$?
say "an invalid value: exit $rc: $(cat "$T/log/init3.out")"
[ $rc -eq 78 ] || fail "mediactl init with --stream-mode bogus exited $rc, not 78"
[ ! -e "$H/bad.conf" ] || fail "mediactl init left $H/bad.conf behind"

# ---- deploy with .htaccess and mediad.fcgi only -------------------------------------------------
step "deploy into \$HOME/public_html/api/ (the files of fcgi-conf/shared-host/)"
PREFIX=/~$U/api
CAP=2097152
as_user sh -c '
	set -e
	d="$HOME/public_html/api"
	s="$HOME/mediad/share/mediad/fcgi-conf"
	mkdir -p "$d"
	chmod 711 "$HOME/public_html"
	sed -e "s#/~USER/api#$1#g" -e "s#-gt 2097152#-gt $2#" "$s/shared-host/.htaccess" >"$d/.htaccess"
	cp "$s/shared-host/mediad.fcgi" "$d/mediad.fcgi"
	chmod 755 "$d/mediad.fcgi"
	cp -R "$s/errors" "$d/_errors"
' sh "$PREFIX" "$CAP" || die "deploying into public_html failed"
say "$(cd "$H/public_html/api" && ls -A | tr '\n' ' ')"
say ".htaccess: RewriteBase $(awk '/^RewriteBase/ { print $2 }' "$H/public_html/api/.htaccess")"

# ---- the host's Apache -----------------------------------------------------------------------
step "the host's Apache: mod_fcgid, mod_rewrite, mod_userdir; FcgidMaxRequestLen $CAP; run as $U"
A=$T/host
mkdir -p "$A/run" "$A/log" "$A/fcgid" "$A/tmp" "$A/www" || exit 99
echo "host" >"$A/www/index.html"
write_httpd_conf()
{
	local m
	{
		echo "# httpd.conf: the host's, written by $me; the application is the customer's .htaccess."
		echo "ServerRoot \"$A\""
		echo "DefaultRuntimeDir \"$A/run\""
		echo "PidFile \"$A/run/httpd.pid\""
		echo "Mutex file:$A/run default"
		echo "ErrorLog \"$A/log/error.log\""
		echo "LogLevel warn"
		echo "Listen 127.0.0.1:$PORT"
		echo "ServerName 127.0.0.1"
		for m in mpm_event authz_core mime alias dir rewrite userdir fcgid; do
			echo "LoadModule ${m}_module $MODS/mod_$m.so"
		done
		echo "TypesConfig /etc/mime.types"
		echo "LogFormat \"%h %t \\\"%m %U %H\\\" %>s %B\" common"
		echo "CustomLog \"$A/log/access.log\" common"
		echo "DocumentRoot \"$A/www\""
		echo "<Directory />"
		echo "  Options None"
		echo "  AllowOverride None"
		echo "  Require all denied"
		echo "</Directory>"
		echo "<Directory \"$A/www\">"
		echo "  Require all granted"
		echo "</Directory>"
		echo "<Files \".ht*\">"
		echo "  Require all denied"
		echo "</Files>"
		echo "# ~user: public_html of the home directory passwd names (as Debian's userdir.conf)."
		echo "UserDir public_html"
		echo "UserDir disabled root"
		echo "<Directory \"$T/home/*/public_html\">"
		echo "  AllowOverride All"
		echo "  Options SymLinksIfOwnerMatch"
		echo "  Require all granted"
		echo "</Directory>"
		echo "FcgidIPCDir \"$A/fcgid\""
		echo "FcgidProcessTableFile \"$A/run/fcgid_shm\""
		echo "FcgidMaxRequestLen $CAP"
		echo "FcgidMaxProcessesPerClass 4"
		echo "FcgidIOTimeout 120"
	} >"$A/httpd.conf"
}
chown -R "$U:$G" "$A"
for attempt in 1 2 3; do
	PORT=$(stack_free_port) || exit 99
	write_httpd_conf
	if ! as_user "$APACHE2" -t -f "$A/httpd.conf" >"$A/log/configtest.log" 2>&1; then
		cat "$A/log/configtest.log" >&2
		exit 99
	fi
	# In the foreground (our child), in a session of its own (it leads the group of its children
	# and of the mediad processes mod_fcgid starts); what it says before ErrorLog is open goes to
	# log/startup.log. TMPDIR: where mod_fcgid spools request bodies (the host's).
	setpriv --reuid="$U" --regid="$G" --clear-groups -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
		TMPDIR="$A/tmp" setsid "$APACHE2" -DFOREGROUND -f "$A/httpd.conf" </dev/null \
		>>"$T/log/apache-startup.log" 2>&1 &
	APACHE_PID=$!
	rc=0
	stack_wait_alive "Apache" "$TIMEOUT" "$APACHE_PID" curl -s -o /dev/null "http://127.0.0.1:$PORT/index.html" ||
		rc=$?
	[ $rc -ne 0 ] || break
	stack_stop_group "$APACHE_PID" "Apache"
	APACHE_PID=""
	if [ "$attempt" -eq 3 ] || ! grep -q "Address already in use" "$T/log/apache-startup.log" "$A/log/error.log" 2>/dev/null; then
		echo "$me: Apache did not start:" >&2
		tail -n 10 "$T/log/apache-startup.log" "$A/log/error.log" >&2
		exit 99
	fi
done
BASE=http://127.0.0.1:$PORT$PREFIX
say "Apache on port $PORT; the API at $BASE"
sed -e "s#$T#TMP#g" -e '/^#/d' "$A/httpd.conf" | grep -qi mediad && fail "the host's configuration names mediad"

# ---- the walkthrough -------------------------------------------------------------------------------
W=$T/walk
mkdir -p "$W"
BODY=$W/body HEADERS=$W/headers TOKEN=""
# api METHOD PATH [CURL ARGS...]: one request to $BASE$PATH (PATH may be a whole URL); the status
# in STATUS, the body in $BODY, the headers in $HEADERS. Sends the token when there is one.
api()
{
	local method=$1 path=$2 url rc=0
	shift 2
	local auth=()
	[ -n "$TOKEN" ] && auth=(-H "Authorization: Bearer $TOKEN")
	case $path in
	http*) url=$path ;;
	*) url=$BASE$path ;;
	esac
	: >"$BODY"
	STATUS=$(curl -sS --max-time 60 -X "$method" -o "$BODY" -D "$HEADERS" -w '%{http_code}' \
		${auth[@]+"${auth[@]}"} "$@" "$url") || rc=$?
	[ $rc -eq 0 ] || STATUS="curl-exit-$rc"
	printf '   %-6s %-60s -> %s\n' "$method" "${url#http://127.0.0.1:"$PORT"}" "$STATUS"
}
# expect STATUS: the last answer had it, else the walkthrough stops here.
expect()
{
	[ "$STATUS" = "$1" ] && return 0
	printf '   FAIL: expected HTTP %s, got %s; body: %s\n' "$1" "$STATUS" "$(head -c 600 "$BODY")"
	exit 1
}
json()
{
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k)
print("null" if v is None else v if isinstance(v, str) else json.dumps(v))' "$BODY" "$1" 2>/dev/null
}
header()
{
	awk -v want="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" '
		{ sub(/\r$/, "") }
		{ i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == want) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); found = v } }
		END { print found }' "$HEADERS"
}
is_json()
{
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$BODY" 2>/dev/null
}

step "health, and a path mediad does not know (its JSON 404, the prefix taken off)"
api GET /healthz
expect 200
say "$(cat "$BODY")"
api GET /no/such/route
expect 404
say "$(cat "$BODY")"
grep -q '"no route for GET /no/such/route"' "$BODY" || fail "mediad did not route /no/such/route without the prefix"

step "register, log in, a protected route with Bearer"
EMAIL="shared-$RANDOM@example.com"
printf '{"email":"%s","password":"Shared-host-%s-pw"}' "$EMAIL" "$RANDOM" >"$W/cred.json"
api POST /auth/register -H 'Content-Type: application/json' --data-binary "@$W/cred.json"
expect 201
api POST /auth/login -H 'Content-Type: application/json' --data-binary "@$W/cred.json"
expect 200
TOKEN=$(json token)
[ -n "$TOKEN" ] || die "login answered no token"
api GET /auth/me
expect 200
[ "$(json user.email)" = "$EMAIL" ] || fail "GET /auth/me names $(json user.email), not $EMAIL"
say "Authorization reached mediad: signed in as $(json user.email)"
SAVED=$TOKEN
TOKEN=""
api GET /auth/me
expect 401
say "without it: $(cat "$BODY")"
TOKEN=$SAVED

step "upload a video (POST /media), renditions queued"
if ! ffmpeg -nostdin -y -loglevel error -f lavfi -i testsrc=size=320x240:rate=25:duration=3 \
	-f lavfi -i sine=frequency=440:duration=3 -c:v libx264 -preset veryfast -pix_fmt yuv420p \
	-c:a aac -shortest -movflags +faststart "$W/clip.mp4" 2>"$W/ffmpeg.log"; then
	cat "$W/ffmpeg.log"
	exit 99
fi
say "made clip.mp4 ($(stat -c %s "$W/clip.mp4") bytes)"
api POST /media -F "file=@$W/clip.mp4;type=video/mp4" -F "title=Shared host clip" -F "type=video"
expect 201
MEDIA_ID=$(json id)
SIZE=$(json sizeBytes)
say "media $MEDIA_ID: $(json kind) $(json width)x$(json height), $SIZE bytes, status $(json status)"

step "resumable upload (tus): its Location and Mediad-Resource carry the prefix"
LEN=$(stat -c %s "$W/clip.mp4")
api POST /uploads -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $LEN" \
	-H "Upload-Metadata: filename $(printf 'tus.mp4' | base64)" --data-binary ''
expect 201
LOC=$(header Location)
say "Location: $LOC"
case $LOC in
"$PREFIX"/uploads/*) ;;
*) fail "the tus Location $LOC is not under $PREFIX/uploads/" ;;
esac
api PATCH "http://127.0.0.1:$PORT$LOC" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \
	-H 'Content-Type: application/offset+octet-stream' --data-binary "@$W/clip.mp4"
expect 204
RES=$(header Mediad-Resource)
say "Mediad-Resource: $RES"
case $RES in
"$PREFIX"/media/[0-9]*) ;;
*) fail "Mediad-Resource $RES is not under $PREFIX/media/" ;;
esac

step "a render job: its Location carries the prefix"
api POST /projects -H 'Content-Type: application/json' --data-binary '{"title":"Shared"}'
expect 201
PROJECT_ID=$(json id)
ffmpeg -nostdin -y -loglevel error -f lavfi -i color=c=0x3366cc:s=160x120 -frames:v 1 "$W/still.png" ||
	exit 99
api POST "/projects/$PROJECT_ID/assets" -F "asset=@$W/still.png;type=image/png"
expect 201
ASSET_ID=$(json asset.id)
api POST "/projects/$PROJECT_ID/render" -H 'Content-Type: application/json' \
	--data-binary "{\"assetId\":$ASSET_ID,\"preset\":\"thumbnail\"}"
expect 202
JOB_ID=$(json jobId)
say "Location: $(header Location)"
[ "$(header Location)" = "$PREFIX/jobs/$JOB_ID" ] || fail "the job's Location is not $PREFIX/jobs/$JOB_ID"

step "cron: the media-spawner line of the installed crontab, run as cron would, until done"
CRON_LINE=$(grep -E '^[^#].*media-spawner.* --once' "$P/share/mediad/fcgi-conf/shared-host/crontab" | head -n1)
CRON_CMD=$(printf '%s\n' "$CRON_LINE" | awk '{ for (i = 6; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "") }')
say "crontab: $CRON_LINE"
[ -n "$CRON_CMD" ] || die "no media-spawner line in the installed crontab"
deadline=$((SECONDS + 120))
runs=0
while :; do
	runs=$((runs + 1))
	as_user sh -c "$CRON_CMD" || fail "the cron line exited $?"
	api GET "/media/$MEDIA_ID" >/dev/null
	m_status=$(json status)
	api GET "/jobs/$JOB_ID" >/dev/null
	j_state=$(json state)
	if [ "$m_status" != processing ] && case $j_state in completed | failed | cancelled) true ;; *) false ;; esac then
		break
	fi
	[ $SECONDS -lt $deadline ] || die "after $runs runs: media $MEDIA_ID $m_status, job $JOB_ID $j_state"
	sleep 1
done
say "after $runs run(s): media $MEDIA_ID $m_status, job $JOB_ID $j_state"
[ "$m_status" = ready ] || fail "media $MEDIA_ID is $m_status, not ready"
[ "$j_state" = completed ] || fail "job $JOB_ID is $j_state, not completed"
say "spawner log: $(tail -n 1 "$H/media-spawner.log" 2>/dev/null)"

step "stream link (stream_mode = direct): under the prefix, Range answered by mediad"
api GET "/media/$MEDIA_ID/stream-url"
expect 200
LINK=$(json url)
HLS=$(json hlsUrl)
say "url:    $LINK"
say "hlsUrl: $HLS"
case $LINK in
"http://127.0.0.1:$PORT$PREFIX/media/$MEDIA_ID/stream?"*) ;;
*) fail "the stream link is not under $BASE" ;;
esac
TOKEN=""
api GET "$LINK" -H 'Range: bytes=100-1099'
expect 206
say "Content-Range: $(header Content-Range); X-Sendfile: $(header X-Sendfile)"
[ "$(header Content-Range)" = "bytes 100-1099/$SIZE" ] || fail "Content-Range is not bytes 100-1099/$SIZE"
tail -c +101 "$W/clip.mp4" | head -c 1000 >"$W/expect.bin"
cmp -s "$BODY" "$W/expect.bin" && say "the 1000 bytes match the upload" || fail "the bytes differ from the upload"
[ -z "$(header X-Sendfile)" ] || fail "an X-Sendfile header reached the client"
api GET "$HLS"
expect 200
VARIANT=$(grep -v '^#' "$BODY" | head -n1)
say "master playlist: $(grep -c EXT-X-STREAM-INF "$BODY") variant(s); first: ${VARIANT%%\?*}"
api GET "${HLS%%/master.m3u8*}/$VARIANT"
expect 200
say "variant playlist: $(grep -c '^#EXTINF' "$BODY") segment(s)"
TOKEN=$SAVED

step "which way brings Authorization to mediad under mod_fcgid (the .htaccess edited live)"
HT=$H/public_html/api/.htaccess
cp "$HT" "$W/htaccess.orig"
# auth_with NAME SED: the deployed .htaccess less what SED deletes; prints GET /auth/me's status.
auth_with()
{
	sed -e "$2" "$W/htaccess.orig" >"$HT"
	api GET /auth/me >/dev/null
	say "$1: GET /auth/me with Bearer -> $STATUS"
}
grep -q '^RewriteRule .*E=HTTP_AUTHORIZATION' "$HT" || fail "the .htaccess has no Authorization rewrite rule"
grep -q '^#CGIPassAuth On' "$HT" || fail "the .htaccess has no commented-out CGIPassAuth On"
auth_with "as shipped: the rewrite rule          " ''
[ "$STATUS" = 200 ] || fail "the rewrite rule does not pass Authorization"
auth_with "CGIPassAuth On instead (uncommented)  " 's/^#CGIPassAuth On/CGIPassAuth On/; /E=HTTP_AUTHORIZATION/d; /^RewriteCond %{HTTP:Authorization}/d'
[ "$STATUS" = 200 ] || fail "CGIPassAuth On alone does not pass Authorization"
auth_with "neither: Apache drops it              " '/E=HTTP_AUTHORIZATION/d; /^RewriteCond %{HTTP:Authorization}/d'
[ "$STATUS" = 401 ] || fail "without either, Authorization still reached mediad ($STATUS)"
cp "$W/htaccess.orig" "$HT"
chown "$U:$G" "$HT"

step "a body over the cap: 413, our JSON"
head -c 1800000 /dev/zero >"$W/mid.bin"
api POST /media -F "file=@$W/mid.bin;type=video/mp4"
expect 413
say "under FcgidMaxRequestLen, over upload_max_bytes (1500000): mediad's own: $(cat "$BODY")"
is_json || fail "mediad's 413 is not JSON"
head -c $((CAP + 100000)) /dev/zero >"$W/big.bin"
api POST /media -F "file=@$W/big.bin;type=video/mp4"
expect 413
say "Content-Type: $(header Content-Type); $(cat "$BODY")"
is_json && grep -q payload_too_large "$BODY" || fail "the 413 is not our JSON"
api POST /media -H 'Transfer-Encoding: chunked' -F "file=@$W/big.bin;type=video/mp4"
say "chunked (no Content-Length), over FcgidMaxRequestLen: $STATUS $(header Content-Type) $(head -c 200 "$BODY")"
is_json || fail "the answer to a chunked over-cap body is not JSON"

step "nothing of $U outside \$HOME (the host's folder $A aside)"
find / /tmp /var/tmp /dev/shm /run -xdev -user "$U" ! -path "$H" ! -path "$H/*" ! -path "$A" ! -path "$A/*" \
	-print 2>/dev/null | sort -u >"$W/found"
# Apache runs as the user here (as under suexec): its shared memory (APR's /dev/shm/ShM.*, the
# scoreboard) is the host's. Told apart by the mappings of Apache's own process, not by name.
: >"$W/outside"
while IFS= read -r f; do
	if grep -qF " $f" "/proc/$APACHE_PID/maps" 2>/dev/null; then
		say "the host's: $f (mapped by Apache, pid $APACHE_PID)"
	else
		printf '%s\n' "$f" >>"$W/outside"
	fi
done <"$W/found"
if [ -s "$W/outside" ]; then
	fail "files of $U outside its home: $(head -n 20 "$W/outside" | tr '\n' ' ')"
else
	say "none"
fi

step "result"
if [ $FAILED -ne 0 ]; then
	say "FAILED (see above)"
	exit 1
fi
say "passed"
exit 0
