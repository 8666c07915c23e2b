#!/usr/bin/env bash
# register.sh: REGISTER with digest (wrong password, right password), then a call and a
# MESSAGE reach the registered contact; the binding survives kill -9 right after its 200;
# a short registration expires (480 afterwards); Expires: 0 removes it.
. "$(dirname "$0")/lib.sh"

config="
listen:
  - udp://127.0.0.1:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
users:
  - { user: alice, password: alice-secret, number: \"+4721000001\" }
  - { user: bob, password: bob-secret, number: \"+4721000002\" }
registrar: { min_expires: 1, default_expires: 300 }
auth: { algorithms: [MD5] }   # SIPp answers only the first challenge, and only MD5
"
it_start "$config"
reg() { # reg NAME PASSWORD EXPIRES WANT
  it_sipp "$1" -sf "$(it_scenario reg "$4")" -s alice -au alice -ap "$2" -set contact 127.0.0.1:5091 \
    -set expires "$3" 127.0.0.1:5060 -i 127.0.0.1 -p 5072 -m 1
}

reg reg_wrong wrong-password 300 401 && it_ok "wrong password: challenged again" || it_fail "wrong password"
reg reg_ok alice-secret 300 200 && it_ok "right password: 200" || it_fail "REGISTER 200"

# A call and a MESSAGE to alice reach her contact.
it_sipp_bg uas_alice -sf "$it_scen/uas.xml" -i 127.0.0.1 -p 5091 -m 1 -timeout 30s
it_sipp uac_alice -sf "$it_scen/uac.xml" -s alice 127.0.0.1:5060 -i 127.0.0.1 -p 5070 -m 1 \
  && it_ok "call to the registered user" || it_fail "call to alice"
wait "$it_sipp_pid" || it_fail "alice's phone saw a wrong message"
it_sipp_bg msg_alice -sf "$it_scen/uas_msg.xml" -i 127.0.0.1 -p 5091 -m 1 -timeout 30s
it_sipp msg -sf "$it_scen/msg.xml" -s alice 127.0.0.1:5060 -i 127.0.0.1 -p 5070 -m 1 \
  && it_ok "MESSAGE to the registered user" || it_fail "MESSAGE to alice"
wait "$it_sipp_pid" || it_fail "alice's phone did not get the MESSAGE"

# kill -9 right after a REGISTER's 200: the binding is durable.
reg reg_again alice-secret 300 200 || it_fail "REGISTER before kill"
kill -KILL "$it_sipeer_pid"; wait "$it_sipeer_pid" 2>/dev/null
it_start "$config"
it_sipp_bg uas_alice2 -sf "$it_scen/uas.xml" -i 127.0.0.1 -p 5091 -m 1 -timeout 30s
it_sipp uac_alice2 -sf "$it_scen/uac.xml" -s alice 127.0.0.1:5060 -i 127.0.0.1 -p 5070 -m 1 \
  && it_ok "binding survived kill -9" || it_fail "binding lost after kill -9"
wait "$it_sipp_pid" || it_fail "alice's phone saw a wrong message after restart"

# Unregister (Expires: 0): the next call gets 480.
reg reg_zero alice-secret 0 200 || it_fail "unregister"
it_sipp uac_480 -sf "$(it_scenario uac_final 480)" -s alice 127.0.0.1:5060 \
  -i 127.0.0.1 -p 5070 -m 1 && it_ok "unregistered: 480" || it_fail "480 after unregister"

# A 2-second registration expires.
reg reg_short alice-secret 2 200 || it_fail "short REGISTER"
sleep 3
it_sipp uac_exp -sf "$(it_scenario uac_final 480)" -s alice 127.0.0.1:5060 \
  -i 127.0.0.1 -p 5070 -m 1 && it_ok "expired registration: 480" || it_fail "480 after expiry"

# Behind NAT: a private Contact registered from another address is reached at the address
# the REGISTER came from (SIPp's port 5072), not at the unreachable Contact.
it_sipp reg_nat -sf "$(it_scenario reg 200)" -s alice -au alice -ap alice-secret \
  -set contact 10.0.0.5:5091 -set expires 300 127.0.0.1:5060 -i 127.0.0.1 -p 5072 -m 1 \
  || it_fail "REGISTER with a private Contact"
it_sipp_bg uas_nat -sf "$it_scen/uas.xml" -i 127.0.0.1 -p 5072 -m 1 -timeout 30s
it_sipp uac_nat -sf "$it_scen/uac.xml" -s alice 127.0.0.1:5060 -i 127.0.0.1 -p 5070 -m 1 \
  && it_ok "private Contact: reached at the REGISTER's source" || it_fail "call behind NAT"
wait "$it_sipp_pid" || it_fail "the phone behind NAT saw a wrong message"

# An unknown user is answered like a wrong password (no user enumeration).
it_sipp reg_unknown -sf "$(it_scenario reg 401)" -s mallory -au mallory -ap x -set contact 127.0.0.1:5091 \
  -set expires 300 127.0.0.1:5060 -i 127.0.0.1 -p 5072 -m 1 \
  && it_ok "unknown user: same answer as a wrong password" || it_fail "unknown user"

it_alive || it_fail "sipeer stopped answering"
it_stop
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
