#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# One fuzz target's ctest: replay the regression inputs, then fuzz for a while
# starting from a fresh, writable copy of the checked-in seeds.
#   run-smoke.sh FUZZER SEED_DIR REGRESSION_DIR WORK_DIR SECONDS
# Fails (non-zero) on any crash, leak, sanitizer report, timeout or OOM; the
# input that did it is left in WORK_DIR/artifacts/.
set -euo pipefail
fuzzer=$1 seeds=$2 regressions=$3 work=$4 seconds=$5
name=$(basename "$fuzzer")

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [[ -d $seeds ]]; then cp -R "$seeds/." "$work/corpus/"; fi

common=(-timeout=25 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/")
dict=$(cd "$(dirname "$0")" && pwd)/dicts/$name.dict
if [[ -f $dict ]]; then common+=(-dict="$dict"); fi

# Inputs that once crashed a target run first, one by one.
shopt -s nullglob
replays=("$regressions"/*)
if ((${#replays[@]})); then
  echo "== $name: replaying ${#replays[@]} regression input(s)"
  if ! "$fuzzer" "${common[@]}" "${replays[@]}" >"$work/regressions.log" 2>&1; then
    tail -n 60 "$work/regressions.log"
    echo "FAIL: $name crashed on a regression input (log: $work/regressions.log)"
    exit 1
  fi
fi

echo "== $name: fuzzing for ${seconds}s from $(ls "$work/corpus" | wc -l) seed(s)"
status=0
"$fuzzer" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
  "$work/corpus" >"$work/fuzz.log" 2>&1 || status=$?
grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' \
  "$work/fuzz.log" || true
if ((status != 0)); then
  tail -n 80 "$work/fuzz.log"
  echo "FAIL: $name exited with status $status; reproduce with: $fuzzer $work/artifacts/<file>"
  ls -l "$work/artifacts"
  exit 1
fi
echo "PASS: $name ($(ls "$work/corpus" | wc -l) corpus entries at the end)"
