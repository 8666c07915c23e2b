# lib.sh: shared by the integration tests: a temporary directory, starting and stopping the
# real sipeer (by PID, also when the test fails), waiting for it, and running SIPp bounded.
# Source it; then call it_start CONFIG_TEXT, it_sipp ..., it_pass / it_fail.
set -u
it_bin=${SIPEER_BIN:?SIPEER_BIN must name the sipeer binary}
it_src=${SIPEER_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
it_scen="$it_src/tests/integration/scenarios"
it_tmp=$(mktemp -d /tmp/sipeer-it.XXXXXX)
it_pids=()
declare -A it_named_pid=() it_named_probe=()
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
  local n
  for n in "${!it_named_pid[@]}"; do
    if [ "$it_failed" -ne 0 ] && [ -f "$it_tmp/$n.log" ]; then
      echo "---- sipeer $n log (last 30 lines) ----"; tail -n 30 "$it_tmp/$n.log"
    fi
  done
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

# Several sipeers in one test (providers on 127.0.0.2, 127.0.0.3...), each with a NAME: its
# configuration in $it_tmp/NAME.yaml, its log in $it_tmp/NAME.log, its PID in
# it_named_pid[NAME]. They are probed with siptool.py from their own address (sipsak cannot
# choose its source address).
# it_start_named NAME PROBE CONFIG: PROBE is ADDRESS:PORT of one of its UDP listeners; waits
# until OPTIONS there is answered (at most 10 s). Returns 1 when it does not start.
# it_launch_named (same arguments) starts without waiting, it_wait_named NAME waits: several
# providers that probe each other can be started together.
it_launch_named() {
  local name=$1 probe=$2
  printf '%s\n' "$3" > "$it_tmp/$name.yaml"
  echo "==== start $(date +%T.%N)" >>"$it_tmp/$name.log"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    "$it_bin" -c "$it_tmp/$name.yaml" >>"$it_tmp/$name.log" 2>&1 &
  it_named_pid[$name]=$!
  it_named_probe[$name]=$probe
  it_pids+=("$!")
}
it_wait_named() {
  for _ in $(seq 50); do
    kill -0 "${it_named_pid[$1]}" 2>/dev/null || return 1
    it_alive_named "$1" && return 0
    sleep 0.2
  done
  return 1
}
it_start_named() {
  it_launch_named "$@" && it_wait_named "$1"
}

# it_reload_named NAME CONFIG: writes CONFIG over $it_tmp/NAME.yaml and sends SIGHUP; waits
# (at most 5 s) for the log line that says it was loaded. Returns 1 when it was refused.
it_reload_named() {
  local name=$1 log="$it_tmp/$1.log" n
  printf '%s\n' "$2" > "$it_tmp/$name.yaml"
  n=$(grep -c "configuration reloaded from\|reload refused\|reload failed" "$log")
  kill -HUP "${it_named_pid[$name]}" 2>/dev/null || return 1
  for _ in $(seq 50); do
    [ "$(grep -c "configuration reloaded from\|reload refused\|reload failed" "$log")" -gt "$n" ] && break
    sleep 0.1
  done
  grep "configuration reloaded from\|reload refused\|reload failed" "$log" | tail -n 1 |
    grep -q "configuration reloaded from"
}

# it_wait_free ADDRESS...: waits (at most 20 s) until nothing listens on these addresses (any
# port, UDP or TCP), e.g. a manual run on the same loopback address; returns 1 if still busy.
it_wait_free() {
  local a busy
  for _ in $(seq 100); do
    busy=
    for a in "$@"; do
      ss -Hltun 2>/dev/null | awk '{print $5}' | grep -q "^$a:" && busy="$busy $a"
    done
    [ -z "$busy" ] && return 0
    sleep 0.2
  done
  echo "  (still in use:$busy)"; ss -Hltunp 2>/dev/null | grep -F "$(echo $busy | tr ' ' '\n')" | head -n 5
  return 1
}

# it_alive_named NAME: running and answering one OPTIONS.
it_alive_named() {
  local probe=${it_named_probe[$1]}
  kill -0 "${it_named_pid[$1]}" 2>/dev/null &&
    python3 "$it_src/tests/integration/siptool.py" send --bind "${probe%:*}" --timeout 1 \
      udp "$probe" OPTIONS "sip:$probe" 2>/dev/null | grep -q "^SIP/2.0 200"
}

# it_stop_named NAME: SIGTERM and wait, at most 10 s, then SIGKILL (exit status in
# it_stop_rc: 137 when it had to be killed).
it_stop_named() {
  local pid=${it_named_pid[$1]}
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid"; it_stop_rc=$?
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

# ---- DNS: an authoritative NSD on loopback, a DNS black hole ----
# it_nsd_start DIR ADDR PORT ZONEFILE...: copies the zone files into DIR (each
# NAME.zone serves zone NAME), writes DIR/nsd.conf (no chroot, no database, its own pid,
# zone list and xfrd files in DIR, one server process, no remote control, only ADDR@PORT),
# starts `nsd -d` in the background (log in DIR/nsd.log, PID in it_nsd_pid, stopped at exit)
# and waits (at most 10 s) until it answers for the first zone's SOA. Returns 1 when it does
# not. it_nsd_dir, it_nsd_server (ADDR:PORT) name it for the helpers below.
it_nsd_pid= it_nsd_dir= it_nsd_server= it_nsd_zone1=
it_nsd_bin=$(command -v nsd 2>/dev/null || { [ -x /usr/sbin/nsd ] && echo /usr/sbin/nsd; })
it_nsd_start() {
  local dir=$1 addr=$2 port=$3 z name; shift 3
  mkdir -p "$dir" || return 1
  it_nsd_dir=$dir it_nsd_server=$addr:$port it_nsd_zone1=
  {
    printf 'server:\n  ip-address: %s@%s\n  port: %s\n' "$addr" "$port" "$port"
    printf '  server-count: 1\n  username: ""\n  chroot: ""\n  database: ""\n'
    printf '  zonesdir: "%s"\n  zonelistfile: "%s/zone.list"\n' "$dir" "$dir"
    printf '  xfrdfile: "%s/xfrd.state"\n  xfrdir: "%s"\n  pidfile: "%s/nsd.pid"\n' "$dir" "$dir" "$dir"
    printf '  logfile: "%s/nsd.log"\n  verbosity: 1\n  do-ip6: no\n  hide-version: yes\n' "$dir"
    printf '  tcp-count: 20\n  zonefiles-check: yes\n  zonefiles-write: 0\n'
    printf 'remote-control:\n  control-enable: no\n'
  } >"$dir/nsd.conf"
  for z in "$@"; do
    name=$(basename "$z" .zone)
    [ -n "$it_nsd_zone1" ] || it_nsd_zone1=$name
    cp "$z" "$dir/$name.zone" || return 1
    printf 'zone:\n  name: "%s"\n  zonefile: "%s.zone"\n' "$name" "$name" >>"$dir/nsd.conf"
  done
  it_nsd_launch
}
it_nsd_launch() {
  echo "==== start $(date +%T.%N)" >>"$it_nsd_dir/nsd.log"
  "$it_nsd_bin" -d -c "$it_nsd_dir/nsd.conf" >>"$it_nsd_dir/nsd.log" 2>&1 &
  it_nsd_pid=$!
  it_pids+=("$it_nsd_pid")
  for _ in $(seq 50); do
    kill -0 "$it_nsd_pid" 2>/dev/null || return 1
    it_dnsq --timeout 0.3 "$it_nsd_zone1" SOA 2>/dev/null | grep -q "^rcode NOERROR aa" && return 0
    sleep 0.2
  done
  return 1
}
# it_dnsq ARGS...: dnsq.py against the test's NSD (see dnsq.py: NAME [TYPE], --tcp...).
it_dnsq() {
  python3 "$it_src/tests/integration/dnsq.py" --server "$it_nsd_server" "$@"
}
# it_nsd_zone ZONE: the path of NSD's copy of zone ZONE (rewrite it, then it_nsd_reload).
it_nsd_zone() { echo "$it_nsd_dir/$1.zone"; }
# it_nsd_reload: NSD reads again the zone files whose modification time changed (SIGHUP to
# its PID). Every zone file is first given a modification time later than any it had, so a
# rewrite within the same second as the last load counts as a change.
it_nsd_reload() {
  local f t=$(($(date +%s) + 1))
  for f in "$it_nsd_dir"/*.zone; do
    [ "$(stat -c %Y "$f")" -ge "$t" ] && t=$(($(stat -c %Y "$f") + 1))
  done
  touch -d "@$t" "$it_nsd_dir"/*.zone
  kill -HUP "$it_nsd_pid" 2>/dev/null
}
# it_nsd_wait SECONDS NAME TYPE REGEX: waits until NSD's answer to NAME TYPE has a line
# matching REGEX (grep -E); returns 1 after SECONDS.
it_nsd_wait() {
  local end=$((SECONDS + $1))
  while :; do
    it_dnsq --timeout 0.5 "$2" "$3" 2>/dev/null | grep -qE "$4" && return 0
    [ $SECONDS -ge $end ] && return 1
    sleep 0.1
  done
}
# it_nsd_stop: SIGTERM to NSD, wait at most 5 s, then SIGKILL.
it_nsd_stop() {
  [ -n "$it_nsd_pid" ] || return 0
  kill -TERM "$it_nsd_pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$it_nsd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$it_nsd_pid" 2>/dev/null
  wait "$it_nsd_pid" 2>/dev/null
  it_nsd_pid=
}
# it_nsd_restart: stops NSD and starts it again on the same configuration and zone files
# (waits until it answers, as it_nsd_start).
it_nsd_restart() {
  it_nsd_stop
  it_nsd_launch
}

# it_dns_blackhole ADDR PORT SECONDS: a DNS server that never answers: it reads UDP
# queries and accepts TCP connections on ADDR:PORT and says nothing, for at most SECONDS.
# Its PID is in it_blackhole_pid (stopped at exit); returns once it is bound (at most 5 s).
# Each query and connection is logged ("udp query from ADDR:PORT", "tcp connection from
# ADDR:PORT") to $it_tmp/blackhole-ADDR.log.
it_dns_blackhole() {
  python3 - "$1" "$2" "$3" >"$it_tmp/blackhole-$1.log" 2>&1 <<'PY' &
import select, socket, sys, time
addr, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, port))
t.listen(16)
print("bound", flush=True)
socks, n, end = [u, t], 0, time.monotonic() + limit
while time.monotonic() < end:
    r, _, _ = select.select(socks, [], [], 0.5)
    for s in r:
        if s is u:
            _, src = u.recvfrom(65535); n += 1
            print("udp query from %s:%d" % src, flush=True)
        elif s is t:
            c, src = t.accept(); socks.append(c); n += 1
            print("tcp connection from %s:%d" % src, flush=True)
        elif not s.recv(65535):
            socks.remove(s); s.close()
print("queries and connections swallowed: %d" % n, flush=True)
PY
  it_blackhole_pid=$!
  it_pids+=("$it_blackhole_pid")
  for _ in $(seq 50); do
    grep -q "^bound" "$it_tmp/blackhole-$1.log" 2>/dev/null && return 0
    kill -0 "$it_blackhole_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
