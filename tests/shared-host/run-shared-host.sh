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
#    FileInfo Options: the minimum README and the .htaccess name; a folder beside it with
#    Options=ExecCGI,Indexes, and one with AuthConfig too, for the CGIPassAuth check),
#    FcgidMaxRequestLen 2 MiB, no mod_xsendfile, run as that user (suexec-like) on a free port. Its
#    configuration never names mediad.
# What the user does, as that user, with nothing but their home: configure --prefix=$HOME/mediad,
# make, make install (from a copy of the source tree, as from a release tarball), mediactl init
# (DATABASE_URL in the environment; its refusals and warnings checked too),
# copy the shared-host files into public_html/api/, and run the crontab line of media-spawner.
# Then the walkthrough through http://127.0.0.1:PORT/~user/api/: register, login, a protected
# route with Bearer (the Authorization header reaches mediad), a video upload, links and Location
# headers under the prefix, a tus upload, the renditions made by the cron line, the stream link in
# direct mode with a Range (206, the right bytes), the HLS playlist, a render job, a JSON 413 past
# the cap; and at last: nothing the user owns outside their home (on every mounted filesystem,
# Apache's own run, log and fcgid folders aside). Every wait is bounded (timeout), and a TERM
# stops the run at once (long steps run in the background, waited for).
#
# An automake TESTS entry: the Makefile exports abs_top_builddir and abs_top_srcdir. Exit status:
# 0 pass, 1 a check failed, 77 skip (not root: creating a user needs it), 99 hard error (a tool or
# server missing or not starting). SHARED_HOST_KEEP=1 keeps the temp folder (the user is removed
# regardless). Run by hand, as root:
#   abs_top_builddir=$PWD/build-test abs_top_srcdir=$PWD tests/shared-host/run-shared-host.sh
set -u -o pipefail
me="run-shared-host.sh"
TIMEOUT=${SHARED_HOST_TIMEOUT:-30}
# Bounds of the long steps, in seconds: configure, make (the whole build), make install, one run of
# the cron line, the search for files outside the home.
CONFIGURE_TIMEOUT=${SHARED_HOST_CONFIGURE_TIMEOUT:-600}
MAKE_TIMEOUT=${SHARED_HOST_MAKE_TIMEOUT:-1800}
INSTALL_TIMEOUT=${SHARED_HOST_INSTALL_TIMEOUT:-600}
CRON_TIMEOUT=150
FIND_TIMEOUT=${SHARED_HOST_FIND_TIMEOUT:-900}

if [ -z "${abs_top_builddir:-}" ] || [ -z "${abs_top_srcdir:-}" ]; then
	echo "$me: abs_top_builddir and abs_top_srcdir must be set (make check does)" >&2
	exit 99
fi
if [ "$(id -u)" != 0 ]; then
	echo "$me: skipped: creating the test user needs root (CI runs as root)" >&2
	exit 77
fi
for v in useradd userdel setpriv runuser apache2 ffmpeg ffprobe curl python3 flock make cc cmp find \
	timeout pkill pgrep; do
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
T="" U="" APACHE_PID="" PG_STARTED="" BOUNDED_PID=""
cleanup()
{
	local rc=$?
	trap - EXIT INT TERM HUP
	# A long step cut short by a signal (bounded): its timeout passes the TERM on.
	[ -z "$BOUNDED_PID" ] || kill -TERM "$BOUNDED_PID" 2>/dev/null
	if [ -n "$APACHE_PID" ]; then
		stack_stop_group "$APACHE_PID" "Apache"
	fi
	if [ -n "$PG_STARTED" ]; then
		stack_pg_stop "$T/pg/data" "$TIMEOUT" || echo "$me: PostgreSQL did not stop" >&2
	fi
	# U is set only once useradd made it: never someone else's. What it still runs (a mediad
	# mod_fcgid spawned, a spawner, a make cut short) is killed until none is left (10 s at most),
	# then the user goes with its home and mail spool.
	if [ -n "$U" ] && id -u "$U" >/dev/null 2>&1; then
		for _ in $(seq 1 100); do
			pgrep -u "$U" >/dev/null 2>&1 || break
			pkill -KILL -u "$U" 2>/dev/null
			sleep 0.1
		done
		pgrep -u "$U" >/dev/null 2>&1 && echo "$me: processes of $U still run: $(pgrep -u "$U" | tr '\n' ' ')" >&2
		userdel -r -f "$U" 2>/dev/null
		getent group "$U" >/dev/null 2>&1 && groupdel "$U" 2>/dev/null
		if id -u "$U" >/dev/null 2>&1; then
			echo "$me: the user $U is still there (userdel -r -f failed)" >&2
			rc=99
		fi
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
# A name free now, short (PostgreSQL role and database take it too: lower case and digits). U is
# set only once useradd made it, so that cleanup never removes an account it did not create.
cand=""
for _ in 1 2 3 4 5; do
	cand=mdsh$((RANDOM % 100000))
	id -u "$cand" >/dev/null 2>&1 || break
	cand=""
done
[ -n "$cand" ] || {
	echo "$me: no free user name found" >&2
	exit 99
}
H=$T/home/$cand
mkdir -p "$T/home"
step "the host: user $cand, home $H"
if ! useradd -M -U -d "$H" -s /bin/sh "$cand"; then
	echo "$me: useradd failed" >&2
	exit 99
fi
U=$cand
G=$(id -gn "$U")
# A new user may get the uid of an old one, whose files are still about (a build killed earlier
# leaves cc*.s in /tmp): the search at the end counts only files changed after this mark.
touch "$T/since-useradd" || exit 99
mkdir -p "$H/tmp" && chown -R "$U:$G" "$H" && chmod 711 "$H" || exit 99
say "useradd -M -U -d $H $U"

# as_user CMD...: CMD as the user, in their home, with the environment cron or a login gives.
as_user()
{
	(cd "$H" && setpriv --reuid="$U" --regid="$G" --clear-groups -- \
		env -i HOME="$H" USER="$U" LOGNAME="$U" SHELL=/bin/sh PATH=/usr/local/bin:/usr/bin:/bin \
		TMPDIR="$H/tmp" "$@")
}

# bounded SECONDS [as_user] CMD...: CMD (as the user with as_user) under timeout (TERM at
# SECONDS, KILL 10 s later), in the background and waited for, so that a TERM to this script runs
# its trap at once. Returns CMD's status (124: timed out).
bounded()
{
	local secs=$1
	shift
	if [ "$1" = as_user ]; then
		shift
		as_user timeout -k 10 "$secs" "$@" &
	else
		timeout -k 10 "$secs" "$@" &
	fi
	BOUNDED_PID=$!
	wait $BOUNDED_PID
	set -- $?
	BOUNDED_PID=""
	return "$1"
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
# The source as a release tarball would bring it (no build folders, no node_modules). Only what
# is there: a git checkout has m4/ (autoreconf's), the release tarball (make distcheck) has not.
mkdir -p "$H/src" || exit 99
srcs=()
for f in configure configure.ac Makefile.am Makefile.in aclocal.m4 config.h.in build-aux m4 src schema \
	docs fcgi-conf console scripts examples README.md; do
	[ -e "$abs_top_srcdir/$f" ] && srcs+=("$f")
done
(cd "$abs_top_srcdir" && tar -cf - --exclude=node_modules --exclude='*.o' --exclude='.deps' "${srcs[@]}") |
	tar -xf - -C "$H/src" || exit 99
# hls.js for the web console, from this build (the user's make would download it otherwise).
HLSJS=$(ls "$abs_top_builddir/$(cat "$abs_top_builddir/console.stamp" 2>/dev/null)"/vendor/hls-*.min.js 2>/dev/null | head -n1)
[ -n "$HLSJS" ] && cp "$HLSJS" "$H/src/hls.min.js" || {
	echo "$me: no hls.js in the build's console (make builds it)" >&2
	exit 99
}
chown -R "$U:$G" "$H/src"
mkdir -p "$H/build" && chown "$U:$G" "$H/build"
if ! bounded "$CONFIGURE_TIMEOUT" as_user sh -c 'cd "$HOME/build" && ../src/configure \
	--prefix="$HOME/mediad" --disable-tests' >"$T/log/configure.log" 2>&1; then
	tail -n 20 "$T/log/configure.log"
	die "configure --prefix=\$HOME/mediad failed (or took over ${CONFIGURE_TIMEOUT}s)"
fi
say "configure: $(grep -E '^ *(prefix|sysconfdir):' "$T/log/configure.log" | tr -s ' ' | tr '\n' ' ')"
if ! bounded "$MAKE_TIMEOUT" as_user sh -c 'cd "$HOME/build" && make -j"$1" HLSJS="$HOME/src/hls.min.js"' \
	sh "$(nproc 2>/dev/null || echo 2)" >"$T/log/make.log" 2>&1; then
	tail -n 30 "$T/log/make.log"
	die "make failed (or took over ${MAKE_TIMEOUT}s)"
fi
if ! bounded "$INSTALL_TIMEOUT" as_user sh -c 'cd "$HOME/build" && make install' >>"$T/log/make.log" 2>&1; then
	tail -n 30 "$T/log/make.log"
	die "make install failed (or took over ${INSTALL_TIMEOUT}s)"
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
step "mediactl init (no Redis: redis_url left out; the database URL from the environment, as README says)"
MEDIA=$P/var/media
# init OUT ARGS...: mediactl init as the user (bounded), with DATABASE_URL in the environment
# unless ARGS name one; stdout and stderr in $T/log/OUT; the exit status in rc.
init()
{
	local out=$1
	shift
	rc=0
	bounded 120 as_user env DATABASE_URL="$DB_URL" "$P/bin/mediactl" init "$@" >"$T/log/$out" 2>&1 || rc=$?
}
# no_temp_files: init's temporary files (NAME.init-XXXX) are gone.
no_temp_files()
{
	local left
	left=$(find "$P/etc" "$H" -maxdepth 1 -name '*.init-*' 2>/dev/null)
	[ -z "$left" ] || fail "mediactl init left temporary files: $left"
}
init init.out --media-root "$MEDIA" --stream-mode direct --set upload_max_bytes=1500000
sed 's/^/   | /' "$T/log/init.out"
[ $rc -eq 0 ] || die "mediactl init exited $rc"
CONF=$P/etc/mediad.conf
[ "$(stat -c '%a %U' "$CONF")" = "600 $U" ] || fail "$CONF is $(stat -c '%a %U' "$CONF"), not 600 $U"
grep -Eq '^jwt_secret = [0-9a-f]{64}$' "$CONF" || fail "no fresh 64-hex jwt_secret in $CONF"
grep -Eq '^stream_key = [0-9a-f]{64}$' "$CONF" || fail "no fresh 64-hex stream_key in $CONF"
grep -q '^redis_url' "$CONF" && fail "mediactl init wrote a redis_url"
grep -qi 'warning' "$T/log/init.out" && fail "mediactl init warned with the URL in the environment"
[ -d "$MEDIA/uploads" ] && [ -d "$MEDIA/outputs" ] || fail "mediactl init did not make $MEDIA/uploads and outputs"
no_temp_files
sum=$(sha256sum <"$CONF")
init init2.out
say "again: exit $rc: $(cat "$T/log/init2.out")"
[ $rc -ne 0 ] || fail "a second mediactl init succeeded"
grep -q "already exists" "$T/log/init2.out" || fail "the second init did not say the file exists"
[ "$(sha256sum <"$CONF")" = "$sum" ] || fail "the second init changed $CONF"
no_temp_files
# A password on the command line (ps shows it to every user of the host): said, once.
init init3.out "$H/bad.conf" --database-url "$DB_URL password=not-shown" --stream-mode bogus
say "an invalid value, a password on the command line: exit $rc:"
sed 's/^/   | /' "$T/log/init3.out"
[ $rc -eq 78 ] || fail "mediactl init with --stream-mode bogus exited $rc, not 78"
[ ! -e "$H/bad.conf" ] || fail "mediactl init left $H/bad.conf behind"
[ "$(grep -c 'warning: .*database_url.*password' "$T/log/init3.out")" = 1 ] ||
	fail "mediactl init did not warn (once) of the password on its command line"
init init4.out "$H/bad.conf" --database-url "postgresql://$U:not-shown@localhost/$U" --stream-mode bogus
grep -q 'warning: .*password' "$T/log/init4.out" || fail "no warning for a URL's user:password@"
# Keys that are no setting: refused, nothing written (a '#' or a line break would hide or add one).
for kv in nosuch_setting=1 '#media_root=/x' 'media_root
stream_mode=direct' 'upload_max_bytes=1
stream_mode=direct'; do
	init init5.out "$H/bad.conf" --set "$kv"
	say "--set $(printf '%q' "$kv"): exit $rc: $(head -n 1 "$T/log/init5.out")"
	[ $rc -eq 2 ] || fail "mediactl init --set $(printf '%q' "$kv") exited $rc, not 2"
	[ ! -e "$H/bad.conf" ] || fail "mediactl init --set $(printf '%q' "$kv") wrote $H/bad.conf"
done
# The media folders are made where the programs will look: MEDIA_ROOT wins over the file.
rc=0
bounded 120 as_user env DATABASE_URL="$DB_URL" MEDIA_ROOT="$H/env-media" "$P/bin/mediactl" init \
	"$H/alt.conf" --media-root "$H/file-media" >"$T/log/init6.out" 2>&1 || rc=$?
say "MEDIA_ROOT=\$HOME/env-media beside --media-root \$HOME/file-media: exit $rc: $(grep 'media root' "$T/log/init6.out")"
[ $rc -eq 0 ] || fail "mediactl init with MEDIA_ROOT exited $rc: $(cat "$T/log/init6.out")"
[ -d "$H/env-media/uploads" ] && [ -d "$H/env-media/outputs" ] || fail "mediactl init did not make MEDIA_ROOT's folders"
[ ! -e "$H/file-media" ] || fail "mediactl init made the file's media root, which MEDIA_ROOT overrides"
no_temp_files
rm -rf "$H/alt.conf" "$H/env-media" "$H/file-media"

# ---- deploy with .htaccess and mediad.fcgi only -------------------------------------------------
step "deploy into \$HOME/public_html/api/ (the files of fcgi-conf/shared-host/)"
PREFIX=/~$U/api
CAP=2097152
# deploy FOLDER: the steps of README into $HOME/public_html/FOLDER.
deploy()
{
	as_user sh -c '
		set -e
		d="$HOME/public_html/$3"
		s="$HOME/mediad/share/mediad/fcgi-conf"
		mkdir -p "$d"
		chmod 711 "$HOME/public_html"
		sed -e "s#/~USER/api#$1#g" -e "s#-gt 2097152#-gt $2#" "$s/shared-host/.htaccess" >"$d/.htaccess"
		cp "$s/shared-host/mediad.fcgi" "$d/mediad.fcgi"
		chmod 755 "$d/mediad.fcgi"
		cp -R "$s/errors" "$d/_errors"
	' sh "/~$U/$1" "$CAP" "$1" || die "deploying into public_html/$1 failed"
}
deploy api
# The same in two folders the host configures otherwise (for the AllowOverride checks below).
deploy api-optlist
deploy api-authconfig
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
		echo "# What README and the .htaccess say is enough, nothing more."
		echo "<Directory \"$T/home/*/public_html\">"
		echo "  AllowOverride FileInfo Options"
		echo "  Options SymLinksIfOwnerMatch"
		echo "  Require all granted"
		echo "</Directory>"
		echo "# The other form README names; and AuthConfig on top (what CGIPassAuth needs)."
		echo "<Directory \"$T/home/*/public_html/api-optlist\">"
		echo "  AllowOverride FileInfo Options=ExecCGI,Indexes"
		echo "</Directory>"
		echo "<Directory \"$T/home/*/public_html/api-authconfig\">"
		echo "  AllowOverride FileInfo Options AuthConfig"
		echo "</Directory>"
		echo "FcgidIPCDir \"$A/fcgid\""
		echo "FcgidProcessTableFile \"$A/run/fcgid_shm\""
		echo "FcgidMaxRequestLen $CAP"
		echo "FcgidMaxProcessesPerClass 4"
		echo "FcgidIOTimeout 120"
	} >"$A/httpd.conf"
}
# Apache runs as the user (as under suexec): the folders it writes are the user's, the rest the
# host's. Its TMPDIR (where mod_fcgid spools bodies) is like /tmp: what is left there counts as the
# user's files outside their home.
chown "$U:$G" "$A/run" "$A/log" "$A/fcgid"
chmod 1777 "$A/tmp"
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
	rc=0
	bounded "$CRON_TIMEOUT" as_user sh -c "$CRON_CMD" || rc=$?
	[ $rc -eq 0 ] || fail "the cron line exited $rc (124: still running after ${CRON_TIMEOUT}s)"
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

step "AllowOverride as documented; which way brings Authorization to mediad (the .htaccess edited live)"
# auth_with FOLDER NAME SED: FOLDER's .htaccess as deployed, less what SED changes; prints GET
# /auth/me's status through that folder.
auth_with()
{
	local ht=$H/public_html/$1/.htaccess
	[ -f "$W/htaccess.$1" ] || cp "$ht" "$W/htaccess.$1"
	sed -e "$3" "$W/htaccess.$1" >"$ht"
	chown "$U:$G" "$ht"
	api GET "http://127.0.0.1:$PORT/~$U/$1/auth/me" >/dev/null
	say "$2: GET /auth/me with Bearer -> $STATUS"
}
PASSAUTH='s/^#CGIPassAuth On/CGIPassAuth On/; /E=HTTP_AUTHORIZATION/d; /^RewriteCond %{HTTP:Authorization}/d'
NEITHER='/E=HTTP_AUTHORIZATION/d; /^RewriteCond %{HTTP:Authorization}/d'
grep -q '^RewriteRule .*E=HTTP_AUTHORIZATION' "$H/public_html/api/.htaccess" || fail "the .htaccess has no Authorization rewrite rule"
grep -q '^#CGIPassAuth On' "$H/public_html/api/.htaccess" || fail "the .htaccess has no commented-out CGIPassAuth On"
say "AllowOverride FileInfo Options (README's minimum; the folder of the walkthrough above):"
auth_with api "  as shipped: the rewrite rule          " ''
[ "$STATUS" = 200 ] || fail "under AllowOverride FileInfo Options the shipped .htaccess does not pass Authorization"
auth_with api "  CGIPassAuth On instead (uncommented)  " "$PASSAUTH"
[ "$STATUS" = 500 ] || fail "CGIPassAuth On without AuthConfig answered $STATUS, not the 500 the docs name"
auth_with api "  neither: Apache drops it              " "$NEITHER"
[ "$STATUS" = 401 ] || fail "without either, Authorization still reached mediad ($STATUS)"
auth_with api "  as shipped again                      " ''
[ "$STATUS" = 200 ] || fail "the shipped .htaccess, restored, answered $STATUS"
say "AllowOverride FileInfo Options=ExecCGI,Indexes (the other form README names):"
api GET "http://127.0.0.1:$PORT/~$U/api-optlist/healthz"
[ "$STATUS" = 200 ] || fail "under Options=ExecCGI,Indexes /healthz answered $STATUS"
auth_with api-optlist "  as shipped: the rewrite rule          " ''
[ "$STATUS" = 200 ] || fail "under Options=ExecCGI,Indexes the shipped .htaccess does not pass Authorization"
say "AllowOverride FileInfo Options AuthConfig:"
auth_with api-authconfig "  CGIPassAuth On instead (uncommented)  " "$PASSAUTH"
[ "$STATUS" = 200 ] || fail "CGIPassAuth On with AuthConfig does not pass Authorization ($STATUS)"
auth_with api-authconfig "  neither: Apache drops it              " "$NEITHER"
[ "$STATUS" = 401 ] || fail "without either, Authorization still reached mediad ($STATUS)"

step "_errors/ is never rewritten to mediad; mediad.fcgi says what is missing"
api GET /_errors/no-such.html
say "GET _errors/no-such.html: $STATUS $(head -c 120 "$BODY")"
[ "$STATUS" = 404 ] || fail "a missing error document answered $STATUS, not 404"
grep -q 'no route' "$BODY" && fail "a missing error document was answered by mediad"
api GET /_errors/404.html
[ "$STATUS" = 200 ] && is_json || fail "the error document itself is not served as JSON ($STATUS)"
# No HOME and no passwd entry (a getent that finds nothing): a message, not /mediad/bin/mediad.
mkdir -p "$W/nogetent"
printf '#!/bin/sh\nexit 2\n' >"$W/nogetent/getent"
chmod 755 "$W/nogetent/getent"
rc=0
env -i PATH="$W/nogetent:/usr/bin:/bin" sh "$H/public_html/api/mediad.fcgi" </dev/null >"$W/fcgi.out" 2>&1 || rc=$?
say "without a home: exit $rc: $(cat "$W/fcgi.out")"
[ $rc -ne 0 ] && grep -q 'cannot find the home' "$W/fcgi.out" || fail "mediad.fcgi without a home did not say so"
rc=0
env -i PATH=/usr/bin:/bin HOME="$W/nowhere" sh "$H/public_html/api/mediad.fcgi" </dev/null >"$W/fcgi.out" 2>&1 || rc=$?
say "without mediad under \$HOME/mediad: exit $rc: $(cat "$W/fcgi.out")"
[ $rc -ne 0 ] && grep -q 'bin/mediad is not there' "$W/fcgi.out" || fail "mediad.fcgi without mediad did not say so"

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

step "nothing of $U outside \$HOME, on every mounted filesystem (Apache's run, log and fcgid folders aside)"
# Every mount point of a writable filesystem that holds files (not proc, sysfs, cgroups and the
# like), each searched on its own filesystem only (-xdev): together they are every file that could
# have been written.
: >"$W/mounts"
while read -r _ mp fstype opts _; do
	# Mounted read-only: nobody writes there (the sandbox's own tool mounts, for one).
	case ,$opts, in *,ro,*) continue ;; esac
	case $fstype in
	proc | sysfs | devtmpfs | devpts | cgroup | cgroup2 | securityfs | pstore | bpf | debugfs | \
		tracefs | configfs | fusectl | mqueue | hugetlbfs | autofs | binfmt_misc | efivarfs | nsfs | \
		rpc_pipefs | selinuxfs | ramfs) continue ;;
	esac
	printf '%b\n' "$mp" >>"$W/mounts" # /proc/self/mounts writes a space as \040
done </proc/self/mounts
sort -u -o "$W/mounts" "$W/mounts"
say "$(wc -l <"$W/mounts") mount points: $(head -n 12 "$W/mounts" | tr '\n' ' ')..."
frc=0
: >"$W/found"
while IFS= read -r mp; do
	bounded "$FIND_TIMEOUT" find "$mp" -xdev \( -path "$H" -o -path "$A/run" -o -path "$A/log" -o \
		-path "$A/fcgid" \) -prune -o -user "$U" -newer "$T/since-useradd" -print >>"$W/found" \
		2>>"$W/find.err" || frc=$?
done <"$W/mounts"
sort -u -o "$W/found" "$W/found"
# A file that went away between the listing of its folder and its stat is no error here.
if [ $frc -ne 0 ] && grep -qv 'No such file or directory$' "$W/find.err"; then
	fail "find exited $frc: $(grep -v 'No such file or directory$' "$W/find.err" | head -n 5 | tr '\n' ' ')"
fi
# Apache runs as the user here (as under suexec): its shared memory (APR's /dev/shm/ShM.*, the
# scoreboard) is the host's. Told apart by the mappings of Apache's own process, not by name.
: >"$W/outside"
while IFS= read -r f; do
	if grep -qF " $f" "/proc/$APACHE_PID/maps" 2>/dev/null; then
		say "the host's: $f (mapped by Apache, pid $APACHE_PID)"
	elif [ "$f" = "/var/mail/$U" ] || [ "$f" = "/var/spool/mail/$U" ]; then
		say "the host's: $f (the mail spool useradd made)"
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
