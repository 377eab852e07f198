#!/usr/bin/env bash
# GET /api/ml/sync/job/:id with a token check while a full sync runs (its batches commit every
# few milliseconds), against the release binary on loopback, with wrk: the job looked up is the
# running sync. Before the run the store gets `users` demo users of `entries` journal entries each
# (mladmin seed-demo); after it, the job's status says whether the sync was still running at the
# end (the whole run overlapped it) and /metrics the rights cache's counters (docs/performance.md).
# Usage: bench/jobs_during_sync.sh [connections=32] [seconds=5] [users=2] [entries=150000]
#   MLADMIN_BENCH_BIN=path   another mladmin binary (a before/after comparison); see bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
conns=${1:-32}
secs=${2:-5}
users=${3:-2}
entries=${4:-150000}
bench_require_wrk
bench_require_bin

bench_add_user bench@example.com admin
"$bench_bin" --log-level warn seed-demo --database "sqlite://$bench_dir/bench.db" --users "$users" \
  --entries-per-user "$entries" --goals-per-user 0 --invalid-ratio 0 >/dev/null
bench_start_server ""
bench_login bench@example.com
url=$bench_url
auth="Authorization: Bearer $bench_token"

job=$(curl -s -X POST "$url/api/ml/sync/journal-entries" -H "$auth" -H 'Content-Type: application/json' \
  -d '{"scope":"all","mode":"full"}' | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -1)
[ -n "$job" ] || { echo "the sync did not start"; cat "$bench_dir/err"; exit 1; }
curl -s "$url/metrics" | grep '^mladmin_rights_cache' | sed 's/^/before: /' || true
bench_wrk "GET /api/ml/sync/job/:id with token check, during a sync" "$conns" "$secs" "$url/api/ml/sync/job/$job" \
  -H "$auth"
curl -s "$url/metrics" | grep '^mladmin_rights_cache' | sed 's/^/after: /' || true
curl -s "$url/api/ml/sync/job/$job" -H "$auth" |
  sed -n 's/.*"status":"\([a-z]*\)".*"processedItems":\([0-9]*\).*/job after the run: \1, \2 items processed/p'
