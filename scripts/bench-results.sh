#!/usr/bin/env bash
# Writes docs/benchmark-results.md from the tables scripts/bench.sh and bench-sinks.sh left
# in bench-out/ (make bench runs all three): the figures live there, nowhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-$PWD/bench-out}
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
  echo "# Benchmark results"
  echo
  echo "Written by \`make bench\` (scripts/bench.sh, bench-sinks.sh, bench-results.sh); do not edit by hand."
  echo "How to read them, and what each run does: [benchmarks.md](benchmarks.md)."
  echo
  echo "- Run: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- Machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); wrk shares the cores with the server"
  echo "- Peers, side by side in the same run: nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), adnanh/webhook $(webhook -version 2>/dev/null | awk '{print $NF}')"
  echo
  echo "## Receive path"
  echo
  cat "$OUT/receive.md"
  echo
  echo "## Sinks"
  echo
  cat "$OUT/sinks.md"
} > docs/benchmark-results.md
echo "wrote docs/benchmark-results.md"
