#!/usr/bin/env bash
# Throughput and latency of an authenticated read (GET /api/auth/me: token check + one SQLite
# read) and of /healthz, against the release binary on loopback, with wrk.
# Usage: bench/auth_me.sh [connections=32] [seconds=10]   (needs `make build` and Debian's wrk)
#   MLADMIN_BENCH_BIN=path   another mladmin binary (a before/after comparison)
# bench/jobs.sh measures the job reads (GET /api/ml/sync/job/:id, GET /api/ml/sync/jobs).
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
MLADMIN_JWT_SECRET=bench-secret-0123456789abcdefghijklmnopqrstuvwxyz \
  "$bin" serve --listen 127.0.0.1:0 --database "$db" --log-level warn ${MLADMIN_BENCH_CONFIG:+--config "$MLADMIN_BENCH_CONFIG"} >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$dir/out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/.*listening on //p' "$dir/out")
token=$(curl -s -X POST "$url/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"password\":\"$password\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "login failed"; cat "$dir/err"; exit 1; }

cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }  # user + system, in clock ticks
ticks=$(getconf CLK_TCK)
echo "== GET /healthz, $conns connections, ${secs}s"
c0=$(cpu)
wrk -t2 -c"$conns" -d"${secs}s" --latency "$url/healthz"
echo "server CPU: $(( ($(cpu) - c0) * 1000 / ticks )) ms"
echo "== GET /api/auth/me with token check, $conns connections, ${secs}s"
c0=$(cpu)
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" "$url/api/auth/me"
echo "server CPU: $(( ($(cpu) - c0) * 1000 / ticks )) ms"
echo "== resident memory of the server after the runs"
grep VmRSS /proc/$pid/status
