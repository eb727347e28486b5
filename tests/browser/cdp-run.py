#!/usr/bin/env python3
"""cdp-run.py: loads a page in headless Chromium and waits, with a bound, until it says it is done.

    cdp-run.py --timeout SECONDS --profile DIR --out FILE [--network FILE] URL

Chromium runs with --remote-debugging-pipe (DevTools protocol messages, NUL-terminated JSON, on
its fds 3 and 4): the page is opened in a new tab, then its #result element is polled every 0.1 s
until its data-done attribute is set. Its text is written to FILE. Unlike --dump-dom with a virtual
time budget, this waits for whatever the page waits for (preflights, media loads), and no longer
than SECONDS of wall time. Chromium's stderr goes to DIR/chromium.log. Exit 0 when the page said it
was done, 1 when it did not in time (FILE then holds what #result said last), 2 when Chromium
could not be driven.

--network FILE: the Network domain is enabled on the tab before the page loads, and FILE gets, as a
JSON list, one entry per request the browser saw: its URL, the HTTP status of its response (null
when none came) and, when it failed, Chromium's errorText, whether it was cancelled (a player
aborting a load it no longer needs) and any blocked or CORS reason.
"""
import argparse
import fcntl
import json
import os
import select
import subprocess
import sys
import time

# The page sets data-done="1" on #result once its text is final.
PROBE = ("(() => { const e = document.getElementById('result');"
         " return e ? { done: e.dataset.done === '1', text: e.textContent } : null; })()")


class Requests:
    """The requests of the Network domain's events, in the order they were sent."""

    def __init__(self):
        self.by_id, self.order = {}, []

    def _get(self, rid, url=None):
        r = self.by_id.get(rid)
        if r is None:
            r = self.by_id[rid] = {"url": url, "status": None}
            self.order.append(r)
        elif url is not None and r["url"] != url:
            # A redirect reuses the request id: the hop before is a request of its own.
            r = self.by_id[rid] = {"url": url, "status": None}
            self.order.append(r)
        return r

    def event(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Network.requestWillBeSent":
            if "redirectResponse" in p:
                self._get(p["requestId"])["status"] = p["redirectResponse"].get("status")
            self._get(p["requestId"], p.get("request", {}).get("url"))
        elif m == "Network.responseReceived":
            r = self._get(p["requestId"])
            r["url"] = r["url"] or p.get("response", {}).get("url")
            r["status"] = p.get("response", {}).get("status")
        elif m == "Network.loadingFailed":
            r = self._get(p["requestId"])
            r["failed"] = p.get("errorText")
            r["canceled"] = bool(p.get("canceled"))
            for k in ("blockedReason", "corsErrorStatus"):
                if k in p:
                    r[k] = p[k]


class Pipe:
    """The DevTools protocol over Chromium's pipe: one request at a time; events met meanwhile go to
    on_event, or are skipped."""

    def __init__(self, to_chrome, from_chrome, deadline, on_event=None):
        self.w, self.r, self.deadline, self.next_id, self.buf = to_chrome, from_chrome, deadline, 0, b""
        self.on_event = on_event  # called with each event met while waiting for an answer

    def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no answer to " + method)
                ready, _, _ = select.select([self.r], [], [], left)
                if not ready:
                    continue
                chunk = os.read(self.r, 65536)
                if not chunk:
                    raise EOFError("Chromium closed its pipe")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(raw)
            if "method" in reply and "id" not in reply:
                if self.on_event is not None:
                    self.on_event(reply)
                continue
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("--network")
    ap.add_argument("url")
    a = ap.parse_args()
    deadline = time.monotonic() + a.timeout
    os.makedirs(a.profile, exist_ok=True)
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()

    def child_fds():
        # Chromium reads commands on fd 3 and writes answers on fd 4. Copied above 10 first: a
        # pipe end may itself be fd 3 or 4.
        r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)
        w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
        os.dup2(r, 3)
        os.dup2(w, 4)
        os.set_inheritable(3, True)
        os.set_inheritable(4, True)

    # --no-sandbox: the suite runs as root in CI, where Chromium's sandbox refuses to start; the
    # page is ours. The other switches keep it from calling home or waiting on a desktop.
    argv = [a.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--user-data-dir=" + a.profile, "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-default-apps", "--mute-audio", "--remote-debugging-pipe",
            "about:blank"]
    log = open(os.path.join(a.profile, "chromium.log"), "wb")
    # close_fds=False: what Python opens is close-on-exec anyway, and 3 and 4 must stay open.
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False,
                            preexec_fn=child_fds)
    os.close(to_r)
    os.close(from_w)
    last, rc = None, 2
    requests = Requests() if a.network else None
    try:
        cdp = Pipe(to_w, from_r, deadline, requests.event if requests else None)
        target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        if requests is not None:
            cdp.call("Network.enable", {}, session)
        cdp.call("Page.navigate", {"url": a.url}, session)
        rc = 1
        while time.monotonic() < deadline:
            got = cdp.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session)
            value = got.get("result", {}).get("value")
            if value is not None:
                last = value.get("text")
                if value.get("done"):
                    rc = 0
                    break
            time.sleep(0.1)
        if rc != 0:
            print("cdp-run: the page did not finish within %gs" % a.timeout, file=sys.stderr)
        try:
            cdp.deadline = time.monotonic() + 5
            cdp.call("Browser.close")
        except (OSError, TimeoutError, EOFError, RuntimeError):
            pass
    except (OSError, TimeoutError, EOFError, RuntimeError, KeyError, ValueError) as e:
        print("cdp-run: %s" % e, file=sys.stderr)
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(to_w)
        os.close(from_r)
        log.close()
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(last if last is not None else "")
    if requests is not None:
        with open(a.network, "w", encoding="utf-8") as f:
            json.dump(requests.order, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main())
