#!/bin/sh
# Full sync throughput with the ML service sink (issue 14): the embedded store alone, then through
# the reference receiver answering at once, then with 5 ms added per request.
# Usage: bench/ml_sink.sh [BUILD_DIR=build/release] [N=100000]
set -eu
build=${1:-build/release}
n=${2:-100000}
dir=$(mktemp -d)
python3 examples/ml-service/receiver.py --port 0 --token bench --db "$dir/ml.db" --test-switches >"$dir/out" 2>"$dir/err" &
receiver=$!
trap 'kill $receiver; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do grep -q listening "$dir/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$dir/out")
echo "== embedded store alone"
"$build/bench/sync_bench" "$n"
echo "== reference receiver at $url, answering at once"
MLADMIN_BENCH_ML_URL=$url MLADMIN_BENCH_ML_TOKEN=bench "$build/bench/sync_bench" "$n"
echo "== reference receiver, 5 ms added per request"
curl -s -X POST "$url/_test/faults" -d '{"reset": true}' >/dev/null
curl -s -X POST "$url/_test/faults" -d '{"delayMs": 5, "delayNext": 1000000000}' >/dev/null
MLADMIN_BENCH_ML_URL=$url MLADMIN_BENCH_ML_TOKEN=bench "$build/bench/sync_bench" "$n"
