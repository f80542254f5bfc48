#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Power cuts under a running spp-hookd, on powerfs (see powerfs.py).

    powercut.py --binary SPP_HOOKD --cuts N [--seed S] [--eio RATE] [--workdir DIR]
    powercut.py --selftest [--workdir DIR]
    powercut.py --binary SPP_HOOKD --scenario dirsync-retry [--workdir DIR]
    powercut.py --binary SPP_HOOKD --scenario fsync-eio --target PATH_PART [--workdir DIR]

Each cut: concurrent clients post events; at a random moment the daemon is killed (-9) and
the filesystem drops everything that was not durable; then the daemon starts again on what
survived and this checks, for every acknowledged event and every sink:
  - the daemon starts (recovery never refuses a log it wrote itself);
  - every acknowledged seq is in the log with its id, no seq twice, every complete line
    reads, and lines seen at an earlier check are byte-identical;
  - every event at or below a sink's recovered cursor is in that sink's output (file sink:
    the line itself; failing hook: a readable dead letter), and every complete line of a
    sink file reads;
  - no complete line of any file the daemon wrote (log segments, sink files, dead letters,
    cursors, the registry) holds a NUL byte: the hole a failed fsync leaves when a writer
    builds on bytes whose sync failed (powerfs models it).
Half the cuts start from a fresh data directory, half from a pre-created layout. With
--eio, that share of file and directory fsyncs fail (EIO) while clients post. Prints one
JSON summary line and exits 1 on any violation.

--scenario dirsync-retry is one case, not a random walk: the file sink's first directory
sync fails (EIO) and its retry finds the directory already there (in memory only); after a
clean stop and a cut, every event at or below its cursor must still be in its output.

--scenario fsync-eio is one case too: the first fdatasync of the file whose path contains
--target (out/orders.jsonl, data/events.jsonl, dead-letters/hook.jsonl, ...) fails with EIO
while a backlog of order events is written; the writer goes on (a retry, the next batch),
every event reaches the sinks' cursors, then the daemon is killed and the power cut. Every
check above must hold, the new one first: no NUL bytes left by the failed sync.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "powercut-token-0123456789abcdef"
CATEGORIES = [("order.created", "orders"), ("invoice.paid", "invoices"), ("ticket.created", "tickets")]


class Filesystem:
    def __init__(self, workdir):
        self.mnt = os.path.join(workdir, "mnt")
        self.state = os.path.join(workdir, "state")
        os.makedirs(self.mnt, exist_ok=True)
        self.proc = None

    def mount(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "powerfs.py"), self.mnt, self.state],
                                     stderr=open(self.state + ".log", "ab"))
        deadline = time.time() + 20
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("powerfs did not mount: see " + self.state + ".log")
            time.sleep(0.02)

    def control(self, command):
        fd = os.open(os.path.join(self.mnt, ".powerfs"), os.O_WRONLY)
        try:
            os.write(fd, command.encode())
        finally:
            try:
                os.close(fd)
            except OSError:
                pass  # after "cut" the filesystem is gone before the close

    def counters(self):
        try:
            with open(os.path.join(self.mnt, ".powerfs")) as f:
                return json.loads(f.read())
        except (OSError, ValueError):
            return {}

    def cut(self, torn_seed=None):
        self.control("cut" if torn_seed is None else f"cut torn {torn_seed}")
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["fusermount3", "-u", "-z", self.mnt], stderr=subprocess.DEVNULL)

    def unmount(self):
        if self.proc and self.proc.poll() is None:
            subprocess.run(["fusermount3", "-u", "-z", self.mnt], stderr=subprocess.DEVNULL)
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Daemon:
    """The daemon under a notify socket of our own: it is ready, and its port known, once it
    sends READY=1 (X_SPP_HOOKD_LISTEN names the port). The socket is removed right after, so
    later notifications fail at once rather than fill a queue nobody reads."""

    def __init__(self, binary, config, log):
        notify_path = tempfile.mktemp(prefix="powercut-notify-", dir="/tmp")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(0.2)
        env = dict(os.environ, PC_TOKEN=TOKEN, SWIFT_BACKTRACE="enable=no", NOTIFY_SOCKET=notify_path)
        self.log = log
        self.proc = subprocess.Popen([binary, "serve", "--config", config, "--log-format", "text"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
        self.port = None
        try:
            deadline = time.time() + 30
            while time.time() < deadline and self.proc.poll() is None and self.port is None:
                try:
                    message = notify.recv(4096).decode(errors="replace")
                except socket.timeout:
                    continue
                fields = dict(line.split("=", 1) for line in message.split("\n") if "=" in line)
                if fields.get("READY") == "1":
                    listen = [a for a in fields.get("X_SPP_HOOKD_LISTEN", "").split(",") if a.startswith("127.0.0.1:")]
                    self.port = int(listen[0].split(":")[1]) if listen else None
                    break
        finally:
            notify.close()
            os.unlink(notify_path)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def post_loop(port, stop, acked, lock, prefix, rnd):
    n = 0
    conn = None
    while not stop.is_set():
        event, _ = CATEGORIES[rnd.randrange(len(CATEGORIES))]
        ident = f"{prefix}-{n}"
        n += 1
        body = json.dumps({"event": event, "created": 1558608668, "token": TOKEN,
                           "data": {"id": ident, "status": "Pending", "pad": "p" * rnd.randrange(0, 600)}})
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/spp/main", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            if r.status == 200:
                answer = json.loads(data)
                with lock:
                    acked.append((answer["seq"], ident, event))
        except Exception:
            conn = None
            time.sleep(0.01)


def read_lines(path):
    """(complete lines, unterminated tail) of a file; missing file: nothing."""
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return [], b""
    parts = data.split(b"\n")
    return parts[:-1], parts[-1]


def log_lines(data_dir):
    if not os.path.isdir(data_dir):
        return []
    names = sorted(n for n in os.listdir(data_dir) if n.startswith("events-") and n.endswith(".jsonl"))
    lines = []
    for name in names + ["events.jsonl"]:
        complete, _ = read_lines(os.path.join(data_dir, name))
        lines += complete
    return lines


class Checker:
    def __init__(self, root):
        self.root = root
        self.seen = {}  # seq -> line bytes at an earlier check
        self.violations = []

    def fail(self, cut, what):
        self.violations.append(f"cut {cut}: {what}")

    def check(self, cut, binary, config, acked):
        data = os.path.join(self.root, "data")
        if not os.path.isdir(data):
            self.fail(cut, "the data directory vanished")
        by_seq = {}
        for line in log_lines(data):
            try:
                record = json.loads(line)
            except ValueError:
                self.fail(cut, f"unreadable complete log line {line[:80]!r}")
                continue
            seq = record["seq"]
            if seq in by_seq:
                self.fail(cut, f"seq {seq} twice in the log")
            by_seq[seq] = (record, line)
        for seq, ident, event in acked:
            got = by_seq.get(seq)
            if got is None:
                self.fail(cut, f"acknowledged seq {seq} ({ident}) missing from the log")
            elif got[0]["payload"]["data"]["id"] != ident or got[0]["event"] != event:
                self.fail(cut, f"acknowledged seq {seq} holds {got[0]['payload']['data']['id']}, not {ident}")
        for seq, line in self.seen.items():
            if seq in by_seq and by_seq[seq][1] != line:
                self.fail(cut, f"log line of seq {seq} changed")
        for seq, (_, line) in by_seq.items():
            self.seen.setdefault(seq, line)
        sinks, status = sink_status(binary, config)
        if sinks is None:
            self.fail(cut, f"status unreadable: {status.stdout[:200]} {status.stderr[:200]}")
            return
        # The file sink: every event at or below its cursor is in the file of its category.
        # The failing hook: every event at or below its cursor is a readable dead letter.
        outputs = {"files": [os.path.join(self.root, "out", c + ".jsonl") for _, c in CATEGORIES],
                   "hook": [os.path.join(data, "dead-letters", "hook.jsonl")]}
        for sink, files in outputs.items():
            if sink not in sinks:
                continue
            cursor, found = sinks[sink]["cursorSeq"], set()
            for path in files:
                for line in read_lines(path)[0]:
                    try:
                        found.add(json.loads(line)["seq"])
                    except ValueError:
                        self.fail(cut, f"unreadable complete line in {os.path.relpath(path, self.root)}: {line[:80]!r}")
            for seq in by_seq:
                if seq <= cursor and seq not in found:
                    self.fail(cut, f"sink {sink}: cursor {cursor} but seq {seq} is not in its output")
        for path, offset in nul_lines(self.root):
            self.fail(cut, f"a line with NUL bytes in {os.path.relpath(path, self.root)} at byte {offset}")


def nul_lines(root):
    """(file, byte offset) of every complete line holding a NUL byte, in every text file below
    root (the dedup checkpoint is binary, and checksummed). An unterminated tail is not a
    line: start-up or the next append cuts it."""
    found = []
    for top, _, names in os.walk(root):
        for name in names:
            path = os.path.join(top, name)
            if name in (".powerfs", "dedup.checkpoint", "dedup.checkpoint.tmp") or name.startswith(".fuse_hidden"):
                continue
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            at = data.find(b"\0")
            while at >= 0:
                end = data.find(b"\n", at)
                if end < 0:
                    break
                found.append((path, data.rfind(b"\n", 0, at) + 1))
                at = data.find(b"\0", end)
    return found


def sink_status(binary, config):
    """({sink name: its `status --json` entry}, or None when unreadable; the completed process)."""
    status = subprocess.run([binary, "status", "--json", "--config", config], capture_output=True, text=True)
    try:
        return {s["name"]: s for s in json.loads(status.stdout)["sinks"]}, status
    except (ValueError, KeyError):
        return None, status


def write_config(root, path, hook=True):
    config = {
        "listen": "127.0.0.1:0", "dataDir": os.path.join(root, "data"),
        "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:PC_TOKEN"]}],
        "log": {"maxBytes": 32768},
        "sinks": [
            {"name": "files", "type": "file", "path": os.path.join(root, "out", "{category}.jsonl")},
            {"name": "hook", "type": "shell", "command": ["/bin/false"], "retry": {"maxAttempts": 1}, "ordered": False},
        ],
    }
    if not hook:
        config["sinks"] = config["sinks"][:1]
    with open(path, "w") as f:
        json.dump(config, f)


def precreate(root):
    """The layout a package or an operator made beforehand, durable."""
    for d in ["data", "data/cursors", "data/dead-letters", "out"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for d in ["", "data", "out"]:
        fd = os.open(os.path.join(root, d), os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(fd)
        os.close(fd)


def run(args):
    rnd = random.Random(args.seed)
    totals = {"cuts": 0, "tornCuts": 0, "acknowledged": 0, "violations": 0, "restartFailures": 0,
              "fsyncs": 0, "failedFsyncs": 0, "failedDirsyncs": 0}
    checker_msgs = []
    for layout in ["fresh", "pre-created"]:
        cuts = args.cuts // 2 if layout == "fresh" else args.cuts - args.cuts // 2
        work = tempfile.mkdtemp(prefix="powercut-", dir=args.workdir)
        fs = Filesystem(work)
        fs.mount()
        config = os.path.join(work, "config.json")
        write_config(fs.mnt, config)
        if layout == "pre-created":
            precreate(fs.mnt)
        checker = Checker(fs.mnt)
        acked_all = []
        daemon_log = os.path.join(work, "daemon.log")
        daemon = None
        try:
            daemon = Daemon(args.binary, config, daemon_log)
            for cut in range(cuts):
                if daemon.port is None:
                    checker.fail(cut, "daemon did not start: " + open(daemon_log, errors="replace").read()[-600:])
                    totals["restartFailures"] += 1
                    break
                if args.eio:
                    fs.control(f"fail-rate {args.eio} {rnd.randrange(1 << 30)}")
                stop, lock, acked = threading.Event(), threading.Lock(), []
                threads = [threading.Thread(target=post_loop, args=(daemon.port, stop, acked, lock, f"c{cut}-{i}-{args.seed}",
                                                                    random.Random(rnd.random())))
                           for i in range(4)]
                for t in threads:
                    t.start()
                time.sleep(rnd.uniform(0.05, 0.8))
                daemon.kill()
                stop.set()
                for t in threads:
                    t.join()
                c = fs.counters()
                totals["fsyncs"] += c.get("fsync", 0) + c.get("fsyncdir", 0)
                totals["failedFsyncs"] += c.get("failedFsync", 0)
                totals["failedDirsyncs"] += c.get("failedDirsync", 0)
                torn = rnd.random() < 0.5
                totals["tornCuts"] += torn
                fs.cut(rnd.randrange(1 << 30) if torn else None)
                fs.mount()
                acked_all += acked
                totals["cuts"] += 1
                daemon = Daemon(args.binary, config, daemon_log)
                if daemon.port is None:
                    checker.fail(cut, "daemon did not start after the cut: "
                                 + open(daemon_log, errors="replace").read()[-800:])
                    totals["restartFailures"] += 1
                    break
                checker.check(cut, args.binary, config, acked_all)
        finally:
            # Whatever happened, leave no daemon and no mount behind.
            if daemon is not None:
                daemon.kill()
            fs.unmount()
        totals["acknowledged"] += len(acked_all)
        totals["violations"] += len(checker.violations)
        if not checker.violations:
            shutil.rmtree(work, ignore_errors=True)  # kept, with its daemon.log, when something failed
        checker_msgs += [f"{layout}: {v}" for v in checker.violations]
    print(json.dumps(dict(totals, eio=args.eio, seed=args.seed, examples=checker_msgs[:10])))
    return 0 if totals["violations"] == 0 else 1


def sink_cursor(binary, config, sink):
    sinks, _ = sink_status(binary, config)
    return (sinks or {}).get(sink, {}).get("cursorSeq", -1)


def dirsync_retry(args):
    """The file sink's first directory sync fails; see the module's docstring."""
    summary = {"scenario": "dirsync-retry", "acknowledged": 0, "delivered": False, "failedDirsyncs": 0, "sinkRetried": False}
    return one_scenario(args, "dirsync", summary, dirsync_retry_steps, hook=False, precreated=False)


def one_scenario(args, label, summary, steps, hook, precreated):
    """A single case on a fresh powerfs: `steps(args, fs, config, daemon_log, checker, summary,
    daemons)` runs it (appending any daemon it starts to `daemons`, which are killed here).
    Prints the summary with the violations; the work folder stays when one was found, or
    with --keep."""
    work = tempfile.mkdtemp(prefix=f"powercut-{label}-", dir=args.workdir)
    fs = Filesystem(work)
    fs.mount()
    config = os.path.join(work, "config.json")
    write_config(fs.mnt, config, hook=hook)
    if precreated:
        precreate(fs.mnt)
    daemon_log = os.path.join(work, "daemon.log")
    checker = Checker(fs.mnt)
    daemons = [Daemon(args.binary, config, daemon_log)]
    try:
        steps(args, fs, config, daemon_log, checker, summary, daemons)
    finally:
        for daemon in daemons:
            daemon.kill()
        fs.unmount()
    if not checker.violations and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(dict(summary, violations=len(checker.violations), examples=checker.violations[:10], workdir=work)))
    return 0 if not checker.violations else 1


def dirsync_retry_steps(args, fs, config, daemon_log, checker, summary, daemons):
    """One event with the sink's first directory sync failing, a clean stop, a cut, the check.
    A daemon started here is appended to `daemons`, which the caller kills."""
    daemon = daemons[-1]
    if daemon.port is None:
        checker.fail(0, "daemon did not start: " + open(daemon_log, errors="replace").read()[-600:])
        return
    fs.control("fail-dirsync 1")
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
    body = json.dumps({"event": "order.created", "created": 1558608668, "token": TOKEN, "data": {"id": "dirsync-1"}})
    conn.request("POST", "/spp/main", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    answer = json.loads(r.read())
    conn.close()
    if r.status != 200:
        checker.fail(0, f"the event was answered {r.status}: {answer}")
        return
    acked = [(answer["seq"], "dirsync-1", "order.created")]
    summary["acknowledged"] = 1
    deadline = time.time() + 60
    while time.time() < deadline and sink_cursor(args.binary, config, "files") < answer["seq"]:
        time.sleep(0.05)
    summary["delivered"] = sink_cursor(args.binary, config, "files") >= answer["seq"]
    summary["failedDirsyncs"] = fs.counters().get("failedDirsync", 0)
    summary["sinkRetried"] = "Input/output error" in open(daemon_log, errors="replace").read()
    daemon.proc.send_signal(signal.SIGTERM)  # a clean stop: the cursor is synced
    daemon.proc.wait(timeout=30)
    cut_restart_check(args, fs, config, daemon_log, checker, daemons, acked)


def cut_restart_check(args, fs, config, daemon_log, checker, daemons, acked):
    """The power cut, a restart on what survived (added to `daemons`), and every check."""
    fs.cut()
    fs.mount()
    daemons.append(Daemon(args.binary, config, daemon_log))
    if daemons[-1].port is None:
        checker.fail(0, "daemon did not start after the cut: " + open(daemon_log, errors="replace").read()[-800:])
    else:
        checker.check(0, args.binary, config, acked)


def fsync_eio(args):
    """See the module's docstring: one failed fdatasync of --target under a backlog."""
    summary = {"scenario": "fsync-eio", "target": args.target, "acknowledged": 0, "refused": 0, "failedFsyncs": 0,
               "delivered": False}
    return one_scenario(args, "fsync-eio", summary, fsync_eio_steps, hook=True, precreated=True)


def fsync_eio_steps(args, fs, config, daemon_log, checker, summary, daemons):
    daemon = daemons[-1]
    if daemon.port is None:
        checker.fail(0, "daemon did not start: " + open(daemon_log, errors="replace").read()[-600:])
        return
    # The sinks open their files on the first event: make them exist before the armed sync.
    acked = post_orders(daemon.port, "warm", 3)
    wait_for_cursors(args.binary, config, max(s for s, _, _ in acked), summary)
    fs.control(f"fail-fsync-path {args.target} 1")
    batch = post_orders(daemon.port, "backlog", 3000)
    acked += batch
    summary["acknowledged"] = len(acked)
    summary["refused"] = 3003 - len(acked)
    if not batch:
        checker.fail(0, "no event of the backlog was acknowledged")
        return
    summary["delivered"] = wait_for_cursors(args.binary, config, max(s for s, _, _ in acked), summary)
    summary["failedFsyncs"] = fs.counters().get("failedFsync", 0)
    daemon.kill()
    cut_restart_check(args, fs, config, daemon_log, checker, daemons, acked)


def post_orders(port, prefix, count):
    """Posts `count` order events over 4 connections; [(seq, id, event)] of those acknowledged
    (a 503 while the log's sync failed is not, and is not retried here)."""
    acked, lock = [], threading.Lock()

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(k, count, 4):
            ident = f"{prefix}-{n}"
            body = json.dumps({"event": "order.created", "created": 1558608668, "token": TOKEN,
                               "data": {"id": ident, "pad": "p" * (n % 700)}})
            try:
                conn.request("POST", "/spp/main", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            if r.status == 200:
                with lock:
                    acked.append((json.loads(data)["seq"], ident, "order.created"))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acked


def wait_for_cursors(binary, config, seq, summary, sinks=("files", "hook")):
    """True once every sink's cursor reached `seq` (a retry after the failed sync included)."""
    deadline = time.time() + 120
    while time.time() < deadline:
        if all(sink_cursor(binary, config, s) >= seq for s in sinks):
            return True
        time.sleep(0.1)
    summary["stuckCursors"] = {s: sink_cursor(binary, config, s) for s in sinks}
    return False


def selftest(args):
    """The filesystem's own model, checked before anything runs on it."""
    work = tempfile.mkdtemp(prefix="powerfs-selftest-", dir=args.workdir)
    fs = Filesystem(work)
    fs.mount()
    m = fs.mnt
    failures = []

    def dsync(p):
        fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(fd)
        os.close(fd)

    def expect(cond, what):
        if not cond:
            failures.append(what)

    os.mkdir(m + "/kept"); dsync(m)
    os.mkdir(m + "/lost-dir")  # parent never synced again
    fd = os.open(m + "/kept/synced", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, b"durable\n"); os.fsync(fd); os.write(fd, b"not synced\n"); os.close(fd)
    fd = os.open(m + "/kept/name-synced-data-not", os.O_WRONLY | os.O_CREAT, 0o600); os.write(fd, b"x"); os.close(fd)
    dsync(m + "/kept")
    fd = os.open(m + "/kept/data-synced-name-not", os.O_WRONLY | os.O_CREAT, 0o600); os.write(fd, b"y"); os.fsync(fd); os.close(fd)
    os.rename(m + "/kept/synced", m + "/kept/renamed-not-synced")
    fs.control("fail-fsync 1")
    fd = os.open(m + "/kept/renamed-not-synced", os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"after eio\n")
    try:
        os.fsync(fd)
        failures.append("injected fsync EIO did not fail")
    except OSError as e:
        expect(e.errno == 5, f"injected fsync failed with {e.errno}, not EIO")
    os.close(fd)
    fs.control("fail-dirsync 1")
    try:
        dsync(m + "/kept")
        failures.append("injected directory fsync EIO did not fail")
    except OSError as e:
        expect(e.errno == 5, f"injected directory fsync failed with {e.errno}")
    expect(open(m + "/kept/renamed-not-synced", "rb").read() == b"durable\nnot synced\nafter eio\n", "page cache view")
    fs.cut()
    fs.mount()
    expect(sorted(os.listdir(m)) == ["kept"], f"root after cut: {os.listdir(m)}")
    expect(sorted(os.listdir(m + "/kept")) == ["name-synced-data-not", "synced"], f"kept/ after cut: {os.listdir(m + '/kept')}")
    expect(open(m + "/kept/synced", "rb").read() == b"durable\n", "unsynced data survived")
    expect(open(m + "/kept/name-synced-data-not", "rb").read() == b"", "data without fsync survived")
    # A torn cut: what was appended after the last fsync survives in part, never more, and
    # what was synced is intact.
    shapes = set()
    for seed in range(12):
        fd = os.open(m + "/kept/synced", os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"unsynced tail\n")
        os.close(fd)
        fs.cut(torn_seed=seed)
        fs.mount()
        data = open(m + "/kept/synced", "rb").read()
        expect(data.startswith(b"durable\n") and len(data) <= len(b"durable\nunsynced tail\n"), f"torn cut kept {data!r}")
        tail = data[len(b"durable\n"):]
        shapes.add("none" if not tail else "zeros" if set(tail) == {0} else "prefix")
        fd = os.open(m + "/kept/synced", os.O_WRONLY | os.O_TRUNC)
        os.write(fd, b"durable\n")
        os.fsync(fd)
        os.close(fd)
    expect(shapes == {"none", "zeros", "prefix"}, f"torn cuts left only {shapes}")
    # A failed fsync loses what it would have written (the kernel marks the pages clean):
    # appended bytes become a hole once a later sync succeeds; overwritten ones keep the
    # disk's old bytes; truncating them away and writing again is safe.
    def failing_fsync(fd, command):
        fs.control(command)
        try:
            os.fsync(fd)
            failures.append(f"{command} did not fail the next fsync")
        except OSError as e:
            expect(e.errno == 5, f"{command} failed with {e.errno}, not EIO")

    def appended_then_failed(name, command):
        fd = os.open(m + name, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(fd, b"AAAA\n"); os.fsync(fd)
        os.write(fd, b"lost\n")
        failing_fsync(fd, command)
        return fd

    fd = appended_then_failed("/kept/eio", "fail-fsync-path /kept/eio 1")
    expect(open(m + "/kept/eio", "rb").read() == b"AAAA\nlost\n", "the page cache keeps the unsynced bytes")
    os.write(fd, b"next\n"); os.fsync(fd); os.close(fd)
    fd = os.open(m + "/kept/overwritten", os.O_RDWR | os.O_CREAT, 0o600)
    os.pwrite(fd, b"old!", 0); os.fsync(fd)
    os.pwrite(fd, b"new!", 0)
    failing_fsync(fd, "fail-fsync 1")
    os.pwrite(fd, b"more", 4); os.fsync(fd); os.close(fd)
    fd = appended_then_failed("/kept/cut-back", "fail-fsync 1")
    os.ftruncate(fd, 5); os.fsync(fd)
    os.write(fd, b"next\n"); os.fsync(fd); os.close(fd)
    dsync(m + "/kept")
    fs.cut()
    fs.mount()
    expect(open(m + "/kept/eio", "rb").read() == b"AAAA\n\0\0\0\0\0next\n", "a failed fsync's bytes became a hole")
    expect(open(m + "/kept/overwritten", "rb").read() == b"old!more", "a failed fsync's overwrite kept the old bytes")
    expect(open(m + "/kept/cut-back", "rb").read() == b"AAAA\nnext\n", "cut back and written again")
    fs.unmount()
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"selftest": "ok" if not failures else "failed", "failures": failures}))
    return 0 if not failures else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary")
    p.add_argument("--cuts", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--eio", type=float, default=0.0)
    p.add_argument("--workdir", default=None)
    p.add_argument("--keep", action="store_true", help="keep the work folder (with daemon.log and the state) even when all held")
    p.add_argument("--selftest", action="store_true")
    p.add_argument("--scenario", choices=["dirsync-retry", "fsync-eio"])
    p.add_argument("--target", default="out/orders.jsonl", help="with --scenario fsync-eio: part of the path whose sync fails")
    args = p.parse_args()
    scenarios = {"dirsync-retry": dirsync_retry, "fsync-eio": fsync_eio}
    sys.exit(selftest(args) if args.selftest else scenarios[args.scenario](args) if args.scenario else run(args))


if __name__ == "__main__":
    main()
