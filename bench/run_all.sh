#!/usr/bin/env bash
# `make bench`: runs every benchmark in bench/ against the release build at sizes that finish in
# under 15 minutes on this project's 2-core machines, keeps each one's full output under
# build/release/bench-results/, and prints a table in the format of docs/benchmarks.md
# (bench/report.py). Builds nothing: `make bench` builds the release preset first.
#
#   MLADMIN_BENCH_ONLY="search sync"   runs only those (sync search stats events idle login auth jobs web)
#   MLADMIN_BENCH_OUT=DIR              where the outputs go
#   MLADMIN_BENCH_AUTOGROUP_NICE=-10   passed on to bench/events.sh (see there)
#
# Each benchmark runs once here; docs/benchmarks.md quotes medians of 3 runs of the same commands.
# The machine's load average is printed before and after each run: figures taken on a machine
# shared with other work are slower and noisier, and the table says what the load was.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${MLADMIN_BENCH_OUT:-build/release/bench-results}
only=${MLADMIN_BENCH_ONLY:-"sync search stats events idle login auth jobs web"}
mkdir -p "$out"
rel=build/release
want() { [[ " $only " == *" $1 "* ]]; }

run() {  # $1: name, $2: time limit in s, rest: the command
  local name=$1 limit=$2
  shift 2
  {
    echo "## command: $*"
    echo "## date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "## load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$out/$name.txt"
  echo ">> $name: $*  (at most ${limit} s)" >&2
  local t=$SECONDS
  timeout --signal=INT --kill-after=10 "$limit" "$@" >>"$out/$name.txt" 2>&1
  local rc=$?
  {
    echo "## load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "## exit: $rc; wall: $((SECONDS - t)) s"
  } >>"$out/$name.txt"
  [ "$rc" -eq 0 ] || echo "   $name exited with $rc (see $out/$name.txt)" >&2
}

: >"$out/skipped.txt"
skip() { echo "$1: $2" >>"$out/skipped.txt"; echo "   skipped $1: $2" >&2; }

want sync && run sync 240 "$rel/bench/sync_bench" 200000 1
want search && run search 300 "$rel/bench/search_bench" 1000000 20
want stats && run stats 240 "$rel/bench/stats_bench" 300000 30000 30
want events && run events 300 bench/events.sh latency 100000 "1 1000" 5 100
want idle && run idle 120 bench/events.sh idle 10000 20
want login && run login 120 bench/login_timing.sh 50
if want auth; then
  if command -v wrk >/dev/null; then run auth 60 bench/auth_me.sh 32 10; else skip auth "wrk is not installed"; fi
fi
if want jobs; then
  if command -v wrk >/dev/null; then run jobs 90 bench/jobs.sh 32 10; else skip jobs "wrk is not installed"; fi
fi
if want web; then
  if [ -d web/node_modules ]; then run web 180 node bench/web_bundle.mjs; else skip web "run npm ci in web/ first"; fi
fi
python3 bench/report.py "$out"
