#!/usr/bin/env bash
# failures.sh: the unhappy paths of a proxied call: CANCEL before the answer, 486 Busy
# from the callee, a next hop that never answers (408 after Timer B), and a dead next hop
# (ICMP port unreachable: 503 from that hop, then failover to the next matching route).
. "$(dirname "$0")/lib.sh"

it_start "
listen:
  - udp://127.0.0.1:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
trusted: [\"127.0.0.1/32\"]
timers: { t1: 50 }
routes:
  - match: { prefix: \"+4722\" }
    to: \"sip:127.0.0.1:5090\"
  - match: { prefix: \"+4724\" }
    to: \"sip:127.0.0.2:5093\"
  - match: { prefix: \"+4725\" }
    to: \"sip:127.0.0.1:5097\"
  - match: { prefix: \"+4725\" }
    to: \"sip:127.0.0.1:5090\"
"

# CANCEL before the answer.
it_sipp_bg uas_cancel -sf "$it_scen/uas_cancel.xml" -i 127.0.0.1 -p 5090 -m 3 -timeout 60s
it_sipp uac_cancel -sf "$it_scen/uac_cancel.xml" -s +4722000002 127.0.0.1:5060 -i 127.0.0.1 \
  -p 5070 -m 3 -r 3 && it_ok "CANCEL before answer: 200 and 487" || it_fail "CANCEL"
wait "$it_sipp_pid" || it_fail "the callee did not see CANCEL, 487 and ACK"

# 486 Busy Here from the callee reaches the caller; both ACKs are hop by hop.
it_sipp_bg uas_busy -sf "$it_scen/uas_final.xml" -i 127.0.0.1 -p 5090 -m 3 -timeout 60s
it_sipp uac_busy -sf "$(it_scenario uac_final 486)" -s +4722000002 127.0.0.1:5060 \
  -i 127.0.0.1 -p 5070 -m 3 -r 3 && it_ok "486 Busy Here relayed" || it_fail "486"
wait "$it_sipp_pid" || it_fail "the busy callee did not get its ACK"

# A next hop that swallows everything (a UDP socket that never answers): 408 after
# Timer B (64*T1 = 3.2 s with t1 50 ms).
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 5093))
open(sys.argv[1], "w").close()  # bound: from now on no ICMP error can come back
end = time.time() + 30
s.settimeout(1)
while time.time() < end:
    try: s.recv(65535)
    except socket.timeout: pass
' "$it_tmp/silent.ready" &
it_pids+=($!)
# Wait until it is bound: an ICMP error would make this a 503 test.
for _ in $(seq 100); do [ -e "$it_tmp/silent.ready" ] && break; sleep 0.1; done
[ -e "$it_tmp/silent.ready" ] || it_fail 'the silent next hop did not bind 127.0.0.2:5093'
it_sipp uac_408 -sf "$(it_scenario uac_final 408)" -s +4724000002 127.0.0.1:5060 \
  -i 127.0.0.1 -p 5070 -m 1 && it_ok "408 from a silent next hop" || it_fail "408"

# A dead next hop (nothing listens: ICMP port unreachable) then the next route.
it_sipp_bg uas_fo -sf "$it_scen/uas.xml" -i 127.0.0.1 -p 5090 -m 2 -timeout 60s
it_sipp uac_fo -sf "$it_scen/uac.xml" -s +4725000002 127.0.0.1:5060 -i 127.0.0.1 -p 5070 \
  -m 2 -r 2 && it_ok "dead next hop: failover to the second route" || it_fail "failover"
wait "$it_sipp_pid" || it_fail "the failover callee saw a wrong message"

it_alive || it_fail "sipeer stopped answering"
it_stop
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
