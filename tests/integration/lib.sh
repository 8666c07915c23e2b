# lib.sh: shared by the integration tests: a temporary directory, starting and stopping the
# real sipeer (by PID, also when the test fails), waiting for it, and running SIPp bounded.
# Source it; then call it_start CONFIG_TEXT, it_sipp ..., it_pass / it_fail.
set -u
it_bin=${SIPEER_BIN:?SIPEER_BIN must name the sipeer binary}
it_src=${SIPEER_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
it_scen="$it_src/tests/integration/scenarios"
it_tmp=$(mktemp -d /tmp/sipeer-it.XXXXXX)
it_pids=()
it_failed=0
it_name=$(basename "$0" .sh)

it_cleanup() {
  local pid
  for pid in "${it_pids[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${it_pids[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  if [ "$it_failed" -ne 0 ] && [ -f "$it_tmp/sipeer.log" ]; then
    echo "---- sipeer log (last 60 lines) ----"; tail -n 60 "$it_tmp/sipeer.log"
  fi
  rm -rf "$it_tmp"
}
trap it_cleanup EXIT
trap 'exit 1' INT TERM

for tool in sipp sipsak; do
  command -v "$tool" >/dev/null || { echo "SKIP $it_name: $tool not installed (scripts/setup installs it)"; exit 77; }
done

it_fail() { echo "FAIL $it_name: $*"; it_failed=1; }
it_ok() { echo "ok   $it_name: $*"; }

# it_start CONFIG: writes CONFIG to $it_tmp/sipeer.yaml, starts sipeer on it (stderr to
# $it_tmp/sipeer.log) and waits until it answers OPTIONS on $it_probe (default udp
# 127.0.0.1:5060... set it_probe before calling).
it_probe=${it_probe:-sip:127.0.0.1:5060}
it_sipeer_pid=
it_start() {
  printf '%s\n' "$1" > "$it_tmp/sipeer.yaml"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    "$it_bin" -c "$it_tmp/sipeer.yaml" >>"$it_tmp/sipeer.log" 2>&1 &
  it_sipeer_pid=$!
  it_pids+=("$it_sipeer_pid")
  it_wait_ready || { it_fail "sipeer did not start"; exit 1; }
}

# it_wait_ready: OPTIONS to the node until it answers 200 (at most 10 s).
it_wait_ready() {
  for _ in $(seq 50); do
    kill -0 "$it_sipeer_pid" 2>/dev/null || return 1
    if sipsak -s "$it_probe" -H 127.0.0.1 -l 5999 >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

# it_alive: one OPTIONS liveness check.
it_alive() {
  kill -0 "$it_sipeer_pid" 2>/dev/null && sipsak -s "$it_probe" -H 127.0.0.1 -l 5999 >/dev/null 2>&1
}

# it_stop: SIGTERM and wait (exit status in it_stop_rc).
it_stop() {
  kill -TERM "$it_sipeer_pid" 2>/dev/null
  wait "$it_sipeer_pid"; it_stop_rc=$?
}

# it_sipp_bg NAME ARGS...: a SIPp in the background (a UAS), bounded by -timeout; its PID
# is stored in it_sipp_pid and it is stopped at exit.
it_sipp_bg() {
  local name=$1; shift
  sipp "$@" -nostdin -trace_err -error_file "$it_tmp/$name.err" \
    -trace_stat -stf "$it_tmp/$name.csv" >"$it_tmp/$name.out" 2>&1 &
  it_sipp_pid=$!
  it_pids+=("$it_sipp_pid")
}

# it_sipp NAME ARGS...: a SIPp in the foreground (a UAC) with a global timeout; returns
# its exit status (0: every call succeeded).
it_sipp() {
  local name=$1; shift
  timeout 120 sipp "$@" -nostdin -timeout 60s -timeout_error \
    -trace_err -error_file "$it_tmp/$name.err" >"$it_tmp/$name.out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "---- sipp $name (rc $rc) ----"; tail -n 30 "$it_tmp/$name.out"
    [ -f "$it_tmp/$name.err" ] && head -n 40 "$it_tmp/$name.err"
  fi
  return $rc
}

# it_scenario NAME STATUS: a copy of scenarios/NAME.xml with the final status it expects
# (EXPECT, WANT) written in; prints its path.
it_scenario() {
  local out="$it_tmp/$1-$2.xml"
  sed -e "s/\"EXPECT\"/\"$2\"/; s/\"WANT\"/\"$2\"/" "$it_scen/$1.xml" > "$out"
  echo "$out"
}

it_done() {
  [ "$it_failed" -eq 0 ] && { echo "PASS $it_name"; exit 0; }
  exit 1
}
