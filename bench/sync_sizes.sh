#!/usr/bin/env bash
# A full sync at two sizes of the store, and the rate at the larger against the smaller (issue 13:
# "the rate at 1,000,000 is >= 90 % of the rate at 100,000"): sync_bench at SMALL items, SMALL_RUNS
# times, then at LARGE once, each on a fresh store (docs/benchmarks.md, "Full sync into the
# embedded store"). A sync of 100,000 lasts about a second, so one run of it says as much about
# the machine's second as about the engine: the ratio divides the larger's rate by the median of
# the smaller's runs. The "== SMALL items" section holds the output of the run with the median
# rate; the other runs follow it under "-- run K of SMALL_RUNS" (bench/report.py reads the first).
# Usage: bench/sync_sizes.sh [BUILD_DIR=build/release] [SMALL=100000] [LARGE=1000000] [SMALL_RUNS=3]
set -euo pipefail
build=${1:-build/release}
small=${2:-100000}
large=${3:-1000000}
small_runs=${4:-3}
[[ "$small_runs" =~ ^[1-9][0-9]*$ ]] || { echo "SMALL_RUNS must be a positive number, not '$small_runs'" >&2; exit 1; }
rate() { sed -n 's/^full sync of .*s wall (\([0-9]*\) items\/s).*/\1/p' <<<"$1"; }
# sync_bench's rate runs until every document is searchable (the job's completion reported); the
# rate until its last commit (when its row says completed) is printed beside it.
commit_rate() { sed -n 's/^the last commit .*(\([0-9]*\) items\/s to the last commit).*/\1/p' <<<"$1"; }

outs=()
rates=()
srates=()
for k in $(seq "$small_runs"); do
  o=$("$build/bench/sync_bench" "$small" 1 2>&1 | grep -v '^\[')
  r=$(rate "$o")
  [ -n "$r" ] || { echo "sync_bench $small 1 printed no rate:"; echo "$o"; exit 1; }
  outs+=("$o")
  rates+=("$r")
  srates+=("$(commit_rate "$o")")
done
# The median of its arguments (the lower middle one for an even count), empty ones left out.
median() { printf '%s\n' "$@" | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
# The run whose rate is the median.
m=$(median "${rates[@]}")
for k in "${!rates[@]}"; do [ "${rates[$k]}" = "$m" ] && { median_k=$k; break; }; done
echo "== $small items (sync_bench $small 1; the run of median rate of $small_runs)"
echo "${outs[$median_k]}"
for k in "${!outs[@]}"; do
  [ "$k" = "$median_k" ] && continue
  echo "-- run $((k + 1)) of $small_runs at $small items"
  sed 's/^/   /' <<<"${outs[$k]}"
done
echo "$small items, the rates of the $small_runs runs: ${rates[*]} items/s; median ${rates[$median_k]}"

echo "== $large items (sync_bench $large 1)"
b=$("$build/bench/sync_bench" "$large" 1 2>&1 | grep -v '^\[')
echo "$b"
awk -v a="$(rate "$b")" -v b="${rates[$median_k]}" -v l="$large" -v s="$small" \
  'BEGIN { printf "rate at %d items / at %d: %.1f %%\n", l, s, 100 * a / b }'
smedian=$(median "${srates[@]}")
sb=$(commit_rate "$b")
if [ -n "$smedian" ] && [ -n "$sb" ]; then
  awk -v a="$sb" -v b="$smedian" -v l="$large" -v s="$small" \
    'BEGIN { printf "rate to the last commit at %d items / at %d (the median of its runs): %.1f %%\n", l, s, 100 * a / b }'
fi
