#!/usr/bin/env bash
# baresip.sh: two real SIP phones (baresip, headless: a 440 Hz tone as microphone, a file as
# speaker) register with digest to sipeer, alice calls bob, bob answers automatically, the
# call is established with media both ways, alice hangs up.
. "$(dirname "$0")/lib.sh"
command -v baresip >/dev/null || { echo "SKIP $it_name: baresip not installed"; exit 77; }
[ -f /usr/lib/baresip/modules/opus.so ] || { echo "SKIP $it_name: baresip modules missing"; exit 77; }

phone() { # phone NAME PORT: a baresip configuration directory
  mkdir -p "$it_tmp/$1"
  cat > "$it_tmp/$1/config" <<CFG
poll_method epoll
sip_listen 127.0.0.1:$2
audio_player aufile,$it_tmp/$1/play.wav
audio_source ausine,440
audio_alert aufile,$it_tmp/$1/alert.wav
rtp_ports 20000-20200
module_path /usr/lib/baresip/modules
module opus.so
module ausine.so
module aufile.so
module_app account.so
module_app menu.so
CFG
  printf '<sip:%s@sipeer.test>;auth_pass=%s-secret;outbound="sip:127.0.0.1:5060";regint=300;answermode=auto\n' \
    "$1" "$1" > "$it_tmp/$1/accounts"
}
# (baresip also binds port+1 for TLS: keep the phones apart.)
phone alice 5084
phone bob 5087

it_start "
listen:
  - udp://127.0.0.1:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
users:
  - { user: alice, password: alice-secret, number: \"+4721000001\" }
  - { user: bob, password: bob-secret, number: \"+4721000002\" }
"
timeout 20 baresip -f "$it_tmp/bob" > "$it_tmp/bob.out" 2>&1 &
bob=$!
it_pids+=($bob)
for _ in $(seq 50); do grep -q "bob@sipeer.test: .*200 OK" "$it_tmp/bob.out" && break; sleep 0.1; done
grep -q "bob@sipeer.test: .*200 OK" "$it_tmp/bob.out" && it_ok "bob registered" || it_fail "bob did not register"
timeout 20 baresip -f "$it_tmp/alice" -e "/dial bob@sipeer.test" -t 5 > "$it_tmp/alice.out" 2>&1
grep -q "Call established: sip:bob@sipeer.test" "$it_tmp/alice.out" \
  && grep -q "Call established: sip:alice@sipeer.test" "$it_tmp/bob.out" \
  && it_ok "alice called bob through sipeer: established on both phones" \
  || { it_fail "the call was not established"; tail -20 "$it_tmp/alice.out" "$it_tmp/bob.out"; }
grep -q "incoming rtp for 'audio' established" "$it_tmp/alice.out" \
  && it_ok "media flows (RTP end to end)" || it_fail "no RTP at alice"
grep -q "Call with sip:bob@sipeer.test terminated" "$it_tmp/alice.out" \
  && it_ok "alice hung up" || it_fail "the call did not end"
kill "$bob" 2>/dev/null; wait "$bob" 2>/dev/null
it_alive || it_fail "sipeer stopped answering"
it_stop
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
