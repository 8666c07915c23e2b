#!/usr/bin/env bash
# sip_load.sh: sipeer under SIPp load on loopback: CPU per proxied call (INVITE, 100, 180,
# 200, ACK, BYE, 200 with Record-Route) and per authenticated registration (REGISTER, 401,
# REGISTER, 200 with the binding made durable in SQLite), from /proc of the sipeer process.
# A benchmark, not a test: it prints figures and asserts nothing but zero failed calls.
# Usage: bench/sip_load.sh [CALLS_PER_SECOND] [CALLS] [REGISTERS_PER_SECOND] [REGISTERS]
set -u
cd "$(dirname "$0")/.."
rate=${1:-500}; calls=${2:-10000}; rrate=${3:-200}; regs=${4:-4000}
bin=build/release/sipeer
scen=tests/integration/scenarios
tmp=$(mktemp -d /tmp/sipeer-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, in clock ticks
# The cumulative FailedCall column of a SIPp statistics file.
failed_calls() {
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "FailedCall(C)") c = i }
             END { print (c ? $c : "?") }' "$1"
}
hz=$(getconf CLK_TCK)

cat > "$tmp/sipeer.yaml" <<CFG
listen:
  - udp://127.0.0.1:5060
store: sqlite:$tmp/sipeer.db
domains: [sipeer.test]
trusted: ["127.0.0.1/32"]
log: { level: warn }
users:
  - { user: alice, password: alice-secret }
registrar: { min_expires: 60, max_bindings: 64 }
routes:
  - match: { prefix: "+4722" }
    to: "sip:127.0.0.1:5090"
CFG
"$bin" -c "$tmp/sipeer.yaml" 2>"$tmp/sipeer.log" &
sp=$!; pids+=("$sp")
sleep 0.5
kill -0 "$sp" || { echo "sipeer did not start"; cat "$tmp/sipeer.log"; exit 1; }

# Calls.
sipp -sf "$scen/uas.xml" -i 127.0.0.1 -p 5090 -nostdin -timeout 300s >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
t0=$(ticks "$sp"); s0=$(date +%s.%N)
timeout 300 sipp -sf "$scen/uac.xml" -s +4722000002 127.0.0.1:5060 -i 127.0.0.1 -p 5070 \
  -r "$rate" -m "$calls" -l $((rate * 4)) -nostdin -trace_stat -stf "$tmp/uac.csv" >/dev/null 2>&1
rc=$?
t1=$(ticks "$sp"); s1=$(date +%s.%N)
failed=$(failed_calls "$tmp/uac.csv")
awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$calls" -v r="$rate" -v f="$failed" -v rc="$rc" \
  -v s0="$s0" -v s1="$s1" 'BEGIN { w = s1 - s0
  printf "calls: %d at %d/s, %s failed (sipp exit %d), %.2f s sipeer CPU in %.1f s: %.1f us CPU per call\n",
    n, r, f, rc, t / hz, w, t / hz / n * 1e6 }'

# Authenticated registrations (one AoR, one contact per registration, rotating).
t0=$(ticks "$sp")
timeout 300 sipp -sf <(sed 's/"WANT"/"200"/' "$scen/reg.xml") -s alice -au alice -ap alice-secret \
  -set contact '127.0.0.1:5091' -set expires 3600 127.0.0.1:5060 -i 127.0.0.1 -p 5072 \
  -r "$rrate" -m "$regs" -nostdin -trace_stat -stf "$tmp/reg.csv" >/dev/null 2>&1
rc=$?
t1=$(ticks "$sp")
failed=$(failed_calls "$tmp/reg.csv")
awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$regs" -v r="$rrate" -v f="$failed" -v rc="$rc" 'BEGIN {
  printf "registrations: %d at %d/s, %s failed (sipp exit %d), %.2f s sipeer CPU: %.1f us CPU per registration\n",
    n, r, f, rc, t / hz, t / hz / n * 1e6 }'
