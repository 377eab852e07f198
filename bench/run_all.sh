#!/usr/bin/env bash
# `make bench`: runs every benchmark in bench/ against the release build at sizes that finish in
# under 15 minutes on this project's 2-core machine, keeps each run's full output under
# build/release/bench-results/ (NAME.RUN.txt), and prints the tables of docs/benchmarks.md
# (bench/report.py), each figure the median of the runs followed by the single runs. Builds
# nothing: `make bench` builds the release preset first.
#
#   MLADMIN_BENCH_RUNS=3               runs of each benchmark (default 3); the runs go in rounds
#                                      (every benchmark once, then again), so that a change in the
#                                      machine's load touches all of them alike
#   MLADMIN_BENCH_ONLY="search sync"   runs only those, of: sync syncjobs jobs auth events idle
#                                      search stats mlsink login web
#   MLADMIN_BENCH_OUT=DIR              where the outputs go (earlier results there are removed first)
#   MLADMIN_BENCH_AUTOGROUP_NICE=-10   passed on to bench/events.sh and bench/ml_sink.sh (see there)
#   bench/run_all.sh --dry-run         prints the commands and their time limits, runs nothing
#
# The sizes (docs/benchmarks.md, "Running every benchmark"): a full sync of 100,000 and of
# 1,000,000 journal entries (bench/sync_sizes.sh: the rate at each and their ratio, the 100,000 sync run
# three times and the ratio taken against the median of the three); one job against four at once over 100,000 entries of 4 owners (bench/sync_jobs.sh);
# the job reads and /api/auth/me with wrk, 32 connections, 10 s each; event latency with
# 1 and 1,000 clients over a sync of 300,000 entries (long enough for its 5 pauses at full speed;
# 100 short syncs after it); 10,000 idle
# event streams; search at 1,000,000 documents, 20 runs per query (the store is built by the first
# run and reused by the others); stats at 300,000 documents and 30,000 jobs; the ML sink's four
# cases at 100,000 records; 50 logins of each kind; the dashboard bundle (one run: its sizes do not
# vary). The load average is kept before and after each run: figures taken on a machine shared
# with other work are slower and noisier, and the report says what the load was.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${MLADMIN_BENCH_OUT:-build/release/bench-results}
only=${MLADMIN_BENCH_ONLY:-"sync syncjobs jobs auth events idle search stats mlsink login web"}
runs=${MLADMIN_BENCH_RUNS:-3}
dry=""
[ "${1:-}" = "--dry-run" ] && dry=1
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "MLADMIN_BENCH_RUNS must be a positive number, not '$runs'" >&2; exit 1; }
rel=build/release
want() { [[ " $only " == *" $1 "* ]]; }
tmp=$(mktemp -d)  # the search store, shared by the search runs
trap 'rm -rf "$tmp"' EXIT
names="sync syncjobs jobs auth events idle search stats mlsink login web"
if [ -z "$dry" ]; then
  mkdir -p "$out"
  for name in $names; do rm -f "$out/$name".*.txt "$out/$name.txt"; done  # earlier results
  rm -f "$out/skipped.txt" "$out/run_all.txt"
fi
planned=0
failed=0

shown() {  # the command as one would type it
  local a s=""
  for a in "$@"; do
    if [[ "$a" == *" "* ]]; then s+=" \"$a\""; else s+=" $a"; fi
  done
  echo "${s# }"
}

run() {  # $1: name, $2: run number, $3: time limit in s, rest: the command
  local name=$1 k=$2 limit=$3
  shift 3
  planned=$((planned + limit))
  if [ -n "$dry" ]; then
    echo "$name run $k (at most $limit s): $(shown "$@")"
    return
  fi
  local f="$out/$name.$k.txt"
  {
    echo "## command: $(shown "$@")"
    echo "## date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "## load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$f"
  echo ">> [$(date -u +%H:%M:%S)] $name, run $k of $runs: $(shown "$@")  (at most $limit s)" >&2
  local t=$SECONDS
  # search_bench reads MLADMIN_BENCH_ONLY as a filter of its own queries: not ours.
  env -u MLADMIN_BENCH_ONLY timeout --signal=INT --kill-after=10 "$limit" "$@" >>"$f" 2>&1
  local rc=$?
  {
    echo "## load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "## exit: $rc"
    echo "## wall: $((SECONDS - t)) s"
  } >>"$f"
  if [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
    echo "   $name exited with $rc$([ "$rc" -eq 124 ] && echo " (time limit)") (see $f)" >&2
  fi
}

skip() {
  [ -n "$dry" ] && { echo "skipped $1: $2"; return; }
  echo "$1: $2" >>"$out/skipped.txt"
  echo "   skipped $1: $2" >&2
}

missing=""
for b in mladmin bench/sync_bench bench/search_bench bench/stats_bench bench/events_bench; do
  [ -x "$rel/$b" ] || missing="$missing $rel/$b"
done
if [ -n "$missing" ] && [ -z "$dry" ]; then
  echo "build the release preset first (make bench does):$missing" >&2
  exit 1
fi

start=$SECONDS
load0=$(cut -d' ' -f1-3 /proc/loadavg)
date0=$(date -u '+%Y-%m-%d %H:%M')
have_wrk=$(command -v wrk >/dev/null && echo 1)
for k in $(seq "$runs"); do
  want sync && run sync "$k" 240 bench/sync_sizes.sh "$rel" 100000 1000000
  want syncjobs && run syncjobs "$k" 150 bench/sync_jobs.sh "$rel" 100000 3
  if want jobs; then
    if [ -n "$have_wrk" ]; then run jobs "$k" 75 bench/jobs.sh 32 10; elif [ "$k" = 1 ]; then skip jobs "wrk is not installed"; fi
  fi
  if want auth; then
    if [ -n "$have_wrk" ]; then run auth "$k" 60 bench/auth_me.sh 32 10; elif [ "$k" = 1 ]; then skip auth "wrk is not installed"; fi
  fi
  want events && run events "$k" 240 bench/events.sh latency 300000 "1 1000" 5 100
  want idle && run idle "$k" 90 bench/events.sh idle 10000 20
  # The first run builds the store (1,000,000 documents), the others reuse it.
  want search && run search "$k" "$([ "$k" = 1 ] && echo 360 || echo 150)" "$rel/bench/search_bench" 1000000 20 "$tmp/search.db"
  want stats && run stats "$k" 120 "$rel/bench/stats_bench" 300000 30000 30
  want mlsink && run mlsink "$k" 200 bench/ml_sink.sh "$rel" 100000 1
  want login && run login "$k" 60 bench/login_timing.sh 50
  if want web && [ "$k" = 1 ]; then
    if [ -d web/node_modules ]; then run web 1 180 node bench/web_bundle.mjs; else skip web "run npm ci in web/ first"; fi
  fi
done
if [ -n "$dry" ]; then
  echo "time limits add up to $planned s"
  exit 0
fi
{
  echo "# make bench, $date0-$(date -u '+%H:%M') UTC: $runs run(s) of each benchmark in $((SECONDS - start)) s"
  echo
  echo "Release build of commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)');" \
    "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))," \
    "$(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r); load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
    "outputs in $out/."
} >"$out/run_all.txt"
echo ">> all runs done in $((SECONDS - start)) s; $failed run(s) failed" >&2
python3 bench/report.py "$out"
[ "$failed" -eq 0 ]
