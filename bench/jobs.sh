#!/usr/bin/env bash
# Throughput and latency of the job reads with a token check, against the release binary on
# loopback, with wrk: GET /api/ml/sync/job/:id (one job) and GET /api/ml/sync/jobs (a page of 50
# jobs), after 50 finished syncs (of nothing: the database holds no source records).
# Usage: bench/jobs.sh [connections=32] [seconds=10]   (needs `make build` and Debian's wrk)
#   MLADMIN_BENCH_BIN=path   another mladmin binary (a before/after comparison); see bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
conns=${1:-32}
secs=${2:-10}
bench_require_wrk
bench_require_bin

bench_add_user bench@example.com admin
printf '[sync]\nstarts_per_minute = 1000\n' >"$bench_dir/cfg.toml"
bench_start_server "$bench_dir/cfg.toml"
bench_login bench@example.com
url=$bench_url
auth="Authorization: Bearer $bench_token"

# 50 jobs, journal entries and goals in turn; a start answers 409 while the previous job of its
# kind is still active, and is tried again (bounded: 50 jobs in at most 2,000 attempts).
jobs=0
job=""
for _ in $(seq 2000); do
  [ "$jobs" -lt 50 ] || break
  kind=$([ $((jobs % 2)) -eq 0 ] && echo journal-entries || echo goals)
  status=$(curl -s -o "$bench_dir/start" -w '%{http_code}' -X POST "$url/api/ml/sync/$kind" \
    -H "$auth" -H 'Content-Type: application/json' -d '{"scope":"all"}')
  if [ "$status" = 202 ]; then
    job=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$bench_dir/start" | head -1)
    jobs=$((jobs + 1))
  else
    sleep 0.02
  fi
done
if [ "$jobs" -ne 50 ] || [ -z "$job" ]; then
  echo "could not start 50 jobs ($jobs)"
  cat "$bench_dir/err"
  exit 1
fi
count=$(curl -s "$url/api/ml/sync/jobs?limit=50" -H "$auth" | grep -o '"id":' | wc -l)
echo "jobs listed in one page: $count"

bench_wrk "GET /api/ml/sync/job/:id with token check" "$conns" "$secs" "$url/api/ml/sync/job/$job" -H "$auth"
bench_wrk "GET /api/ml/sync/jobs (50 jobs) with token check" "$conns" "$secs" "$url/api/ml/sync/jobs?limit=50" -H "$auth"
echo "== resident memory of the server after the runs"
grep VmRSS "/proc/$bench_pid/status"
