#!/usr/bin/env bash
# dns_call.sh: the DNS part of bench/run: cached look-ups per second (bench_dns_lookup), and
# sipeer's CPU per call on a static route against a call that needs an uncached ENUM + SRV
# resolution from NSD on loopback; writes docs/performance.md between <!-- bench-dns:begin -->
# and <!-- bench-dns:end -->.
#
# Usage: bench/dns_call.sh [--quick]        (also: bench/run --dns; bench/run runs it last)
#   --quick or BENCH_QUICK=1   one round of 1,000 calls each and 0.3 s look-up runs
#   BENCH_DNS_ROUNDS=N         rounds of A B (static route, uncached ENUM); default 3
#   BENCH_DNS_CPS=N            the fixed call rate (default 200)
#   BENCH_DNS_CALLS=N          calls per run (default 3000)
#   BENCH_KEEP=1               keep the work directory (zones, configurations, SIPp logs)
#   BENCH_NO_DOCS=1            print the table only; leave docs/ alone
#
# Every ENUM call dials a number used by no other call, whose NAPTR points at a domain of its
# own, whose SRV names a host of its own: sipeer's cache never has any of the five answers
# (ENUM NAPTR, NAPTR of the domain, SRV, A, AAAA), and NSD's query counters check that.
# sipeer is started afresh for every run (an empty cache, no transactions of an earlier run
# expiring during this one). A benchmark, not a test: it asserts nothing, but it reports
# failed calls. Everything is on 127.0.3.x (the tests use 127.0.0.x, bench/run 127.0.1.x):
# sipeer 127.0.3.1:15060, SIPp UAC 127.0.3.2:15070, SIPp UAS 127.0.3.3:15090, NSD
# 127.0.3.4:15353.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=${BENCH_QUICK:-0}
[ "${1:-}" = "--quick" ] && quick=1

# ---- parameters -----------------------------------------------------------------------------
cps=${BENCH_DNS_CPS:-200}
if [ "$quick" = 1 ]; then
  rounds=${BENCH_DNS_ROUNDS:-1}; calls=${BENCH_DNS_CALLS:-1000}; lookup_s=0.3
else
  rounds=${BENCH_DNS_ROUNDS:-3}; calls=${BENCH_DNS_CALLS:-3000}; lookup_s=1
fi
hold_ms=100
# Numbers carry the round in two digits (99 is the set-up check) and the call in six.
[ "$rounds" -ge 1 ] && [ "$rounds" -le 98 ] && [ "$calls" -ge 1 ] && [ "$calls" -le 999999 ] ||
  { echo "bench-dns: 1-98 rounds of 1-999,999 calls" >&2; exit 2; }
srv_ip=127.0.3.1; srv_port=15060
uac_ip=127.0.3.2; uac_port=15070
uas_ip=127.0.3.3; uas_port=15090
dns_ip=127.0.3.4; dns_port=15353
enum_tree=e164.enumbench.test   # the private ENUM tree (enum.suffixes)
dom_zone=dnsbench.test          # the domains the ENUM answers name, their SRV and A records
buf=1048576
hz=$(getconf CLK_TCK)
scen=$root/bench/scenarios
rel=$root/build/release

work=$(mktemp -d /tmp/sipeer-bench-dns.XXXXXX)
results=$work/results.tsv
: >"$results"

# ---- process bookkeeping: everything started is stopped by its PID ---------------------------
pids=()             # SIPp wrapper subshells; their children are found with pgrep -P
srv_pid=""; nsd_pid=""
descendants() {     # every process below a PID, deepest last
  local c
  for c in $(pgrep -P "$1" || true); do echo "$c"; descendants "$c"; done
}
stop_tree() {       # TERM each PID and its descendants, KILL whatever is left after 5 s
  local p all=() waited=0
  for p in "$@"; do
    kill -0 "$p" 2>/dev/null || continue
    all+=("$p" $(descendants "$p"))
  done
  [ ${#all[@]} -gt 0 ] || return 0
  kill "${all[@]}" 2>/dev/null || true
  for p in "${all[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ $waited -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
  done
  for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  return 0
}
stop_nsd() {        # NSD's first process (xfrd) takes the others down with it on TERM
  local all p left=()
  all=($(descendants "$nsd_pid"))
  kill "$nsd_pid" 2>/dev/null || true
  wait "$nsd_pid" 2>/dev/null || true
  sleep 0.2
  # Its other processes are no longer our children: signal only those still running NSD
  # on this configuration (never a PID reused since).
  for p in "${all[@]}"; do
    grep -qF "$work/nsd/nsd.conf" "/proc/$p/cmdline" 2>/dev/null && left+=("$p")
  done
  [ ${#left[@]} -eq 0 ] || stop_tree "${left[@]}"
  nsd_pid=""
}
stop_server() {
  stop_tree "$srv_pid"
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=""
}
cleanup() {
  local rc=$?
  set +e
  [ -n "$srv_pid" ] && stop_server
  [ -n "$nsd_pid" ] && stop_nsd
  stop_tree "${pids[@]:-}"
  wait 2>/dev/null
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then echo "bench-dns: work files kept in $work" >&2
  else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget() {          # takes PIDs that have ended out of pids (no signal to a reused PID)
  local q p keep=()
  for q in "${pids[@]}"; do
    for p in "$@"; do [ "$q" = "$p" ] && continue 2; done
    keep+=("$q")
  done
  pids=("${keep[@]}")
}
log() { printf '%s bench-dns: %s\n' "$(date +%T)" "$*" >&2; }
port_busy() { [ -n "$(ss -Hauln "src $1:$2" 2>/dev/null)" ]; }
for a in "$srv_ip:$srv_port" "$uac_ip:$uac_port" "$uas_ip:$uas_port" "$dns_ip:$dns_port"; do
  port_busy "${a%:*}" "${a#*:}" && { echo "bench-dns: $a is in use (another run?)" >&2; exit 1; }
done
command -v nsd >/dev/null && command -v nsd-control >/dev/null && command -v sipp >/dev/null ||
  { echo "bench-dns: needs nsd and sipp (scripts/setup installs them)" >&2; exit 1; }

# ---- the release build ------------------------------------------------------------------------
[ -f "$rel/CMakeCache.txt" ] || cmake --preset release >/dev/null
cmake --build "$rel" -j "$(nproc)" --target sipeer sipeerctl bench_dns_lookup >/dev/null

# ---- cached look-ups: one core, no network ---------------------------------------------------
log "cached look-ups (bench_dns_lookup, 5 runs of $lookup_s s)"
out=$("$rel/bench_dns_lookup" "$lookup_s")
echo "$out" | sed 's/^/    /' >&2
# "lookups: median 9513826 lookup/s (105.1 ns/lookup), min 9437119, max 9545636; ..."
echo "$out" | awk '/^(lookups|decisions): median/ {
    gsub(/[,;:]/, ""); print 0 "\t" $1 "\t" $3 "\t" $8 "\t" $10 }' >>"$results"

# ---- the zones -------------------------------------------------------------------------------
# ENUM numbers +4791RRNNNNNN (round RR, call NNNNNN), and one more to check the set-up;
# static numbers +4790NNNNNN. In the ENUM tree each number has one NAPTR, "u" "E2U+sip" to
# sip:NUMBER@dNUMBER.dnsbench.test; dNUMBER has no NAPTR (NODATA), an _sip._udp SRV to
# uas.dNUMBER, whose A is the SIPp UAS (and no AAAA: NODATA).
enum_number() { printf '+4791%02d%06d' "$1" "$2"; }
check_number=$(enum_number 99 0)
mkdir -p "$work/nsd"
{
  echo "\$ORIGIN $enum_tree."
  echo "\$TTL 3600"
  echo "@ IN SOA ns.$dom_zone. hostmaster.$dom_zone. 1 3600 600 86400 3600"
  echo "@ IN NS ns.$dom_zone."
} >"$work/nsd/enum.zone"
{
  echo "\$ORIGIN $dom_zone."
  echo "\$TTL 3600"
  echo "@ IN SOA ns hostmaster 1 3600 600 86400 3600"
  echo "@ IN NS ns"
  echo "ns IN A $dns_ip"
} >"$work/nsd/dom.zone"
{ for r in $(seq "$rounds"); do seq -f "$r %g" 0 $((calls - 1)); done; echo "99 0"; } |
  awk -v tree="$work/nsd/enum.zone" -v dom="$work/nsd/dom.zone" -v zone="$dom_zone" \
      -v ip="$uas_ip" -v port="$uas_port" '{
    num = sprintf("4791%02d%06d", $1, $2)
    owner = ""
    for (i = length(num); i >= 1; i--) owner = owner substr(num, i, 1) (i > 1 ? "." : "")
    d = "d" num
    printf "%s IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^(.*)$!sip:\\\\1@%s.%s!\" .\n", owner, d, zone >> tree
    printf "_sip._udp.%s IN SRV 10 10 %d uas.%s\nuas.%s IN A %s\n", d, port, d, d, ip >> dom
  }'
cat >"$work/nsd/nsd.conf" <<CONF
server:
  ip-address: $dns_ip@$dns_port
  port: $dns_port
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$work/nsd"
  pidfile: "$work/nsd/nsd.pid"
  database: ""
  zonelistfile: "$work/nsd/zone.list"
  xfrdfile: "$work/nsd/xfrd.state"
  xfrdir: "$work/nsd"
  logfile: "$work/nsd/nsd.log"
  verbosity: 1
  # Response rate limiting is on by default: it would throttle the NODATA answers (all for
  # one zone, to one /24) at a few hundred per second, and the resolver would retry.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: yes
  control-interface: "$work/nsd/nsd.ctl"
zone:
  name: "$enum_tree"
  zonefile: "enum.zone"
zone:
  name: "$dom_zone"
  zonefile: "dom.zone"
CONF
nsd-checkzone "$enum_tree" "$work/nsd/enum.zone" >/dev/null
nsd-checkzone "$dom_zone" "$work/nsd/dom.zone" >/dev/null

nsd -d -c "$work/nsd/nsd.conf" 2>>"$work/nsd/nsd.log" &
nsd_pid=$!
for i in $(seq 100); do
  [ -S "$work/nsd/nsd.ctl" ] && port_busy "$dns_ip" "$dns_port" && break
  kill -0 "$nsd_pid" 2>/dev/null || break
  sleep 0.1
done
port_busy "$dns_ip" "$dns_port" || { echo "bench-dns: NSD did not start:" >&2; cat "$work/nsd/nsd.log" >&2; exit 1; }
nsd_ticks() {       # user + system of every NSD process (xfrd, main, server)
  local p t=0 v
  for p in "$nsd_pid" $(descendants "$nsd_pid"); do
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
nsd_queries() {     # questions NSD received so far (its own counter)
  { nsd-control -c "$work/nsd/nsd.conf" stats_noreset 2>/dev/null || true; } |
    awk -F= '$1 == "num.queries" { v = $2 } END { print v + 0 }'
}

# ---- sipeer ------------------------------------------------------------------------------------
cat >"$work/sipeer.yaml" <<CFG
listen:
  - udp://$srv_ip:$srv_port
store: sqlite:$work/sipeer.db
domains: [sipeer.test]
trusted: ["$uac_ip/32"]
log: { level: warn }
limits: { transactions: 1000000 }
routes:
  - match: { prefix: "+4790" }
    to: "sip:$uas_ip:$uas_port"
  - match: { prefix: "+4791" }
    to: enum
enum: { resolver: "$dns_ip:$dns_port", suffixes: [$enum_tree] }
CFG
# The set-up answers as it should: the route walk of the spare number, with sipeerctl's own
# resolver (sipeer's cache stays empty).
if ! "$rel/sipeerctl" -c "$work/sipeer.yaml" resolve "$check_number" >"$work/resolve.txt" 2>&1 ||
   ! grep -q "target 1: udp $uas_ip:$uas_port" "$work/resolve.txt"; then
  echo "bench-dns: the ENUM set-up does not resolve:" >&2; cat "$work/resolve.txt" >&2; exit 1
fi
log "NSD at $dns_ip:$dns_port, $((rounds * calls + 1)) ENUM numbers; $check_number resolves to $uas_ip:$uas_port"

start_server() {
  "$rel/sipeer" -c "$work/sipeer.yaml" 2>>"$work/server.log" &
  srv_pid=$!
  local i
  for i in $(seq 50); do
    port_busy "$srv_ip" "$srv_port" && break
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.1
  done
  port_busy "$srv_ip" "$srv_port" || { echo "bench-dns: sipeer did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
}
cpu_ticks() { sed 's/^.*) //' "/proc/$srv_pid/stat" | awk '{print $12 + $13}'; }
sys_ticks() { sed 's/^.*) //' "/proc/$srv_pid/stat" | awk '{print $13}'; }

# ---- SIPp ------------------------------------------------------------------------------------
stat_col() {        # a column of the last line of a SIPp statistics file, by name (0 if absent)
  [ -s "$1" ] || { echo 0; return; }
  awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
    END { v = (c ? $c : 0); sub(/^ +/, "", v); print (v == "" ? 0 : v) }' "$1"
}
us_per() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.1f", (n > 0 ? t / hz / n * 1e6 : 0) }'; }

# run_calls TAG CSV: CALLS calls at CPS from the injection file, one UAS, to completion; appends
# one line to results.tsv.
run_calls() {
  local tag=$1 csv=$2 d=$work/$1 to uas_w uac_w i
  mkdir -p "$d"
  to=$((calls / cps + 20))
  ( cd "$d" && exec sipp -sf "$scen/uas.xml" -i "$uas_ip" -p "$uas_port" -m "$calls" -nostdin \
      -buff_size $buf -trace_stat -stf uas.csv -fd 1 -timeout "${to}s" >/dev/null 2>&1 ) &
  uas_w=$!; pids+=("$uas_w")
  for i in $(seq 50); do port_busy "$uas_ip" "$uas_port" && break; sleep 0.05; done
  local q0 n0 t0 k0
  q0=$(nsd_queries); n0=$(nsd_ticks); t0=$(cpu_ticks); k0=$(sys_ticks)
  ( cd "$d" && sipp -sf "$scen/uac_dns.xml" -inf "$csv" "$srv_ip:$srv_port" -i "$uac_ip" \
      -p "$uac_port" -r "$cps" -rp 1000 -m "$calls" -l 2000 -d "$hold_ms" -nostdin -buff_size $buf \
      -trace_stat -stf uac.csv -fd 1 -trace_err -error_file uac.err \
      -trace_shortmsg -shortmessage_file uac.short -timeout "${to}s" -timeout_error \
      >/dev/null 2>&1 && echo 0 >uac.rc || echo $? >uac.rc ) &
  uac_w=$!; pids+=("$uac_w")
  wait "$uac_w" 2>/dev/null || true
  for i in $(seq 30); do kill -0 "$uas_w" 2>/dev/null || break; sleep 0.1; done
  stop_tree "$uas_w"; wait "$uas_w" 2>/dev/null || true
  forget "$uas_w" "$uac_w"
  local t1 k1 n1 q1 ok failed retr rc lat
  t1=$(cpu_ticks); k1=$(sys_ticks); n1=$(nsd_ticks); q1=$(nsd_queries)
  ok=$(stat_col "$d/uac.csv" "SuccessfulCall(C)")
  failed=$(stat_col "$d/uac.csv" "FailedCall(C)")
  [ $((calls - ok)) -gt "$failed" ] && failed=$((calls - ok))
  retr=$(($(stat_col "$d/uac.csv" "Retransmissions(C)") + $(stat_col "$d/uas.csv" "Retransmissions(C)")))
  rc=$(cat "$d/uac.rc" 2>/dev/null || echo "?")
  lat=$(python3 "$root/bench/latency.py" "$d/uac.short")
  rm -f "$d/uac.short"
  set -- ${lat:-nan nan nan nan nan nan 0}
  log "round $round $case: $ok calls at $cps/s, $failed failed (SIPp exit $rc), $retr retransmissions: sipeer $(us_per $((t1 - t0)) "$ok") us CPU per call ($(us_per $((k1 - k0)) "$ok") in the kernel); NSD $(us_per $((n1 - n0)) "$ok") us per call, $(awk -v q=$((q1 - q0)) -v n="$ok" 'BEGIN { printf "%.2f", n ? q / n : 0 }') questions per call; INVITE->200 p50 $4 us, p99 $5 us"
  [ "$failed" -eq 0 ] && [ "$rc" = 0 ] || log "round $round $case: FAILED CALLS: see $d/uac.err (the work directory is kept)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$case" \
    "$(us_per $((t1 - t0)) "$ok")" "$(us_per $((k1 - k0)) "$ok")" "$ok" "$failed" "$retr" "$rc" \
    "$(us_per $((n1 - n0)) "$ok")" "$((q1 - q0))" "$1" "$4" "$5" >>"$results"
  [ "$failed" -eq 0 ] && [ "$rc" = 0 ]
}

# ---- the run: static, ENUM, alternating --------------------------------------------------------
log "work directory $work; $rounds round(s) of $calls calls at $cps/s, static route and uncached ENUM + SRV"
{ echo SEQUENTIAL; seq -f '+479%07g;' 0 $((calls - 1)); } >"$work/static.csv"
bad=0
for round in $(seq "$rounds"); do
  { echo SEQUENTIAL; seq -f "$(enum_number "$round" 0 | cut -c1-7)%06g;" 0 $((calls - 1)); } \
    >"$work/enum-$round.csv"
  for case in static enum; do
    start_server
    csv=$work/static.csv; [ "$case" = enum ] && csv=$work/enum-$round.csv
    run_calls "$case-$round" "$csv" || bad=1
    stop_server
  done
done

# ---- the report --------------------------------------------------------------------------------
version() { "$@" 2>&1 || true; }
args=(--machine "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores"
      --sipeer "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified)')"
      --nsd "$(version nsd -v | awk 'NR == 1 {print $3}')"
      --params "rounds=$rounds cps=$cps calls=$calls hold_ms=$hold_ms lookup_s=$lookup_s quick=$quick")
if [ "${BENCH_NO_DOCS:-0}" = 1 ] || [ "$bad" = 1 ]; then
  python3 bench/dns_report.py "${args[@]}" "$results"
  [ "$bad" = 1 ] && { echo "bench-dns: calls failed: docs/ left alone" >&2; exit 1; }
else
  python3 bench/dns_report.py "${args[@]}" --doc docs/performance.md "$results"
fi
mkdir -p build && cp "$results" build/bench-dns-results.tsv
