#!/usr/bin/env bash
# protos_udp.sh: the 4,527 PROTOS c07-sip cases sent over UDP to the running daemon (built
# with ASan/UBSan in make test), with an OPTIONS liveness check after each group: the daemon
# answers to the end and the sanitizers stay silent.
. "$(dirname "$0")/lib.sh"
data=${SIPEER_TESTDATA:-${SIPEER_TESTDATA_DEFAULT:-}}
if [ ! -f "$data/protos-c07-sip/groups.tsv" ]; then
  echo "SKIP $it_name: PROTOS corpus not found"; exit 77
fi
it_start "
listen:
  - udp://127.0.0.1:5060
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
"
timeout 600 python3 "$it_src/tests/integration/protos_send.py" "$data/protos-c07-sip" 127.0.0.1 5060 \
  && it_ok "every group followed by a live OPTIONS" || it_fail "the daemon stopped answering"
it_alive || it_fail "sipeer stopped answering at the end"
it_stop
[ "$it_stop_rc" -eq 0 ] || it_fail "sipeer exited with $it_stop_rc (a sanitizer report?)"
grep -q "ERROR: AddressSanitizer\|runtime error\|LeakSanitizer" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
