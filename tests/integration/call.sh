#!/usr/bin/env bash
# call.sh: a SIPp caller calls through sipeer to a SIPp callee by a static route: INVITE,
# 180, 200, ACK, BYE, 200 with sipeer's Record-Route honoured, over UDP and over TCP; the
# record of an answered call survives kill -9 of sipeer while the call is up.
. "$(dirname "$0")/lib.sh"

it_start "
listen:
  - udp://127.0.0.1:5060
  - tcp://127.0.0.1:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
trusted: [\"127.0.0.1/32\"]
routes:
  - match: { prefix: \"+4722\" }
    to: \"sip:127.0.0.1:5090\"
  - match: { prefix: \"+4723\" }
    to: \"sip:127.0.0.1:5090;transport=tcp\"
"

# UDP: 5 calls.
it_sipp_bg uas_udp -sf "$it_scen/uas.xml" -i 127.0.0.1 -p 5090 -m 5 -timeout 60s
it_sipp uac_udp -sf "$it_scen/uac.xml" -s +4722000002 127.0.0.1:5060 -i 127.0.0.1 -p 5070 \
  -m 5 -r 5 -l 5 && it_ok "5 calls over UDP" || it_fail "calls over UDP"
wait "$it_sipp_pid" || it_fail "the UDP callee saw a wrong message"

# TCP on both sides: 5 calls on one connection each way.
it_sipp_bg uas_tcp -sf "$it_scen/uas.xml" -t t1 -i 127.0.0.1 -p 5090 -m 5 -timeout 60s
sleep 0.3
it_sipp uac_tcp -sf "$it_scen/uac.xml" -t t1 -s +4723000002 127.0.0.1:5060 -i 127.0.0.1 \
  -p 5071 -m 5 -r 5 -l 5 && it_ok "5 calls over TCP" || it_fail "calls over TCP"
wait "$it_sipp_pid" || it_fail "the TCP callee saw a wrong message"

# kill -9 while a call is up: its record, written when it was answered, is in the store.
# Call records alone are committed without a disk sync (cdr.sync: false), which must still
# survive the process's death: the operating system holds the write.
sed 's/milliseconds="100"/milliseconds="8000"/' "$it_scen/uac.xml" >"$it_tmp/uac_hold.xml"
it_sipp_bg uas_hold -sf "$it_scen/uas.xml" -i 127.0.0.1 -p 5090 -m 1 -timeout 30s
uas_hold=$it_sipp_pid
it_sipp_bg uac_hold -sf "$it_tmp/uac_hold.xml" -s +4722000009 127.0.0.1:5060 -i 127.0.0.1 \
  -p 5072 -m 1 -timeout 30s
uac_hold=$it_sipp_pid
sleep 1.5 # answered within milliseconds; then well past the commit window
kill -KILL "$it_sipeer_pid"; wait "$it_sipeer_pid" 2>/dev/null
kill "$uac_hold" "$uas_hold" 2>/dev/null; wait "$uac_hold" "$uas_hold" 2>/dev/null
"$(dirname "$it_bin")/sipeerctl" -c "$it_tmp/sipeer.yaml" cdr --json >"$it_tmp/cdr.json" 2>&1
if grep '"+4722000009"' "$it_tmp/cdr.json" | grep -q '"answer_ms":[1-9][0-9]*,"end_ms":0,'; then
  it_ok "the answered call's record survived kill -9 (open: answered, not ended)"
else
  it_fail "no open record of the answered call after kill -9: $(cat "$it_tmp/cdr.json")"
fi
it_start "$(cat "$it_tmp/sipeer.yaml")"

it_alive || it_fail "sipeer stopped answering"
it_stop
[ "$it_stop_rc" -eq 0 ] || it_fail "sipeer exited with $it_stop_rc on SIGTERM"
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
