#!/bin/bash
# check-openapi.sh: the router's table and docs/openapi.yaml must name the same "METHOD /path"s.
#
#   check-openapi.sh [ROUTES_C [OPENAPI_YAML]]
#
# Defaults: $abs_top_srcdir/src/api/routes.c and $abs_top_srcdir/docs/openapi.yaml (make check
# exports abs_top_srcdir; without it, the tree this script sits in). From routes.c it takes every
# table line `{ "METHOD", "/path", handler, FLAGS },` outside the `#ifdef MEDIAD_TEST_ROUTES`
# block (test-only routes are not part of the API), and "OPTIONS /path" for each of their paths
# (the dispatcher answers OPTIONS, CORS preflights, on every routed path). From the document it
# takes every method key
# (get, put, post, delete, options, head, patch, trace) under each path of the top-level `paths:`
# map, which must be written in block style: paths indented 2 spaces, methods 4. `{name}` in a
# document path is `:name` in the router's.
#
# Exit status (automake): 0 the two agree; 1 they differ (each difference is printed); 99 a file
# is missing or yields no route at all (the parsing no longer matches the files).
set -u -o pipefail

me=check-openapi
srcdir=${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
routes=${1:-$srcdir/src/api/routes.c}
openapi=${2:-$srcdir/docs/openapi.yaml}

for f in "$routes" "$openapi"; do
	if [ ! -r "$f" ]; then
		echo "$me: cannot read $f" >&2
		exit 99
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# Router: "METHOD /path" per table entry; #ifdef MEDIAD_TEST_ROUTES ... #endif is skipped (nested
# conditionals inside it are counted so the right #endif ends it).
awk -v me="$me" '
	/^[ \t]*#[ \t]*if(def)?[ \t]+MEDIAD_TEST_ROUTES/ { skip = 1; depth = 1; next }
	skip && /^[ \t]*#[ \t]*if/ { depth++; next }
	skip && /^[ \t]*#[ \t]*endif/ { if (--depth == 0) skip = 0; next }
	skip { next }
	/^[ \t]*\{[ \t]*"[A-Z]+"[ \t]*,[ \t]*"\/[^"]*"[ \t]*,/ {
		line = $0
		sub(/^[ \t]*\{[ \t]*"/, "", line)
		method = line; sub(/".*/, "", method)
		sub(/^[A-Z]+"[ \t]*,[ \t]*"/, "", line)
		path = line; sub(/".*/, "", path)
		print method " " path
		print "OPTIONS " path
	}
' "$routes" | sort -u >"$tmp/router" || exit 99

# Document: methods under the paths of the top-level "paths:" map, {param} turned into :param.
awk -v q="'" '
	/^[^ \t#]/ { inpaths = ($0 ~ /^paths:[ \t]*$/); path = ""; next }
	!inpaths { next }
	/^  [^ \t#]/ {
		path = $0
		sub(/^  /, "", path); sub(/[ \t]*:[ \t]*(#.*)?$/, "", path)
		if (substr(path, 1, 1) == q || substr(path, 1, 1) == "\"")
			path = substr(path, 2, length(path) - 2)
		if (path !~ /^\//) path = ""
		next
	}
	path != "" && /^    (get|put|post|delete|options|head|patch|trace)[ \t]*:/ {
		method = $0
		sub(/^    /, "", method); sub(/[ \t]*:.*/, "", method)
		p = path
		while (match(p, /\{[^}]*\}/))
			p = substr(p, 1, RSTART - 1) ":" substr(p, RSTART + 1, RLENGTH - 2) substr(p, RSTART + RLENGTH)
		print toupper(method) " " p
	}
' "$openapi" | sort -u >"$tmp/openapi" || exit 99

if [ ! -s "$tmp/router" ]; then
	echo "$me: no routes found in $routes (has the table's format changed?)" >&2
	exit 99
fi
if [ ! -s "$tmp/openapi" ]; then
	echo "$me: no operations found under paths: in $openapi (block style, 2/4-space indents?)" >&2
	exit 99
fi

comm -23 "$tmp/router" "$tmp/openapi" >"$tmp/only-router"
comm -13 "$tmp/router" "$tmp/openapi" >"$tmp/only-openapi"
if [ ! -s "$tmp/only-router" ] && [ ! -s "$tmp/only-openapi" ]; then
	echo "$me: $(wc -l <"$tmp/router") routes, the same in $routes and $openapi"
	exit 0
fi
if [ -s "$tmp/only-router" ]; then
	echo "$me: routes in $routes that $openapi does not describe:"
	sed 's/^/  /' "$tmp/only-router"
fi
if [ -s "$tmp/only-openapi" ]; then
	echo "$me: operations in $openapi that $routes does not route:"
	sed 's/^/  /' "$tmp/only-openapi"
fi
exit 1
