#!/usr/bin/env bash
# Several jobs at once against one (issue 13: "several jobs at once keep >= 90 % of one job's
# throughput in aggregate"): one full sync over 4 owners' records, then 4 per-user syncs of the
# same records started together on 4 workers (sync_bench's "user" scope), each on a fresh store,
# and the ratio of their aggregate rates. docs/benchmarks.md, "Several jobs at once: the shared
# commit".
# Usage: bench/sync_jobs.sh [BUILD_DIR=build/release] [N=100000]
# MLADMIN_BENCH_BIN: another sync_bench binary to run (a before/after comparison); the other
# MLADMIN_BENCH_* variables of bench/sync_bench.cpp apply to both commands.
set -euo pipefail
build=${1:-build/release}
n=${2:-100000}
bin=${MLADMIN_BENCH_BIN:-$build/bench/sync_bench}
one=$("$bin" "$n" 1 all 1 4 2>&1 | grep -v '^\[')
echo "== one job over 4 owners' records (sync_bench $n 1 all 1 4)"
echo "$one"
four=$("$bin" "$n" 4 user 4 4 2>&1 | grep -v '^\[')
echo "== four per-user jobs at once, 4 workers (sync_bench $n 4 user 4 4)"
echo "$four"
rate() { sed -n 's/^full sync of .*s wall (\([0-9]*\) items\/s).*/\1/p' <<<"$1"; }
r1=$(rate "$one")
r4=$(rate "$four")
awk -v a="$r4" -v b="$r1" 'BEGIN { printf "four jobs / one job: %.1f %%\n", 100 * a / b }'
