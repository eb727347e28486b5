#!/usr/bin/env python3
"""check-hls.py: asserts what tests/browser/www/hls-test.js saw (its #result) and what the browser
fetched for the media (cdp-run.py --network).

    check-hls.py --expect play|refused --variants N --prefix URL [--signed] RESULT NETWORK

The requests checked are those whose URL starts with --prefix (the media's .../hls/ folder).
play: hls.js 1.7.4 ran on MSE, parsed N variants (N >= 2) and loaded every one of them (its
playlist, init segment and media segments), the video reached HAVE_FUTURE_DATA and its clock
moved, a seek forward landed near its target and playback went on, hls.js reported no error at
all, and every media request got a 2xx answer (a request the player itself cancelled is listed,
not counted). With --signed each of them carried expires= and sig=.
refused: the link was tampered with: the master playlist was answered 403, hls.js stopped with a
fatal manifestLoadError, and nothing else of the media was fetched or played.
Prints each failed check; exit 0 when all hold, 1 otherwise.
"""
import argparse
import json
import sys
import urllib.parse

failures = []


def check(cond, what, got=None):
    if not cond:
        failures.append(what + ("" if got is None else ": got " + json.dumps(got)[:500]))
    return cond


def load(path, kind):
    try:
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
    except (OSError, ValueError):
        return None
    return v if isinstance(v, kind) else None


def media_requests(net, prefix):
    return [r for r in net if isinstance(r, dict) and str(r.get("url") or "").startswith(prefix)]


def kind_of(url, prefix):
    path = urllib.parse.urlsplit(url).path
    rest = path[len(urllib.parse.urlsplit(prefix).path):]
    if rest == "master.m3u8":
        return "master"
    name = rest.rsplit("/", 1)[-1]
    if name.endswith(".m3u8"):
        return "playlist"
    if name.startswith("init") and name.endswith(".mp4"):
        return "init"
    if name.endswith(".m4s"):
        return "segment"
    return "other"


def check_play(r, reqs, a):
    n = a.variants
    check(r.get("fatal") is None, "the page ran to its end", r.get("fatal"))
    check(r.get("hlsVersion") == "1.7.4", "hls.js 1.7.4 is the player", r.get("hlsVersion"))
    check(r.get("supported") is True, "Hls.isSupported() (Media Source Extensions)", r.get("supported"))
    check(n >= 2, "the master playlist offers more than one variant", n)
    levels = r.get("levels") or []
    check(len(levels) == n and r.get("levelCount") == n,
          "hls.levels.length is the number of variants (%d)" % n, [len(levels), r.get("levelCount")])
    loaded = {x.get("level") for x in r.get("levelsLoaded", [])}
    check(loaded == set(range(n)), "every variant's playlist was loaded", sorted(loaded))
    for i in range(n):
        check(any(f.get("level") == i and isinstance(f.get("sn"), int) for f in r.get("frags", [])),
              "variant %d: hls.js loaded a media segment of it" % i)
    st = r.get("steps", {})
    started = st.get("started") or {}
    check(started.get("readyState", 0) >= 3, "the video reached HAVE_FUTURE_DATA (readyState >= 3)", started)
    adv = st.get("advance") or {}
    check(adv.get("to", 0) - adv.get("from", 0) >= 0.5, "currentTime advanced (>= 0.5 s in 1.5 s)", adv)
    check(len(st.get("switches") or []) == n - 1, "every variant was switched to and buffered", st.get("switches"))
    seek = st.get("seek") or {}
    tgt, dur = seek.get("target"), seek.get("duration") or 0
    check(isinstance(tgt, (int, float)) and dur > 0 and tgt >= dur * 0.5,
          "the seek went to a later position (>= half the clip)", seek)
    check(isinstance(tgt, (int, float)) and abs(seek.get("after", -99) - tgt) <= 0.5,
          "after the seek currentTime is within 0.5 s of its target", seek)
    res = st.get("resumed") or {}
    check(res.get("currentTime", 0) > seek.get("after", 1e9) + 0.5 and not res.get("paused", True),
          "playback went on after the seek", res)
    check(not r.get("errors"), "hls.js reported no ERROR event", r.get("errors"))
    check((r.get("final") or {}).get("videoError") is None, "the <video> has no error", r.get("final"))

    check(len(reqs) > 0, "the browser fetched the media (requests under %s)" % a.prefix)
    counts = {}
    for q in reqs:
        k = kind_of(q["url"], a.prefix)
        counts[k] = counts.get(k, 0) + 1
        if q.get("canceled"):
            continue  # aborted by the player (a switch or a seek): not an answer from us
        st_ = q.get("status")
        check(isinstance(st_, int) and 200 <= st_ < 300 and not q.get("failed"),
              "%s: a 2xx answer" % q["url"], {k2: q.get(k2) for k2 in ("status", "failed", "corsErrorStatus")})
        if a.signed:
            qs = urllib.parse.parse_qs(urllib.parse.urlsplit(q["url"]).query)
            check("expires" in qs and "sig" in qs, "%s: a signed URL (expires and sig)" % q["url"])
    check(counts.get("master") == 1, "the master playlist was fetched once", counts)
    check(counts.get("other", 0) == 0, "nothing but playlists and segments under the prefix", counts)
    # Per variant folder: its playlist, its init segment and a media segment, each answered.
    folders = {}
    for q in reqs:
        k = kind_of(q["url"], a.prefix)
        if k in ("playlist", "init", "segment") and not q.get("canceled") and q.get("status") == 200:
            path = urllib.parse.urlsplit(q["url"]).path
            folders.setdefault(path.rsplit("/", 2)[-2], set()).add(k)
    full = sorted(f for f, ks in folders.items() if ks == {"playlist", "init", "segment"})
    check(len(full) == n, "for each of the %d variants its playlist, init segment and a media segment "
          "were fetched" % n, {f: sorted(ks) for f, ks in folders.items()})
    counts["variants"] = full
    return counts


def check_refused(r, reqs, a):
    errs = r.get("errors") or []
    check(any(e.get("fatal") and e.get("details") == "manifestLoadError" for e in errs),
          "hls.js stopped with a fatal manifestLoadError", errs)
    check(not r.get("frags"), "no segment was loaded", r.get("frags"))
    check((r.get("final") or {}).get("currentTime", 1) == 0, "nothing played", r.get("final"))
    masters = [q for q in reqs if kind_of(q["url"], a.prefix) == "master"]
    check(len(masters) >= 1 and all(q.get("status") == 403 for q in masters),
          "the tampered master playlist was answered 403", masters)
    check(all(kind_of(q["url"], a.prefix) == "master" for q in reqs),
          "nothing but the master playlist was asked for", [q["url"] for q in reqs])
    return {"master": len(masters)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect", choices=("play", "refused"), required=True)
    ap.add_argument("--variants", type=int, required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--signed", action="store_true")
    ap.add_argument("result")
    ap.add_argument("network")
    a = ap.parse_args()
    r = load(a.result, dict)
    if r is None or r.get("done") is not True:
        try:
            with open(a.result, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        print("check-hls: no result in %s (the page did not finish); #result said: %s" % (a.result, text[:600]))
        return 1
    net = load(a.network, list)
    if net is None:
        print("check-hls: no network log in %s" % a.network)
        return 1
    reqs = media_requests(net, a.prefix)
    counts = (check_play if a.expect == "play" else check_refused)(r, reqs, a)
    for f in failures:
        print("FAIL (%s): %s" % (a.expect, f))
    if failures:
        print("check-hls: the page recorded: " + json.dumps(r)[:4000])
        print("check-hls: media requests (path, status, failure): " + json.dumps(
            [[q.get("url", "")[len(a.prefix):].split("?")[0], q.get("status"), q.get("failed")] for q in reqs])[:2000])
        return 1
    print("check-hls: %s: every check holds (%d variants; media requests %s)" % (
        a.expect, a.variants, json.dumps(counts, sort_keys=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
