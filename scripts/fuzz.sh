#!/usr/bin/env bash
# Builds the libFuzzer target (Tests/Fuzz) with AddressSanitizer and runs it for a bounded
# time on a copy of the committed corpus (Tests/Fuzz/corpus). A crash leaves its input in
# bench-out/fuzz/crash-* and fails the run: copy that file into Tests/Fuzz/corpus (give it a
# name saying what it found), where FuzzCorpusTests replays it in every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}
OUT=${FUZZ_OUT:-$ROOT/bench-out/fuzz}
export SWIFT_BACKTRACE=enable=no
swift build --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product spp-hookd-fuzz
rm -rf "$OUT"; mkdir -p "$OUT/corpus"
cp Tests/Fuzz/corpus/* "$OUT/corpus/"
cd "$OUT"
# One job: CI machines have 2 cores. -timeout: an input that takes 10 s is a hang.
if "$ROOT/.build-fuzz/debug/spp-hookd-fuzz" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 corpus >fuzz.log 2>&1; then
  tail -n 8 fuzz.log
  echo "fuzzing: no crash in ${SECONDS_TO_RUN}s; corpus grew from $(ls "$ROOT/Tests/Fuzz/corpus" | wc -l) to $(ls corpus | wc -l) inputs"
else
  tail -n 40 fuzz.log
  echo "fuzzing FAILED: the input is in $OUT/$(ls "$OUT" | grep -m1 -E '^(crash|leak|timeout|oom)-' || echo '?')" >&2
  exit 1
fi
