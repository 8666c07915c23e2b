#!/usr/bin/env bash
# call.sh: a SIPp caller calls through sipeer to a SIPp callee by a static route: INVITE,
# 180, 200, ACK, BYE, 200 with sipeer's Record-Route honoured, over UDP and over TCP.
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

it_alive || it_fail "sipeer stopped answering"
it_stop
[ "$it_stop_rc" -eq 0 ] || it_fail "sipeer exited with $it_stop_rc on SIGTERM"
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
