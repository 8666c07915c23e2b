#!/usr/bin/env bash
# ipv6.sh: IPv6 listeners: OPTIONS to [::1] is answered, and a MESSAGE that arrives over
# IPv6 is forwarded over IPv4 to a SIPp callee (with sipeer's IPv4 Via on top).
. "$(dirname "$0")/lib.sh"
python3 -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' \
  2>/dev/null || { echo "SKIP $it_name: no IPv6 loopback"; exit 77; }
req() { python3 "$it_src/tests/integration/sipreq.py" "$@"; }

it_start "
listen:
  - udp://127.0.0.1:5060
  - udp://[::1]:5060
  - tcp://[::1]:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
trusted: [\"127.0.0.1/32\", \"::1/128\"]
routes:
  - match: { prefix: \"+4722\" }
    to: \"sip:127.0.0.1:5090\"
"
out=$(req "[::1]:5060" OPTIONS "sip:[::1]:5060" 200) && it_ok "OPTIONS over IPv6: $out" \
  || it_fail "OPTIONS over IPv6: $out"
it_sipp_bg uas_msg -sf "$it_scen/uas_msg.xml" -i 127.0.0.1 -p 5090 -m 1 -timeout 20s
sleep 0.3
out=$(req "[::1]:5060" MESSAGE "sip:+4722000002@sipeer.test" 200) \
  && it_ok "MESSAGE from IPv6 to an IPv4 next hop: $out" || it_fail "IPv6 to IPv4: $out"
wait "$it_sipp_pid" || it_fail "the IPv4 callee did not get the MESSAGE through sipeer"
it_alive || it_fail "sipeer stopped answering"
it_stop
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
