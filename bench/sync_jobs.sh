#!/usr/bin/env bash
# Several jobs at once against one (issue 13: "several jobs at once keep >= 90 % of one job's
# throughput in aggregate"): one full sync over 4 owners' records, then 4 per-user syncs of the
# same records started together on 4 workers (sync_bench's "user" scope), each on a fresh store,
# and the ratio of their aggregate rates. docs/benchmarks.md, "Several jobs at once: the shared
# commit".
# Usage: bench/sync_jobs.sh [BUILD_DIR=build/release] [N=100000] [PAIRS=1]
# With PAIRS > 1 the two commands alternate PAIRS times: each pair's ratio is printed
# ("pair K: four jobs / one job: R %"), then the median of the pairs' ratios ("four jobs / one
# job: R %"). Two runs of the same command differ by up to a fifth on this project's machine
# (docs/benchmarks.md), so one pair says little.
# MLADMIN_BENCH_BIN: another sync_bench binary to run (a before/after comparison); the other
# MLADMIN_BENCH_* variables of bench/sync_bench.cpp apply to both commands.
set -euo pipefail
build=${1:-build/release}
n=${2:-100000}
pairs=${3:-1}
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || { echo "PAIRS must be a positive number, not '$pairs'" >&2; exit 1; }
bin=${MLADMIN_BENCH_BIN:-$build/bench/sync_bench}
rate() { sed -n 's/^full sync of .*s wall (\([0-9]*\) items\/s).*/\1/p' <<<"$1"; }
ratios=""
for k in $(seq "$pairs"); do
  tag=$([ "$pairs" -gt 1 ] && echo "pair $k: " || true)
  one=$("$bin" "$n" 1 all 1 4 2>&1 | grep -v '^\[')
  echo "== ${tag}one job over 4 owners' records (sync_bench $n 1 all 1 4)"
  echo "$one"
  four=$("$bin" "$n" 4 user 4 4 2>&1 | grep -v '^\[')
  echo "== ${tag}four per-user jobs at once, 4 workers (sync_bench $n 4 user 4 4)"
  echo "$four"
  r=$(awk -v a="$(rate "$four")" -v b="$(rate "$one")" 'BEGIN { printf "%.1f", 100 * a / b }')
  [ "$pairs" -gt 1 ] && echo "${tag}four jobs / one job: $r %"
  ratios="$ratios $r"
done
# The median of the pairs' ratios (the one ratio when PAIRS is 1).
tr ' ' '\n' <<<"$ratios" | grep . | sort -g |
  awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
        printf "four jobs / one job: %.1f %%\n", m }'
