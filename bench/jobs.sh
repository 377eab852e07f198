#!/usr/bin/env bash
# Throughput and latency of the job reads with a token check, against the release binary on
# loopback, with wrk: GET /api/ml/sync/job/:id (one job) and GET /api/ml/sync/jobs (a page of 50
# jobs), after 50 finished syncs (of nothing: the database holds no source records).
# Usage: bench/jobs.sh [connections=32] [seconds=10]   (needs `make build` and Debian's wrk)
#   MLADMIN_BENCH_BIN=path   another mladmin binary (a before/after comparison)
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-32}
secs=${2:-10}
bin=${MLADMIN_BENCH_BIN:-build/release/mladmin}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
[ -x "$bin" ] || { echo "build the release binary first: make build"; exit 1; }

pid=""
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
db="sqlite://$dir/bench.db"
password="pw-$(head -c 12 /dev/urandom | base64 | tr -dc a-zA-Z0-9)"
printf '%s\n' "$password" | "$bin" user add --email bench@example.com --name Bench --role admin \
  --password-stdin --database "$db" >/dev/null 2>&1
printf '[sync]\nstarts_per_minute = 1000\n' >"$dir/cfg.toml"
MLADMIN_JWT_SECRET=bench-secret-0123456789abcdefghijklmnopqrstuvwxyz \
  "$bin" serve --listen 127.0.0.1:0 --database "$db" --log-level warn --config "$dir/cfg.toml" >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$dir/out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/.*listening on //p' "$dir/out")
token=$(curl -s -X POST "$url/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"password\":\"$password\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "login failed"; cat "$dir/err"; exit 1; }

# 50 jobs, journal entries and goals in turn; a start answers 409 while the previous job of its
# kind is still active, and is tried again (bounded: 50 jobs in at most 2,000 attempts).
jobs=0
job=""
for attempt in $(seq 2000); do
  [ "$jobs" -lt 50 ] || break
  kind=$([ $((jobs % 2)) -eq 0 ] && echo journal-entries || echo goals)
  status=$(curl -s -o "$dir/start" -D "$dir/headers" -w '%{http_code}' -X POST "$url/api/ml/sync/$kind" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"scope":"all"}')
  if [ "$status" = 202 ]; then
    job=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$dir/start" | head -1)
    jobs=$((jobs + 1))
  else
    sleep 0.02
  fi
done
[ "$jobs" -eq 50 ] && [ -n "$job" ] || { echo "could not start 50 jobs ($jobs)"; cat "$dir/err"; exit 1; }
count=$(curl -s "$url/api/ml/sync/jobs?limit=50" -H "Authorization: Bearer $token" | grep -o '"id":' | wc -l)
echo "jobs listed in one page: $count"

cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }  # user + system, in clock ticks
ticks=$(getconf CLK_TCK)
echo "== GET /api/ml/sync/job/:id with token check, $conns connections, ${secs}s"
c0=$(cpu)
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" "$url/api/ml/sync/job/$job"
echo "server CPU: $(( ($(cpu) - c0) * 1000 / ticks )) ms"
echo "== GET /api/ml/sync/jobs (50 jobs) with token check, $conns connections, ${secs}s"
c0=$(cpu)
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" "$url/api/ml/sync/jobs?limit=50"
echo "server CPU: $(( ($(cpu) - c0) * 1000 / ticks )) ms"
echo "== resident memory of the server after the runs"
grep VmRSS /proc/$pid/status
