#!/usr/bin/env bash
# peering.sh: providers interconnected by sipeer border elements over mutual TLS, each a real
# sipeer (own configuration, SQLite store and log) on its own loopback address:
#   A = ssp-a.test on 127.0.0.2 (alice, +4721000001), B = ssp-b.test on 127.0.0.3 (bob,
#   +4722000001), C = ssp-c.test on 127.0.0.4 (carol, +4723000001); access on udp :5060,
#   peering on tls :5061 (B also on udp and tcp :5062 for the admission checks).
# The users' phones are SIPp: alice on 127.0.0.5, bob on 127.0.0.7, carol on 127.0.0.8. Each
# phone is a `trusted` source of its provider (so it is not challenged, and the
# P-Asserted-Identity it sends is kept); phones register with digest all the same, so they
# can be called. 127.0.0.6 is a peer host where nothing listens (failover); 127.0.0.9 is a
# stranger, and a capture peer "ssp-t" of A (siptool.py) that records what a peer receives.
# Certificates are made at test time (examples/federation/make-certs.sh): a federation CA
# "nordic", node certificates sbe.ssp-{a,b,c,t}.test, and a rogue CA whose certificate also
# claims sbe.ssp-b.test.
# Checks: calls by E.164 number, national number and SIP URI in both directions, hang-up
# from either side, MESSAGE, SUBSCRIBE/NOTIFY; the Request-URI, client certificate, source
# address and topology hiding of what a peer receives; P-Asserted-Identity only when both
# sides trust each other (variants by SIGHUP reload); admission (stranger, wrong CA, no
# certificate, plain UDP/TCP where TLS is required, no open relay); on-demand peering;
# failover to the second host; one TLS connection A->B reused; refusals counted; one call
# record per call attempt with the right peers, federation, status and duration (sipeerctl
# cdr); transit A->B->C (SIPEER_IT_TRANSIT=0 skips it).
# A failure shows what the providers involved logged during that check.
. "$(dirname "$0")/lib.sh"
for tool in openssl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP $it_name: $tool not installed"; exit 77; }
done

A=127.0.0.2 B=127.0.0.3 C=127.0.0.4 ALICE=127.0.0.5 DEAD=127.0.0.6 BOB=127.0.0.7
CAROL=127.0.0.8 OUT=127.0.0.9
pki="$it_tmp/pki"
siptool=(python3 "$it_src/tests/integration/siptool.py")
transit=${SIPEER_IT_TRANSIT:-1}
hosts_b="\"sip:$B:5061;transport=tls\""
hosts_b_failover="\"sip:$DEAD:5061;transport=tls\", \"sip:$B:5061;transport=tls\""

# p_mark: remembers where each provider's log ends, so that a failure shows what the
# providers logged since (the lines about the failed check).
declare -A p_mark_at=()
p_mark() {
  local n
  for n in A B C; do p_mark_at[$n]=$(cat "$it_tmp/$n.log" 2>/dev/null | wc -l); done
}
# p_fail MESSAGE NODE...: a failed check, with the lines in $p_detail (then cleared) and what
# the providers involved logged since p_mark (at most 14 lines each).
p_detail=
p_fail() {
  local msg=$1 n from; shift
  it_fail "$msg"
  [ -z "$p_detail" ] || sed 's/^/  | /' <<<"$p_detail"
  p_detail=
  for n in "$@"; do
    from=$((${p_mark_at[$n]:-0} + 1))
    echo "  ---- $n.log since the check began:"
    tail -n +"$from" "$it_tmp/$n.log" 2>/dev/null | tail -n 14 | cut -c1-220 | sed 's/^/  | /'
  done
}

# ---- configurations ----
# cfg_a TRUST-OF-B HOSTS-OF-B TRANSIT
cfg_a() {
  cat <<EOF
listen:
  - udp://$A:5060
  - { uri: "tls://$A:5061", role: peering }
tls: { cert: $pki/ssp-a.pem, key: $pki/ssp-a.key }
store: sqlite:$it_tmp/a.db
domains: [ssp-a.test]
trusted: ["$ALICE/32"]
users:
  - { user: alice, password: alice-secret, number: "+4721000001" }
numbering: { country_code: "47", national_prefix: "0", international_prefix: "00" }
auth: { algorithms: [MD5] }
log: { level: debug }
routes:
  - match: { prefix: "+4722" }
    to: peer:ssp-b
  - match: { domain: ssp-b.test }
    to: peer:ssp-b
$([ "$3" = true ] && printf '  - match: { prefix: "+4723" }\n    to: peer:ssp-b\n')
  - match: { prefix: "+4729" }
    to: peer:ssp-t
  - match: { domain: ssp-t.test }
    to: peer:ssp-t
peers:
  - name: ssp-b
    domains: [ssp-b.test]
    numbers: ["+4722"]
    hosts: [$2]
    sources: ["$B/32"]
    certificate: { san: [sbe.ssp-b.test] }
    trust: $1
    transit: $3
  - name: ssp-t
    domains: [ssp-t.test]
    numbers: ["+4729"]
    hosts: ["sip:$OUT:5061;transport=tls"]
    certificate: { san: [sbe.ssp-t.test] }
    trust: trusted
federations:
  - name: nordic
    members: [ssp-b, ssp-t]
    ca: $pki/nordic-ca.pem
    require: { tls: true }
EOF
}

# cfg_b TRUST-OF-A TRANSIT (with TRANSIT true, C is a static peer of B)
cfg_b() {
  local peer_c=
  [ "$2" = true ] && peer_c="  - name: ssp-c
    domains: [ssp-c.test]
    numbers: [\"+4723\"]
    hosts: [\"sip:$C:5061;transport=tls\"]
    sources: [\"$C/32\"]
    certificate: { san: [sbe.ssp-c.test] }
    trust: trusted
    transit: true"
  cat <<EOF
listen:
  - udp://$B:5060
  - { uri: "tls://$B:5061", role: peering }
  - { uri: "udp://$B:5062", role: peering }
  - { uri: "tcp://$B:5062", role: peering }
tls: { cert: $pki/ssp-b.pem, key: $pki/ssp-b.key }
store: sqlite:$it_tmp/b.db
domains: [ssp-b.test]
trusted: ["$BOB/32"]
users:
  - { user: bob, password: bob-secret, number: "+4722000001" }
numbering: { country_code: "47", national_prefix: "0", international_prefix: "00" }
auth: { algorithms: [MD5] }
log: { level: debug }
routes:
  - match: { prefix: "+4721" }
    to: peer:ssp-a
  - match: { domain: ssp-a.test }
    to: peer:ssp-a
$([ "$2" = true ] && printf '  - match: { prefix: "+4723" }\n    to: peer:ssp-c\n')
peers:
  - name: ssp-a
    domains: [ssp-a.test]
    numbers: ["+4721"]
    hosts: ["sip:$A:5061;transport=tls"]
    sources: ["$A/32"]
    certificate: { san: [sbe.ssp-a.test] }
    trust: $1
    transit: $2
  - name: ssp-x          # a peer outside the federation, allowed over plain UDP (control case)
    domains: [ssp-x.test]
    sources: ["$CAROL/32"]
    trust: untrusted
$peer_c
federations:
  - name: nordic
    members: [ssp-a$([ "$2" = true ] && echo ", ssp-c")]
    ca: $pki/nordic-ca.pem
    require: { tls: true }
EOF
}

# cfg_c: C knows B as a static peer; B has no entry for C (on-demand peering).
cfg_c() {
  cat <<EOF
listen:
  - udp://$C:5060
  - { uri: "tls://$C:5061", role: peering }
tls: { cert: $pki/ssp-c.pem, key: $pki/ssp-c.key }
store: sqlite:$it_tmp/c.db
domains: [ssp-c.test]
trusted: ["$CAROL/32"]
users:
  - { user: carol, password: carol-secret, number: "+4723000001" }
numbering: { country_code: "47", national_prefix: "0", international_prefix: "00" }
auth: { algorithms: [MD5] }
log: { level: debug }
routes:
  - match: { prefix: "+4722" }
    to: peer:ssp-b
  - match: { domain: ssp-b.test }
    to: peer:ssp-b
peers:
  - name: ssp-b
    domains: [ssp-b.test]
    numbers: ["+4722"]
    hosts: ["sip:$B:5061;transport=tls"]
    sources: ["$B/32"]
    certificate: { san: [sbe.ssp-b.test] }
    trust: trusted
    transit: true
federations:
  - name: nordic
    members: [ssp-b]
    ca: $pki/nordic-ca.pem
    require: { tls: true }
EOF
}

# ---- phones (SIPp) ----
# p_uas NAME ADDRESS SCENARIO: a phone on ADDRESS:5090 in the background (bounded); what it
# receives is logged to $it_tmp/NAME.msg.
p_uas() {
  sipp -sf "$it_scen/$3.xml" -i "$2" -p 5090 -m 1 -timeout 15s -nostdin \
    -trace_err -error_file "$it_tmp/$1.err" -trace_msg -message_file "$it_tmp/$1.msg" \
    >"$it_tmp/$1.out" 2>&1 &
  p_uas_pid=$!
  it_pids+=("$p_uas_pid")
  sleep 0.3
}
# p_uas_wait CALLER-STATUS: the phone's exit status (stopped at once if the caller failed).
p_uas_wait() {
  [ "$1" -eq 0 ] || kill -TERM "$p_uas_pid" 2>/dev/null
  wait "$p_uas_pid"
}
# p_uac NAME ADDRESS SCENARIO-FILE SERVICE DOMAIN FROM PROVIDER: a phone on ADDRESS:5070 sends
# to its provider (PROVIDER:5060) for sip:SERVICE@DOMAIN as sip:FROM; bounded in time.
p_uac() {
  local name=$1 rc
  timeout 20 sipp -sf "$3" -s "$4" -set dom "$5" -set from "$6" "$7:5060" -i "$2" -p 5070 \
    -m 1 -timeout 12s -timeout_error -nostdin -cid_str %u-%p-peering \
    -trace_err -error_file "$it_tmp/$name.err" -trace_msg -message_file "$it_tmp/$name.msg" \
    >"$it_tmp/$name.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "  ---- sipp $name (exit $rc):"
    if [ -s "$it_tmp/$name.err" ]; then
      grep -v "^The following events" "$it_tmp/$name.err" | head -n 2 | cut -c1-220 | sed "s/^/  | /"
    else
      tail -n 5 "$it_tmp/$name.out" | sed 's/^/  | /'
    fi
  fi
  return $rc
}
# p_reg NAME ADDRESS USER PASSWORD DOMAIN PROVIDER: REGISTER with digest from ADDRESS:5090,
# contact ADDRESS:5090.
p_reg() {
  timeout 15 sipp -sf "$it_scen/peer_reg.xml" -s "$3" -au "$3" -ap "$4" -set dom "$5" \
    -set contact "$2:5090" "$6:5060" -i "$2" -p 5090 -m 1 -timeout 10s -timeout_error -nostdin \
    -trace_err -error_file "$it_tmp/$1.err" >"$it_tmp/$1.out" 2>&1
}
# p_received NAME START: the header lines of the first message phone NAME received whose
# start line begins with START ("INVITE ", "SIP/2.0 200").
p_received() {
  awk -v m="$2" '
    /^----------------------------------------------- / { st = 0; next }
    / message received / { st = 1; next }
    { sub(/\r$/, "") }
    st == 1 { if ($0 == "") next; st = (index($0, m) == 1) ? 2 : 0 }
    st == 2 { if ($0 == "") exit; print }' "$it_tmp/$1.msg" 2>/dev/null
}
has_pai() { grep -qi '^P-Asserted-Identity:.*\(alice@ssp-a\.test\|+4721000001\)'; }

# p_call NAME CALLER-ADDR UAC UAS CALLEE-ADDR SERVICE DOMAIN FROM PROVIDER NODES DESCRIPTION:
# one call (or MESSAGE, SUBSCRIBE) between two phones; prints ok/FAIL; returns the status.
declare -A p_calls=()   # INVITE dialogs placed, by path ("A B": from A's user to B's)
p_call() {
  local name=$1 rc urc got
  case $3 in peer_uac*) p_calls[${10}]=$((${p_calls[${10}]:-0} + 1)) ;; esac
  p_mark
  p_uas "$name-callee" "$5" "$4"
  p_uac "$name" "$2" "$it_scen/$3.xml" "$6" "$7" "$8" "$9"; rc=$?
  p_uas_wait $rc; urc=$?
  if [ $rc -eq 0 ] && [ $urc -eq 0 ]; then
    it_ok "${11}"
  else
    got=$(grep -A3 " message received " "$it_tmp/$name-callee.msg" 2>/dev/null | grep -o "^[A-Z]\+ sip:[^ ]*" | tr '\n' ' ')
    if [ $rc -ne 0 ]; then
      p_fail "${11} (caller failed; the callee's phone received: ${got:-nothing})" ${10}
    else
      p_fail "${11} (callee's phone failed, exit $urc; it received: ${got:-nothing})" ${10}
      head -n 3 "$it_tmp/$name-callee.err" 2>/dev/null | cut -f3- | cut -c1-220 | sed 's/^/  | callee: /'
    fi
    return 1
  fi
}

# ---- certificates and the providers ----
{ bash "$it_src/examples/federation/make-certs.sh" -d "$pki" ssp-a ssp-b ssp-c ssp-t &&
  bash "$it_src/examples/federation/make-certs.sh" -d "$pki/rogue" -c rogue ssp-b; } \
  >"$it_tmp/certs.log" 2>&1 || { it_fail "cannot make test certificates"; cat "$it_tmp/certs.log"; exit 1; }

# Nothing else may listen on these addresses (a manual run, another copy of this test).
it_wait_free $A $B $C $ALICE $DEAD $BOB $CAROL $OUT \
  || { it_fail "127.0.0.2-9 are in use by other processes (see above)"; exit 1; }

# The capture peer ssp-t first (A may probe its hosts as soon as it starts): it answers
# OPTIONS, and the first other request with 486, which it records.
"${siptool[@]}" capture --cert "$pki/ssp-t.pem" --key "$pki/ssp-t.key" --ca "$pki/nordic-ca.pem" \
  --out "$it_tmp/captured.txt" --status 486 --timeout 45 --linger 1 "$OUT:5061" \
  >"$it_tmp/capture.out" 2>&1 &
it_pids+=("$!")

# The three providers start together (they probe each other).
it_launch_named A "$A:5060" "$(cfg_a trusted "$hosts_b" false)"
it_launch_named B "$B:5060" "$(cfg_b trusted false)"
it_launch_named C "$C:5060" "$(cfg_c)"
for n in A B C; do
  it_wait_named $n || { p_fail "provider $n did not start" $n; exit 1; }
done
it_ok "providers A, B, C started (127.0.0.2, .3, .4)"

p_mark
p_reg reg_bob $BOB bob bob-secret ssp-b.test $B && it_ok "bob registers at B (digest)" \
  || p_fail "bob's REGISTER at B" B
p_reg reg_alice $ALICE alice alice-secret ssp-a.test $A && it_ok "alice registers at A (digest)" \
  || p_fail "alice's REGISTER at A" A
p_reg reg_carol $CAROL carol carol-secret ssp-c.test $C || p_fail "carol's REGISTER at C" C

# ---- what a peer receives (A -> capture peer ssp-t, dialled as a national number) ----
p_mark
p_uac cap_call $ALICE "$(it_scenario peer_uac_final 486)" 029000001 ssp-a.test alice@ssp-a.test $A \
  && it_ok "alice dials 029000001: the peer's 486 comes back to her" \
  || p_fail "call to the capture peer did not end with its 486" A
cap="$it_tmp/captured.txt"
if [ -s "$cap" ]; then
  cap_hdrs=$(sed -n '3,/^\r\?$/p' "$cap" | tr -d '\r')
  head -n 3 "$cap" | grep -q "^INVITE sip:+4729000001@ssp-t.test;user=phone SIP/2.0" \
    && it_ok "national 029000001 reaches the peer as sip:+4729000001@ssp-t.test;user=phone" \
    || p_fail "Request-URI at the peer: $(sed -n 3p "$cap" | tr -d '\r')" A
  grep -q "^#client-san: .*sbe.ssp-a.test" "$cap" \
    && it_ok "A presents its client certificate (sbe.ssp-a.test) to the peer: mutual TLS" \
    || p_fail "A's client certificate at the peer: $(grep '^#client-san' "$cap")" A
  grep -q "^#source: $A:" "$cap" \
    && it_ok "A's TLS connection to the peer comes from its own address $A" \
    || p_fail "A's connection came from $(grep '^#source' "$cap" | cut -d' ' -f2), not $A" A
  if ! grep -qF "$ALICE" <<<"$cap_hdrs" && grep -q "^Via: SIP/2.0/TLS $A:5061" <<<"$cap_hdrs" \
    && [ "$(grep -c '^\(Via\|v\):' <<<"$cap_hdrs")" -eq 1 ]; then
    it_ok "topology hiding toward the peer: one Via (A's TLS 5061), no address of alice's phone"
  else
    p_detail=$(grep -i "^\(Via\|v\|Contact\|m\|Record-Route\|Route\|Call-ID\|i\):\|$ALICE" <<<"$cap_hdrs")
    p_fail "topology hiding toward the peer; it received:" A
  fi
  has_pai <<<"$cap_hdrs" && it_ok "a trusted peer receives P-Asserted-Identity" \
    || p_fail "no P-Asserted-Identity at the trusted peer" A
else
  p_fail "nothing reached the capture peer ssp-t ($OUT:5061)" A
  sed 's/^/  | capture: /' "$it_tmp/capture.out" "$it_tmp/captured.txt.err" 2>/dev/null | head -n 5
fi

# ---- calls, MESSAGE, SUBSCRIBE between A and B ----
if p_call e164 $ALICE peer_uac peer_uas $BOB +4722000001 ssp-a.test alice@ssp-a.test $A "A B" \
  "A->B by E.164 sip:+4722000001@ssp-a.test: answered, caller hangs up"; then
  inv=$(p_received e164-callee "INVITE ")
  p_detail=$(grep -F "$ALICE" <<<"$inv")
  [ -n "$p_detail" ] && p_fail "bob's INVITE carries alice's phone address ($ALICE):" A B \
    || it_ok "bob's INVITE carries no address of alice's phone (topology hiding)"
  has_pai <<<"$inv" && it_ok "both trust each other: bob sees alice's P-Asserted-Identity" \
    || p_fail "no P-Asserted-Identity at bob although A and B trust each other" A B
  p_detail=$(p_received e164 "SIP/2.0 200" | grep -F "$BOB")
  [ -n "$p_detail" ] && p_fail "the 200 at alice's phone carries bob's phone address ($BOB):" B A \
    || it_ok "the 200 at alice's phone carries no address of bob's phone (topology hiding)"
fi
p_call national $ALICE peer_uac_wait peer_uas_bye $BOB 022000001 ssp-a.test alice@ssp-a.test $A "A B" \
  "A->B by national number 022000001: answered, callee hangs up (BYE back through B and A)"
p_call uri $ALICE peer_uac peer_uas $BOB bob ssp-b.test alice@ssp-a.test $A "A B" \
  "A->B by SIP URI sip:bob@ssp-b.test: answered, caller hangs up"
if p_call b2a $BOB peer_uac_wait peer_uas_bye $ALICE alice ssp-a.test bob@ssp-b.test $B "B A" \
  "B->A: bob calls sip:alice@ssp-a.test, alice answers and hangs up"; then
  p_detail=$(p_received b2a-callee "INVITE " | grep -F "$BOB")
  [ -n "$p_detail" ] && p_fail "alice's INVITE carries bob's phone address ($BOB):" B A \
    || it_ok "alice's INVITE carries no address of bob's phone (topology hiding)"
fi
p_call msg $ALICE peer_msg peer_uas_msg $BOB bob ssp-b.test alice@ssp-a.test $A "A B" \
  "MESSAGE alice -> sip:bob@ssp-b.test: 200 from bob's phone"
p_call sub $ALICE peer_sub peer_uas_sub $BOB bob ssp-b.test alice@ssp-a.test $A "A B" \
  "SUBSCRIBE alice -> bob: 200, and bob's in-dialog NOTIFY crosses back: 200"

# Several calls, a MESSAGE and a SUBSCRIBE later: A still uses one TLS connection to B.
n_ab=$(ss -Htn state established dst "$B:5061" src "$A" | wc -l)
n_ba=$(ss -Htn state established dst "$A:5061" src "$B" | wc -l)
[ "$n_ab" -eq 1 ] && [ "$n_ba" -le 1 ] \
  && it_ok "connections are reused: $n_ab TLS connection A->B, $n_ba B->A after 6 dialogs" \
  || p_fail "TLS connections between A and B after 6 dialogs: A->B $n_ab, B->A $n_ba (1 and at most 1 expected)" A B

# ---- trust domain: P-Asserted-Identity only when both sides trust each other ----
pai_case() { # pai_case NAME DESCRIPTION
  if p_call "$1" $ALICE peer_uac peer_uas $BOB +4722000001 ssp-a.test alice@ssp-a.test $A "A B" \
    "$2: the call still works"; then
    has_pai <<<"$(p_received "$1-callee" "INVITE ")" \
      && p_fail "$2: bob still sees P-Asserted-Identity" A B \
      || it_ok "$2: bob sees no P-Asserted-Identity"
  fi
}
p_mark
if it_reload_named B "$(cfg_b untrusted false)"; then
  pai_case pai_b "B lists A as untrusted (SIGHUP)"
else
  p_fail "B refused the reload with ssp-a untrusted" B
fi
it_reload_named B "$(cfg_b trusted false)" || p_fail "B refused the reload back to trusted" B
if it_reload_named A "$(cfg_a untrusted "$hosts_b" false)"; then
  pai_case pai_a "A lists B as untrusted (SIGHUP)"
else
  p_fail "A refused the reload with ssp-b untrusted" A
fi

# ---- failover: the first host of ssp-b (127.0.0.6) refuses connections ----
if it_reload_named A "$(cfg_a trusted "$hosts_b_failover" false)"; then
  t_start=$(date +%s%N)
  if p_call failover $ALICE peer_uac peer_uas $BOB +4722000001 ssp-a.test alice@ssp-a.test $A "A B" \
    "failover: hosts [$DEAD (nothing listens), $B]: the call reaches bob"; then
    ms=$((($(date +%s%N) - t_start) / 1000000))
    [ $ms -lt 3000 ] && it_ok "failover is quick: the whole call took $ms ms" \
      || p_fail "failover took $ms ms (connection refused should move on at once)" A
  fi
else
  p_fail "A refused the reload with two hosts for ssp-b" A
fi

# ---- admission: all probes at once (one siptool process), each waits 2 s for an answer ----
# p_probe NAME BIND PROTO DEST METHOD URI [siptool send options]: result in $it_tmp/NAME.probe
p_mark
: >"$it_tmp/probes.txt"
p_probe() {
  local name=$1 bind=$2 proto=$3 dest=$4 method=$5 uri=$6; shift 6
  echo "$name --timeout 2 --bind $bind $* $proto $dest $method $uri" >>"$it_tmp/probes.txt"
}
nb="--cert $pki/ssp-b.pem --key $pki/ssp-b.key"
rb="--cert $pki/rogue/ssp-b.pem --key $pki/rogue/ssp-b.key"
p_probe stranger_udp $OUT udp $B:5062 OPTIONS sip:$B:5062
p_probe stranger_invite $OUT udp $B:5062 INVITE sip:+4722000001@ssp-b.test
p_probe stranger_tcp $OUT tcp $B:5062 OPTIONS sip:$B:5062
p_probe peerx_udp $CAROL udp $B:5062 OPTIONS sip:$B:5062
p_probe peer_a_udp $A udp $B:5062 OPTIONS sip:$B:5062
p_probe peer_a_tcp $A tcp $B:5062 OPTIONS sip:$B:5062
p_probe rogue_out $OUT tls $A:5061 OPTIONS sip:$A:5061 $rb
p_probe rogue_b $B tls $A:5061 OPTIONS sip:$A:5061 $rb
p_probe nocert_b $B tls $A:5061 OPTIONS sip:$A:5061
p_probe genuine_b $B tls $A:5061 OPTIONS sip:$A:5061 $nb --ca "$pki/nordic-ca.pem" --sni sbe.ssp-a.test
p_probe relay_b $B tls $A:5061 MESSAGE sip:+4729000001@ssp-t.test $nb
timeout 20 "${siptool[@]}" batch --dir "$it_tmp" "$it_tmp/probes.txt" >"$it_tmp/probes.out" 2>&1 \
  || { it_fail "siptool batch failed"; cat "$it_tmp/probes.out"; }
probe() { tr -d '\r' <"$it_tmp/$1.probe" 2>/dev/null | head -n 1; }
silent() { # silent NAME DESCRIPTION NODE: no SIP answer expected
  local r; r=$(probe "$1")
  case "$r" in
    SIP/2.0*) p_fail "$2: answered \"$r\"" "$3" ;;
    *) it_ok "$2: no answer ($r)" ;;
  esac
}
silent stranger_udp "stranger $OUT, OPTIONS over UDP to B's peering listener" B
silent stranger_invite "stranger $OUT, INVITE for bob over UDP to B's peering listener" B
silent stranger_tcp "stranger $OUT, OPTIONS over TCP to B's peering listener" B
[ "$(probe peerx_udp | cut -c1-11)" = "SIP/2.0 200" ] \
  && it_ok "control: peer ssp-x (no TLS required) over UDP to the same listener: 200" \
  || p_fail "control: peer ssp-x over UDP: $(probe peerx_udp)" B
silent peer_a_udp "peer ssp-a ($A) over plain UDP where federation nordic requires TLS" B
silent peer_a_tcp "peer ssp-a ($A) over plain TCP where federation nordic requires TLS" B
silent rogue_out "rogue-CA certificate claiming sbe.ssp-b.test, from $OUT, TLS to A" A
silent rogue_b "rogue-CA certificate claiming sbe.ssp-b.test, from B's address $B, TLS to A" A
silent nocert_b "TLS without a client certificate from B's address $B to A" A
[ "$(probe genuine_b | cut -c1-11)" = "SIP/2.0 200" ] \
  && it_ok "control: B's genuine certificate from $B: OPTIONS 200, A's server certificate verifies as sbe.ssp-a.test" \
  || p_fail "control: B's genuine certificate at A: $(probe genuine_b)" A
case "$(probe relay_b)" in
  "SIP/2.0 403"* | "no answer") it_ok "no open relay: peer ssp-b's MESSAGE for ssp-t's +4729000001 is refused ($(probe relay_b))" ;;
  *) p_fail "open relay: peer ssp-b's MESSAGE for a third provider got \"$(probe relay_b)\" (403 or nothing expected)" A ;;
esac

# ---- on-demand: C (nordic certificate, no entry at B) calls bob ----
p_call ondemand $CAROL peer_uac peer_uas $BOB +4722000001 ssp-c.test carol@ssp-c.test $C "C B" \
  "on-demand: C (nordic certificate sbe.ssp-c.test, no peer entry at B) calls bob: admitted, answered"

# ---- transit: A reaches C through B ----
if [ "$transit" = 1 ]; then
  if it_reload_named B "$(cfg_b trusted true)" && it_reload_named A "$(cfg_a trusted "$hosts_b" true)"; then
    p_call transit $ALICE peer_uac peer_uas $CAROL +4723000001 ssp-a.test alice@ssp-a.test $A "A B C" \
      "transit: alice (A) calls carol +4723000001 (C) through B"
  else
    p_fail "transit: the reloads were refused" A B
  fi
else
  echo "SKIP $it_name: transit A->B->C SKIPPED (SIPEER_IT_TRANSIT=0)"
fi

# ---- the end: all alive, clean stop, no sanitizer report ----
for n in A B C; do
  it_alive_named $n || p_fail "provider $n stopped answering" $n
done
for n in A B C; do kill -TERM "${it_named_pid[$n]}" 2>/dev/null; done  # they stop in parallel
for n in A B C; do
  it_stop_named $n
  [ "$it_stop_rc" -eq 0 ] || p_fail "provider $n exited with $it_stop_rc on SIGTERM" $n
  grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/$n.log" && p_fail "sanitizer report in $n.log" $n
done
# Refusals are counted: the counters each provider logs when it stops.
counters() { # counters NODE: "peers on-demand not-a-peer tls-required wrong-certificate relaying"
  sed -n 's/.*peering: requests from peers \([0-9]*\) on-demand \([0-9]*\) refused: not a peer \([0-9]*\) TLS required \([0-9]*\) wrong certificate \([0-9]*\) relaying \([0-9]*\).*/\1 \2 \3 \4 \5 \6/p' \
    "$it_tmp/$1.log" | tail -n 1
}
read -r b_peers b_ondemand b_notpeer b_tlsreq _ _ <<<"$(counters B)"
read -r _ _ _ _ _ a_relay <<<"$(counters A)"
if [ -n "${b_notpeer:-}" ] && [ -n "${a_relay:-}" ]; then
  [ "$b_notpeer" -gt 0 ] && [ "$b_tlsreq" -gt 0 ] && [ "$b_ondemand" -gt 0 ] && [ "$a_relay" -gt 0 ] \
    && it_ok "counted: at B $b_notpeer not-a-peer, $b_tlsreq TLS-required refusals, $b_ondemand on-demand; at A $a_relay relaying refusals" \
    || it_fail "counters: B not a peer ${b_notpeer}, TLS required ${b_tlsreq}, on-demand ${b_ondemand}; A relaying ${a_relay} (all > 0 expected)"
else
  it_fail "no peering counters in the logs at exit (B: '$(counters B)', A: '$(counters A)')"
fi
# Call records: one per call attempt, with the right peers, federation and duration
# (sipeerctl reads the store of the stopped node).
ctl="$(dirname "$it_bin")/sipeerctl"
if [ -x "$ctl" ]; then
  "$ctl" -c "$it_tmp/A.yaml" cdr --json >"$it_tmp/cdr-A.json" 2>&1
  "$ctl" -c "$it_tmp/B.yaml" cdr --json >"$it_tmp/cdr-B.json" 2>&1
  python3 - "$it_tmp" "$((${p_calls[A B]:-0} + ${p_calls[A B C]:-0}))" "${p_calls[B A]:-0}" \
    "${p_calls[C B]:-0}" "${p_calls[A B C]:-0}" >"$it_tmp/cdr-check.out" 2>&1 <<'PY' 
import json, sys
tmp, ab, ba, cb, abc = sys.argv[1], *map(int, sys.argv[2:])
def load(n):
    out = []
    for l in open("%s/cdr-%s.json" % (tmp, n)):
        try: out.append(json.loads(l))
        except ValueError: print("FAIL sipeerctl %s: %s" % (n, l.strip()))
    return out
a, b = load("A"), load("B")
def check(what, recs, sel, n, **want):
    got = [r for r in recs if sel(r)]
    bad = [r for r in got if any(r.get(k) != v for k, v in want.items())
           or (want.get("reason") == "bye" and not 100 <= r["duration_ms"] <= 10000)]
    if len(got) != n:
        print("FAIL %s: %d records, %d expected: %s" % (what, len(got), n, json.dumps(got[:2])))
    elif bad:
        diffs = ["%s %r (want %r)" % (k, bad[0].get(k), v) for k, v in want.items()
                 if bad[0].get(k) != v]
        if not 100 <= bad[0]["duration_ms"] <= 10000 and want.get("reason") == "bye":
            diffs.append("duration_ms %r" % bad[0]["duration_ms"])
        print("FAIL %s: %d of %d records wrong, e.g. callee %s: %s" % (what, len(bad), n,
              bad[0].get("callee"), ", ".join(diffs)))
    else:
        print("ok %s: %d record(s), %s" % (what, n, ", ".join("%s %s" % kv for kv in want.items())))
check("A's records of calls to peer ssp-b", a, lambda r: r["egress"] == "peer ssp-b", ab,
      ingress="local", status=200, reason="bye", federation="nordic")
check("A's records of calls from peer ssp-b", a, lambda r: r["ingress"] == "peer ssp-b", ba,
      egress="local", status=200, reason="bye", federation="nordic")
check("A's record of the call refused by peer ssp-t", a, lambda r: r["egress"] == "peer ssp-t", 1,
      status=486, federation="nordic")
check("B's records of calls from peer ssp-a", b, lambda r: r["ingress"] == "peer ssp-a", ab,
      status=200, reason="bye", federation="nordic")
check("B's records of calls to peer ssp-a", b, lambda r: r["egress"] == "peer ssp-a", ba,
      ingress="local", status=200, reason="bye", federation="nordic")
check("B's record of the on-demand call from C", b, lambda r: r["ingress"].startswith("on-demand"), cb,
      egress="local", status=200, reason="bye", federation="nordic")
for n, recs, want in (("A", a, ab + ba + 1), ("B", b, ab + ba + cb)):
    if len(recs) != want:
        print("FAIL %s has %d call records, %d expected (one per call attempt; dropped requests make none)"
              % (n, len(recs), want))
PY
  while IFS= read -r line; do
    case $line in
      ok\ *) it_ok "call records: ${line#ok }" ;;
      *) it_fail "call records: ${line#FAIL }" ;;
    esac
  done <"$it_tmp/cdr-check.out"
else
  it_fail "no sipeerctl beside $it_bin: call records not checked"
fi
echo "($it_name: $SECONDS s)"
it_done
