#!/usr/bin/env python3
"""check-result.py: asserts what tests/browser/www/cors.html could read (its #result, from cdp-run.py).

    check-result.py --expect allowed|refused --origin ORIGIN --api BASE_URL RESULT_FILE

allowed: the page's origin is in cors_origins; every step must have been readable, with the
statuses, bodies and exposed headers a browser app needs. refused: it is not; every cross-origin
read must have been blocked by the browser, and the preflighted signup must never have reached
mediad (the account does not exist). Prints each failed check; exit 0 when all hold, 1 otherwise.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request

failures = []


def check(cond, what, got=None):
    if not cond:
        failures.append(what + ("" if got is None else ": got " + json.dumps(got)[:400]))


def load(path):
    try:
        r = json.load(open(path, encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return r if isinstance(r, dict) and isinstance(r.get("steps"), dict) else None


def readable(steps, name, status):
    """The step's recorded answer when the page could read it with this status, else None."""
    s = steps.get(name)
    check(isinstance(s, dict) and "error" not in s, name + ": the page could read the answer", s)
    if not isinstance(s, dict) or "error" in s:
        return None
    check(s.get("status") == status, "%s: status %d" % (name, status), s.get("status"))
    return s


def header(step, name):
    return (step or {}).get("headers", {}).get(name)


def body(step):
    return (step or {}).get("body") or {}


def check_allowed(r):
    st = r["steps"]
    s = readable(st, "healthz", 200)
    check(header(s, "X-Request-Id"), "healthz: X-Request-Id is readable (exposed)", s)
    readable(st, "register", 201)
    s = readable(st, "login", 200)
    check(body(s).get("token"), "login: the token is readable", s)
    s = readable(st, "me", 200)
    check(body(s).get("user", {}).get("email") == r.get("email"), "me: the user is the one logged in", s)
    s = readable(st, "me_without_token", 401)
    check(body(s).get("error") == "unauthorized", "me without a token: the JSON error is readable", s)
    check(header(s, "WWW-Authenticate"), "me without a token: WWW-Authenticate is readable", s)
    s = readable(st, "not_found", 404)
    check(body(s).get("error") == "not_found", "404: the JSON error is readable", s)
    s = st.get("not_found_preflighted")
    check(isinstance(s, dict) and "TypeError" in str(s.get("error", "")),
          "a preflighted call to an unknown path fails at its preflight (the JSON 404)", s)
    up = readable(st, "upload", 201)
    size = body(up).get("sizeBytes")
    check(isinstance(size, int) and size > 100, "upload: the media is readable", up)
    s = readable(st, "view", 201)
    check(body(s).get("ok") is True and body(s).get("view", {}).get("mediaId") == body(up).get("id"),
          "view: the 201 body is readable", s)
    check(header(s, "RateLimit-Remaining") is not None, "view: RateLimit-Remaining is readable", s)
    s = readable(st, "stream_url", 200)
    check(str(body(s).get("url", "")).startswith(r["api"] + "/media/"), "stream-url: the link is readable", s)
    s = readable(st, "stream_range", 206)
    check(header(s, "Content-Range") == "bytes 0-99/%s" % size, "stream with Range: Content-Range is readable", s)
    check(header(s, "ETag"), "stream with Range: ETag is readable", s)
    check(header(s, "Accept-Ranges") == "bytes", "stream with Range: Accept-Ranges is readable", s)
    check((s or {}).get("bytes") == 100, "stream with Range: 100 bytes", s)
    s = readable(st, "stream_whole", 200)
    check((s or {}).get("bytes") == size, "whole stream: every byte", s)
    check(header(s, "ETag"), "whole stream: ETag is readable", s)
    a = st.get("audio") or {}
    check(a.get("loaded") is True and 0.2 < (a.get("duration") or 0) < 0.3,
          "<audio crossorigin> loads the stream (its duration is 0.25 s)", a)
    readable(st, "delete", 204)


def check_refused(r, api):
    st = r["steps"]
    for name in ("healthz", "register", "login", "me"):
        s = st.get(name)
        check(isinstance(s, dict) and "TypeError" in str(s.get("error", "")),
              name + ": the browser blocks the read (TypeError)", s)
    # The signup was preflighted and the preflight refused: mediad never saw the POST.
    req = urllib.request.Request(api + "/auth/login", method="POST",
                                 data=json.dumps({"email": r.get("email", ""), "password": "Password123"}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status = resp.status
    except urllib.error.HTTPError as e:
        status = e.code
    check(status == 401, "refused origin: the preflighted signup never reached mediad (login is 401)", status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect", choices=("allowed", "refused"), required=True)
    ap.add_argument("--origin", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("result")
    a = ap.parse_args()
    r = load(a.result)
    if r is None:
        try:
            text = open(a.result, encoding="utf-8", errors="replace").read()
        except OSError:
            text = ""
        print("check-result: no result in %s (the page did not finish); #result said: %s" % (a.result, text[:600]))
        return 1
    check(r.get("done") is True and "fatal" not in r, "the page ran to its end", r.get("fatal"))
    check(r.get("origin") == a.origin, "the page ran on " + a.origin, r.get("origin"))
    if a.expect == "allowed":
        check_allowed(r)
    else:
        check_refused(r, a.api)
    for f in failures:
        print("FAIL (%s, %s): %s" % (a.expect, a.origin, f))
    if failures:
        print("check-result: the page recorded: " + json.dumps(r)[:4000])
        return 1
    print("check-result: %s origin %s: every check holds (%d steps)" % (a.expect, a.origin, len(r["steps"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
