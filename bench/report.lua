-- report.lua: wrk script: request method, body and content type from the environment, one
-- parseable summary line.
--
-- BENCH_METHOD (default GET), BENCH_BODY_FILE (a file sent as the body) and BENCH_CONTENT_TYPE
-- (a Content-Type header, set only when given) build the request through wrk.method, wrk.body and
-- wrk.headers; other headers (Authorization) are given to wrk with -H. done() prints:
--   BENCH rps=<req/s> p50_ms=<ms> p99_ms=<ms> non2xx=<n> requests=<n> socket_errors=<n>
-- non2xx is wrk's errors.status: responses with status >= 400 (wrk has no 3xx counter, and a
-- response() hook to count them would slow every request down; no scenario here answers 3xx).

local method = os.getenv("BENCH_METHOD")
if method and method ~= "" then
	wrk.method = method
end

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
	local f = assert(io.open(body_file, "rb"))
	wrk.body = f:read("*a")
	f:close()
end

local ctype = os.getenv("BENCH_CONTENT_TYPE")
if ctype and ctype ~= "" then
	wrk.headers["Content-Type"] = ctype
end

function done(summary, latency, requests)
	local e = summary.errors
	local secs = summary.duration / 1e6
	io.write(string.format("BENCH rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d requests=%d socket_errors=%d\n",
		summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		e.status, summary.requests, e.connect + e.read + e.write + e.timeout))
end
