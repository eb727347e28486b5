#!/bin/bash
# chromium-cors.sh: loads tests/browser/www/cors.html in headless Chromium from two origins and
# checks what it could read: from CORS_PAGE_ALLOWED (in cors_origins) everything, from
# CORS_PAGE_REFUSED (not in it) nothing.
#
# A test program of harness_run_programs, run by run-chromium.sh against a started stack: it reads
# MEDIAD_BASE_URL and MEDIAD_TEST_DIR from the harness, CORS_PAGE_ALLOWED and CORS_PAGE_REFUSED
# (the page server's two origins) from run-chromium.sh. cdp-run.py drives Chromium and waits for
# the page to finish, at most CHROMIUM_TIMEOUT seconds (default 90) per page; check-result.py
# holds the checks. Exit 0 when every check holds, else 1.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
limit=${CHROMIUM_TIMEOUT:-90}
rc=0

# run_page ORIGIN EXPECT: one Chromium run of the page served on ORIGIN, then its checks.
run_page()
{
	local origin=$1 expect=$2 dir=$MEDIAD_TEST_DIR/chromium-$2
	mkdir -p "$dir" || return 1
	# The driver bounds itself; timeout is the backstop should it hang anyway.
	if ! timeout -k 5 $((limit + 30)) python3 "$here/cdp-run.py" --timeout "$limit" --profile "$dir/profile" \
		--out "$dir/result.json" "$origin/cors.html?api=$MEDIAD_BASE_URL"; then
		echo "chromium-cors: the page on $origin did not finish; Chromium said:"
		grep -v -e dbus -e 'unexpected operator' "$dir/profile/chromium.log" 2>/dev/null | tail -n 20
	fi
	python3 "$here/check-result.py" --expect "$expect" --origin "$origin" --api "$MEDIAD_BASE_URL" \
		"$dir/result.json"
}

run_page "$CORS_PAGE_ALLOWED" allowed || rc=1
run_page "$CORS_PAGE_REFUSED" refused || rc=1
exit "$rc"
