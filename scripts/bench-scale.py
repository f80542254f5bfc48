#!/usr/bin/env python3
"""make bench-scale: start-up, memory and reading with a large event log (issue 15).

For logs of 0, 100k and N events (all inside the dedup window), filled by the daemon itself
under wrk: start-up time (exec -> READY=1, -> the port accepts, -> the first redelivery is
answered as a duplicate of an event stored before the load), with the dedup checkpoint and
without it (the whole log read, as before checkpoints), and RSS idle and under load.
"""
import argparse, atexit, json, os, shutil, signal, socket, subprocess, sys, threading, time, urllib.request

TOKEN = "benchbenchbenchbenchbenchbench32"
NEW = {"event": "order.created", "created": 1558608668, "token": TOKEN}
PORT, ADMIN = 18095, 18096
KNOWN = {"event": "order.created", "created": 1558608668, "token": TOKEN,
         "data": {"id": "KNOWN-1", "status": "Pending", "note": "stored before the load"}}

LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spp-bodies.lua")  # args: run, padding (1850: ~2 KiB lines, 2 GB for a million)


def rss_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def post(body, timeout=10):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/spp/main", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


class Daemon:
    def __init__(self, bin, out, data, log_name):
        self.config = f"{out}/config.json"
        with open(self.config, "w") as f:
            json.dump({"listen": f"127.0.0.1:{PORT}", "dataDir": data, "admin": {"listen": f"127.0.0.1:{ADMIN}"},
                       "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:BENCH_TOKEN"]}],
                       "dedupWindowSeconds": 86400}, f)
        notify = f"{out}/notify.sock"
        if os.path.exists(notify):
            os.unlink(notify)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(notify)
        self.stopped, self.draining = False, None
        env = dict(os.environ, BENCH_TOKEN=TOKEN, NOTIFY_SOCKET=notify)
        self.log = open(f"{out}/{log_name}.log", "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([bin, "serve", "--config", self.config, "--log-level", "info"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        atexit.register(lambda p=self.proc: p.poll() is None and p.kill())

    def wait_ready(self, timeout=120):
        """Seconds from exec to READY=1 and to the first accepted connection."""
        ready = accept = None
        deadline = time.monotonic() + timeout
        self.notify.setblocking(False)
        while (ready is None or accept is None) and time.monotonic() < deadline:
            if ready is None:
                try:
                    if b"READY=1" in self.notify.recv(4096):
                        ready = time.monotonic() - self.t0
                except BlockingIOError:
                    pass
            if accept is None:
                s = socket.socket()
                try:
                    s.connect(("127.0.0.1", PORT))
                    accept = time.monotonic() - self.t0
                except OSError:
                    pass
                finally:
                    s.close()
            if self.proc.poll() is not None:
                sys.exit(f"daemon exited: see {self.log.name}")
            time.sleep(0.0005)
        # Keep reading STATUS= and the rest, as systemd does: a unix datagram queue holds ten
        # messages (net.unix.max_dgram_qlen), and then sd_notify blocks the daemon's sender.
        self.draining = threading.Thread(target=self.drain_notify, daemon=True)
        self.draining.start()
        return ready, accept

    def drain_notify(self):
        self.notify.settimeout(0.1)
        while not self.stopped:
            try:
                self.notify.recv(4096)
            except socket.timeout:
                pass

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        self.stopped = True
        if self.draining:
            self.draining.join()
        self.notify.close()


def fill(args, data, events):
    """Runs the daemon under wrk until the log holds `events` events, then stores the known one
    (the newest: the index keeps the newest million)."""
    d = Daemon(args.bin, args.out, data, f"fill-{events}")
    d.wait_ready()
    peak, run = 0, 0
    while True:
        status = json.load(open(f"{data}/status.json")) if os.path.exists(f"{data}/status.json") else {}
        if status.get("lastSeq", 0) >= events:
            break
        run += 1
        left = events + 1 - status.get("lastSeq", 0)
        seconds = max(2, min(10, left // 15000))
        subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", f"{args.out}/scale.lua",
                        f"http://127.0.0.1:{PORT}/spp/main", "--", f"f{events}r{run}", "1850"], check=True, capture_output=True)
        peak = max(peak, rss_kib(d.proc.pid, "VmHWM"))
        ended = time.time()
        deadline = time.monotonic() + 10  # status.json is rewritten once a second: wait for one after the load
        while time.monotonic() < deadline and not (os.path.exists(f"{data}/status.json") and os.path.getmtime(f"{data}/status.json") > ended):
            time.sleep(0.05)
    known = post(KNOWN)["seq"]
    d.stop()
    return peak, known


def start(args, data, name, known):
    d = Daemon(args.bin, args.out, data, name)
    ready, accept = d.wait_ready()
    dup = post(KNOWN)
    first = time.monotonic() - d.t0
    assert dup.get("duplicate") is True and dup.get("seq") == known, dup
    new = post(dict(NEW, data={"id": f"NEW-{name}-{time.time_ns()}"}))
    assert new.get("duplicate") is not True, new
    time.sleep(2)
    idle = rss_kib(d.proc.pid, "VmRSS")
    return d, dict(ready=ready, accept=accept, first=first, idle=idle)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--reuse", action="store_true", help="keep the logs filled by an earlier run")
    p.add_argument("--cpu-only", action="store_true", help="only the CPU-per-request comparison with nginx")
    args = p.parse_args()
    args.out, args.bin = os.path.abspath(args.out), os.path.abspath(args.bin)  # NOTIFY_SOCKET must be absolute
    if not args.reuse:
        shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    shutil.copy(LUA, f"{args.out}/scale.lua")
    cpu = cpu_per_request(args)
    if args.cpu_only:
        print_cpu(cpu)
        return
    rows = []
    for events in sorted({0, min(100_000, args.events), args.events}):
        data = f"{args.out}/data-{events}"
        if args.reuse and os.path.exists(f"{data}.known"):
            fill_peak, known = json.load(open(f"{data}.known"))
        else:
            fill_peak, known = fill(args, data, events)
            json.dump([fill_peak, known], open(f"{data}.known", "w"))
        size = sum(os.path.getsize(f"{data}/{f}") for f in os.listdir(data) if f.startswith("events"))
        # Without the checkpoint first (its stop writes a new one), then with it.
        if os.path.exists(f"{data}/dedup.checkpoint"):
            os.unlink(f"{data}/dedup.checkpoint")
        d, scan = start(args, data, f"scan-{events}", known)
        d.stop()
        d, cp = start(args, data, f"checkpoint-{events}", known)
        load_peak = None
        if events == args.events and events:
            subprocess.run(["wrk", "-t2", "-c32", "-d10s", "-s", f"{args.out}/scale.lua",
                            f"http://127.0.0.1:{PORT}/spp/main", "--", f"load{time.time_ns()}", "1850"], check=True, capture_output=True)
            load_peak = rss_kib(d.proc.pid, "VmHWM")
        d.stop()
        rows.append((events, size, scan, cp, fill_peak if events else None, load_peak))
    reading = read_big_log(args, f"{args.out}/data-{args.events}") if args.events else []
    print(f"binary: {args.bin}")
    print(f"{'entries':>9} {'log':>8} | {'without checkpoint (whole log read)':^36} | {'with checkpoint':^36} | {'peak RSS':>9} {'peak RSS':>9}")
    print(f"{'':>9} {'':>8} | {'READY=1':>8} {'accept':>8} {'1st dup':>8} {'idle RSS':>9} | "
          f"{'READY=1':>8} {'accept':>8} {'1st dup':>8} {'idle RSS':>9} | {'filling':>9} {'load+1M':>9}")
    ms = lambda s: f"{s * 1000:.0f} ms" if s is not None else "-"
    mib = lambda k: f"{k / 1024:.1f} MiB" if k else "-"
    for events, size, scan, cp, fill_peak, load_peak in rows:
        print(f"{events:>9} {size / 2**30:>6.2f}Gi | {ms(scan['ready']):>8} {ms(scan['accept']):>8} {ms(scan['first']):>8} "
              f"{mib(scan['idle']):>9} | {ms(cp['ready']):>8} {ms(cp['accept']):>8} {ms(cp['first']):>8} {mib(cp['idle']):>9} | "
              f"{mib(fill_peak):>9} {mib(load_peak):>9}")

    print()
    print_cpu(cpu)
    print()
    print(f"reading the {args.events}-event log (the daemon stopped; the commands read the files):")
    for name, seconds, note in reading:
        print(f"  {name:<52} {seconds * 1000:>8.0f} ms  {note}")


def cpu_seconds(pid):
    """User plus system CPU time of a process and its children so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_per_request(args, seconds=10):
    """nginx `return 204` and spp-hookd (event log, no sink), each pinned to CPU 1, under
    the same wrk load pinned to CPU 0: CPU time of the server per request, and requests/s."""
    out = f"{args.out}/cpu"
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    results = {}
    conf = f"{out}/nginx.conf"
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; pid {out}/nginx.pid; error_log {out}/nginx.err; daemon off; master_process off;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {out};
  server {{ listen 127.0.0.1:18097; location / {{ return 204; }} }} }}
""")
    # The floor of persist-then-acknowledge: one C thread that appends each body, syncs once a round, then answers.
    floor = f"{out}/durable-floor"
    compiler = shutil.which("cc") or shutil.which("clang")  # the Swift toolchain brings clang
    subprocess.run([compiler, "-O2", "-o", floor, os.path.join(os.path.dirname(os.path.abspath(__file__)), "durable-floor.c")], check=True)
    servers = {
        "nginx": (["taskset", "-c", "1", "nginx", "-c", conf, "-p", out], 18097),
        "floor": (["taskset", "-c", "1", floor, "18098", f"{out}/floor.jsonl"], 18098),
        "spp-hookd": (["taskset", "-c", "1", args.bin, "serve", "--config", f"{out}/spp.json", "--log-level", "warning"], PORT),
    }
    with open(f"{out}/spp.json", "w") as f:
        json.dump({"listen": f"127.0.0.1:{PORT}", "dataDir": f"{out}/data",
                   "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:BENCH_TOKEN"]}]}, f)
    for name, (argv, port) in servers.items():
        proc = subprocess.Popen(argv, env=dict(os.environ, BENCH_TOKEN=TOKEN), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(lambda p=proc: p.poll() is None and p.kill())
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        wrk = ["taskset", "-c", "0", "wrk", "-t1", "-c32", "-s", f"{args.out}/scale.lua", f"http://127.0.0.1:{port}/spp/main"]
        subprocess.run(wrk[:4] + ["-d2s"] + wrk[4:] + ["--", f"warm{time.time_ns()}", "1850"], check=True, capture_output=True)
        before = cpu_seconds(proc.pid)
        r = subprocess.run(wrk[:4] + [f"-d{seconds}s"] + wrk[4:] + ["--", f"cpu{time.time_ns()}", "1850"], check=True, capture_output=True, text=True)
        used = cpu_seconds(proc.pid) - before
        total = int(r.stdout.split(" requests in")[0].split()[-1])
        results[name] = dict(rps=total / seconds, us=used / total * 1e6, total=total)
        proc.terminate()
        proc.wait(timeout=30)
    return results


def print_cpu(r):
    n, s, f = r["nginx"], r["spp-hookd"], r["floor"]
    print("CPU per request (server pinned to CPU 1, wrk -t1 -c32 pinned to CPU 0, 10 s, ~2 KiB unique bodies):")
    for name, v in r.items():
        print(f"  {name:<10} {v['rps']:>9,.0f} req/s  {v['us']:>6.1f} us CPU/request  ({v['total']} requests)")
    print("  (floor: scripts/durable-floor.c, one C thread that appends each body and fdatasyncs once per round before answering)")
    print(f"  spp-hookd/nginx: {s['us'] / n['us']:.2f}x CPU per request, {s['rps'] / n['rps']:.2f}x requests/s")
    print(f"  floor/nginx:     {f['us'] / n['us']:.2f}x CPU per request, {f['rps'] / n['rps']:.2f}x requests/s")


def write_floor(data, archive, events):
    """What the disk allows a file-sink replay: the log's bytes appended to a file and
    fdatasync'ed in chunks the size of the file sink's batches (512 events), nothing else.
    Returns (seconds, bytes)."""
    names = log_files(data)
    size = sum(os.path.getsize(f"{data}/{f}") for f in names)
    chunk = max(1, size // max(1, events)) * 512
    if os.path.exists(archive):
        os.unlink(archive)
    t0 = time.monotonic()
    out = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for name in names:
        with open(f"{data}/{name}", "rb", buffering=0) as f:
            while block := f.read(chunk):
                os.write(out, block)
                os.fdatasync(out)
    os.close(out)
    seconds = time.monotonic() - t0
    os.unlink(archive)
    return seconds, size


def log_files(data):
    """The log's segments, oldest first."""
    return sorted((f for f in os.listdir(data) if f.startswith("events")), key=lambda f: (f == "events.jsonl", f))


def count_lines(data):
    lines = 0
    for name in log_files(data):
        with open(f"{data}/{name}", "rb") as f:
            while block := f.read(1 << 24):
                lines += block.count(b"\n")
    return lines


def read_big_log(args, data):
    """tail, replay and status on the big log, timed from exec to exit."""
    config = f"{args.out}/replay.json"
    archive = f"{args.out}/archive.jsonl"
    with open(config, "w") as f:
        json.dump({"listen": f"127.0.0.1:{PORT}", "dataDir": data,
                   "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:BENCH_TOKEN"]}],
                   "sinks": [{"name": "archive", "type": "file", "path": archive}]}, f)
    with open(f"{data}/events.jsonl", "rb") as f:  # the last 1001 events (about 2 KiB each)
        f.seek(max(0, os.path.getsize(f"{data}/events.jsonl") - (4 << 20)))
        tail = [json.loads(l) for l in f.read().rstrip(b"\n").split(b"\n")[1:]][-1001:]
    last, since = tail[-1], tail[0]["receivedAt"]
    env = dict(os.environ, BENCH_TOKEN=TOKEN)
    rows = []

    def timed(name, argv, note=lambda out: "", ok=(0,)):
        if os.path.exists(archive):
            os.unlink(archive)
        t0 = time.monotonic()
        r = subprocess.run([args.bin] + argv, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - t0
        if r.returncode not in ok:
            sys.exit(f"{name}: exit {r.returncode}: {r.stderr[-500:]}")
        rows.append((name, seconds, note(r.stdout)))
        return r.stdout, seconds

    lines = lambda out: f"{len(out.splitlines())} lines"
    timed("tail -n 5 --event order.created (recent matches)", ["tail", "--data-dir", data, "-n", "5", "--event", "order.created"], lines)
    timed("tail -n 5 --event no.such.event (no match: all read)", ["tail", "--data-dir", data, "-n", "5", "--event", "no.such.event"], lines)
    timed(f"replay --since <time of the 1001st-last event>", ["replay", "--config", config, "--sink", "archive", "--since", since],
          lambda out: out.strip().splitlines()[-1])
    timed("replay --from-seq <last seq - 1000>", ["replay", "--config", config, "--sink", "archive", "--from-seq", str(last["seq"] - 1000)],
          lambda out: out.strip().splitlines()[-1])
    # The whole-log replay and the disk floor write 3 GB each, and the first big write after
    # a pause can run at a third of the speed of the next (fresh memory on this VM): they take
    # turns, three rounds, and the median of each is shown with every run beside it.
    events = count_lines(data)
    replays, floors, note = [], [], ""
    for _ in range(3):
        seconds, size = write_floor(data, archive, events)
        floors.append(seconds)
        out, seconds = timed("replay", ["replay", "--config", config, "--sink", "archive"], lambda out: out.strip().splitlines()[-1])
        note = rows.pop()[2]
        replays.append(seconds)
    runs = lambda xs: "runs " + " / ".join(f"{x:.1f}" for x in xs) + " s"
    median = lambda xs: sorted(xs)[len(xs) // 2]
    rows.append(("replay (the whole log, to a file sink; median)", median(replays),
                 f"{note}; {events / median(replays):,.0f} events/s; {runs(replays)}"))
    rows.append(("disk floor: same bytes, fdatasync every 512 events", median(floors),
                 f"{size / median(floors) / 2**20:,.0f} MiB/s; {events / median(floors):,.0f} events/s; {runs(floors)}"))
    timed("status", ["status", "--config", config], lambda out: "", ok=(0, 3))  # 3: not running
    return rows


if __name__ == "__main__":
    main()
