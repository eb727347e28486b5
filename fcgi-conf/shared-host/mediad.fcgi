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
if [ -z "${HOME:-}" ]; then
	HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
	export HOME
fi
MEDIAD_PREFIX=${MEDIAD_PREFIX:-$HOME/mediad}
MEDIAD_CONFIG=${MEDIAD_CONFIG:-$MEDIAD_PREFIX/etc/mediad.conf}
export MEDIAD_CONFIG
# exec: mod_fcgid signals (SIGTERM at idle or life time) and counts this very process.
exec "$MEDIAD_PREFIX/bin/mediad"
