#!/usr/bin/env bash
# Runs every libFuzzer harness built by tools/build-fuzzers.sh for FUZZ_SECONDS (default 30) on a
# scratch copy of its committed seed corpus (tests/fuzz/corpus/<name>/ is never modified), at the
# lowest CPU priority, with tests/fuzz/<name>.dict when there is one. Crash/leak/timeout
# reproducers land in $FUZZ_BUILD/findings/<name>/; copy each into tests/fuzz/regressions/<name>/
# so tests/test_fuzz_regressions.cpp replays it. HARNESSES="idx explain" runs a subset.
# Exit status: 0 when no harness found anything, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
HARNESSES=${HARNESSES:-idx npz npz_members explain email csv}

status=0
summary=()
for name in $HARNESSES; do
  exe="$FUZZ_BUILD/tests/fuzz/fuzz_$name"
  [[ -x "$exe" ]] || { echo "fuzz-smoke: $exe is missing: run tools/build-fuzzers.sh" >&2; exit 2; }
  work="$FUZZ_BUILD/smoke/$name"
  findings="$FUZZ_BUILD/findings/$name"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$findings"
  cp -r "tests/fuzz/corpus/$name/." "$work/corpus/"
  log="$FUZZ_BUILD/smoke/$name.log"
  echo "fuzz-smoke: $name for ${FUZZ_SECONDS}s (log $log)"
  dict=()
  [[ -f "tests/fuzz/$name.dict" ]] && dict=(-dict="tests/fuzz/$name.dict")
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  nice -n 19 "$exe" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$findings/" "$work/corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
  found=$(find "$findings" -type f | wc -l)
  line="$name: exit $rc, ${execs:-?} execs, ${speed:-?} exec/s, ${cov:-?}, $found finding(s) in $findings"
  summary+=("$line")
  if [[ $rc -ne 0 || $found -ne 0 ]]; then
    status=1
    grep -E "ERROR: |SUMMARY: |runtime error|terminate called|what\(\)" "$log" | head -5
  fi
done
echo "fuzz-smoke summary:"
printf '  %s\n' "${summary[@]}"
exit $status
