#!/usr/bin/env bash
# A full sync at two sizes of the store, and the rate at the larger against the smaller (issue 13:
# "the rate at 1,000,000 is >= 90 % of the rate at 100,000"): sync_bench at SMALL items, then at
# LARGE, each on a fresh store (docs/benchmarks.md, "Full sync into the embedded store").
# Usage: bench/sync_sizes.sh [BUILD_DIR=build/release] [SMALL=100000] [LARGE=1000000]
set -euo pipefail
build=${1:-build/release}
small=${2:-100000}
large=${3:-1000000}
rate() { sed -n 's/^full sync of .*s wall (\([0-9]*\) items\/s).*/\1/p' <<<"$1"; }
echo "== $small items (sync_bench $small 1)"
a=$("$build/bench/sync_bench" "$small" 1 2>&1 | grep -v '^\[')
echo "$a"
echo "== $large items (sync_bench $large 1)"
b=$("$build/bench/sync_bench" "$large" 1 2>&1 | grep -v '^\[')
echo "$b"
awk -v a="$(rate "$b")" -v b="$(rate "$a")" -v l="$large" -v s="$small" \
  'BEGIN { printf "rate at %d items / at %d: %.1f %%\n", l, s, 100 * a / b }'
