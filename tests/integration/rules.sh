#!/usr/bin/env bash
# rules.sh: the proxy's request checks of RFC 3261 section 16.3 and the admission rules of
# DESIGN.md, one request each: 483, 416, 420 with Unsupported, 482 for a loop, a stateless
# 400 naming the parser's reason, 403 for relaying, 404 for an unknown target.
. "$(dirname "$0")/lib.sh"
req() { python3 "$it_src/tests/integration/sipreq.py" 127.0.0.1:5060 "$@"; }

it_start "
listen:
  - udp://127.0.0.1:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
trusted: [\"127.0.0.1/32\"]
users:
  - { user: alice, password: alice-secret, number: \"+4721000001\" }
numbering: { country_code: \"47\", national_prefix: \"0\", international_prefix: \"00\" }
routes:
  - match: { prefix: \"+4799\" }
    to: \"sip:127.0.0.1:5060\"
"
check() { # check WHAT EXPECTED-STATUS ARGS...
  local what=$1 want=$2; shift 2
  out=$(req "$@" 2>&1) && it_ok "$what: $out" || it_fail "$what: want $want, got $out"
}
check "Max-Forwards 0" 483 MESSAGE sip:+4722000002@sipeer.test 483 "Max-Forwards: 0"
check "OPTIONS with Max-Forwards 0 answered here" 200 OPTIONS sip:+4722000002@sipeer.test 200 "Max-Forwards: 0"
check "unsupported URI scheme" 416 MESSAGE mailto:bob@example.com 416
check "Proxy-Require" 420 OPTIONS sip:+4722000002@sipeer.test 420 "Proxy-Require: foo"
check "loop through a route to itself" 482 MESSAGE sip:+4799000001@sipeer.test 482
check "unknown target" 404 MESSAGE sip:nobody@sipeer.test 404
check "user not registered" 480 MESSAGE sip:alice@sipeer.test 480
check "number of a user not registered" 480 MESSAGE sip:021000001@sipeer.test 480
out=$(req MESSAGE sip:alice@sipeer.test 400 "CSeq: 99999999999 MESSAGE" 2>&1)
[ $? -eq 0 ] && [[ "$out" == *"CSeq"* ]] && it_ok "malformed CSeq: $out" || it_fail "malformed CSeq: $out"
it_alive || it_fail "sipeer stopped answering"
it_stop

# Not trusted, not our user: never an open relay.
it_start "
listen:
  - udp://127.0.0.1:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
routes:
  - match: { any: true }
    to: \"sip:127.0.0.1:5090\"
"
check "relay for a stranger" 403 MESSAGE sip:someone@example.com 403
it_stop
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
