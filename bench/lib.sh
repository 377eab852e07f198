# shellcheck shell=bash
# Shared by the shell benchmarks of bench/ (`. "$(dirname "$0")/lib.sh"` from bash; it changes to
# the repository's root): a temporary directory removed at exit, a bench user, a release server on a loopback port with
# that user logged in, the CPU time of a process, and a wrk run that also reports the server's CPU
# per request. docs/benchmarks.md says what each benchmark measures.
#
#   MLADMIN_BENCH_BIN=path              another mladmin binary (a before/after comparison)
#   MLADMIN_BENCH_AUTOGROUP_NICE=-10    bench_autogroup "$@" re-runs the calling script in a
#                                       session of its own whose scheduler autogroup has that nice
#                                       value (root, Linux autogroups); only for runs of minutes,
#                                       since it starves the neighbours. See bench/events.sh.

bench_script=$(realpath "$0")
cd "$(dirname "$bench_script")/.." || exit 1
bench_bin=${MLADMIN_BENCH_BIN:-build/release/mladmin}
bench_pid=""
bench_url=""
bench_token=""
bench_password="pw-$(head -c 12 /dev/urandom | base64 | tr -dc a-zA-Z0-9)"
bench_dir=$(mktemp -d)
export MLADMIN_JWT_SECRET=bench-secret-0123456789abcdefghijklmnopqrstuvwxyz

bench_stop_server() {
  if [ -n "$bench_pid" ]; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
    bench_pid=""
  fi
}
bench_cleanup() {
  bench_stop_server
  rm -rf "$bench_dir"
}
trap bench_cleanup EXIT

bench_autogroup() {  # call as `bench_autogroup "$@"` before anything else
  if [ -n "${MLADMIN_BENCH_AUTOGROUP_NICE:-}" ] && [ -z "${MLADMIN_BENCH_IN_AUTOGROUP:-}" ]; then
    export MLADMIN_BENCH_IN_AUTOGROUP=1
    bench_cleanup
    trap - EXIT
    exec setsid -w bash -c 'echo "$MLADMIN_BENCH_AUTOGROUP_NICE" >/proc/self/autogroup && exec bash "$0" "$@"' \
      "$bench_script" "$@"
  fi
}

bench_require_bin() {
  [ -x "$bench_bin" ] || { echo "build the release binary first: make build ($bench_bin)"; exit 1; }
}

bench_require_wrk() {
  command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
}

# bench_add_user EMAIL ROLE: adds a user with $bench_password to $bench_dir/bench.db.
bench_add_user() {
  printf '%s\n' "$bench_password" | "$bench_bin" --log-level warn user add --email "$1" --name Bench \
    --role "$2" --password-stdin --database "sqlite://$bench_dir/bench.db" >/dev/null
}

# bench_start_server [CONFIG_FILE]: serves $bench_dir/bench.db on 127.0.0.1:0; sets bench_pid and
# bench_url. Waits at most 20 s for "listening on".
bench_start_server() {
  "$bench_bin" serve --listen 127.0.0.1:0 --database "sqlite://$bench_dir/bench.db" --log-level warn \
    ${1:+--config "$1"} >"$bench_dir/out" 2>"$bench_dir/err" &
  bench_pid=$!
  for _ in $(seq 400); do
    grep -q 'listening on' "$bench_dir/out" 2>/dev/null && break
    kill -0 "$bench_pid" 2>/dev/null || break
    sleep 0.05
  done
  bench_url=$(sed -n 's/.*listening on //p' "$bench_dir/out")
  [ -n "$bench_url" ] || { echo "the server did not start:"; cat "$bench_dir/err"; exit 1; }
}

# bench_login EMAIL: logs in with $bench_password; sets bench_token.
bench_login() {
  bench_token=$(curl -s -X POST "$bench_url/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$bench_password\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  [ -n "$bench_token" ] || { echo "login failed:"; cat "$bench_dir/err"; exit 1; }
}

# bench_cpu_ticks PID: user + system time of the process in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the command name, which may hold blanks).
# Prints nothing once the process is gone.
bench_cpu_ticks() {
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || true
}

# bench_wrk TITLE CONNECTIONS SECONDS URL [wrk options...]: "== TITLE", wrk's output (2 threads,
# --latency), then the server's CPU over the run and per request completed, and what the whole
# machine did meanwhile (bench/machine_cpu.py: steal time, other processes).
bench_wrk() {
  local title=$1 conns=$2 secs=$3 url=$4
  shift 4
  echo "== $title, $conns connections, ${secs}s"
  local ticks c0 c1 requests
  ticks=$(getconf CLK_TCK)
  c0=$(bench_cpu_ticks "$bench_pid")
  python3 bench/machine_cpu.py snap "$bench_dir/cpu.json"
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" "$url" | tee "$bench_dir/wrk"
  c1=$(bench_cpu_ticks "$bench_pid")
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$bench_dir/wrk")
  awk -v c="$((c1 - c0))" -v t="$ticks" -v r="${requests:-0}" \
    'BEGIN { printf "server CPU: %d ms, %.1f us per request\n", 1000 * c / t, (r > 0) ? 1e6 * c / t / r : 0 }'
  python3 bench/machine_cpu.py since "$bench_dir/cpu.json"
}
