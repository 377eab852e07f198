#!/usr/bin/env bash
# Throughput and latency of an authenticated read (GET /api/auth/me: token check + one SQLite
# read) and of /healthz, against the release binary on loopback, with wrk.
# Usage: bench/auth_me.sh [connections=32] [seconds=10]   (needs `make build` and Debian's wrk)
#   MLADMIN_BENCH_BIN=path      another mladmin binary (a before/after comparison); see bench/lib.sh
#   MLADMIN_BENCH_CONFIG=file   a config file for the server
# bench/jobs.sh measures the job reads (GET /api/ml/sync/job/:id, GET /api/ml/sync/jobs).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
conns=${1:-32}
secs=${2:-10}
bench_require_wrk
bench_require_bin

bench_add_user bench@example.com admin
bench_start_server "${MLADMIN_BENCH_CONFIG:-}"
bench_login bench@example.com

bench_wrk "GET /healthz" "$conns" "$secs" "$bench_url/healthz"
bench_wrk "GET /api/auth/me with token check" "$conns" "$secs" "$bench_url/api/auth/me" \
  -H "Authorization: Bearer $bench_token"
echo "== resident memory of the server after the runs"
grep VmRSS "/proc/$bench_pid/status"
