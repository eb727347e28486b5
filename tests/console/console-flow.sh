#!/bin/bash
# console-flow.sh: the console's end-to-end flow (flow.mjs in headless Chromium) against the stack
# the harness started. A test program of harness_run_programs, run by run-console.sh: it reads
# MEDIAD_BASE_URL, MEDIAD_TEST_DIR, MEDIAD_CONFIG, MEDIA_ROOT and MEDIACTL from the harness, and
# CONSOLE_CLIENT (playwright-core's folder), CONSOLE_SOURCE, CONSOLE_ARTIFACTS and CONSOLE_MEDIA_PNG
# from run-console.sh. The harness runs no render spawner: this program starts media-spawner for
# the renditions and the render it asks for, and stops it, bounded, on every exit. Exit 0 when the
# flow passed, else 1.
set -u -o pipefail

: "${abs_top_builddir:?set by make check}" "${CONSOLE_CLIENT:?set by run-console.sh}" \
	"${CONSOLE_SOURCE:?set by run-console.sh}" "${CONSOLE_ARTIFACTS:?set by run-console.sh}"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/spawner.sh
. "$here/../integration/spawner.sh"
STACK_TAG=console-flow
rc=0
say() { printf 'console-flow: %s\n' "$*"; }

spawner_traps

# The web server serves the console on the API's origin.
url=$MEDIAD_BASE_URL/console/
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url")
[ "$code" = 200 ] || {
	say "FAIL: $url answered HTTP $code, not 200: the web server does not serve the console"
	exit 1
}
spawner_start console-e2e || exit 1
export CONSOLE_URL=$url
# The driver bounds each wait; timeout is the backstop should Chromium hang anyway.
timeout -k 5 600 node "$here/flow.mjs" "$CONSOLE_CLIENT" || rc=1
exit "$rc"
