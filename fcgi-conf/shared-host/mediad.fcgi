#!/bin/sh
# mediad.fcgi: starts mediad for Apache's mod_fcgid on a shared host (no root, no server config).
#
# Copy it beside the .htaccess of this folder (fcgi-conf/shared-host/.htaccess), into the folder of
# public_html the API is served from, and make it executable, yours and not writable by anyone else
# (suexec, which many hosts run mod_fcgid under, refuses it otherwise):
#   cp mediad.fcgi ~/public_html/api/ && chmod 755 ~/public_html/api/mediad.fcgi
# The .htaccess sends every request of the folder here (AddHandler fcgid-script .fcgi).
#
# mod_fcgid starts it with a listening socket on fd 0 (the FastCGI contract, as lighttpd's
# bin-path) and almost no environment: PATH and whatever the host's FcgidInitialEnv says. HOME may
# be missing (it is without suexec), so it is looked up. mediad itself needs only MEDIAD_CONFIG:
# every setting is in that file (`mediactl init` writes it).
#
# Where this differs from a server of your own (fcgi-conf/apache-fcgid.conf): that one names mediad
# in the server configuration (FcgidWrapper ... virtual) and passes MEDIAD_CONFIG with
# FcgidInitialEnv; here neither is yours to set, so this script stands in for both.
#
# MEDIAD_PREFIX: where `./configure --prefix=$HOME/mediad && make install` put mediad. Edit it if
# you installed elsewhere; MEDIAD_CONFIG likewise (the file `mediactl init` wrote).
# What goes wrong here is said on stderr, which mod_fcgid puts in the host's error log.
if [ -z "${HOME:-}" ]; then
	HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
	export HOME
fi
MEDIAD_PREFIX=${MEDIAD_PREFIX:-${HOME:+$HOME/mediad}}
if [ -z "$MEDIAD_PREFIX" ]; then
	echo "mediad.fcgi: cannot find the home folder of uid $(id -u) (no HOME, no passwd entry): set MEDIAD_PREFIX in $0" >&2
	exit 1
fi
MEDIAD_CONFIG=${MEDIAD_CONFIG:-$MEDIAD_PREFIX/etc/mediad.conf}
export MEDIAD_CONFIG
if [ ! -x "$MEDIAD_PREFIX/bin/mediad" ]; then
	echo "mediad.fcgi: $MEDIAD_PREFIX/bin/mediad is not there (or not executable): set MEDIAD_PREFIX in $0 to the --prefix mediad was installed with" >&2
	exit 1
fi
# exec: mod_fcgid signals (SIGTERM at idle or life time) and counts this very process.
exec "$MEDIAD_PREFIX/bin/mediad"
