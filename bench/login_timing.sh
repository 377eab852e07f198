#!/usr/bin/env bash
# Does a login for an unknown email take the same time as one with a wrong password (docs/security.md)?
# Times N sequential logins of each kind against the release binary (rate limits raised for the
# run) and prints the mean and median of each, in milliseconds.
# Usage: bench/login_timing.sh [N=100]   (needs `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
bin=build/release/mladmin
[ -x "$bin" ] || { echo "build the release binary first: make build"; exit 1; }

pid=""
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
db="sqlite://$dir/bench.db"
printf '[auth]\nlogin_failures_per_email = 1000000\nlogin_failures_per_address = 1000000\n' >"$dir/cfg.toml"
printf '%s\n' "a-real-passphrase-for-timing" | "$bin" user add --email known@example.com --name Known \
  --role user --password-stdin --database "$db" >/dev/null 2>&1
MLADMIN_JWT_SECRET=bench-secret-0123456789abcdefghijklmnopqrstuvwxyz \
  "$bin" serve --config "$dir/cfg.toml" --listen 127.0.0.1:0 --database "$db" --log-level warn \
  >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$dir/out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/.*listening on //p' "$dir/out")

# Alternate the two kinds so that drift in machine load affects both alike.
# Which kind goes first flips every round: the second request of a pair was measured slower.
for i in $(seq "$n"); do
  order="known@example.com nobody@example.com"
  [ $((i % 2)) -eq 0 ] && order="nobody@example.com known@example.com"
  for email in $order; do
    t=$(curl -s -o /dev/null -w '%{time_total}' -X POST "$url/api/auth/login" \
      -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"wrong-password-123\"}")
    echo "$email $t"
  done
done >"$dir/times"
summary() {
  grep "^$1 " "$dir/times" | awk '{print $2}' | sort -n |
    awk '{ s += $1; v[NR] = $1 } END { printf "mean %.2f ms, median %.2f ms, n=%d\n", 1000*s/NR, 1000*v[int((NR+1)/2)], NR }'
}
echo "unknown email:  $(summary nobody@example.com)"
echo "wrong password: $(summary known@example.com)"
