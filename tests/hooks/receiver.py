#!/usr/bin/env python3
"""receiver.py: a webhook receiver for the tests (tests/integration/test_hooks.c), stdlib only.

    receiver.py DIR SECRET

Listens on a free port of 127.0.0.1 and writes it to DIR/port once it accepts connections. Every
POST is checked as a receiver should: Mediad-Signature "t=<unix>,v1=<hex>" must be the HMAC-SHA256
of "<t>.<body>" keyed with SECRET and t within 5 minutes of our clock; a bad one is answered 400.
Each request is appended to DIR/received.jsonl, one JSON object a line, before it is answered:
{"path", "tag", "n" (the tag's request count, from 1), "sig_ok", "event_id", "user_agent",
"content_type", "body"}. What it answers depends on the path:

    /ok/TAG             200
    /fail/N/TAG         500 to the tag's first N requests, then 200
    /sleep/S/TAG        the tag's first request waits S seconds before its 200, the others none
    /sleepall/S/TAG     every request waits S seconds before its 200
    /hold/TAG           request n waits until the file DIR/release-TAG-n exists (30 s at most),
                        then 200 "released n"
    /holdfail/TAG       the same, then 500 "released n"
    /redirect/TAG       302 to /ok/TAG-followed (which must never be asked for)
    /big/TAG            200 with "a" and 3000 x U+00E9 (6001 bytes: 4096 cuts a character)
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300
MAX_BODY = 1 << 20
HOLD_MAX_S = 30

lock = threading.Lock()
counts = {}


def verify(secret, header, body):
    """True when header is a valid Mediad-Signature of body."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
        sig = parts["v1"]
    except (ValueError, KeyError, AttributeError):
        return False
    if abs(time.time() - t) > TOLERANCE_S:
        return False
    want = hmac.new(secret, str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the record file says it all
        pass

    def answer(self, status, text, location=None):
        data = text.encode()
        try:
            self.send_response(status)
            if location is not None:
                self.send_header("Location", location)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up (its timeout) or died (kill -9): what the tests do

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if length < 0 or length > MAX_BODY:
            self.answer(413, "too large")
            return
        body = self.rfile.read(length)
        parts = self.path.strip("/").split("/")
        tag = parts[-1]
        with lock:
            counts[tag] = counts.get(tag, 0) + 1
            n = counts[tag]
        ok = verify(self.server.secret, self.headers.get("Mediad-Signature", ""), body)
        record = {
            "path": self.path,
            "tag": tag,
            "n": n,
            "sig_ok": ok,
            "event_id": self.headers.get("Mediad-Event-Id"),
            "user_agent": self.headers.get("User-Agent"),
            "content_type": self.headers.get("Content-Type"),
            "body": body.decode("utf-8", "replace"),
        }
        with lock, open(self.server.record, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if not ok:
            self.answer(400, "bad signature")
            return
        if parts[0] == "fail" and n <= int(parts[1]):
            self.answer(500, "failing on purpose (%d of %s)" % (n, parts[1]))
            return
        if parts[0] == "sleep" and n == 1:
            time.sleep(float(parts[1]))
        if parts[0] == "sleepall":
            time.sleep(float(parts[1]))
        if parts[0] in ("hold", "holdfail"):
            release = os.path.join(os.path.dirname(self.server.record), "release-%s-%d" % (tag, n))
            until = time.monotonic() + HOLD_MAX_S
            while not os.path.exists(release) and time.monotonic() < until:
                time.sleep(0.02)
            self.answer(200 if parts[0] == "hold" else 500, "released %d" % n)
            return
        if parts[0] == "redirect":
            self.answer(302, "moved", location="/ok/%s-followed" % tag)
            return
        if parts[0] == "big":
            self.answer(200, "a" + "\u00e9" * 3000)
            return
        self.answer(200, "ok")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: receiver.py DIR SECRET")
    folder, secret = sys.argv[1], sys.argv[2].encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.secret = secret
    server.record = os.path.join(folder, "received.jsonl")
    tmp = os.path.join(folder, "port.tmp")
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, os.path.join(folder, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
