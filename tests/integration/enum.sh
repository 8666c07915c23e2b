#!/usr/bin/env bash
# enum.sh: the LUF and LRF on real DNS. An authoritative NSD on 127.0.0.30:5353 serves the
# zones of tests/integration/dns/: a public ENUM tree (e164.arpa), the private tree of
# federation "nordic" (e164.nordic.test), the SIP domains under "test." (NAPTR, SRV, A) and
# ttl.test (an A record that lives 2 s; the check shows that new data is used once the TTL
# has passed, not that the cache holds the old one before). Provider A (sipeer, ssp-a.test, udp and tcp
# 127.0.0.31:5060) is a member of nordic and routes E.164 numbers by ENUM, everything else by
# RFC 3263. A phone on 127.0.0.40 (SIPp, a trusted source of A) places one call at a time;
# SIPp callees listen on the addresses the zones name, and each call must land on the one
# the DNS data says (found by Call-ID in the callees' message logs) and be answered:
#   +4731000001   in both trees            -> the private tree's sip:alice@priv.test (.32)
#   +4731000002   only in the public tree  -> sip:bob@pub.test (.33)
#   +4731000006   only in the public tree  -> sip:carol@pub.test (.33), located from the cache
#   +4731000001   again: NAPTR and location all from the cache
#   +4731000003   h323/mailto/tel rules, orders 10/20/30 -> order 20, preference 10: multi.test (.46)
#   +4731000004   non-terminal rule        -> rules.follow.test -> sip:nt@follow.test (.47)
#   +4731000005   !^\+47(..)(.*)$!sip:\2@n\1.test! -> sip:000005@n31.test (.48)
#   +4739999999   in no tree               -> 404
#   sip:carol@c.test   SRV 10/60, 10/40, 30/0  -> .36 or .37, never the priority-30 .49
#   sip:dave@tcp.test  NAPTR SIP+D2T (order 10) before SIP+D2U -> TCP .39:5070, not UDP .38
#   sip:dave@tcp.test:5060  an explicit port skips NAPTR and SRV -> tcp.test's A, UDP .38:5060
#   sip:erin@aonly.test  only an A record  -> UDP .43:5060
#   sip:fred@ttl.test  A 127.0.0.44 (TTL 2 s), rewritten to .45 and reloaded -> .44, then .45
#   +4732000001   a fixed route to sip:b.test (a name) -> b.test's SRV, priority 10 (.34)
#   +4733000001   peer ssp-d's number range; its host sip2.b.test is a name -> .35
#   sip:gina@aonly.test:5062  a callee whose Contact is sip:phone@ct.test: the caller's ACK
#                 and BYE reach it through A (ct.test located; the ACK waits for it)
#   sip:bob@b.test     SRV priority 10 (.34), 20 (.35) -> .34; with .34's callee stopped -> .35
# DNS-found hosts are outside the trust domain: the callee gets no P-Asserted-Identity.
# Provider S (127.0.0.41) asks a resolver that never answers (127.0.0.42:5353, a black hole):
# its INVITE gets 503 within 6 s, and S still answers OPTIONS.
# sipeerctl resolve (A's configuration) shows the private-tree target of +4731000001, the
# SRV order of b.test, and fails for the number in no tree.
# A provider that dies is reported with its sanitizer report and started again, so that one
# crash does not hide the later checks.
. "$(dirname "$0")/lib.sh"
[ -n "$it_nsd_bin" ] || { echo "SKIP $it_name: nsd not installed (scripts/setup installs it)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP $it_name: python3 not installed"; exit 77; }
ctl=${SIPEER_BIN%/sipeer}/sipeerctl

NSD=127.0.0.30 A=127.0.0.31 UAC=127.0.0.40 S=127.0.0.41 HOLE=127.0.0.42
zones="$it_src/tests/integration/dns"

# ---- the callees: one SIPp per landing address, for the whole test ----
declare -A uas_pid=() uas_addr=()
uas_names=()
# uas_start NAME ADDRESS PORT [tcp|udp [SCENARIO]]: answers every INVITE (180, 200), takes
# ACK and BYE; what it receives goes to $it_tmp/uas-NAME.msg.
uas_start() {
  local t=u1
  [ "${4:-}" = tcp ] && t=t1
  sipp -sf "$it_scen/${5:-peer_uas}.xml" -t $t -i "$2" -p "$3" -timeout 180s -nostdin \
    -trace_msg -message_file "$it_tmp/uas-$1.msg" -trace_err -error_file "$it_tmp/uas-$1.err" \
    >"$it_tmp/uas-$1.out" 2>&1 &
  uas_pid[$1]=$!
  uas_addr[$1]=$2:$3
  uas_names+=("$1")
  it_pids+=("$!")
}
# uas_stop NAME: stops that callee (by PID) and waits until it is gone (at most 5 s).
uas_stop() {
  local pid=${uas_pid[$1]}
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  uas_pid[$1]=
}
# landed CHECK: the callees (NAME@ADDRESS:PORT) whose log shows the Call-ID of CHECK's call.
landed() {
  local n out=
  for n in "${uas_names[@]}"; do
    grep -qiE "^(Call-ID|i): *$1-" "$it_tmp/uas-$n.msg" 2>/dev/null && out="$out $n@${uas_addr[$n]}"
  done
  echo "${out# }"
}
# uas_invite NAME CHECK: the start line and headers of the INVITE of CHECK's call that
# callee NAME received.
uas_invite() {
  awk -v cid="$2-" '
    function flush() { if (inv && found) { printf "%s", blk; done = 1; exit } }
    /^----------------------------------------------- / { flush(); blk = ""; st = 0; inv = 0; found = 0; next }
    / message received / { st = 1; next }
    { sub(/\r$/, "") }
    st == 1 && blk == "" && $0 == "" { next }
    st == 1 {
      if ($0 == "") { st = 2; next }
      if (blk == "") inv = (index($0, "INVITE ") == 1)
      blk = blk $0 "\n"
      if (tolower($0) ~ /^(call-id|i):/ && index($0, cid)) found = 1
    }
    END { if (!done) flush() }' "$it_tmp/uas-$1.msg" 2>/dev/null
}

# ---- the caller ----
uac_port=5100
a_mark=0
# crash_report NODE: the sanitizer's first lines about the last crash in NODE's log.
crash_report() {
  awk '/^==[0-9]+==ERROR: / { on = 1; n = 0 } on && (/ERROR:|^READ|^WRITE|#[0-9] / || /^(freed|previously)/) && n++ < 16' \
    "$it_tmp/$1.log" 2>/dev/null | cut -c1-160 | sed 's/^/  | /'
}
# ensure_up NODE: when the provider died, that is a failure (with the sanitizer's report),
# and it is started again on the same configuration so that the later checks still tell
# something.
declare -A crash_told=()
ensure_up() {
  kill -0 "${it_named_pid[$1]}" 2>/dev/null && return 0
  if [ -z "${crash_told[$1]:-}" ]; then
    it_fail "provider $1 died during an earlier check"
    crash_report "$1"
  fi
  crash_told[$1]=
  echo "  (restarting provider $1)"
  it_start_named "$1" "${it_named_probe[$1]}" "$(cat "$it_tmp/$1.yaml")" || it_fail "provider $1 did not restart"
}
# call CHECK SERVICE DOMAIN STATUS [NODE-ADDRESS]: the phone on $UAC calls sip:SERVICE@DOMAIN
# through A (or NODE-ADDRESS:5060); the call must end with STATUS (200: answered, ACK, BYE
# and its 200). The Call-ID starts with CHECK-. Returns SIPp's exit status.
call() {
  local check=$1 scen=$it_scen/peer_uac.xml
  [ "$4" = 200 ] || scen=$(it_scenario peer_uac_final "$4")
  if [ "${5:-$A}" = "$S" ]; then ensure_up S; else ensure_up A; fi
  uac_port=$((uac_port + 1))
  a_mark=$(wc -l <"$it_tmp/A.log" 2>/dev/null || echo 0)
  timeout 20 sipp -sf "$scen" -s "$2" -set dom "$3" -set from caller@ssp-a.test "${5:-$A}:5060" \
    -i $UAC -p $uac_port -m 1 -timeout 10s -timeout_error -nostdin -cid_str "$check-%u-%p" \
    -trace_err -error_file "$it_tmp/uac-$check.err" -trace_msg -message_file "$it_tmp/uac-$check.msg" \
    >"$it_tmp/uac-$check.out" 2>&1
}
# call_fail CHECK MESSAGE [NODE]: a failed check, with what the caller got, where the call
# landed and what the node (default A) logged during the call.
call_fail() {
  local node=${3:-A} from
  it_fail "$2"
  if ! kill -0 "${it_named_pid[$node]}" 2>/dev/null; then
    echo "  | provider $node DIED during this call:"
    crash_report "$node"
    crash_told[$node]=1
  fi
  echo "  | caller's answers: $(grep -ohE '^SIP/2.0 [0-9]{3}.*' "$it_tmp/uac-$1.msg" 2>/dev/null | tr -d '\r' | sort -u | tr '\n' ';')"
  echo "  | landed on: $(landed "$1")"
  [ -s "$it_tmp/uac-$1.err" ] && grep -v "^The following events" "$it_tmp/uac-$1.err" | head -n 2 | cut -c1-200 | sed 's/^/  | sipp: /'
  from=$((a_mark + 1))
  [ "$node" = A ] || from=1
  echo "  ---- $node.log during the call:"
  tail -n +"$from" "$it_tmp/$node.log" 2>/dev/null | awk '/^==[0-9]+==ERROR: /{exit} NF' | tail -n 15 |
    cut -c1-220 | sed 's/^/  | /'
}
# check_call CHECK SERVICE DOMAIN DESCRIPTION WANT...: a call that must be answered by
# exactly one callee, one of the WANT names. Returns 0 when it was.
check_call() {
  local check=$1 svc=$2 dom=$3 desc=$4 rc got w t0; shift 4
  t0=$(date +%s%N)
  call "$check" "$svc" "$dom" 200; rc=$?
  got=$(landed "$check")
  if [ $rc -eq 0 ]; then
    for w in "$@"; do
      if [ "${got%%@*}" = "$w" ] && [ "$got" = "$w@${uas_addr[$w]}" ]; then
        it_ok "$desc: answered on ${uas_addr[$w]} ($((($(date +%s%N) - t0) / 1000000)) ms)"
        return 0
      fi
    done
  fi
  call_fail "$check" "$desc: caller's sipp exit $rc, landed on '${got:-nowhere}', wanted $(for w in "$@"; do printf '%s ' "${uas_addr[$w]}"; done)"
  return 1
}

# ---- NSD and the zones ----
it_wait_free $NSD $A 127.0.0.32 127.0.0.33 127.0.0.34 127.0.0.35 127.0.0.36 127.0.0.37 \
  127.0.0.38 127.0.0.39 $UAC $S $HOLE 127.0.0.43 127.0.0.44 127.0.0.45 127.0.0.46 127.0.0.47 \
  127.0.0.48 127.0.0.49 || { it_fail "127.0.0.30-49 are in use by other processes (see above)"; exit 1; }
if ! it_nsd_start "$it_tmp/nsd" $NSD 5353 "$zones/test.zone" "$zones/e164.arpa.zone" \
    "$zones/e164.nordic.test.zone" "$zones/ttl.test.zone"; then
  it_fail "NSD did not start on $NSD:5353"; tail -n 20 "$it_tmp/nsd/nsd.log"; exit 1
fi
# What the checks below rely on, asked of NSD with dnsq.py (one process): NAME TYPE REGEX
# (grep -E, on the lines of that answer).
zone_bad=0 zone_n=0
cat >"$it_tmp/zone-checks.txt" <<'EOF'
+4731000001@e164.nordic.test NAPTR  "!\^\.\*\$!sip:alice@priv\.test!"
+4731000001@e164.arpa NAPTR         "!\^\.\*\$!sip:alice@pub\.test!"
+4731000002@e164.nordic.test NAPTR  ^rcode NXDOMAIN aa
+4731000002@e164.arpa NAPTR         sip:bob@pub\.test
+4731000006@e164.arpa NAPTR         sip:carol@pub\.test
+4731000003@e164.nordic.test NAPTR  ^[^ ]+ 300 NAPTR 20 10 "u" "E2U\+sip" "!\^\.\*\$!sip:multi@multi\.test!"
+4731000004@e164.nordic.test NAPTR  NAPTR 10 10 "" "E2U\+sip" "" rules\.follow\.test\.$
rules.follow.test NAPTR             sip:nt@follow\.test
+4731000005@e164.arpa NAPTR         "!\^\\\\\+47\(\.\.\)\(\.\*\)\$!sip:\\\\2@n\\\\1\.test!"
+4739999999@e164.nordic.test NAPTR  ^rcode NXDOMAIN aa
+4739999999@e164.arpa NAPTR         ^rcode NXDOMAIN aa
_sip._udp.b.test SRV                SRV 10 0 5060 sip1\.b\.test\.$
_sip._udp.c.test SRV                SRV 30 0 5060 sip3\.c\.test\.$
tcp.test NAPTR                      NAPTR 10 10 "s" "SIP\+D2T" "" _sip\._tcp\.tcp\.test\.$
_sip._tcp.tcp.test SRV              SRV 10 0 5070 sip\.tcp\.test\.$
sip.tcp.test A                      A 127\.0\.0\.39$
tcp.test A                          A 127\.0\.0\.38$
aonly.test SRV                      ^authority: test\. [0-9]+ SOA
aonly.test A                        A 127\.0\.0\.43$
ttl.test A                          ^ttl\.test\. 2 A 127\.0\.0\.44$
n31.test A                          A 127\.0\.0\.48$
ssp-a.test NAPTR                    ^rcode NXDOMAIN aa
EOF
it_dnsq --batch <"$it_tmp/zone-checks.txt" >"$it_tmp/zone-answers.txt" 2>&1
while read -r name type re; do
  [ -n "$name" ] || continue
  zone_n=$((zone_n + 1))
  out=$(awk -v h="; $name $type" '$0 == h { on = 1; next } /^; / { on = 0 } on' "$it_tmp/zone-answers.txt")
  grep -qE "$re" <<<"$out" || {
    zone_bad=$((zone_bad + 1))
    it_fail "NSD: $name $type does not match /$re/:"; sed 's/^/  | /' <<<"${out:-(no answer)}"
  }
done <"$it_tmp/zone-checks.txt"
[ $zone_bad -eq 0 ] && it_ok "NSD on $NSD:5353 serves the test zones (dnsq.py: $zone_n answers as expected)"

# ---- callees, the black hole, the providers ----
uas_start priv 127.0.0.32 5060
uas_start pub 127.0.0.33 5060
uas_start b1 127.0.0.34 5060
uas_start b2 127.0.0.35 5060
uas_start c1 127.0.0.36 5060
uas_start c2 127.0.0.37 5060
uas_start c3 127.0.0.49 5060
uas_start tcpudp 127.0.0.38 5060
uas_start tcp 127.0.0.39 5070 tcp
uas_start aonly 127.0.0.43 5060
uas_start ttl1 127.0.0.44 5060
uas_start ttl2 127.0.0.45 5060
uas_start multi 127.0.0.46 5060
uas_start follow 127.0.0.47 5060
uas_start n31 127.0.0.48 5060
uas_start named 127.0.0.43 5062 udp named_uas
it_dns_blackhole $HOLE 5353 170 || it_fail "the DNS black hole did not bind $HOLE:5353"

it_launch_named A "$A:5060" "
listen:
  - udp://$A:5060
  - tcp://$A:5060
store: sqlite:$it_tmp/a.db
domains: [ssp-a.test]
trusted: [\"$UAC/32\"]
numbering: { country_code: \"47\", national_prefix: \"0\", international_prefix: \"00\" }
log: { level: debug }
routes:
  - match: { prefix: \"+4732\" }
    to: \"sip:b.test\"
  - match: { prefix: \"+\" }
    to: enum
  - match: { any: true }
    to: dns
peers:
  - name: ssp-d
    numbers: [\"+4733\"]
    hosts: [\"sip:sip2.b.test\"]
federations:
  - name: nordic
    enum: [e164.nordic.test]
enum: { resolver: \"$NSD:5353\", suffixes: [e164.arpa], timeout_ms: 800 }
control: { listen: \"$A:8090\" }
"
it_launch_named S "$S:5060" "
listen:
  - udp://$S:5060
store: sqlite:$it_tmp/s.db
domains: [ssp-s.test]
trusted: [\"$UAC/32\"]
numbering: { country_code: \"47\", national_prefix: \"0\", international_prefix: \"00\" }
log: { level: debug }
routes:
  - match: { prefix: \"+\" }
    to: enum
enum: { resolver: \"$HOLE:5353\", suffixes: [e164.arpa], timeout_ms: 800 }
"
for n in A S; do
  it_wait_named $n || { it_fail "provider $n did not start"; exit 1; }
done
# Every callee is listening.
for _ in $(seq 50); do
  missing=
  for n in "${uas_names[@]}"; do
    a=${uas_addr[$n]}
    ss -Hlnu "src $a" 2>/dev/null | grep -q . || ss -Hlnt "src $a" 2>/dev/null | grep -q . || missing="$missing $n"
  done
  [ -z "$missing" ] && break
  sleep 0.1
done
[ -z "$missing" ] && it_ok "providers A ($A) and S ($S) and ${#uas_names[@]} callees started" \
  || { it_fail "callees not listening:$missing"; cat "$it_tmp/uas-${missing# }.out" | head -n 5; }

# ---- sipeerctl resolve (before any failure is remembered) ----
out=$(timeout 15 "$ctl" -c "$it_tmp/A.yaml" resolve +4731000001 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -qE '^\s*target 1: udp 127\.0\.0\.32:5060\b' <<<"$out" && grep -q 'e164\.nordic\.test' <<<"$out"; then
  it_ok "sipeerctl resolve +4731000001: target 1 udp 127.0.0.32:5060, through e164.nordic.test"
else
  it_fail "sipeerctl resolve +4731000001 (exit $rc; want 'target 1: udp 127.0.0.32:5060' and e164.nordic.test):"
  head -n 20 <<<"$out" | sed 's/^/  | /'
fi
out=$(timeout 15 "$ctl" -c "$it_tmp/A.yaml" resolve sip:bob@b.test 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -qE '^\s*target 1: udp 127\.0\.0\.34:5060\b' <<<"$out" \
   && grep -qE '^\s*target 2: udp 127\.0\.0\.35:5060\b' <<<"$out"; then
  it_ok "sipeerctl resolve sip:bob@b.test: target 1 udp 127.0.0.34:5060, target 2 udp 127.0.0.35:5060 (SRV priority)"
else
  it_fail "sipeerctl resolve sip:bob@b.test (exit $rc; want target 1 .34, target 2 .35):"
  head -n 20 <<<"$out" | sed 's/^/  | /'
fi
out=$(timeout 15 "$ctl" -c "$it_tmp/A.yaml" resolve +4739999999 2>&1); rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && ! grep -qi "usage" <<<"$out"; then
  it_ok "sipeerctl resolve +4739999999 (in no tree) exits $rc"
else
  it_fail "sipeerctl resolve +4739999999 (in no tree) exits $rc (non-zero expected, in time, not a usage error):"
  head -n 10 <<<"$out" | sed 's/^/  | /'
fi

# ---- ENUM ----
if check_call both +4731000001 ssp-a.test \
  "+4731000001 is in both trees: the private tree e164.nordic.test wins (sip:alice@priv.test)" priv; then
  inv=$(uas_invite priv both)
  if grep -qi '^P-Asserted-Identity:' <<<"$inv"; then
    it_fail "a host found through ENUM got P-Asserted-Identity: $(grep -i '^P-Asserted-Identity:' <<<"$inv")"
  else
    it_ok "a host found through ENUM gets no P-Asserted-Identity (outside the trust domain)"
  fi
fi
check_call public +4731000002 ssp-a.test \
  "+4731000002 only in the public tree e164.arpa: sip:bob@pub.test" pub
# A new number whose answer names a domain located a moment ago (pub.test): the ENUM answer
# comes from DNS, the location of its URI from the cache.
check_call cached +4731000006 ssp-a.test \
  "+4731000006 (public tree) -> sip:carol@pub.test, pub.test's location from the cache" pub
# The same number again: every answer from the cache.
check_call again +4731000001 ssp-a.test \
  "+4731000001 again (NAPTR and location from the cache): still the private tree's answer" priv
check_call multi +4731000003 ssp-a.test \
  "+4731000003, NAPTRs h323/mailto/tel in order 10, E2U+sip in 20 and 30: order 20, preference 10 (multi.test)" multi
check_call nonterm +4731000004 ssp-a.test \
  "+4731000004: the non-terminal rule is followed to rules.follow.test (sip:nt@follow.test)" follow
if check_call backref +4731000005 ssp-a.test \
  "+4731000005, regexp !^\\+47(..)(.*)\$!sip:\\2@n\\1.test!: lands on n31.test" n31; then
  ruri=$(uas_invite n31 backref | head -n 1)
  grep -qE '^INVITE sip:000005@n31\.test[; ]' <<<"$ruri" \
    && it_ok "the back-references made the Request-URI sip:000005@n31.test" \
    || it_fail "Request-URI after the substitution: '$ruri' (sip:000005@n31.test expected)"
fi
if call none +4739999999 ssp-a.test 404; then
  got=$(landed none)
  [ -z "$got" ] && it_ok "+4739999999 is in no tree, nothing else found: 404" \
    || call_fail none "+4739999999 got its 404 but an INVITE reached $got"
else
  call_fail none "+4739999999 (in no tree): 404 expected"
fi

# ---- RFC 3263 ----
check_call weights carol c.test \
  "sip:carol@c.test: SRV priority 10 (weights 60/40), never the priority-30 host" c1 c2
check_call tcp dave tcp.test \
  "sip:dave@tcp.test: NAPTR SIP+D2T (order 10) -> _sip._tcp SRV -> TCP 127.0.0.39:5070" tcp
check_call port dave tcp.test:5060 \
  "sip:dave@tcp.test:5060: an explicit port skips NAPTR and SRV: tcp.test's A record, UDP" tcpudp
check_call aonly erin aonly.test \
  "sip:erin@aonly.test: no NAPTR, no SRV: A record, UDP port 5060" aonly

# TTL: the A record of ttl.test lives 2 s; after it changes in DNS, the next call follows.
if check_call ttl1 fred ttl.test "sip:fred@ttl.test: A 127.0.0.44 (TTL 2 s)" ttl1; then
  t_end=$(date +%s%N)
  sed -i -e 's/127\.0\.0\.44/127.0.0.45/' -e 's/ 1 3600 600 86400 2/ 2 3600 600 86400 2/' \
    "$(it_nsd_zone ttl.test)"
  it_nsd_reload
  if it_nsd_wait 5 ttl.test A '^ttl\.test\. 2 A 127\.0\.0\.45$'; then
    wait_ms=$((2500 - ($(date +%s%N) - t_end) / 1000000))
    [ $wait_ms -gt 0 ] && sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
    check_call ttl2 fred ttl.test \
      "sip:fred@ttl.test after its A record changed to 127.0.0.45 and the 2 s TTL passed" ttl2
  else
    it_fail "NSD did not serve the rewritten ttl.test (SIGHUP)"; tail -n 5 "$it_tmp/nsd/nsd.log"
  fi
fi

# Names where addresses usually are: a fixed route, a peer's host, a callee's Contact.
check_call fixedname +4732000001 ssp-a.test \
  "route to sip:b.test (a fixed next hop given by name): its SRV, priority 10" b1
check_call peername +4733000001 ssp-a.test \
  "peer ssp-d's number range, its host given by name (sip2.b.test): its A record" b2
check_call contact gina aonly.test:5062 \
  "a callee whose Contact names a host (ct.test): the ACK and the BYE through A reach it" named
if grep -q "^ACK sip:phone@ct.test" "$it_tmp/uas-named.msg" && grep -q "^BYE sip:phone@ct.test" "$it_tmp/uas-named.msg"; then
  it_ok "the callee got the caller's ACK and BYE at sip:phone@ct.test"
else
  it_fail "the callee with a named Contact did not get ACK and BYE at it"
fi

# SRV priority and failover (last: a failed host is tried last for about 30 s).
if check_call srv1 bob b.test "sip:bob@b.test: SRV priority 10 (127.0.0.34)" b1; then
  uas_stop b1
  check_call srv2 bob b.test \
    "sip:bob@b.test with nothing listening on the priority-10 host: failover to priority 20" b2
fi

# ---- a resolver that never answers ----
t0=$(date +%s%N)
call hole +4731000001 ssp-s.test 503 $S; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
asked=$(grep -c "^udp query\|^tcp connection" "$it_tmp/blackhole-$HOLE.log")
if [ $rc -eq 0 ] && [ $ms -lt 6000 ] && [ "$asked" -gt 0 ]; then
  it_ok "S's resolver never answers ($asked queries swallowed): 503 after $ms ms"
else
  call_fail hole "S's resolver never answers: sipp exit $rc after $ms ms, $asked queries reached the black hole (503 within 6 s after asking expected)" S
fi
it_alive_named S && it_ok "S still answers OPTIONS" || it_fail "S stopped answering OPTIONS"

# ---- the end ----
ensure_up A
it_alive_named A || it_fail "A stopped answering"
for n in A S; do kill -TERM "${it_named_pid[$n]}" 2>/dev/null; done
for n in A S; do
  it_stop_named $n
  [ "$it_stop_rc" -eq 0 ] || it_fail "provider $n exited with $it_stop_rc on SIGTERM"
  grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/$n.log" && it_fail "sanitizer report in $n.log"
done
for n in "${uas_names[@]}"; do
  [ -s "$it_tmp/uas-$n.err" ] && grep -qv "^The following events\|^$" "$it_tmp/uas-$n.err" && {
    echo "  (callee $n logged errors:)"; grep -v "^The following events" "$it_tmp/uas-$n.err" | head -n 3 | cut -c1-200 | sed 's/^/  | /'
  }
done
if [ "$it_failed" -ne 0 ]; then
  echo "---- nsd log (last 10 lines) ----"; tail -n 10 "$it_tmp/nsd/nsd.log"
fi
it_nsd_stop
echo "($it_name: $SECONDS s)"
it_done
