#!/usr/bin/env bash
# Side-by-side benchmark on this machine, in one run (see docs/benchmarks.md):
#   1. nginx `return 204`           — the ceiling of HTTP on this box
#   2. adnanh/webhook               — a hook matching the token, appending the payload to a file
#   3. spp-hookd                    — durable event log (fdatasync group commit) and a file sink
# Same wrk load for each: keep-alive connections posting a realistic ~1.5 KiB SPP body with
# the token, each request unique (so nothing is deduplicated). Prints requests/s, p50/p99,
# peak RSS, and how many acknowledged events are verifiably on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
OUT=${BENCH_OUT:-$ROOT/bench-out}
BIN=${SPP_HOOKD_BIN:-$ROOT/.build/release/spp-hookd}
TOKEN=benchbenchbenchbenchbenchbench32
rm -rf "$OUT"; mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
peak_rss_kib() { awk '/VmHWM/ {print $2}' /proc/$1/status; }
# Sum of peak RSS over a process and its children (webhook forks a shell per hook).
tree_rss_kib() { local total=0; for p in $1 $(pgrep -P $1 || true); do total=$((total + $(peak_rss_kib $p || echo 0))); done; echo $total; }

# --- wrk script: unique realistic SPP bodies (bench-sinks.sh uses this copy too) --------
cp scripts/spp-bodies.lua "$OUT/spp.lua"

run_wrk() { # name url — a 2 s warm-up (same load, not counted), then the measured run
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$OUT/spp.lua" "$2" -- warm > "$OUT/$1.warmup.wrk" 2>&1
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$OUT/spp.lua" "$2" > "$OUT/$1.wrk" 2>&1
}

# --- 1. nginx ------------------------------------------------------------------------------
mkdir -p "$OUT/nginx"
cat > "$OUT/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $OUT/nginx;
  server { listen 127.0.0.1:18081; location / { return 204; } }
}
NGINX
nginx -c "$OUT/nginx/nginx.conf" -p "$OUT/nginx" -g 'daemon off;' &
NGINX_PID=$!; PIDS+=($NGINX_PID)
wait_port 18081
run_wrk nginx http://127.0.0.1:18081/spp/main
NGINX_RSS=0; for p in $NGINX_PID $(pgrep -P $NGINX_PID || true); do NGINX_RSS=$((NGINX_RSS + $(peak_rss_kib $p))); done
kill $NGINX_PID; wait $NGINX_PID 2>/dev/null || true

# --- 2. adnanh/webhook ---------------------------------------------------------------------
mkdir -p "$OUT/webhook"
cat > "$OUT/webhook/append.sh" <<'SH'
#!/bin/sh
printf '%s\n' "$1" >> "$(dirname "$0")/events.jsonl"
SH
chmod +x "$OUT/webhook/append.sh"
: > "$OUT/webhook/events.jsonl"
cat > "$OUT/webhook/hooks.json" <<JSON
[{"id": "spp", "execute-command": "$OUT/webhook/append.sh", "command-working-directory": "$OUT/webhook",
  "pass-arguments-to-command": [{"source": "entire-payload"}],
  "trigger-rule": {"match": {"type": "value", "value": "$TOKEN", "parameter": {"source": "payload", "name": "token"}}}}]
JSON
webhook -hooks "$OUT/webhook/hooks.json" -ip 127.0.0.1 -port 18082 > "$OUT/webhook/webhook.log" 2>&1 &
WEBHOOK_PID=$!; PIDS+=($WEBHOOK_PID)
wait_port 18082
run_wrk webhook http://127.0.0.1:18082/hooks/spp
WEBHOOK_RSS=$(peak_rss_kib $WEBHOOK_PID)
# webhook answers before its hook runs: give the backlog up to 30 s to drain (until the
# file stops growing), so "on disk" counts what it would ever write, not what was in flight.
prev=-1; for _ in $(seq 1 30); do n=$(wc -l < "$OUT/webhook/events.jsonl"); [ "$n" = "$prev" ] && break; prev=$n; sleep 1; done
kill $WEBHOOK_PID; wait $WEBHOOK_PID 2>/dev/null || true
WEBHOOK_STORED=$(wc -l < "$OUT/webhook/events.jsonl")

# --- 3. spp-hookd --------------------------------------------------------------------------
mkdir -p "$OUT/spp-hookd"
cat > "$OUT/spp-hookd/config.json" <<JSON
{"listen": "127.0.0.1:18083", "dataDir": "$OUT/spp-hookd/data",
 "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:BENCH_TOKEN"]}],
 "sinks": [{"name": "archive", "type": "file", "path": "$OUT/spp-hookd/archive.jsonl"}]}
JSON
BENCH_TOKEN=$TOKEN "$BIN" serve --config "$OUT/spp-hookd/config.json" --log-level warning > "$OUT/spp-hookd/daemon.log" 2>&1 &
SPP_PID=$!; PIDS+=($SPP_PID)
wait_port 18083
run_wrk spp-hookd http://127.0.0.1:18083/spp/main
# The file sink catches up from the log: wait until it has every logged event (at most 30 s).
for _ in $(seq 1 60); do
  [ "$(wc -l < "$OUT/spp-hookd/archive.jsonl" 2>/dev/null || echo 0)" -ge "$(wc -l < "$OUT/spp-hookd/data/events.jsonl")" ] && break
  sleep 0.5
done
SPP_RSS=$(peak_rss_kib $SPP_PID)
# For the report, not the ratios: the same daemon and bodies on a path with no endpoint (404,
# answered after reading the body): what the HTTP layer alone costs next to nginx.
run_wrk spp-hookd-http http://127.0.0.1:18083/no-endpoint-here
kill -TERM $SPP_PID; wait $SPP_PID 2>/dev/null || true
SPP_STORED=$(wc -l < "$OUT/spp-hookd/data/events.jsonl")
SPP_SINK=$(wc -l < "$OUT/spp-hookd/archive.jsonl" 2>/dev/null || echo 0)

# --- report --------------------------------------------------------------------------------
python3 - "$OUT" "$NGINX_RSS" "$WEBHOOK_RSS" "$SPP_RSS" "$WEBHOOK_STORED" "$SPP_STORED" "$DURATION" "$CONNECTIONS" "$SPP_SINK" <<'PY'
import re, sys, platform, os
out, nginx_rss, webhook_rss, spp_rss, webhook_stored, spp_stored, duration, conns, spp_sink = sys.argv[1:]
def parse(name):
    t = open(f"{out}/{name}.wrk").read()
    unit = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
    def lat(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
        return float(m.group(1)) * unit[m.group(2)] if m else float("nan")
    total = int(re.search(r"(\d+) requests in", t).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", t)) else 0
    errors = re.search(r"Socket errors:.*", t)
    return dict(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)), p50=lat(50), p99=lat(99),
                total=total, ok=total - non2xx, errors=errors.group(0) if errors else "")
r = {n: parse(n) for n in ("nginx", "webhook", "spp-hookd")}
# Events on disk include the warm-up's: compare them with everything acknowledged.
for n in r:
    warm = parse(n + ".warmup")
    r[n]["acked"] = r[n]["ok"] + warm["ok"]
    r[n]["seconds"] = float(duration) + 2
r["nginx"]["rss"], r["webhook"]["rss"], r["spp-hookd"]["rss"] = int(nginx_rss), int(webhook_rss), int(spp_rss)
r["nginx"]["stored"], r["webhook"]["stored"], r["spp-hookd"]["stored"] = None, int(webhook_stored), int(spp_stored)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}; wrk {conns} connections, {duration}s, ~1.5 KiB bodies")
print(f"{'server':<11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'peak RSS':>9} {'2xx (all)':>10} {'on disk':>8}")
for n, v in r.items():
    stored = "-" if v["stored"] is None else str(v["stored"])
    print(f"{n:<11} {v['rps']:>9.0f} {v['p50']:>8.2f} {v['p99']:>8.2f} {v['rss']/1024:>7.1f}Mi {v['acked']:>10} {stored:>8}")
    if v["errors"]: print(f"{'':<11} {v['errors']}")
s, g, w = r["spp-hookd"], r["nginx"], r["webhook"]
verified = lambda v: min(v["acked"], v["stored"]) / v["seconds"]
print(f"spp-hookd/nginx requests/s: {s['rps']/g['rps']:.2f}x")
h = parse("spp-hookd-http")
print(f"  (spp-hookd's HTTP layer alone, 404 for an unknown path after reading the same bodies: {h['rps']:.0f} req/s, {h['rps']/g['rps']:.2f}x nginx)")
print(f"spp-hookd/webhook requests/s: {s['rps']/w['rps']:.2f}x; verified-stored events/s: {verified(s):.0f} vs {verified(w):.0f} ({verified(s)/max(verified(w),1):.1f}x)")
lost = s["acked"] - s["stored"]
print("spp-hookd: every acknowledged event on disk" if lost <= 0 else f"spp-hookd: {lost} ACKNOWLEDGED EVENTS MISSING")
print(f"spp-hookd file sink: {spp_sink} of {s['stored']} logged events delivered")
print(f"webhook: {w['acked']} acknowledged, {w['stored']} reached its file")
# The same figures as Markdown tables, for docs/benchmark-results.md (make bench).
with open(f"{out}/receive.md", "w") as md:
    md.write(f"Receive path: wrk, {conns} keep-alive connections, {duration} s after a 2 s warm-up, ~1.5 KiB bodies.\n\n")
    md.write("| server | req/s | p50 ms | p99 ms | peak RSS MiB | acknowledged (2xx, warm-up too) | on disk |\n|---|---|---|---|---|---|---|\n")
    for n, v in r.items():
        stored = "-" if v["stored"] is None else str(v["stored"])
        md.write(f"| {n} | {v['rps']:.0f} | {v['p50']:.2f} | {v['p99']:.2f} | {v['rss']/1024:.1f} | {v['acked']} | {stored} |\n")
    md.write(f"| spp-hookd, HTTP layer alone (404 after reading the body) | {h['rps']:.0f} | {h['p50']:.2f} | {h['p99']:.2f} | | | |\n")
    md.write("\n| ratio | value |\n|---|---|\n")
    md.write(f"| spp-hookd / nginx, requests/s | {s['rps']/g['rps']:.2f} |\n")
    md.write(f"| spp-hookd HTTP layer / nginx, requests/s | {h['rps']/g['rps']:.2f} |\n")
    md.write(f"| spp-hookd / webhook, requests/s | {s['rps']/w['rps']:.2f} |\n")
    md.write(f"| spp-hookd / webhook, events verifiably on disk per second | {verified(s)/max(verified(w),1):.1f} |\n")
    md.write(f"| spp-hookd acknowledged events missing from disk | {max(lost, 0)} |\n")
    md.write(f"| spp-hookd file sink: logged events delivered | {spp_sink} of {s['stored']} |\n")
PY
