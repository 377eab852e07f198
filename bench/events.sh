#!/usr/bin/env bash
# Live event stream benchmarks (docs/benchmarks.md) against the release binary on loopback; builds nothing.
#
#   bench/events.sh latency [entries=100000] [clients="1 1000"] [pauses=5] [short_runs=100]
#     Seeds `entries` journal entries (100 demo writers, 2 % invalid) once, then for each client
#     count starts a fresh server on a copy of that database and runs
#     `events_bench latency`: N event streams, one full scope-all sync paused and resumed `pauses`
#     times, then `short_runs` incremental syncs with nothing to do.
#   bench/events.sh idle [connections=10000] [history=20]
#     Starts a fresh server whose database holds only the bench user, runs `history` empty syncs
#     (so each stream starts with a snapshot of that many finished jobs, at most 20), opens
#     `connections` event streams that sit idle, and prints the server's memory and descriptors.
#   bench/events.sh all   both, with the defaults.
#
# MLADMIN_BENCH_PERF=/tmp/prof profiles the server during each latency run into /tmp/prof.N
# (perf record -F 499, plus MLADMIN_BENCH_PERF_ARGS such as "-g"); MLADMIN_BENCH_CONFIG=FILE
# passes a config file to the server. On a machine shared with other work,
# MLADMIN_BENCH_AUTOGROUP_NICE=-10 (root, Linux scheduler autogroups) runs everything in a session
# of its own whose autogroup has that nice value, so that the figures measure the server rather
# than the neighbours; `nice` alone does not help against other sessions. The latency bench prints
# how long the server's threads still waited for a CPU either way.
# The floor under the CPU per event (docs/benchmarks.md, "Event fan-out"): build/release/bench/sendmsg_probe
# (bare sendmsg to 1,000 loopback sockets) and bench/perf_split.py over a profile taken with
# MLADMIN_BENCH_PERF_ARGS=-g.
# Needs: cmake --preset release && cmake --build --preset release --target mladmin events_bench
# The bench raises its own descriptor limit to the hard limit; the server raises its own at start.
set -euo pipefail
if [ -n "${MLADMIN_BENCH_AUTOGROUP_NICE:-}" ] && [ -z "${MLADMIN_BENCH_IN_AUTOGROUP:-}" ]; then
  export MLADMIN_BENCH_IN_AUTOGROUP=1
  exec setsid -w bash -c 'echo "$MLADMIN_BENCH_AUTOGROUP_NICE" >/proc/self/autogroup && exec "$0" "$@"' "$0" "$@"
fi
cd "$(dirname "$0")/.."
bin=build/release/mladmin
bench=build/release/bench/events_bench
[ -x "$bin" ] && [ -x "$bench" ] || {
  echo "build first: cmake --preset release && cmake --build --preset release --target mladmin events_bench"
  exit 1
}
command -v curl >/dev/null || { echo "curl is not installed"; exit 1; }

what=${1:-all}
shift || true
dir=$(mktemp -d)
pid=""
stop_server() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}
trap 'stop_server; rm -rf "$dir"' EXIT
export MLADMIN_JWT_SECRET=bench-secret-0123456789abcdefghijklmnopqrstuvwxyz
if [ -z "${MLADMIN_BENCH_CONFIG:-}" ]; then
  # One bench user holds every stream and starts every sync: lift the per-user caps
  # (docs/security.md). A config of your own should do the same.
  printf '[events]\nmax_streams_per_user = 0\n[sync]\nstarts_per_minute = 1000000\n' >"$dir/bench.toml"
  MLADMIN_BENCH_CONFIG="$dir/bench.toml"
fi
password="pw-$(head -c 12 /dev/urandom | base64 | tr -dc a-zA-Z0-9)"
email=events-bench@example.com

add_user() {  # $1: database URL
  printf '%s\n' "$password" | "$bin" --log-level warn user add --email "$email" --name "Events bench" --role ml_admin \
    --password-stdin --database "$1" >/dev/null
}

start_server() {  # $1: database URL; sets pid, url, token
  "$bin" serve --listen 127.0.0.1:0 --database "$1" --log-level warn \
    ${MLADMIN_BENCH_CONFIG:+--config "$MLADMIN_BENCH_CONFIG"} >"$dir/out" 2>"$dir/err" &
  pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$dir/out" 2>/dev/null && break; sleep 0.05; done
  url=$(sed -n 's/.*listening on //p' "$dir/out")
  [ -n "$url" ] || { echo "the server did not start"; cat "$dir/err"; exit 1; }
  token=$(curl -s -X POST "$url/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  [ -n "$token" ] || { echo "login failed"; cat "$dir/err"; exit 1; }
}

machine() {
  echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), $(cat /proc/self/autogroup 2>/dev/null || echo 'no autogroup')"
}

latency() {
  local entries=${1:-100000} clients=${2:-"1 1000"} pauses=${3:-5} short_runs=${4:-100}
  local users=100
  local template="sqlite://$dir/template.db"
  echo "== seeding $entries journal entries for $users writers"
  local t=$SECONDS
  "$bin" --log-level warn seed-demo --database "$template" --users "$users" --entries-per-user $((entries / users)) \
    --goals-per-user 0 >/dev/null
  add_user "$template"
  echo "   seeded in $((SECONDS - t)) s"
  for n in $clients; do
    cp "$dir/template.db" "$dir/run.db"
    rm -f "$dir/run.db-wal" "$dir/run.db-shm" "$dir"/run.db-search*  # the index is built again from the copy
    start_server "sqlite://$dir/run.db"
    echo "== latency with $n client(s): $bench latency --url $url --token … --pid $pid --clients $n --pauses $pauses --short-runs $short_runs"
    local perf_pid=""
    if [ -n "${MLADMIN_BENCH_PERF:-}" ]; then  # profile the server during the run: perf record -p
      perf record -F 499 ${MLADMIN_BENCH_PERF_ARGS:-} -p "$pid" -o "$MLADMIN_BENCH_PERF.$n" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    "$bench" latency --url "$url" --token "$token" --pid "$pid" --clients "$n" --pauses "$pauses" --short-runs "$short_runs"
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
    echo "   server VmRSS after the run: $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}')"
    stop_server
  done
}

idle() {
  local connections=${1:-10000} history=${2:-20}
  add_user "sqlite://$dir/idle.db"
  start_server "sqlite://$dir/idle.db"
  echo "== idle streams: $bench idle --url $url --token … --pid $pid --connections $connections --history $history"
  grep -h 'descriptor' "$dir/err" || true
  "$bench" idle --url "$url" --token "$token" --pid "$pid" --connections "$connections" --history "$history"
  stop_server
}

machine
case "$what" in
  latency) latency "$@" ;;
  idle) idle "$@" ;;
  all) latency && idle ;;
  *) echo "usage: bench/events.sh latency|idle|all [arguments]"; exit 1 ;;
esac
