#!/usr/bin/env bash
# lifecycle.sh: the command-line contract around the daemon: --check (exit status and
# FILE:LINE:COL errors), reload on SIGHUP (a good file takes effect, a bad one is refused
# and the old one stays), graceful stop on SIGTERM (exit 0, counters in the log).
. "$(dirname "$0")/lib.sh"

good="
listen:
  - udp://127.0.0.1:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
trusted: [\"127.0.0.1/32\"]
routes:
  - match: { prefix: \"+4722\" }
    to: \"sip:127.0.0.1:5090\"
"
printf '%s\n' "$good" > "$it_tmp/good.yaml"
printf 'listen:\n  - udp://127.0.0.1:99999\ndomains: [sipeer.test]\nbogus: 1\n' > "$it_tmp/bad.yaml"

"$it_bin" --check -c "$it_tmp/good.yaml" >"$it_tmp/check.out" 2>&1 \
  && it_ok "--check accepts a good file" || it_fail "--check refused a good file: $(cat "$it_tmp/check.out")"
"$it_bin" --check -c "$it_tmp/bad.yaml" >"$it_tmp/check.out" 2>&1; rc=$?
[ $rc -eq 1 ] || it_fail "--check on a bad file exited $rc"
grep -q "^$it_tmp/bad.yaml:2:[0-9]*: " "$it_tmp/check.out" || it_fail "no FILE:LINE:COL error for the port: $(cat "$it_tmp/check.out")"
grep -q "^$it_tmp/bad.yaml:4:1: " "$it_tmp/check.out" || it_fail "no FILE:LINE:COL error for the unknown key: $(cat "$it_tmp/check.out")"
[ "$it_failed" -eq 0 ] && it_ok "--check reports FILE:LINE:COL errors and exits 1"
"$it_bin" -c "$it_tmp/bad.yaml" >/dev/null 2>&1 && it_fail "the daemon started on a bad file"

# A port already taken: a clear error and exit 1, not a crash.
printf 'listen:\n  - udp://127.0.0.1:5091\nstore: sqlite:%s/busy.db\n' "$it_tmp" > "$it_tmp/busy.yaml"
python3 -c 'import socket,subprocess,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 5091))
r = subprocess.run([sys.argv[1], "-c", sys.argv[2]], capture_output=True, timeout=20)
sys.stderr.buffer.write(r.stderr); sys.exit(r.returncode)' "$it_bin" "$it_tmp/busy.yaml" 2>"$it_tmp/busy.log"
rc=$?
[ $rc -eq 1 ] && grep -q "cannot listen on UDP 127.0.0.1:5091" "$it_tmp/busy.log" \
  && ! grep -q "Sanitizer\|runtime error" "$it_tmp/busy.log" \
  && it_ok "port in use: named, exit 1" || { it_fail "port in use: exit $rc"; cat "$it_tmp/busy.log"; }

# OPTIONS to a domain the node does not serve yet: refused (never an open relay).
probe_other() { python3 "$it_src/tests/integration/sipreq.py" 127.0.0.1:5060 OPTIONS sip:other.test 200 >/dev/null; }
it_start "$good"
probe_other && it_fail "OPTIONS for a foreign domain got 200 before the reload"
# A second instance on the same addresses must not start (nor share the port).
timeout 20 "$it_bin" -c "$it_tmp/sipeer.yaml" >"$it_tmp/second.log" 2>&1; rc=$?
[ $rc -eq 1 ] && it_ok "a second instance on the same port exits 1" \
  || it_fail "a second instance on the same port: exit $rc"

# A good reload: other.test becomes one of ours and its OPTIONS is answered.
sed 's/domains: \[sipeer.test\]/domains: [sipeer.test, other.test]/' "$it_tmp/sipeer.yaml" > "$it_tmp/new.yaml"
mv "$it_tmp/new.yaml" "$it_tmp/sipeer.yaml"
kill -HUP "$it_sipeer_pid"
for _ in $(seq 20); do grep -q "configuration reloaded" "$it_tmp/sipeer.log" && break; sleep 0.1; done
probe_other && it_ok "SIGHUP: the new domain is served" || it_fail "reload did not take effect"

# A bad reload is refused with its errors; the running configuration stays.
cp "$it_tmp/bad.yaml" "$it_tmp/sipeer.yaml"
kill -HUP "$it_sipeer_pid"
for _ in $(seq 20); do grep -q "reload refused" "$it_tmp/sipeer.log" && break; sleep 0.1; done
grep -q "reload refused" "$it_tmp/sipeer.log" || it_fail "a bad reload was not refused"
grep -q "sipeer.yaml:4:1: " "$it_tmp/sipeer.log" || it_fail "the refused reload did not name FILE:LINE:COL"
probe_other && it_alive && it_ok "SIGHUP with a bad file: refused, old configuration kept" \
  || it_fail "the old configuration was lost"

# SIGTERM while a call rings: the callee gets a CANCEL, the caller a 503; exit 0.
it_sipp_bg uas_ring -sf "$it_scen/uas_cancel.xml" -i 127.0.0.1 -p 5090 -m 1 -timeout 20s
sleep 0.3
it_sipp uac_503 -sf "$(it_scenario uac_final 503)" -s +4722000002 127.0.0.1:5060 \
  -i 127.0.0.1 -p 5070 -m 1 &
uac=$!
sleep 1.5 # the INVITE is ringing at the callee by now (it answers 180 at once)
it_stop
[ "$it_stop_rc" -eq 0 ] && it_ok "SIGTERM: exit 0" || it_fail "SIGTERM: exit $it_stop_rc"
wait "$uac" && it_ok "SIGTERM: the ringing caller got 503" || it_fail "the ringing caller got no 503"
wait "$it_sipp_pid" && it_ok "SIGTERM: the ringing callee got a CANCEL" || it_fail "the callee got no CANCEL"
grep -q "counters: requests" "$it_tmp/sipeer.log" || it_fail "no counters at exit"
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
