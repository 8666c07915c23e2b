#!/usr/bin/env bash
# tls.sh: a tls:// listener with client-certificate verification (certificates made at test
# time with openssl): OPTIONS over TLS with a client certificate is answered 200; without
# one the handshake is refused; a route with ;transport=tls sends a MESSAGE over TLS to the
# next hop, which sees it arrive.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "SKIP $it_name: openssl not installed"; exit 77; }

pki="$it_tmp/pki"; mkdir -p "$pki"
mk() { # mk NAME CN: a key and a certificate signed by the test CA, with the CN as DNS SAN
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -subj "/CN=$2" \
    -out "$pki/$1.csr" 2>/dev/null &&
  printf 'subjectAltName=DNS:%s,IP:127.0.0.1\n' "$2" > "$pki/$1.ext" &&
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 1 -extfile "$pki/$1.ext" -out "$pki/$1.pem" 2>/dev/null
}
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -subj "/CN=test ca" \
  -days 1 -out "$pki/ca.pem" 2>/dev/null && mk node sbe.sipeer.test && mk client peer.test \
  && mk hop hop.test || { it_fail "cannot make test certificates"; exit 1; }

it_start "
listen:
  - udp://127.0.0.1:5060
  - { uri: \"tls://127.0.0.1:5061\", role: access }
tls: { cert: $pki/node.pem, key: $pki/node.key, ca: $pki/ca.pem }
store: sqlite:$it_tmp/sipeer.db
domains: [sipeer.test]
trusted: [\"127.0.0.1/32\"]
routes:
  - match: { prefix: \"+4726\" }
    to: \"sip:127.0.0.1:5095;transport=tls\"
"
options="OPTIONS sip:127.0.0.1:5061 SIP/2.0\r
Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKtls1\r
From: <sip:tester@peer.test>;tag=1\r
To: <sip:127.0.0.1:5061>\r
Call-ID: tls-1@peer.test\r
CSeq: 1 OPTIONS\r
Max-Forwards: 70\r
Content-Length: 0\r
\r
"
tls_client() { # tls_client EXTRA-ARGS...: sends $options, prints what comes back
  (printf "$options"; sleep 2) | timeout 10 openssl s_client -connect 127.0.0.1:5061 -quiet \
    -CAfile "$pki/ca.pem" -verify_return_error "$@" 2>/dev/null
}
tls_client -cert "$pki/client.pem" -key "$pki/client.key" > "$it_tmp/tls1.out"
grep -q "^SIP/2.0 200" "$it_tmp/tls1.out" \
  && it_ok "OPTIONS over TLS with a client certificate: 200" \
  || { it_fail "OPTIONS over TLS"; cat "$it_tmp/tls1.out"; }
tls_client | grep -q "^SIP/2.0" && it_fail "a client without a certificate was answered" \
  || it_ok "no client certificate: refused"

# A next hop that speaks TLS: openssl s_server prints what it receives.
# (Its stdin stays open: at end of input it would hang up.)
sleep 15 | timeout 20 openssl s_server -accept 127.0.0.1:5095 -cert "$pki/hop.pem" \
  -key "$pki/hop.key" -CAfile "$pki/ca.pem" -Verify 1 -quiet > "$it_tmp/hop.out" 2>"$it_tmp/hop.err" &
it_pids+=($!)
sleep 0.5
python3 "$it_src/tests/integration/sipreq.py" 127.0.0.1:5060 MESSAGE sip:+4726000001@sipeer.test 408 >/dev/null 2>&1 &
it_pids+=($!)
for _ in $(seq 50); do grep -q "^MESSAGE sip:+4726000001@sipeer.test" "$it_tmp/hop.out" && break; sleep 0.1; done
grep -q "^MESSAGE sip:+4726000001@sipeer.test" "$it_tmp/hop.out" \
  && grep -q "^Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK" "$it_tmp/hop.out" \
  && it_ok "MESSAGE forwarded over mutual TLS to the next hop" \
  || { it_fail "nothing arrived over TLS"; cat "$it_tmp/hop.err"; }

it_alive || it_fail "sipeer stopped answering"
it_stop
grep -q "ERROR: AddressSanitizer\|runtime error" "$it_tmp/sipeer.log" && it_fail "sanitizer report"
it_done
