#!/usr/bin/env python3
"""faults.py: the fault-injection scenarios of issue 10, against the harness's real servers.

Run by tests/faults/run.sh once the harness has started PostgreSQL, Redis and lighttpd + mediad
(it exports MEDIAD_BASE_URL, MEDIAD_TEST_DIR, MEDIA_ROOT, DATABASE_URL, PG*, MEDIACTL; the
Makefile exports abs_top_builddir). Python 3 standard library only.

Each scenario is one function: it makes its own users and projects, starts its own spawners, and
injects one fault into the real thing (kill -9 on a real pid, pg-stop/pg-start, a held table lock,
a TCP proxy that loses a reply, a full tmpfs). What it asserts is outcomes: job states and
counters, the runs the fake ffmpeg logged, files and media rows. Every wait polls against a
deadline; the deadlines are generous bounds, never performance thresholds.

After each render scenario the shared checks run:
  exactly once   no two runs of one job overlap in time (a run killed without an end line lasts
                 until its pid was seen gone, which a watcher thread notes every 50 ms);
  nothing lost   each media row of the scenario's users names a file that exists with its size;
                 a completed job's row is its output_path, and a job not completed has none;
  no orphans     no process of this scenario's folder (fake or real ffmpeg) outlives it, and
                 `mediactl gc --older-than 1h` leaves no .tmp-* file of its jobs once aged 2 h.

Prints one line per scenario (PASS / FAIL / SKIP name: what was observed or why). FAULTS_ONLY=a,b
runs only those scenarios. Exit status: 0 all passed (or skipped), 1 a failure, 77 all skipped,
99 the suite could not set itself up.
"""

import errno
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid

ENV = os.environ
BASE_URL = ENV.get("MEDIAD_BASE_URL", "")
TEST_DIR = ENV.get("MEDIAD_TEST_DIR", "")
MEDIA_ROOT = ENV.get("MEDIA_ROOT", "")
BUILD = ENV.get("abs_top_builddir", "")
MEDIACTL = ENV.get("MEDIACTL") or os.path.join(BUILD, "mediactl")
MEDIAD = os.path.realpath(os.path.join(BUILD, "mediad"))
SPAWNER = os.path.join(BUILD, "media-spawner")
FAKE_BUILT = os.path.join(BUILD, "tests", "fake-ffmpeg")
DB_RETRY = os.path.join(BUILD, "tests", "faults", "db_retry")
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"
WORK = os.path.join(TEST_DIR, "faults")
FIXTURES = os.path.join(WORK, "fixtures")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")


class Fail(Exception):
    """A scenario cannot go on: the message says what was expected and what was seen."""


class Skip(Exception):
    """A scenario cannot run here (not root, no tmpfs)."""


def now_ns():
    return time.time_ns()


def wait_for(pred, timeout, step=0.1):
    """Calls pred until it returns a true value (returned) or timeout seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def sleep_until(t_mono):
    d = t_mono - time.monotonic()
    if d > 0:
        time.sleep(d)


# ---- HTTP API ------------------------------------------------------------------------------------


class Resp:
    def __init__(self, status, body, headers):
        self.status = status
        self.text = body.decode("utf-8", "replace")
        self.headers = headers
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None

    def get(self, key, default=None):
        return self.json.get(key, default) if isinstance(self.json, dict) else default


def http(method, path, token=None, body=None, data=None, ctype=None, timeout=15, headers=None):
    """One request (headers: more header lines, a dict); any HTTP status is an answer (a Resp). A
    timeout or refused connection raises."""
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        data = json.dumps(body).encode()
        ctype = "application/json"
    elif data is None and method in ("POST", "PUT", "PATCH"):
        data = b""  # Content-Length: 0 (lighttpd answers 411 to a POST without one)
        ctype = "application/json"
    if ctype:
        headers["Content-Type"] = ctype
    req = urllib.request.Request(BASE_URL + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Resp(r.status, r.read(), r.headers)
    except urllib.error.HTTPError as e:
        return Resp(e.code, e.read(), e.headers)


def api_ok(want, method, path, token=None, body=None, **kw):
    r = http(method, path, token, body, **kw)
    if r.status != want:
        raise Fail(f"{method} {path}: wanted {want}, got {r.status} {r.text[:200]}")
    return r


def healthz_ok():
    try:
        return http("GET", "/healthz", timeout=3).status == 200
    except OSError:
        return False


# ---- PostgreSQL ------------------------------------------------------------------------------------


def sql(q, timeout=20):
    """Runs q with psql (PG* from the harness); rows as lists of strings. Raises Fail on an error."""
    env = dict(ENV, PGCONNECT_TIMEOUT="5")
    try:
        r = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-F", "\x1f", "-c", q],
                           capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise Fail(f"psql did not answer within {timeout} s: {q[:80]}")
    if r.returncode != 0:
        raise Fail(f"psql: {q[:80]}: {r.stderr.strip()[:300]}")
    return [line.split("\x1f") for line in r.stdout.splitlines() if line != ""]


def sql1(q):
    rows = sql(q)
    return rows[0][0] if rows else None


def lit(s):
    """A SQL string literal (the values we put in are UUIDs, numbers and our own e-mails)."""
    return "'" + str(s).replace("'", "''") + "'"


def pg_ready():
    try:
        return subprocess.run(["psql", "-X", "-q", "-tA", "-c", "SELECT 1"], capture_output=True, timeout=5,
                              env=dict(ENV, PGCONNECT_TIMEOUT="2")).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def pg_stop():
    subprocess.run([os.path.join(TEST_DIR, "pg-stop")], check=True, timeout=60)


def pg_start():
    subprocess.run([os.path.join(TEST_DIR, "pg-start")], check=True, timeout=60)


def ensure_pg_up():
    if not pg_ready():
        pg_start()


def pg_durable(on):
    """synchronous_commit on (as in production) or back to the harness's off (ALTER SYSTEM, as the
    postgres superuser, then a reload): off, a commit is acknowledged before its WAL is written, so
    a crash loses the last ones, as PostgreSQL documents."""
    q = "ALTER SYSTEM SET synchronous_commit = on" if on else "ALTER SYSTEM RESET synchronous_commit"
    for c in (q, "SELECT pg_reload_conf()"):
        r = subprocess.run(["psql", "-X", "-q", "-tA", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", c],
                           capture_output=True, text=True, timeout=20, env=dict(ENV, PGCONNECT_TIMEOUT="5"))
        if r.returncode != 0:
            raise Fail(f"psql -U postgres: {c}: {first_line(r.stderr)}")
    want = "on" if on else "off"
    if not wait_for(lambda: sql1("SHOW synchronous_commit") == want, 10, 0.05):
        raise Fail(f"synchronous_commit is not {want} 10 s after the reload")


def pg_crash():
    """Stops PostgreSQL in immediate mode (no checkpoint: the next start recovers from the WAL, as
    after a crash); returns once it is down."""
    cmd = ENV.get("PG_CTL_CMD")
    if not cmd:
        raise Fail("PG_CTL_CMD is not set: run through tests/faults/run.sh")
    r = subprocess.run(cmd + " stop -m immediate -w", shell=True, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Fail(f"pg_ctl stop -m immediate exited {r.returncode}: {first_line(r.stderr or r.stdout)}")


JOB_COLS = ("state", "attempts", "interruptions", "output_path", "output_media_id", "failed_reason",
            "input_path")


def job(jid):
    """The job's row from render_jobs as a dict of strings (ints for the counters)."""
    rows = sql("SELECT state, attempts, interruptions, output_path, coalesce(output_media_id::text, ''), "
               f"coalesce(failed_reason, ''), input_path FROM render_jobs WHERE id = {lit(jid)}")
    if not rows:
        raise Fail(f"job {jid} not found in render_jobs")
    d = dict(zip(JOB_COLS, rows[0]))
    d["attempts"] = int(d["attempts"])
    d["interruptions"] = int(d["interruptions"])
    return d


def wait_state(jid, states, timeout):
    """Polls until the job's state is one of states; returns the row, or raises Fail with the last."""
    last = {}

    def pred():
        last["row"] = job(jid)
        return last["row"]["state"] in states

    if wait_for(pred, timeout, 0.2):
        return last["row"]
    raise Fail(f"job {jid[:8]} not {'/'.join(states)} within {timeout:.0f} s: {describe(last.get('row'))}")


def describe(row):
    if not row:
        return "(no row)"
    s = f"state {row['state']}, attempts {row['attempts']}, interruptions {row['interruptions']}"
    if row.get("failed_reason"):
        s += f", reason \"{row['failed_reason'][:80]}\""
    return s


TERMINAL = ("completed", "failed", "cancelled")


def sweep_jobs():
    """Closes every unfinished job, so no scenario's spawners pick up another's leftovers."""
    sql("SET lock_timeout = '5s'; UPDATE render_jobs SET state = 'cancelled', finished_at = now(), "
        "lease_owner = NULL, lease_until = NULL WHERE state IN ('waiting', 'active')")


# ---- processes -----------------------------------------------------------------------------------


def proc_state(pid):
    """The /proc state letter of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def proc_exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def pid_runs(pid, exe):
    """True while pid is a live (not zombie) process of program exe."""
    st = proc_state(pid)
    return st is not None and st != "Z" and proc_exe(pid) == exe


def procs_under(folder):
    """Live processes whose program or command line points into folder: (pid, cmdline)."""
    found = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        pid = int(d)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        exe = proc_exe(pid) or ""
        if (exe.startswith(folder + "/") or folder + "/" in cmd) and proc_state(pid) not in (None, "Z"):
            found.append((pid, cmd))
    return found


def responders():
    """The pids of the harness's mediad responders: every live mediad process that has no mediad
    child (under apache-proxy the pool's parent has the responders as children; it stays)."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit() and proc_exe(int(d)) == MEDIAD and proc_state(int(d)) not in (None, "Z"):
            try:
                with open(f"/proc/{d}/stat") as f:
                    procs[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    parents = set(procs.values())
    return [pid for pid in procs if pid not in parents]


def kill_quiet(pid):
    """SIGKILL to pid, which may be gone already."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


class Spawner:
    """One media-spawner of a scenario: stdout and stderr go to its own log in the scenario folder."""

    def __init__(self, sc, name, env=None, args=(), ffmpeg=None):
        self.sc = sc
        self.name = name
        self.log = os.path.join(sc.dir, f"spawner-{name}.log")
        e = dict(ENV)
        e["FFMPEG_PATH"] = ffmpeg or (sc.fake.path if sc.fake else FFMPEG)
        e["RENDER_POLL_INTERVAL"] = "1"
        e.update(env or {})
        self.argv = [SPAWNER, "--name", f"faults-{name}", *args]
        with open(self.log, "ab") as logf:
            self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                      env=e, cwd=sc.dir, close_fds=True)
        self.pid = self.p.pid
        sc.spawners.append(self)

    def alive(self):
        return self.p.poll() is None

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        self.p.wait(10)

    def wait(self, timeout):
        """The exit status, or None if it still runs after timeout seconds."""
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=30):
        """SIGTERM, a bounded wait, then SIGKILL. Returns the exit status (None: needed SIGKILL)."""
        if not self.alive():
            return self.p.returncode
        self.p.send_signal(signal.SIGTERM)
        rc = self.wait(timeout)
        if rc is None:
            self.sc.problems.append(f"spawner {self.name} still ran {timeout} s after SIGTERM (SIGKILL)")
            self.p.kill()
            self.p.wait(10)
        return rc

    def tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return f.readlines()[-n:]
        except OSError:
            return []


def run_once(sc, name, env, timeout=90, ffmpeg=None):
    """media-spawner --once to its end (bounded); returns its exit status."""
    s = Spawner(sc, name, env=env, args=["--once", "--concurrency", "1"], ffmpeg=ffmpeg)
    rc = s.wait(timeout)
    if rc is None:
        s.stop(5)
        raise Fail(f"media-spawner --once ({name}) still ran after {timeout} s")
    return rc


# ---- the fake ffmpeg and its log --------------------------------------------------------------------


class Fake:
    """A copy of tests/fake-ffmpeg in the scenario folder, steered through <copy>.mode.

    The spawner runs `path`, a wrapper that starts the fake with SIGPIPE ignored, as the real
    ffmpeg runs: a dead spawner's pipes then do not kill it, so only the spawner's own care does.
    """

    def __init__(self, sc):
        self.bin = os.path.realpath(os.path.join(sc.dir, "fake-ffmpeg"))
        self.path = os.path.join(sc.dir, "ffmpeg")
        self.log = os.path.join(sc.dir, "fake.log")
        shutil.copy(FAKE_BUILT, self.bin)
        os.chmod(self.bin, 0o755)
        with open(self.path, "w") as f:
            f.write(f"#!/bin/sh\n# like ffmpeg: SIGPIPE ignored\ntrap '' PIPE\nexec {self.bin} \"$@\"\n")
        os.chmod(self.path, 0o755)
        self.mode("ok")

    def mode(self, mode="ok", steps=None, step_ms=None, copy=True, ignore_term=False):
        lines = [f"mode={mode}", f"log={self.log}"]
        if steps is not None:
            lines.append(f"steps={steps}")
        if step_ms is not None:
            lines.append(f"step_ms={step_ms}")
        if copy:
            lines.append(f"copy={os.path.join(FIXTURES, 'clip.mp4')}")
        if ignore_term:
            lines.append("ignore_term=1")
        tmp = self.bin + ".mode.tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(tmp, self.bin + ".mode")


class RunWatch(threading.Thread):
    """Follows the fake's log; notes for each run when its pid was first seen gone (every 50 ms).

    A run: dict(job, start, end, how, pid, ppid, gone), times in Unix ns (the fake's clock).
    """

    def __init__(self, fake):
        super().__init__(daemon=True)
        self.fake = fake
        self.runs = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.offset = 0
        self.partial = ""

    def _read(self):
        try:
            with open(self.fake.log) as f:
                f.seek(self.offset)
                data = f.read()
                self.offset = f.tell()
        except FileNotFoundError:
            return
        data = self.partial + data
        lines = data.split("\n")
        self.partial = lines.pop()
        for line in lines:
            parts = line.split()
            if len(parts) < 4:
                continue
            what, out, ns, pid = parts[0], parts[1], int(parts[2]), int(parts[3])
            extra = parts[4] if len(parts) > 4 else ""
            if what == "start":
                m = UUID_RE.search(out)
                self.runs.append(dict(job=m.group(0) if m else None, start=ns, end=None, how=None, pid=pid,
                                      ppid=int(extra) if extra.isdigit() else 0, gone=None))
                continue
            for r in reversed(self.runs):
                if r["pid"] == pid:
                    if what == "end":
                        r["end"], r["how"] = ns, extra
                    break

    def poll(self):
        with self.lock:
            self._read()
            for r in self.runs:
                if r["gone"] is None and not pid_runs(r["pid"], self.fake.bin):
                    r["gone"] = now_ns()

    def run(self):
        while not self.halt.is_set():
            self.poll()
            time.sleep(0.05)

    def stop(self):
        self.halt.set()
        self.join(5)

    def snapshot(self, jid=None):
        self.poll()
        with self.lock:
            return [dict(r) for r in self.runs if jid is None or r["job"] == jid]

    def wait_run(self, jid, timeout, n=1):
        """The n-th run of job jid once it has started; Fail after timeout."""
        runs = wait_for(lambda: len(self.snapshot(jid)) >= n and self.snapshot(jid), timeout, 0.05)
        if not runs:
            raise Fail(f"run {n} of job {jid[:8]} never started within {timeout} s")
        return runs[n - 1]

    def wait_gone(self, pid, timeout):
        """True once the run with pid has ended (its pid gone), within timeout seconds."""
        def gone():
            return any(r["pid"] == pid and r["gone"] is not None for r in self.snapshot())
        return bool(wait_for(gone, timeout, 0.05))


def run_end(r):
    """When a run stopped running: its end line, else when its pid was seen gone, else never."""
    if r["end"] is not None:
        return r["end"]
    if r["gone"] is not None:
        return r["gone"]
    return float("inf")


def overlaps(runs):
    """Pairs of runs of one job that ran at the same time, as readable strings."""
    out = []
    by_job = {}
    for r in runs:
        if r["job"]:
            by_job.setdefault(r["job"], []).append(r)
    for jid, rs in by_job.items():
        rs.sort(key=lambda r: r["start"])
        for i, a in enumerate(rs):
            for b in rs[i + 1:]:
                if b["start"] < run_end(a):
                    out.append(f"job {jid[:8]}: run pid {b['pid']} started while pid {a['pid']} still ran"
                               f" ({(run_end(a) - b['start']) / 1e9:.1f} s of overlap)"
                               if run_end(a) != float("inf") else
                               f"job {jid[:8]}: run pid {b['pid']} started while pid {a['pid']} still runs")
    return out


# ---- users, projects, uploads, jobs ----------------------------------------------------------------


def multipart(field, path, ctype):
    boundary = "faults" + uuid.uuid4().hex
    with open(path, "rb") as f:
        content = f.read()
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{os.path.basename(path)}\"\r\nContent-Type: {ctype}\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class User:
    def __init__(self, sc, tag):
        self.email = f"faults-{tag}-{uuid.uuid4().hex[:12]}@example.com"
        cred = {"email": self.email, "password": "Password123"}
        r = api_ok(201, "POST", "/auth/register", body=cred)
        self.id = int(r.json["user"]["id"])
        self.token = api_ok(200, "POST", "/auth/login", body=cred).json["token"]
        sc.users.append(self.id)

    def project(self, title="faults"):
        return int(api_ok(201, "POST", "/projects", self.token, {"title": title}).json["id"])

    def upload(self, pid, name="still.png"):
        """Uploads a fixture as an asset of project pid: (asset id, its path)."""
        ctype = {"png": "image/png", "mp4": "video/mp4"}[name.rsplit(".", 1)[1]]
        data, mp = multipart("file", os.path.join(FIXTURES, name), ctype)
        r = api_ok(201, "POST", f"/projects/{pid}/assets", self.token, data=data, ctype=mp)
        return int(r.json["asset"]["id"]), r.json["path"]

    def render(self, sc, pid, body=None, want=202):
        """POST /projects/pid/render; on 202 the job id is recorded for the shared checks."""
        r = http("POST", f"/projects/{pid}/render", self.token, body)
        if want is not None and r.status != want:
            raise Fail(f"POST /projects/{pid}/render: wanted {want}, got {r.status} {r.text[:200]}")
        if r.status == 202:
            sc.jobs.append(r.json["jobId"])
        return r

    def job(self, sc, pid, asset=None):
        return self.render(sc, pid, {"assetId": asset} if asset else None).json["jobId"]


def setup_one(sc, tag="u", name="still.png"):
    """A user with a project holding one asset: (user, project id, asset id, asset path)."""
    u = User(sc, tag)
    pid = u.project(tag)
    aid, path = u.upload(pid, name)
    return u, pid, aid, path


# ---- the TCP proxy that loses a reply ------------------------------------------------------------


def cstr(b, i):
    j = b.index(b"\0", i)
    return b[i:j].decode("utf-8", "replace"), j + 1


class PgProxy:
    """Forwards 127.0.0.1:port to PostgreSQL, reading the client's protocol messages on the way.

    Once, on the first batch (up to Sync, or a simple Query) that runs a statement matching
    pattern outside a transaction, or that COMMITs a transaction in which such a statement ran,
    it forwards the batch, lets the server answer it (up to ReadyForQuery), and closes both sides
    without passing that answer on: the write is done, the client cannot know it. Statement texts
    come from Parse messages (prepared at connect time, bound by name later) and Query messages.
    """

    def __init__(self, pattern, port):
        self.pattern = re.compile(pattern, re.I)
        self.target = ("127.0.0.1", int(port))
        self.fired = None  # the statement texts of the batch whose reply was lost
        self.lock = threading.Lock()
        self.closed = False
        self.socks = []
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(32)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def conninfo(self):
        return f"host=127.0.0.1 port={self.port} dbname=media user=media sslmode=disable gssencmode=disable"

    def close(self):
        self.closed = True
        for s in [self.ls] + self.socks:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _fire(self, texts):
        with self.lock:
            if self.fired is not None:
                return False
            self.fired = texts
            return True

    def _serve(self, c):
        try:
            s = socket.create_connection(self.target, timeout=5)
        except OSError:
            c.close()
            return
        self.socks += [c, s]
        st = dict(buf=bytearray(), startup=True, stmts={}, portals={}, batch=[], in_tx=False, tx_hit=False)
        dropping, sbuf, drop_deadline = False, bytearray(), 0.0
        try:
            while not self.closed:
                r, _, _ = select.select([c, s], [], [], 0.2)
                if dropping and time.monotonic() > drop_deadline:
                    return
                if c in r:
                    data = c.recv(65536)
                    if not data:
                        return
                    s.sendall(data)
                    if not dropping and self._feed(st, data):
                        dropping, drop_deadline = True, time.monotonic() + 10
                if s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if not dropping:
                        c.sendall(data)
                        continue
                    # Swallow the answer; once the server is ready again the write is done.
                    sbuf += data
                    while len(sbuf) >= 5:
                        n = int.from_bytes(sbuf[1:5], "big")
                        if len(sbuf) < 1 + n:
                            break
                        t = sbuf[0:1]
                        del sbuf[:1 + n]
                        if t == b"Z":
                            return
        except OSError:
            return
        finally:
            for x in (c, s):
                try:
                    x.close()
                except OSError:
                    pass

    def _feed(self, st, data):
        """Parses client bytes; true when this chunk ends the batch whose reply is to be lost."""
        buf = st["buf"]
        buf += data
        hit = False
        while True:
            if st["startup"]:
                if len(buf) < 8:
                    break
                n = int.from_bytes(buf[0:4], "big")
                if len(buf) < n:
                    break
                code = int.from_bytes(buf[4:8], "big")
                del buf[:n]
                if code not in (80877102, 80877103, 80877104):  # cancel, SSL and GSS requests
                    st["startup"] = False
                continue
            if len(buf) < 5:
                break
            n = int.from_bytes(buf[1:5], "big")
            if len(buf) < 1 + n:
                break
            t, body = chr(buf[0]), bytes(buf[5:1 + n])
            del buf[:1 + n]
            try:
                if t == "P":
                    name, i = cstr(body, 0)
                    st["stmts"][name] = cstr(body, i)[0]
                elif t == "B":
                    portal, i = cstr(body, 0)
                    st["portals"][portal] = st["stmts"].get(cstr(body, i)[0], "")
                elif t == "E":
                    st["batch"].append(st["portals"].get(cstr(body, 0)[0], ""))
                elif t == "S":
                    hit = self._batch(st, st["batch"]) or hit
                    st["batch"] = []
                elif t == "Q":
                    hit = self._batch(st, [q for q in cstr(body, 0)[0].split(";") if q.strip()]) or hit
            except ValueError:
                pass
        return hit

    def _batch(self, st, texts):
        hit = False
        for text in texts:
            t = " ".join(text.split()).upper().rstrip(";").strip()
            if t.startswith("BEGIN") or t.startswith("START TRANSACTION"):
                st["in_tx"], st["tx_hit"] = True, False
            elif t in ("COMMIT", "END", "COMMIT WORK", "COMMIT TRANSACTION", "END TRANSACTION"):
                hit = hit or (st["in_tx"] and st["tx_hit"])
                st["in_tx"], st["tx_hit"] = False, False
            elif t.startswith("ROLLBACK") and "SAVEPOINT" not in t:
                st["in_tx"], st["tx_hit"] = False, False
            elif self.pattern.search(text):
                if st["in_tx"]:
                    st["tx_hit"] = True
                else:
                    hit = True
        return hit and self._fire([" ".join(x.split())[:80] for x in texts])


# ---- a scenario and its shared checks -------------------------------------------------------------


class Scenario:
    def __init__(self, name):
        self.name = name
        self.dir = os.path.join(WORK, name)
        os.makedirs(self.dir, exist_ok=True)
        self.problems = []
        self.notes = []
        self.spawners = []
        self.jobs = []
        self.users = []
        self.restore = []  # run before the shared checks: servers back up, locks released
        self.cleanup = []  # run last: proxies closed, tmpfs unmounted
        self.media_root = MEDIA_ROOT
        self.fake = None
        self.watch = None
        self.check_renders = True

    def check(self, cond, msg):
        if not cond:
            self.problems.append(msg)
        return cond

    def note(self, msg):
        self.notes.append(msg)

    def use_fake(self):
        self.fake = Fake(self)
        self.watch = RunWatch(self.fake)
        self.watch.start()
        return self.fake

    def runs(self, jid=None):
        return self.watch.snapshot(jid) if self.watch else []


def shared_checks(sc):
    """exactly once, nothing lost, no orphans: see the module comment."""
    # Runs whose spawner is gone get 3 s to be seen gone; one alive after that is an orphan.
    if sc.watch:
        wait_for(lambda: all(run_end(r) != float("inf") for r in sc.runs()), 3, 0.05)
        for o in overlaps(sc.runs()):
            sc.problems.append("exactly once: " + o)
    orphans = procs_under(sc.dir)
    if orphans:
        sc.problems.append(f"no orphans: {len(orphans)} process(es) of this scenario still run after its "
                           f"spawners stopped: " + "; ".join(f"{p} {c[:100]}" for p, c in orphans[:3]))
        for pid, _ in orphans:
            kill_quiet(pid)

    # nothing lost
    if sc.users:
        ids = ",".join(str(u) for u in sc.users)
        for mid, path, size in sql(f"SELECT id, path, size_bytes FROM media WHERE user_id IN ({ids})"):
            f = os.path.join(sc.media_root, path)
            if not os.path.exists(f):
                sc.problems.append(f"nothing lost: media {mid} names {path}, which does not exist")
            elif os.path.getsize(f) != int(size):
                sc.problems.append(f"nothing lost: media {mid}: {path} has {os.path.getsize(f)} bytes, "
                                   f"its row says {size}")
    if sc.jobs:
        ids = ",".join(lit(j) for j in sc.jobs)
        for jid, state, out, mpath, nrows in sql(
                "SELECT j.id, j.state, j.output_path, coalesce(m.path, ''), "
                "(SELECT count(*) FROM media x WHERE x.path = j.output_path) "
                f"FROM render_jobs j LEFT JOIN media m ON m.id = j.output_media_id WHERE j.id IN ({ids})"):
            if state == "completed":
                sc.check(mpath == out, f"nothing lost: completed job {jid[:8]}: its media row is "
                                       f"\"{mpath}\", not its output {out}")
                sc.check(nrows == "1", f"nothing lost: completed job {jid[:8]} has {nrows} media rows for {out}")
            elif state in ("failed", "cancelled"):
                sc.check(nrows == "0", f"job {jid[:8]} is {state} but a media row names its output {out}")

    # no orphans: aged temporary files go with gc
    tmps = []
    for d in ("uploads", "outputs"):
        folder = os.path.join(sc.media_root, d)
        for n in os.listdir(folder) if os.path.isdir(folder) else []:
            if n.startswith(".tmp-"):
                old = time.time() - 7200
                os.utime(os.path.join(folder, n), (old, old))
                tmps.append(n)
    r = subprocess.run([MEDIACTL, "gc", "--older-than", "1h"], capture_output=True, text=True, timeout=120,
                       env=dict(ENV, MEDIA_ROOT=sc.media_root))
    sc.check(r.returncode == 0, f"no orphans: `mediactl gc --older-than 1h` exited {r.returncode}: "
                                       f"{first_line(r.stderr or r.stdout)}")
    left = []
    for d in ("uploads", "outputs"):
        folder = os.path.join(sc.media_root, d)
        for n in os.listdir(folder) if os.path.isdir(folder) else []:
            if n.startswith(".tmp-") and any(j in n for j in sc.jobs):
                left.append(f"{d}/{n}")
    sc.check(not left, f"no orphans: {len(left)} .tmp-* file(s) of this scenario's jobs left after gc: "
                       + ", ".join(left[:3]))


def first_line(text):
    lines = [x.strip() for x in (text or "").splitlines() if x.strip()]
    return lines[0][:160] if lines else ""


def one_line(msg):
    return " ".join(str(msg).split())


def spawner_logs_clean(sc):
    for s in sc.spawners:
        for line in s.tail(10000):
            if SANITIZER_RE.search(line):
                sc.problems.append(f"sanitizer report in spawner {s.name}'s log: {line.strip()[:120]}")
                break


def run_scenario(name, fn):
    """Runs one scenario, then its shared checks and its cleanup; prints its line; "pass"/"fail"/"skip"."""
    sc = Scenario(name)
    skipped = None
    ran = False  # False when interrupted (SIGTERM from the harness): clean up, check nothing
    try:
        try:
            ensure_pg_up()
            if not wait_for(healthz_ok, 30, 0.2):
                raise Fail("the stack is not healthy before the scenario (healthz is not 200)")
            sweep_jobs()
            fn(sc)
        except Skip as e:
            skipped = str(e)
        except Fail as e:
            sc.problems.append(str(e))
        except Exception:  # a bug of the suite or an unexpected answer: still check and clean up
            sc.problems.append("error: " + traceback.format_exc().strip().splitlines()[-1])
            traceback.print_exc(file=sys.stderr)
        ran = True
    finally:
        finish(sc, ran and skipped is None and sc.check_renders)
    if skipped is not None:
        print(one_line(f"SKIP {name}: {skipped}"), flush=True)
        return "skip"
    if sc.problems:
        print(one_line(f"FAIL {name}: " + "; ".join(sc.problems) +
                       (" (observed: " + "; ".join(sc.notes) + ")" if sc.notes else "")), flush=True)
        for s in sc.spawners:
            sys.stderr.write(f"----- last lines of {s.log} -----\n" + "".join(s.tail(25)))
        return "fail"
    print(one_line(f"PASS {name}: " + "; ".join(sc.notes)), flush=True)
    return "pass"


def finish(sc, checks):
    """Stops the scenario's spawners, restores the servers, runs the shared checks (when checks),
    then removes what the scenario left: processes, proxies, mounts, unfinished jobs."""
    def guarded(what, f, *args):
        try:
            f(*args)
        except Fail as e:
            sc.problems.append(str(e))
        except Exception:
            sc.problems.append(f"{what}: " + traceback.format_exc().strip().splitlines()[-1])
            traceback.print_exc(file=sys.stderr)

    for s in sc.spawners:
        guarded(f"stopping spawner {s.name}", s.stop, 30)
    for f in reversed(sc.restore):
        guarded("restoring", f)
    if checks:
        guarded("shared checks", shared_checks, sc)
    spawner_logs_clean(sc)
    for pid, _ in procs_under(sc.dir):
        kill_quiet(pid)
    if sc.watch:
        sc.watch.stop()
    for f in reversed(sc.cleanup):
        guarded("cleaning up", f)
    guarded("cleaning up", ensure_pg_up)
    guarded("cleaning up", sweep_jobs)


SCENARIOS = []


def scenario(fn):
    SCENARIOS.append((fn.__name__, fn))
    return fn


def runs_summary(runs):
    return ", ".join(f"pid {r['pid']} {r['how'] or ('killed' if r['gone'] else 'running')}" for r in runs)


# ---- the scenarios ----------------------------------------------------------------------------------


@scenario
def kill9_mid_render(sc):
    """kill -9 of a spawner mid-render: its ffmpeg dies with it; the job re-runs once, not charged."""
    fake = sc.use_fake()
    fake.mode("slow", steps=50, step_ms=200)  # 10 s
    u, pid, aid, _ = setup_one(sc)
    a = Spawner(sc, "k9-a", env={"RENDER_LEASE": "6"}, args=["--concurrency", "1"])
    jid = u.job(sc, pid, aid)
    run1 = sc.watch.wait_run(jid, 30)
    fake.mode("slow", steps=10, step_ms=200)  # the re-run: 2 s
    time.sleep(1.5)
    a.kill9()
    died = sc.watch.wait_gone(run1["pid"], 3)
    sc.check(died, f"the ffmpeg of the killed spawner (pid {run1['pid']}) still ran 3 s after the spawner's "
                   "SIGKILL")
    Spawner(sc, "k9-b", env={"RENDER_LEASE": "6"}, args=["--concurrency", "1"])
    row = wait_state(jid, TERMINAL, 6 + 10 + 40)
    runs = sc.runs(jid)
    sc.note(f"job {describe(row)}, {len(runs)} runs ({runs_summary(runs)})")
    sc.check(row["state"] == "completed", f"job ended {row['state']}, not completed")
    sc.check(row["attempts"] == 1, f"attempts == {row['attempts']}, want 1 (the killed run is not charged)")
    sc.check(row["interruptions"] == 1, f"interruptions == {row['interruptions']}, want 1")
    after = [r for r in runs if r["start"] > run1["start"]]
    sc.check(len(after) == 1 and after[0]["how"] == "ok",
             f"{len(after)} run(s) after the kill ({runs_summary(after)}), want exactly one that finished ok")


@scenario
def two_spawners_200_jobs(sc):
    """200 quick jobs on two spawners (2 slots each); one is killed -9 halfway: all 200 complete."""
    fake = sc.use_fake()
    fake.mode("ok", steps=2, step_ms=30)
    jobs = []
    for i in range(20):  # 20 users x 10 jobs stays under the per-user cap of the run
        u, pid, aid, _ = setup_one(sc, f"u{i}")
        for _ in range(10):
            jobs.append(u.job(sc, pid, aid))
    ids = ",".join(lit(j) for j in jobs)

    def completed():
        return int(sql1(f"SELECT count(*) FROM render_jobs WHERE state = 'completed' AND id IN ({ids})"))

    env = {"RENDER_LEASE": "5"}
    a = Spawner(sc, "two-a", env=env, args=["--concurrency", "2"])
    b = Spawner(sc, "two-b", env=env, args=["--concurrency", "2"])
    if not wait_for(lambda: completed() >= 100, 150, 0.1):
        raise Fail(f"only {completed()} of 200 jobs completed within 150 s")
    a.kill9()
    at_kill = completed()
    done = wait_for(lambda: int(sql1(f"SELECT count(*) FROM render_jobs WHERE state IN "
                                     f"('completed', 'failed', 'cancelled') AND id IN ({ids})")) == 200, 150, 0.25)
    states = dict(sql(f"SELECT state, count(*) FROM render_jobs WHERE id IN ({ids}) GROUP BY state"))
    runs = sc.runs()
    on_a = sum(1 for r in runs if r["ppid"] == a.pid)
    on_b = sum(1 for r in runs if r["ppid"] == b.pid)
    sc.note(f"killed spawner a after {at_kill} completions; final states {states}; {len(runs)} runs "
            f"({on_a} on a, {on_b} on b) for 200 jobs")
    sc.check(done, f"not all 200 jobs finished within 150 s of the kill: {states}")
    sc.check(states.get("completed") == "200", f"not all 200 jobs completed: {states}")
    files = [j for j in jobs if os.path.exists(os.path.join(MEDIA_ROOT, "outputs", f"{j}-rendered.mp4"))]
    sc.check(len(files) == 200, f"{200 - len(files)} completed job(s) have no output file")
    b.stop()


@scenario
def pg_restart_short(sc):
    """PostgreSQL down 10 s over the end of a render, lease 20 s: the render is kept, one run only."""
    fake = sc.use_fake()
    fake.mode("slow", steps=40, step_ms=200)  # 8 s
    u, pid, aid, _ = setup_one(sc)
    Spawner(sc, "pgs-a", env={"RENDER_LEASE": "20"}, args=["--concurrency", "1"])
    jid = u.job(sc, pid, aid)
    run1 = sc.watch.wait_run(jid, 30)
    fake.mode("slow", steps=10, step_ms=200)  # a re-run, if any: 2 s
    sleep_until(time.monotonic() + max(0.0, 2.0 - (now_ns() - run1["start"]) / 1e9))
    sc.restore.append(ensure_pg_up)
    pg_stop()
    t_down = time.monotonic()
    t_down_ns = now_ns()
    ended = wait_for(lambda: sc.runs(jid)[0]["end"], 10, 0.1)
    sleep_until(t_down + 10)
    t_up_ns = now_ns()
    pg_start()
    sc.check(ended and ended < t_up_ns,
             "the render did not end during the outage (the scenario's timing did not hold)")
    row = wait_state(jid, TERMINAL, 20 + 8 + 30)
    runs = sc.runs(jid)
    sc.note(f"outage {(t_up_ns - t_down_ns) / 1e9:.1f} s; render ended "
            f"{((ended or t_up_ns) - t_down_ns) / 1e9:.1f} s into it; job {describe(row)}, "
            f"{len(runs)} run(s) ({runs_summary(runs)})")
    sc.check(row["state"] == "completed", f"job ended {row['state']}, not completed")
    sc.check(len(runs) == 1, f"{len(runs)} runs, want 1: the render finished during the outage was lost")
    sc.check(row["attempts"] == 1, f"attempts == {row['attempts']}, want 1")


@scenario
def pg_restart_long(sc):
    """PostgreSQL down 15 s mid-render, lease 6 s: ffmpeg stopped before the lease can pass on."""
    fake = sc.use_fake()
    fake.mode("slow", steps=100, step_ms=200)  # 20 s: it outlasts the outage unless stopped
    u, pid, aid, _ = setup_one(sc)
    lease = 6
    Spawner(sc, "pgl-a", env={"RENDER_LEASE": str(lease)}, args=["--concurrency", "1"])
    Spawner(sc, "pgl-b", env={"RENDER_LEASE": str(lease)}, args=["--concurrency", "1"])
    jid = u.job(sc, pid, aid)
    run1 = sc.watch.wait_run(jid, 30)
    fake.mode("slow", steps=10, step_ms=200)  # the re-run: 2 s
    sleep_until(time.monotonic() + max(0.0, 2.0 - (now_ns() - run1["start"]) / 1e9))
    sc.restore.append(ensure_pg_up)
    pg_stop()
    # No lease renewal can succeed once the server is down: the lease ends by t_down + lease.
    t_down, t_down_ns = time.monotonic(), now_ns()
    sleep_until(t_down + 15)
    pg_start()
    row = wait_state(jid, TERMINAL, 60)
    runs = sc.runs(jid)
    first = runs[0]
    late = (run_end(first) - t_down_ns) / 1e9 - lease
    sc.note(f"first run ended {(run_end(first) - t_down_ns) / 1e9:.1f} s into the outage (lease {lease} s); "
            f"job {describe(row)}, {len(runs)} run(s) ({runs_summary(runs)})")
    sc.check(late <= 1.0, f"the first run still ran {late:.1f} s after its lease ran out (PostgreSQL "
                          f"went down {(run_end(first) - t_down_ns) / 1e9:.1f} s before it ended; lease "
                          f"{lease} s, 1 s allowed): another spawner could have claimed the job meanwhile")
    sc.check(row["state"] == "completed", f"job ended {row['state']}, not completed")
    sc.check(row["attempts"] == 1, f"attempts == {row['attempts']}, want 1 (the outage is not the job's fault)")
    sc.check(row["interruptions"] >= 1, f"interruptions == {row['interruptions']}, want >= 1")


@scenario
def lock_table_60s(sc):
    """render_jobs locked for 60 s: API answers, the render timeout and SIGTERM still work."""
    fake = sc.use_fake()
    fake.mode("hang")
    u, pid, aid, _ = setup_one(sc)
    env = {"RENDER_TIMEOUT": "4", "RENDER_GRACE": "3", "DB_LOCK_TIMEOUT_MS": "1000",
           "DB_STATEMENT_TIMEOUT_MS": "3000"}
    a = Spawner(sc, "lock-a", env=env, args=["--concurrency", "1"])
    jid = u.job(sc, pid, aid)
    run1 = sc.watch.wait_run(jid, 30)
    app = "faults-lock-" + uuid.uuid4().hex[:8]
    holder = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(ENV, PGAPPNAME=app),
                              text=True)

    def release():
        # Killing psql is not enough: the backend sleeps on with the lock until it writes.
        try:
            sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = {lit(app)}")
        finally:
            if holder.poll() is None:
                holder.kill()
            holder.wait(10)

    sc.restore.append(release)
    holder.stdin.write("BEGIN;\nLOCK TABLE render_jobs IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(60);\n")
    holder.stdin.close()
    granted = wait_for(lambda: sql1(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        f"WHERE a.application_name = {lit(app)} AND l.relation = 'render_jobs'::regclass "
        "AND l.mode = 'AccessExclusiveLock' AND l.granted") == "1", 15, 0.1)
    if not granted:
        raise Fail("the lock on render_jobs was not granted within 15 s")
    t_lock = time.monotonic()

    def answers(what, method, path, token=None, body=None, bound=10):
        t0 = time.monotonic()
        try:
            r = http(method, path, token, body, timeout=bound)
            sc.note(f"{what} answered {r.status} in {time.monotonic() - t0:.1f} s")
            return True
        except OSError as e:
            sc.problems.append(f"{what} did not answer within {bound} s while render_jobs was locked ({e})")
            return False

    answers("GET /healthz", "GET", "/healthz")
    answers("POST /analytics", "POST", "/analytics", u.token, {"projectId": pid, "eventType": "play"})
    answers("GET /jobs/:id", "GET", f"/jobs/{jid}", u.token, bound=15)
    stopped = wait_for(lambda: sc.watch.snapshot(jid)[0]["gone"], run1["start"] / 1e9 + 4 + 15 - time.time(),
                       0.1)
    sc.check(stopped, "the hanging ffmpeg still ran 4 + 15 s after it started (render_timeout 4 s)")
    t_term = time.monotonic()
    a.p.send_signal(signal.SIGTERM)
    rc = a.wait(3 + 15)
    sc.check(rc is not None, "the spawner still ran 3 + 15 s after SIGTERM (render_grace 3 s) while "
                             "render_jobs was locked")
    if rc is not None:
        sc.note(f"spawner exited {rc} {time.monotonic() - t_term:.1f} s after SIGTERM")
    sc.note(f"lock held {time.monotonic() - t_lock:.0f} s")
    release()
    sc.check(wait_for(healthz_ok, 10, 0.2), "healthz is not 200 within 10 s of releasing the lock")


@scenario
def cancel_stages(sc):
    """DELETE /jobs/:id while waiting, while ffmpeg runs, and while the output is being finished."""
    fake = sc.use_fake()
    u, pid, aid, _ = setup_one(sc)
    probe_log = os.path.join(sc.dir, "probe.log")
    slow_probe = os.path.join(sc.dir, "ffprobe-slow")
    with open(slow_probe, "w") as f:  # the spawner gives its children a minimal environment
        f.write(f"#!/bin/sh\necho \"probe $$\" >> {probe_log}\nsleep 3\nexec {FFPROBE} \"$@\"\n")
    os.chmod(slow_probe, 0o755)

    def probes():
        try:
            with open(probe_log) as f:
                return len(f.readlines())
        except FileNotFoundError:
            return 0

    # 1. waiting: cancelled at once, never runs
    j1 = u.job(sc, pid, aid)
    api_ok(202, "DELETE", f"/jobs/{j1}", u.token)
    r1 = job(j1)
    sc.check(r1["state"] == "cancelled", f"a waiting job cancelled is {r1['state']}, not cancelled")

    # 2. active: cancelled within ~5 s, ffmpeg stopped, nothing kept
    fake.mode("slow", steps=100, step_ms=100)  # 10 s
    Spawner(sc, "cancel-a", env={"FFPROBE_PATH": slow_probe}, args=["--concurrency", "1"])
    j2 = u.job(sc, pid, aid)
    run2 = sc.watch.wait_run(j2, 30)
    time.sleep(1)
    api_ok(202, "DELETE", f"/jobs/{j2}", u.token)
    t_del = time.monotonic()
    r2 = wait_state(j2, ("cancelled", "completed", "failed"), 7)
    took = time.monotonic() - t_del
    sc.check(r2["state"] == "cancelled", f"an active job cancelled ended {r2['state']}")
    sc.check(sc.watch.wait_gone(run2["pid"], 3), "the cancelled job's ffmpeg still runs")
    left = [n for n in os.listdir(os.path.join(MEDIA_ROOT, "outputs")) if j2 in n]
    sc.check(not left, f"the cancelled active job left files: {left}")
    rows2 = sql1(f"SELECT count(*) FROM media WHERE path = {lit(r2['output_path'])}")
    sc.check(rows2 == "0", f"the cancelled active job has {rows2} media row(s)")
    sc.note(f"waiting job {r1['state']}; active job {r2['state']} {took:.1f} s after DELETE")

    # 3. finishing (ffmpeg done, ffprobe of the output under way): completed or cancelled, cleanly
    fake.mode("ok", steps=2, step_ms=100)
    probes0 = probes()  # before the job: the spawner starts its ffprobe beside ffmpeg
    j3 = u.job(sc, pid, aid)
    sc.watch.wait_run(j3, 30)

    def probing():
        # ffmpeg is done and this job's probe has started: the output is being checked
        return sc.watch.snapshot(j3)[0]["end"] is not None and probes() > probes0
    if not wait_for(probing, 15, 0.05):
        raise Fail("the third job's run never reached the finishing step (ffprobe of the output)")
    d = http("DELETE", f"/jobs/{j3}", u.token)
    t_del = time.monotonic()
    sc.check(d.status in (202, 409), f"DELETE during the finishing step answered {d.status} {d.text[:100]}")
    sleep_until(t_del + 10)
    r3 = job(j3)
    sc.check(r3["state"] in ("completed", "cancelled"),
             f"10 s after a DELETE during the finishing step the job is {r3['state']}, not completed or cancelled")
    out = os.path.join(MEDIA_ROOT, r3["output_path"])
    nrows = sql1(f"SELECT count(*) FROM media WHERE path = {lit(r3['output_path'])}")
    if r3["state"] == "completed":
        sc.check(os.path.exists(out) and nrows == "1",
                 f"completed after the late DELETE but output file {'exists' if os.path.exists(out) else 'missing'}, "
                 f"{nrows} media row(s)")
    elif r3["state"] == "cancelled":
        sc.check(not os.path.exists(out) and nrows == "0",
                 f"cancelled after the late DELETE but output file {'exists' if os.path.exists(out) else 'gone'}, "
                 f"{nrows} media row(s)")
    time.sleep(2)
    runs3 = sc.runs(j3)
    sc.check(len(runs3) == 1, f"the job cancelled while finishing ran {len(runs3)} times, want 1")
    sc.check(not sc.runs(j1), f"the job cancelled while waiting ran {len(sc.runs(j1))} time(s)")
    sc.note(f"DELETE while finishing answered {d.status}, job {r3['state']} 10 s later, {len(runs3)} run(s)")


@scenario
def lost_commit_reply(sc):
    """The reply to the completion's COMMIT is lost: the job is completed and its output kept."""
    fake = sc.use_fake()
    fake.mode("ok", steps=2, step_ms=100)
    u, pid, aid, _ = setup_one(sc)
    proxy = PgProxy(r"\binsert\s+into\s+media\b", ENV["PGPORT"])
    sc.cleanup.append(proxy.close)
    Spawner(sc, "lcr-a", env={"DATABASE_URL": proxy.conninfo(), "RENDER_LEASE": "10"},
            args=["--concurrency", "1"])
    jid = u.job(sc, pid, aid)
    row = wait_state(jid, TERMINAL, 60)
    time.sleep(1)  # a spawner that wrongly removes the output does it right after the lost reply
    row = job(jid)
    out = os.path.join(MEDIA_ROOT, row["output_path"])
    runs = sc.runs(jid)
    sc.note(f"reply lost for: {' / '.join(proxy.fired or ['nothing'])}; job {describe(row)}, "
            f"{len(runs)} run(s), output file {'present' if os.path.exists(out) else 'missing'}")
    if not proxy.fired:
        raise Fail("the proxy never saw the completion's write (no reply was lost)")
    sc.check(row["state"] == "completed", f"job ended {row['state']}, not completed")
    sc.check(os.path.exists(out), f"the job's output {row['output_path']} is missing after the lost COMMIT reply")


@scenario
def db_retry_no_duplicate(sc):
    """A write whose reply is lost is not sent again (tests/faults/db_retry)."""
    sc.check_renders = False
    u = User(sc, "retry")
    pid = u.project("retry")
    if not os.access(DB_RETRY, os.X_OK):
        raise Fail(f"{DB_RETRY} is not built")
    proxy = PgProxy(r"\binsert\s+into\s+events\b", ENV["PGPORT"])
    sc.cleanup.append(proxy.close)
    r = subprocess.run([DB_RETRY, proxy.conninfo(), ENV["DATABASE_URL"], str(pid)], capture_output=True,
                       text=True, timeout=60)
    rows = sql1(f"SELECT count(*) FROM events WHERE project_id = {int(pid)}")
    sc.note(f"{' / '.join(r.stdout.strip().splitlines())}; {rows} row(s) in events")
    if not proxy.fired:
        raise Fail(f"the proxy never saw the INSERT (db_retry exited {r.returncode}: {r.stderr.strip()[:200]})")
    sc.check(rows == "1", f"{rows} rows for one db_exec whose reply was lost, want 1 (it was sent again)")
    sc.check(r.returncode == 0, f"db_retry exited {r.returncode}: {r.stderr.strip()[-200:]}")
    if SANITIZER_RE.search(r.stderr):
        sc.problems.append("sanitizer report from db_retry: " + r.stderr.strip()[-200:])


@scenario
def db_outage_log_quiet(sc):
    """A PostgreSQL outage is logged when it starts, once a minute while it lasts and when it ends,
    not once per request (issue 11: 51,753 `db: connect` lines in a 14 s outage)."""
    sc.check_renders = False
    log = os.path.join(TEST_DIR, "log", "mediad.log")
    if not os.path.exists(log):
        raise Skip("no mediad.log (this web server logs the responders elsewhere)")

    def count(pat):
        with open(log, "rb") as f:
            return len(re.findall(pat, f.read()))

    before = count(rb"db: connect:")
    pg_stop()
    try:
        codes = {}
        for _ in range(300):
            c = http("GET", "/healthz", timeout=10).status
            codes[c] = codes.get(c, 0) + 1
    finally:
        pg_start()
    wait_for(healthz_ok, 30, 0.2)
    for _ in range(20):  # every responder notices the server is back
        http("GET", "/healthz", timeout=10)
    lines = count(rb"db: connect:") - before
    sc.note(f"300 requests during the outage answered {codes}; {lines} 'db: connect' line(s) logged")
    sc.check(codes.get(503, 0) > 0, f"healthz never answered 503 while PostgreSQL was down: {codes}")
    procs = int(ENV.get("MEDIAD_PROCS", "2"))
    sc.check(lines <= 2 * procs, f"{lines} 'db: connect' lines for one outage, want at most {2 * procs} "
                                 f"(one per responder)")
    sc.check(count(rb"db: connected again") > 0, "no 'db: connected again' line once PostgreSQL was back")


def fill(folder):
    """Fills the file system of folder to the last byte; returns the filler's path."""
    path = os.path.join(folder, "filler")
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 4096, 1):
            block = b"\0" * chunk
            while True:
                try:
                    f.write(block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return path


@scenario
def disk_full(sc):
    """A full media root: the job is not charged and stays waiting; once space is back it completes."""
    if os.geteuid() != 0:
        raise Skip("needs root to mount a tmpfs")
    u, pid, aid, inpath = setup_one(sc, "disk", "clip.mp4")
    jid = u.job(sc, pid, aid)
    root = os.path.join(sc.dir, "root")
    os.makedirs(root)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0755", "tmpfs", root], capture_output=True,
                       text=True)
    if m.returncode != 0:
        raise Skip(f"cannot mount a tmpfs: {m.stderr.strip()[:120]}")

    def umount():
        if subprocess.run(["umount", root], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", root], capture_output=True)

    sc.cleanup.append(umount)
    sc.media_root = root
    for d in ("uploads", "outputs"):
        os.makedirs(os.path.join(root, d))
    shutil.copy(os.path.join(MEDIA_ROOT, inpath), os.path.join(root, inpath))
    filler = fill(root)
    env = {"MEDIA_ROOT": root, "RENDER_MIN_FREE_MB": "8"}
    rc1 = run_once(sc, "disk-1", env, ffmpeg=FFMPEG)
    row1 = job(jid)
    st = subprocess.run([MEDIACTL, "status"], capture_output=True, text=True, timeout=60,
                        env=dict(ENV, MEDIA_ROOT=root))
    sc.check(rc1 != 0, "media-spawner --once exited 0 with the media root full")
    sc.check(row1["state"] == "waiting" and row1["attempts"] == 0,
             f"after the run on a full disk the job is {describe(row1)}, want waiting with attempts 0")
    sc.check(st.returncode in (0, 3) and re.search(r"(?i)space|disk|full|ENOSPC", st.stdout),
             f"`mediactl status` (exit {st.returncode}) does not show the spawner's last error about the disk: "
             f"{first_line(st.stdout or st.stderr)!r}")
    os.unlink(filler)
    rc2, row2 = None, row1
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # Space is back: the job may run now (a backoff after the failed run is not what is tested).
        sql(f"UPDATE render_jobs SET run_after = now() WHERE id = {lit(jid)} AND state = 'waiting'")
        rc2 = run_once(sc, "disk-2", env, ffmpeg=FFMPEG)
        row2 = job(jid)
        if row2["state"] != "waiting":
            break
        time.sleep(1)
    sc.note(f"full disk: spawner exited {rc1}, job {describe(row1)}; space back: spawner exited {rc2}, "
            f"job {describe(row2)}")
    sc.check(row2["state"] == "completed", f"once space was back the job ended {describe(row2)}")


@scenario
def ffmpeg_path_missing(sc):
    """ffmpeg_path names nothing: --once fails, the job is untouched; a valid path completes it."""
    fake = sc.use_fake()
    fake.mode("ok", steps=2, step_ms=50)
    u, pid, aid, _ = setup_one(sc)
    jid = u.job(sc, pid, aid)
    rc1 = run_once(sc, "nopath-1", {}, ffmpeg="/nonexistent/ffmpeg")
    row1 = job(jid)
    sc.check(rc1 != 0, "media-spawner --once exited 0 with FFMPEG_PATH=/nonexistent/ffmpeg")
    sc.check(row1["state"] == "waiting" and row1["attempts"] == 0,
             f"after the run without ffmpeg the job is {describe(row1)}, want waiting with attempts 0")
    rc2, row2 = None, row1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sql(f"UPDATE render_jobs SET run_after = now() WHERE id = {lit(jid)} AND state = 'waiting'")
        rc2 = run_once(sc, "nopath-2", {})
        row2 = job(jid)
        if row2["state"] != "waiting":
            break
        time.sleep(1)
    sc.note(f"without ffmpeg: exit {rc1}, job {describe(row1)}; with it: exit {rc2}, job {describe(row2)}")
    sc.check(row2["state"] == "completed", f"with a valid ffmpeg the job ended {describe(row2)}")


@scenario
def second_bodyless_render(sc):
    """A bodyless render after a completed one renders the upload again, not the last output."""
    fake = sc.use_fake()
    fake.mode("ok", steps=2, step_ms=50)
    u, pid, aid, path = setup_one(sc, "body", "still.png")
    a = Spawner(sc, "body-a", args=["--concurrency", "1"])
    r1 = u.render(sc, pid)
    j1 = r1.json["jobId"]
    sc.check(r1.json.get("inputFile") == path, f"first render's inputFile is {r1.json.get('inputFile')}, not {path}")
    row1 = wait_state(j1, TERMINAL, 60)
    if row1["state"] != "completed":
        raise Fail(f"the first render ended {describe(row1)}")
    a.stop()
    r2 = u.render(sc, pid)
    sc.check(r2.json.get("inputFile") == path,
             f"the second bodyless render's inputFile is {r2.json.get('inputFile')}, want the upload {path}")
    items = api_ok(200, "GET", f"/projects/{pid}/assets", u.token).json.get("items", [])
    paths = [i.get("path") for i in items]
    sc.check(path in paths, f"GET /projects/{pid}/assets does not list the upload {path}: {paths}")
    sc.check(row1["output_path"] not in paths,
             f"GET /projects/{pid}/assets lists the render output {row1['output_path']} by default")
    sc.note(f"second inputFile {r2.json.get('inputFile')}; assets listed {paths}")


@scenario
def user_cap_and_fairness(sc):
    """20 queued jobs per user at most (429 after); another user's job is not stuck behind them."""
    fake = sc.use_fake()
    fake.mode("ok", steps=3, step_ms=100)
    ua, pa, aa, _ = setup_one(sc, "capa")
    codes = [ua.render(sc, pa, {"assetId": aa}, want=None).status for _ in range(20)]
    sc.check(codes == [202] * 20, f"user A's first 20 renders answered {sorted(set(codes))}, want 202 each")
    r21 = ua.render(sc, pa, {"assetId": aa}, want=None)
    sc.check(r21.status == 429, f"user A's 21st render answered {r21.status}, want 429")
    if r21.status == 429:
        sc.check(isinstance(r21.json, dict) and isinstance(r21.json.get("error"), str),
                 f"the 429 body is not a JSON error: {r21.text[:120]!r}")
    ub, pb, ab, _ = setup_one(sc, "capb")
    jb = ub.job(sc, pb, ab)
    s = Spawner(sc, "cap-a", args=["--concurrency", "1"])
    wait_state(jb, TERMINAL, 90)
    s.stop()
    order = [r["job"] for r in sorted(sc.runs(), key=lambda r: r["start"])]
    pos = order.index(jb) + 1 if jb in order else None
    sc.note(f"21st render answered {r21.status} {r21.get('error')}; B's job was run {pos} of {len(order)} started")
    sc.check(pos is not None and pos <= 2, f"user B's job was run {pos} after {len(order)} runs started, "
                                           "want among the first 2")


def tus(method, path, token, offset=None, data=None, length=None, metadata=None):
    """One tus 1.0.0 request (a PATCH sends data from offset)."""
    h = {"Tus-Resumable": "1.0.0"}
    if length is not None:
        h["Upload-Length"] = str(length)
    if metadata is not None:
        h["Upload-Metadata"] = metadata
    if offset is not None:
        h["Upload-Offset"] = str(offset)
    ctype = "application/offset+octet-stream" if method == "PATCH" else None
    return http(method, path, token, data=data if data is not None else b"" if method != "HEAD" else None,
                ctype=ctype, headers=h, timeout=60)


@scenario
def tus_restart_of_everything(sc):
    """Between two PATCHes of a tus upload PostgreSQL stops in immediate mode and every mediad
    responder is killed -9: HEAD says the acknowledged offset and the upload completes whole."""
    sc.check_renders = False
    # What the server acknowledged must be on disk: the harness runs PostgreSQL without that.
    sc.restore.append(lambda: pg_durable(False))
    pg_durable(True)
    u = User(sc, "tus")
    with open(os.path.join(FIXTURES, "clip.mp4"), "rb") as f:
        src = f.read()
    title = "tus everything restarted " + uuid.uuid4().hex[:8]
    meta = "title " + __import__("base64").b64encode(title.encode()).decode()
    r = tus("POST", "/uploads", u.token, length=len(src), metadata=meta)
    if r.status != 201:
        raise Fail(f"POST /uploads: wanted 201, got {r.status} {r.text[:200]}")
    path = "/uploads/" + r.headers["Location"].rsplit("/", 1)[1]
    half = len(src) // 2
    r = tus("PATCH", path, u.token, offset=0, data=src[:half])
    if r.status != 204 or r.headers.get("Upload-Offset") != str(half):
        raise Fail(f"first PATCH: wanted 204 at {half}, got {r.status} {r.headers.get('Upload-Offset')} "
                   f"{r.text[:200]}")

    # Everything at once: PostgreSQL as if crashed, every responder killed, then PostgreSQL back.
    sc.restore.append(ensure_pg_up)
    pg_crash()
    killed = responders()
    sc.check(killed, f"no mediad responder ({MEDIAD}) found to kill")
    for pid in killed:
        kill_quiet(pid)
    gone = wait_for(lambda: not any(pid_runs(p, MEDIAD) for p in killed), 15, 0.05)
    sc.check(gone, "a killed responder still ran 15 s after its SIGKILL")
    pg_start()
    if not wait_for(healthz_ok, 60, 0.2):
        raise Fail("the stack did not come back healthy within 60 s of the restart")
    # Every pool back (the upload routes have their own), as a client retrying after a 5xx would
    # find it: a request to a pool still restarting is answered by the web server, not by us.
    again = wait_for(lambda: [p for p in responders() if p not in killed] if
                     len([p for p in responders() if p not in killed]) >= len(killed) else None, 60, 0.1)
    sc.check(again, f"fewer than the {len(killed)} responders killed run again 60 s later")
    sc.note(f"{len(killed)} responders killed, {len(again or [])} running again; PostgreSQL recovered")

    r = tus("HEAD", path, u.token)
    sc.check(r.status == 200 and r.headers.get("Upload-Offset") == str(half),
             f"HEAD after the restart: {r.status}, Upload-Offset {r.headers.get('Upload-Offset')}, "
             f"want 200 and {half} (the acknowledged offset)")
    off = int(r.headers.get("Upload-Offset") or -1)
    if off < 0 or off > half:
        raise Fail(f"HEAD's offset {off} is not one the client can resume from")
    r = tus("PATCH", path, u.token, offset=off, data=src[off:])
    res = r.headers.get("Mediad-Resource") or ""
    if r.status != 204 or r.headers.get("Upload-Offset") != str(len(src)) or not res.startswith("/media/"):
        raise Fail(f"last PATCH: wanted 204 at {len(src)} with Mediad-Resource, got {r.status} "
                   f"{r.headers.get('Upload-Offset')} {res!r} {r.text[:200]}")
    m = api_ok(200, "GET", res, u.token).json
    with open(os.path.join(MEDIA_ROOT, m["path"]), "rb") as f:
        got = hashlib.sha256(f.read()).hexdigest()
    want = hashlib.sha256(src).hexdigest()
    sc.check(got == want, f"the stored file's sha256 is {got[:16]}..., the source's {want[:16]}...")
    rows = sql1(f"SELECT count(*) FROM media WHERE user_id = {u.id} AND title = {lit(title)}")
    sc.check(rows == "1", f"{rows} media rows for the upload, want 1")


# ---- main --------------------------------------------------------------------------------------------


def make_fixtures():
    os.makedirs(FIXTURES, exist_ok=True)
    cmds = [
        ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=1", "-frames:v", "1", "still.png"],
        ["-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-f", "lavfi", "-i",
         "sine=frequency=440:sample_rate=44100", "-t", "2", "-pix_fmt", "yuv420p", "-c:v", "libx264",
         "-preset", "ultrafast", "-c:a", "aac", "-shortest", "clip.mp4"],
    ]
    for c in cmds:
        subprocess.run([FFMPEG, "-nostdin", "-y", "-loglevel", "error"] + c[:-1] + [os.path.join(FIXTURES, c[-1])],
                       check=True, timeout=120)


def main():
    for v, what in ((BASE_URL, "MEDIAD_BASE_URL"), (TEST_DIR, "MEDIAD_TEST_DIR"), (MEDIA_ROOT, "MEDIA_ROOT"),
                    (BUILD, "abs_top_builddir")):
        if not v:
            print(f"faults.py: {what} is not set: run through tests/faults/run.sh", file=sys.stderr)
            return 99
    for p in (SPAWNER, FAKE_BUILT):
        if not os.access(p, os.X_OK):
            print(f"faults.py: {p} is not built", file=sys.stderr)
            return 99
    # The harness's EXIT trap sends SIGTERM: clean up (spawners, locks, mounts) on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = [s for s in ENV.get("FAULTS_ONLY", "").replace(",", " ").split() if s]
    names = [n for n, _ in SCENARIOS]
    unknown = [s for s in only if s not in names]
    if unknown:
        print(f"faults.py: no scenario {', '.join(unknown)}; there are: {' '.join(names)}", file=sys.stderr)
        return 99
    try:
        make_fixtures()
    except (OSError, subprocess.SubprocessError) as e:
        print(f"faults.py: cannot make the fixtures with {FFMPEG}: {e}", file=sys.stderr)
        return 99
    results = {}
    t0 = time.monotonic()
    for name, fn in SCENARIOS:
        if only and name not in only:
            continue
        t = time.monotonic()
        results[name] = run_scenario(name, fn)
        print(f"  ({name}: {time.monotonic() - t:.0f} s)", file=sys.stderr, flush=True)
    counts = {k: sum(1 for v in results.values() if v == k) for k in ("pass", "fail", "skip")}
    print(f"faults: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped "
          f"in {time.monotonic() - t0:.0f} s", flush=True)
    if counts["fail"]:
        return 1
    return 77 if results and counts["skip"] == len(results) else 0


if __name__ == "__main__":
    sys.exit(main())
