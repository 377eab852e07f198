#!/usr/bin/env bash
# Does a login for an unknown email take the same time as one with a wrong password (docs/security.md)?
# Times N sequential logins of each kind against the release binary (rate limits raised for the
# run) and prints the mean and median of each, in milliseconds.
# Usage: bench/login_timing.sh [N=100]   (needs `make build`; MLADMIN_BENCH_BIN: see bench/lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
n=${1:-100}
bench_require_bin

printf '[auth]\nlogin_failures_per_email = 1000000\nlogin_failures_per_address = 1000000\n' >"$bench_dir/cfg.toml"
bench_add_user known@example.com user
bench_start_server "$bench_dir/cfg.toml"
url=$bench_url

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
done >"$bench_dir/times"
summary() {
  grep "^$1 " "$bench_dir/times" | awk '{print $2}' | sort -n |
    awk '{ s += $1; v[NR] = $1 } END { printf "mean %.2f ms, median %.2f ms, n=%d\n", 1000*s/NR, 1000*v[int((NR+1)/2)], NR }'
}
echo "unknown email:  $(summary nobody@example.com)"
echo "wrong password: $(summary known@example.com)"
