#!/usr/bin/env bash
# federation_example.sh: the two providers of examples/federation/ (README.md), started from
# copies of its ssp-a.yaml and ssp-b.yaml with certificates from its make-certs.sh, do what the
# README shows: both files pass --check, bob registers, alice calls bob by number and by SIP
# URI over the mutual-TLS peering, a MESSAGE and a SUBSCRIBE/NOTIFY cross, bob calls alice.
# Uses 127.0.0.2/.3 (providers) and 127.0.0.5/.7 (phones), like peering.sh.
. "$(dirname "$0")/lib.sh"
for tool in openssl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP $it_name: $tool not installed"; exit 77; }
done
ex="$it_src/examples/federation"
fed="$it_tmp"   # the providers' configurations are written here too (it_launch_named)
cp "$ex/ssp-a.yaml" "$ex/ssp-b.yaml" "$fed/" \
  && bash "$ex/make-certs.sh" -d "$fed/certs" >"$it_tmp/certs.log" 2>&1 \
  || { it_fail "make-certs.sh failed"; cat "$it_tmp/certs.log"; exit 1; }
it_ok "make-certs.sh made the federation CA and both node certificates"

for f in ssp-a ssp-b; do
  "$it_bin" --check -c "$fed/$f.yaml" >"$it_tmp/check-$f.out" 2>&1 \
    && it_ok "sipeer --check -c examples/federation/$f.yaml" \
    || { it_fail "$f.yaml does not pass --check:"; cat "$it_tmp/check-$f.out"; }
done

it_wait_free 127.0.0.2 127.0.0.3 127.0.0.5 127.0.0.7 \
  || { it_fail "127.0.0.2/3/5/7 are in use by other processes (see above)"; exit 1; }
# it_launch_named writes the configuration to $it_tmp/NAME.yaml, beside certs/: the relative
# paths of the example hold.
it_launch_named A 127.0.0.2:5060 "$(cat "$fed/ssp-a.yaml")"
it_launch_named B 127.0.0.3:5060 "$(cat "$fed/ssp-b.yaml")"
for n in A B; do it_wait_named $n || { it_fail "provider $n did not start"; exit 1; }; done
it_ok "both providers started from the example configuration"

S=$it_scen
sipp_run() { # sipp_run NAME ARGS...: bounded
  timeout 20 sipp "$@" -m 1 -timeout 12s -timeout_error -nostdin -trace_err \
    -error_file "$it_tmp/$1.err" >"$it_tmp/$1.out" 2>&1
}
phone() { # phone NAME ADDRESS SCENARIO: a callee phone on ADDRESS:5090 in the background
  sipp -sf "$S/$3.xml" -i "$2" -p 5090 -m 1 -timeout 15s -nostdin -trace_err \
    -error_file "$it_tmp/$1.err" >"$it_tmp/$1.out" 2>&1 &
  phone_pid=$!; it_pids+=("$phone_pid"); sleep 0.3
}
both() { # both NAME DESCRIPTION CALLER-STATUS: the caller and the callee phone succeeded
  [ "$3" -eq 0 ] || kill -TERM "$phone_pid" 2>/dev/null
  if wait "$phone_pid" && [ "$3" -eq 0 ]; then it_ok "$2"; else
    it_fail "$2"; cat "$it_tmp/$1"*.err 2>/dev/null | grep -v "^The following" | head -n 4
  fi
}

sipp_run reg_bob -sf "$S/peer_reg.xml" -s bob -au bob -ap bob-secret -set dom ssp-b.test \
  -set contact 127.0.0.7:5090 127.0.0.3:5060 -i 127.0.0.7 -p 5090 \
  && it_ok "bob registers at B" || it_fail "bob's REGISTER"
sipp_run reg_alice -sf "$S/peer_reg.xml" -s alice -au alice -ap alice-secret -set dom ssp-a.test \
  -set contact 127.0.0.5:5090 127.0.0.2:5060 -i 127.0.0.5 -p 5090 \
  && it_ok "alice registers at A" || it_fail "alice's REGISTER"

uac() { # uac NAME SCENARIO SERVICE DOMAIN FROM PROVIDER CALLER-ADDRESS
  sipp_run "$1" -sf "$S/$2.xml" -s "$3" -set dom "$4" -set from "$5" "$6:5060" -i "$7" -p 5070
}
phone call1-bob 127.0.0.7 peer_uas
uac call1 peer_uac +4722000001 ssp-a.test alice@ssp-a.test 127.0.0.2 127.0.0.5
both call1 "alice calls +4722000001 across the peering: answered, hung up" $?
phone call2-bob 127.0.0.7 peer_uas_bye
uac call2 peer_uac_wait bob ssp-b.test alice@ssp-a.test 127.0.0.2 127.0.0.5
both call2 "alice calls sip:bob@ssp-b.test: answered, bob hangs up" $?
phone call3-bob 127.0.0.7 peer_uas
uac call3 peer_uac 004722000001 ssp-a.test alice@ssp-a.test 127.0.0.2 127.0.0.5
both call3 "alice dials 004722000001 (international prefix): answered" $?
phone msg-bob 127.0.0.7 peer_uas_msg
uac msg peer_msg bob ssp-b.test alice@ssp-a.test 127.0.0.2 127.0.0.5
both msg "MESSAGE from alice to bob: 200" $?
phone sub-bob 127.0.0.7 peer_uas_sub
uac sub peer_sub bob ssp-b.test alice@ssp-a.test 127.0.0.2 127.0.0.5
both sub "SUBSCRIBE from alice to bob: 200, NOTIFY back: 200" $?
phone call4-alice 127.0.0.5 peer_uas
uac call4 peer_uac +4721000001 ssp-b.test bob@ssp-b.test 127.0.0.3 127.0.0.7
both call4 "bob calls +4721000001 the other way: answered, hung up" $?

for n in A B; do it_alive_named $n || it_fail "provider $n stopped answering"; done
for n in A B; do kill -TERM "${it_named_pid[$n]}" 2>/dev/null; done
for n in A B; do
  it_stop_named $n
  [ "$it_stop_rc" -eq 0 ] || it_fail "provider $n exited with $it_stop_rc on SIGTERM"
  grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/$n.log" && it_fail "sanitizer report in $n.log"
done
it_done
