#!/usr/bin/env bash
# Fan-out throughput (see docs/benchmarks.md): for each sink type, wrk pushes events into
# spp-hookd for a few seconds, then we wait until the sink's cursor reaches the last event.
# Prints delivered events/s per sink, the backlog's peak, the daemon's peak RSS while the
# backlog grew and drained, and the most hook processes alive at once.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-$ROOT/bench-out}/sinks
BIN=${SPP_HOOKD_BIN:-$ROOT/.build/release/spp-hookd}
LOAD_SECONDS=${BENCH_SINK_LOAD:-4}
TOKEN=benchbenchbenchbenchbenchbench32
rm -rf "$OUT"; mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; exit 1; }

# A forward target that is faster than any sink: nginx answering 204.
mkdir -p "$OUT/nginx"
cat > "$OUT/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $OUT/nginx; server { listen 127.0.0.1:18091; location / { return 204; } } }
NGINX
nginx -c "$OUT/nginx/nginx.conf" -p "$OUT/nginx" -g 'daemon off;' & PIDS+=($!)
wait_port 18091

# A throwaway PostgreSQL 15 for the postgres sink (as the postgres user, on a directory it owns).
PGBIN=/usr/lib/postgresql/15/bin
PGDIR=$(mktemp -d /tmp/spp-bench-pg-XXXXXX); chown postgres "$PGDIR"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust --no-sync -E UTF8 > "$OUT/initdb.log"
# The server is started with only 0-2 open (see cleanup_pg), its log in $PGDIR.
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -w -l "$PGDIR/log" -o "-c listen_addresses=127.0.0.1 -p 18093 -k $PGDIR" start > /dev/null
cleanup_pg() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop > /dev/null 2>&1 || true; rm -rf "$PGDIR"; }
trap 'cleanup; cleanup_pg' EXIT
psql -X -q -h "$PGDIR" -p 18093 -U postgres -c "CREATE DATABASE bench" postgres
PGURL="postgresql://postgres@127.0.0.1:18093/bench"

printf '#!/bin/sh\ncat >> "%s/hook-out.jsonl"\n' "$OUT" > "$OUT/hook.sh"; chmod +x "$OUT/hook.sh"
lua=$ROOT/bench-out/spp.lua
[ -f "$lua" ] || { echo "run scripts/bench.sh first (it writes the wrk script)"; exit 1; }

run_sink() { # name sink-json connections
  local name=$1 sink=$2 conns=$3 dir="$OUT/$1"
  mkdir -p "$dir"
  cat > "$dir/config.json" <<JSON
{"listen": "127.0.0.1:18092", "dataDir": "$dir/data", "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:BENCH_TOKEN"]}],
 "sinks": [$sink]}
JSON
  BENCH_TOKEN=$TOKEN "$BIN" serve --config "$dir/config.json" --log-level error > "$dir/daemon.log" 2>&1 &
  local pid=$!; PIDS+=($pid)
  wait_port 18092
  local start=$(date +%s.%N)
  wrk -t2 -c"$conns" -d"${LOAD_SECONDS}s" -s "$lua" http://127.0.0.1:18092/spp/main > "$dir/wrk.txt" 2>&1 &
  local wrk=$!
  local peak_rss=0 peak_children=0 peak_backlog=0 caught_up="" load_ended=""
  while true; do
    local rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
    local children=$(pgrep -P $pid | wc -l)
    [ "$children" -gt "$peak_children" ] && peak_children=$children
    local last=$(tail -c 4096 "$dir/data/events.jsonl" 2>/dev/null | grep -o '"seq":[0-9]*' | tail -1 | cut -d: -f2)
    local cursor=$(grep -o '"seq":[0-9]*' "$dir/data/cursors/$name.json" 2>/dev/null | cut -d: -f2 | sort -n | tail -1)
    last=${last:-0}; cursor=${cursor:-0}
    [ $((last - cursor)) -gt "$peak_backlog" ] && peak_backlog=$((last - cursor))
    if [ -z "$load_ended" ] && ! kill -0 $wrk 2>/dev/null; then load_ended=$(date +%s.%N); fi
    if [ -n "$load_ended" ] && [ "$last" -gt 0 ] && [ "$cursor" -ge "$last" ]; then caught_up=$(date +%s.%N); break; fi
    if (( $(echo "$(date +%s.%N) - $start > 240" | bc) )); then break; fi
    sleep 0.05
  done
  kill -TERM $pid; wait $pid 2>/dev/null || true
  local total=$(wc -l < "$dir/data/events.jsonl")
  local elapsed=$(echo "${caught_up:-$(date +%s.%N)} - $start" | bc)
  local drain=$(echo "${caught_up:-$(date +%s.%N)} - ${load_ended:-$start}" | bc)
  printf "%-8s %8d events  %8.0f delivered/s  backlog peak %7d  lag 0 after %5.2f s  daemon peak RSS %6.1f MiB  hooks alive at most %d%s\n" \
    "$name" "$total" "$(echo "$total / $elapsed" | bc -l)" "$peak_backlog" "$drain" "$(echo "$peak_rss / 1024" | bc -l)" "$peak_children" \
    "$([ -z "$caught_up" ] && echo "  (did not catch up in 240 s)")"
  printf "| %s | %d | %.0f | %d | %.2f%s | %.1f | %d |\n" "$name" "$total" "$(echo "$total / $elapsed" | bc -l)" "$peak_backlog" "$drain" \
    "$([ -z "$caught_up" ] && echo " (not caught up)")" "$(echo "$peak_rss / 1024" | bc -l)" "$peak_children" >> "$MD"
}

# Markdown rows for docs/benchmark-results.md (make bench), next to the printed lines.
MD=${BENCH_OUT:-$ROOT/bench-out}/sinks.md
{
  echo "Fan-out: wrk pushes events for ${LOAD_SECONDS} s; rate = events / time until the sink's cursor reached the last one."
  echo
  echo "| sink | events | delivered/s | backlog peak | lag 0 after s | daemon peak RSS MiB | hooks alive at most |"
  echo "|---|---|---|---|---|---|---|"
} > "$MD"
echo "fan-out: wrk pushes events for ${LOAD_SECONDS} s; rate = events / time until the sink's cursor reached the last one;"
echo "lag 0 after: from the end of the load to the sink's cursor at the last event"
run_sink file '{"name": "file", "type": "file", "path": "'"$OUT"'/file/out.jsonl"}' 32
run_sink forward '{"name": "forward", "type": "forward", "url": "http://127.0.0.1:18091/hook", "concurrency": 4}' 32
# The forward sink's own rate, without intake and wrk beside it: the same log replayed (concurrency 4).
start=$(date +%s.%N)
"$BIN" replay --config "$OUT/forward/config.json" --sink forward > "$OUT/forward/replay.txt" 2>&1
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
sent=$(tail -1 "$OUT/forward/replay.txt" | sed -n 's/.* \([0-9]*\) delivered.*/\1/p')
printf "forward replay: %d events in %.2f s: %.0f events/s to nginx (concurrency 4, keep-alive)\n" \
  "${sent:-0}" "$elapsed" "$(echo "${sent:-0} / $elapsed" | bc -l)"
REPLAY_FORWARD=$(printf "| forward, replay alone (concurrency 4, to nginx) | %d | %.0f | | | | |" "${sent:-0}" "$(echo "${sent:-0} / $elapsed" | bc -l)")
# The same forward sink with the Slack recipe's jq transform (deploy/recipes/slack.json) on every event.
slack_transform=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["transform"]))' deploy/recipes/slack.json)
run_sink fwd-jq '{"name": "fwd-jq", "type": "forward", "url": "http://127.0.0.1:18091/hook", "concurrency": 4, "transform": '"$slack_transform"'}' 32
run_sink postgres '{"name": "postgres", "type": "postgres", "connection": "'"$PGURL"'", "batchSize": 500}' 32
# The postgres sink's own rate, without intake beside it: the same log replayed into a fresh table.
psql -X -q -h "$PGDIR" -p 18093 -U postgres -c "DROP TABLE spp_events" bench
start=$(date +%s.%N)
"$BIN" replay --config "$OUT/postgres/config.json" --sink postgres > "$OUT/postgres/replay.txt" 2>&1
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
rows=$(psql -X -tA -h "$PGDIR" -p 18093 -U postgres -c "SELECT count(*) FROM spp_events" bench)
printf "postgres replay: %d rows in %.2f s: %.0f events/s into the table (batches of 500, a new table with its indexes)\n" \
  "$rows" "$elapsed" "$(echo "$rows / $elapsed" | bc -l)"
REPLAY_POSTGRES=$(printf "| postgres, replay alone (batches of 500, a new table) | %d | %.0f | | | | |" "$rows" "$(echo "$rows / $elapsed" | bc -l)")
run_sink shell '{"name": "shell", "type": "shell", "command": ["'"$OUT"'/hook.sh"], "concurrency": 4}' 2
printf "%s\n%s\n" "$REPLAY_FORWARD" "$REPLAY_POSTGRES" >> "$MD"
