#!/usr/bin/env bash
# Full sync throughput with the ML service sink (issue 14): the embedded store alone, then through
# the reference receiver answering at once, then with 5 ms added per request, then to
# bench/ack_receiver.py, which acknowledges every batch at once and keeps nothing (what mladmin's
# side of the sink costs when the service costs almost nothing).
# Usage: bench/ml_sink.sh [BUILD_DIR=build/release] [N=100000] [RUNS=1]
# RUNS rounds of the four cases, alternated (store, receiver, receiver + 5 ms, ack-only) so that they
# share the machine's conditions. Each ML case gets a fresh receiver with an empty SQLite file.
# After each run it prints the load average and the CPU time, from /proc/PID/stat (utime + stime),
# of sync_bench during its sync (sampled every 0.1 s from the "seeded" line to its exit) and of
# the receiver during the run: a receiver near 1 s of CPU per second of sync is the limit, not the
# engine (it is single-threaded Python).
# On a machine shared with other work, MLADMIN_BENCH_AUTOGROUP_NICE=-10 (root, Linux scheduler
# autogroups) runs it all in a session of its own with that autogroup nice value, as
# bench/events.sh does; only for runs of minutes, since it starves the neighbours (bench/lib.sh).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_autogroup "$@"
echo "machine: $(nproc) CPUs, $(cat /proc/self/autogroup 2>/dev/null || echo 'no autogroup'), $(python3 --version)"
build=${1:-build/release}
n=${2:-100000}
runs=${3:-1}
dir=$bench_dir
receiver=
tck=$(getconf CLK_TCK)
stop_receiver() {
  if [ -n "$receiver" ]; then
    kill "$receiver" 2>/dev/null || true
    wait "$receiver" 2>/dev/null || true
    receiver=
  fi
}
trap 'stop_receiver; bench_cleanup' EXIT
cpu_ticks() { bench_cpu_ticks "$1"; }

# start_receiver [ack]: the reference receiver with a fresh SQLite file, or with "ack"
# bench/ack_receiver.py.
start_receiver() {
  rm -f "$dir/ml.db" "$dir/ml.db-wal" "$dir/ml.db-shm" "$dir/out"
  if [ "${1:-}" = ack ]; then
    python3 bench/ack_receiver.py --port 0 --token bench >"$dir/out" 2>"$dir/err" &
  else
    python3 examples/ml-service/receiver.py --port 0 --token bench --db "$dir/ml.db" --test-switches \
      >"$dir/out" 2>"$dir/err" &
  fi
  receiver=$!
  for _ in $(seq 1 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$dir/out")
  [ -n "$url" ] || { echo "the receiver did not start:" >&2; cat "$dir/err" >&2; exit 1; }
}

# run LABEL [VAR=VALUE...]: one sync_bench run with these variables in its environment.
run() {
  label=$1
  shift
  echo "== $label"
  echo "load average before: $(cat /proc/loadavg)"
  r0=0
  [ -z "$receiver" ] || r0=$(cpu_ticks "$receiver")
  env "$@" stdbuf -oL "$build/bench/sync_bench" "$n" >"$dir/run" &
  pid=$!
  start=
  last=0
  while kill -0 "$pid" 2>/dev/null; do
    t=$(cpu_ticks "$pid")
    [ -z "$t" ] || last=$t
    if [ -z "$start" ] && grep -q '^seeded' "$dir/run" 2>/dev/null; then start=$last; fi
    sleep 0.1
  done
  wait "$pid"
  cat "$dir/run"
  echo "load average after: $(cat /proc/loadavg)"
  sync_cpu=$(awk -v a="${start:-0}" -v b="$last" -v t="$tck" 'BEGIN {printf "%.2f", (b - a) / t}')
  if [ -n "$receiver" ]; then
    r1=$(cpu_ticks "$receiver")
    echo "CPU time: sync_bench ${sync_cpu} s during its sync, receiver $(awk -v a="$r0" -v b="$r1" -v t="$tck" 'BEGIN {printf "%.2f", (b - a) / t}') s"
  else
    echo "CPU time: sync_bench ${sync_cpu} s during its sync"
  fi
}

for round in $(seq 1 "$runs"); do
  echo "#### round $round of $runs, $n records"
  run "embedded store alone"
  start_receiver
  run "reference receiver at $url, answering at once" MLADMIN_BENCH_ML_URL="$url" MLADMIN_BENCH_ML_TOKEN=bench
  stop_receiver
  start_receiver
  curl -s -X POST "$url/_test/faults" -d '{"delayMs": 5, "delayNext": 1000000000}' >/dev/null
  run "reference receiver, 5 ms added per request" MLADMIN_BENCH_ML_URL="$url" MLADMIN_BENCH_ML_TOKEN=bench
  stop_receiver
  start_receiver ack
  run "a receiver that acknowledges at once and keeps nothing (bench/ack_receiver.py)" \
    MLADMIN_BENCH_ML_URL="$url" MLADMIN_BENCH_ML_TOKEN=bench
  stop_receiver
done
