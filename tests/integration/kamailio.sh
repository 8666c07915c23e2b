#!/usr/bin/env bash
# kamailio.sh: interop with another provider that runs Kamailio 5.6 (Debian package) as a
# plain SSP proxy (tests/integration/kamailio/ssp-k.cfg), peered with sipeer over UDP: calls
# cross both ways (INVITE, 100/180/200, ACK and BYE along both Record-Routes), each leaves
# one call record naming the peer, and what Kamailio receives shows no address of A's users.
it_probe=sip:127.0.0.21:5060
. "$(dirname "$0")/lib.sh"
command -v kamailio >/dev/null || { echo "SKIP $it_name: kamailio not installed (scripts/setup installs it)"; exit 77; }
ctl=${SIPEER_BIN%/sipeer}/sipeerctl

it_start "
listen:
  - udp://127.0.0.21:5060
  - { uri: \"udp://127.0.0.21:5062\", role: peering }
store: sqlite:$it_tmp/a.db
domains: [ssp-a.test]
numbers: [\"+4721\"]
trusted: [\"127.0.0.21/32\"]
numbering: { country_code: \"47\", national_prefix: \"0\", international_prefix: \"00\" }
peers:
  - name: ssp-k
    domains: [ssp-k.test]
    numbers: [\"+4725\"]
    hosts: [\"sip:127.0.0.22:5060\"]
    sources: [\"127.0.0.22/32\"]
routes:
  - match: { prefix: \"+4721\" }
    to: \"sip:127.0.0.21:5090\"
  - match: { prefix: \"+4725\" }
    to: peer:ssp-k
cdr: { file: $it_tmp/cdr.jsonl }
"

kamailio -DD -E -f "$it_src/tests/integration/kamailio/ssp-k.cfg" -m 32 -M 4 -P "$it_tmp/k.pid" \
  -A "K_DIR=\"$it_tmp\"" >"$it_tmp/kamailio.log" 2>&1 &
k_pid=$!
it_pids+=("$k_pid")
for _ in $(seq 50); do
  sipsak -s sip:127.0.0.22:5060 -H 127.0.0.1 -l 5998 >/dev/null 2>&1 && break
  sleep 0.2
done
kill -0 "$k_pid" 2>/dev/null || { it_fail "kamailio did not start"; tail -20 "$it_tmp/kamailio.log"; exit 1; }

# Scenarios with the addresses of this test: the callee checks the top Via and
# Record-Route (the proxy next to it), the caller the Record-Route of the 200.
scen() { # NAME FROM-REGEX TO-REGEX
  sed "s/127\\\\.0\\\\.0\\\\.1:5060/$3/g" "$it_scen/$1.xml" > "$it_tmp/$1-$2.xml"
  echo "$it_tmp/$1-$2.xml"
}

# A's user calls a user of ssp-k: sipeer -> Kamailio -> the callee.
it_sipp_bg uas_k -sf "$(scen uas k '127\\.0\\.0\\.22')" -i 127.0.0.22 -p 5090 -m 1 -timeout 60s \
  -trace_msg -message_file "$it_tmp/uas_k.msg"
it_sipp uac_a -sf "$(scen uac a '127\\.0\\.0\\.21:5060')" -s +4725000001 127.0.0.21:5060 \
  -i 127.0.0.21 -p 5070 -m 1 && it_ok "sipeer to Kamailio: call answered and hung up" \
  || it_fail "call from sipeer to Kamailio"
wait "$it_sipp_pid" || it_fail "the callee behind Kamailio saw a wrong message"
if grep -q "127.0.0.21:5070" "$it_tmp/uas_k.msg" 2>/dev/null && \
   grep -E "^(Via|Contact|Record-Route):" "$it_tmp/uas_k.msg" | grep -q "127.0.0.21:5070"; then
  it_fail "the caller's own address reached the other provider (Via, Contact or Record-Route)"
  grep -E "^(Via|Contact|Record-Route):" "$it_tmp/uas_k.msg" | grep "127.0.0.21:5070"
else
  it_ok "topology hidden: Kamailio's side saw no Via, Contact or Record-Route of A's phone"
fi

# A user of ssp-k calls A's user: Kamailio -> sipeer's peering listener -> the callee.
it_sipp_bg uas_a -sf "$(scen uas a '127\\.0\\.0\\.21:5060')" -i 127.0.0.21 -p 5090 -m 1 -timeout 60s
it_sipp uac_k -sf "$(scen uac k '127\\.0\\.0\\.21:5062')" -s +4721000001 127.0.0.22:5060 \
  -i 127.0.0.22 -p 5071 -m 1 && it_ok "Kamailio to sipeer: call answered and hung up" \
  || it_fail "call from Kamailio to sipeer"
wait "$it_sipp_pid" || it_fail "A's callee saw a wrong message"

# A restart in the middle of a call: the BYE from Kamailio's side still finds A's callee
# (the Record-Route token and the sealed Contact hold; the generated auth.secret is kept in
# the store) and the call record, kept open in the store, ends with that BYE.
sed 's/<pause milliseconds="100"\/>/<pause milliseconds="5000"\/>/' "$(scen uac k3 '127\\.0\\.0\\.21:5062')" \
  > "$it_tmp/uac_restart.xml"
it_sipp_bg uas_a3 -sf "$(scen uas a3 '127\\.0\\.0\\.21:5060')" -i 127.0.0.21 -p 5090 -m 1 -timeout 60s
uas_a3=$it_sipp_pid
it_sipp_bg uac_k3 -sf "$it_tmp/uac_restart.xml" -s +4721000003 127.0.0.22:5060 -i 127.0.0.22 -p 5071 \
  -m 1 -timeout 30s
uac_k3=$it_sipp_pid
sleep 1.5
it_stop
it_start "$(cat "$it_tmp/sipeer.yaml")"
wait "$uac_k3" && wait "$uas_a3" && it_ok "restart mid-call: the BYE still reached A's callee" \
  || { it_fail "the call did not end across a restart"; tail -n 20 "$it_tmp/uac_k3.out"; }

# A reload that removes the peer stops new calls to it but lets a call in progress end:
# the BYE from Kamailio's side still reaches A's callee.
sed 's/<pause milliseconds="100"\/>/<pause milliseconds="2500"\/>/' "$(scen uac k2 '127\\.0\\.0\\.21:5062')" \
  > "$it_tmp/uac_long.xml"
it_sipp_bg uas_a2 -sf "$(scen uas a2 '127\\.0\\.0\\.21:5060')" -i 127.0.0.21 -p 5090 -m 1 -timeout 60s
uas_a2=$it_sipp_pid
it_sipp_bg uac_k2 -sf "$it_tmp/uac_long.xml" -s +4721000002 127.0.0.22:5060 -i 127.0.0.22 -p 5071 \
  -m 1 -timeout 30s
uac_k2=$it_sipp_pid
sleep 1.2
sed -e '/^peers:/,/^routes:/{/^routes:/!d}' -e '/to: peer:ssp-k/d' -e '/prefix: "+4725"/d' \
  "$it_tmp/sipeer.yaml" > "$it_tmp/sipeer2.yaml"
cp "$it_tmp/sipeer2.yaml" "$it_tmp/sipeer.yaml"
kill -HUP "$it_sipeer_pid"
wait "$uac_k2" && wait "$uas_a2" && it_ok "peer removed by a reload: its call in progress still ended with BYE" \
  || { it_fail "the call in progress did not end after the reload"; tail -n 20 "$it_tmp/uac_k2.out"; }
grep -q "configuration reloaded" "$it_tmp/sipeer.log" || it_fail "the reload did not happen"

# A stranger on the peering listener gets nothing.
if sipsak -s sip:127.0.0.21:5062 -H 127.0.0.1 -l 5997 >/dev/null 2>&1; then
  it_fail "a stranger got an answer on the peering listener"
else
  it_ok "a stranger on the peering listener got no answer"
fi

# One record per call, naming the peer, ended by BYE.
sleep 0.5
records=$("$ctl" -c "$it_tmp/sipeer.yaml" cdr --json)
n=$(printf '%s\n' "$records" | grep -c '"reason":"bye"')
[ "$n" = 4 ] && it_ok "four call records ended by BYE (one across the restart)" || { it_fail "call records: $n ended by BYE"; printf '%s\n' "$records"; }
printf '%s\n' "$records" | grep '"callee":"+4725000001"' | grep -q '"egress":"peer ssp-k"' \
  && it_ok "outgoing record: egress peer ssp-k" || it_fail "outgoing record without egress peer"
printf '%s\n' "$records" | grep '"callee":"+4721000001"' | grep -q '"ingress":"peer ssp-k"' \
  && it_ok "incoming record: ingress peer ssp-k" || it_fail "incoming record without ingress peer"
[ "$(grep -c . "$it_tmp/cdr.jsonl")" = 4 ] && it_ok "four JSON lines in cdr.file" || it_fail "cdr.file"

it_alive || it_fail "sipeer stopped answering"
it_stop
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
[ "$it_failed" -ne 0 ] && { echo "---- kamailio log ----"; tail -20 "$it_tmp/kamailio.log"; }
it_done
