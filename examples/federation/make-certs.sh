#!/usr/bin/env bash
# make-certs.sh: test certificates for the federation example (and the peering integration
# test): a federation CA and one node certificate per provider, made with openssl.
#
#   make-certs.sh [-d DIR] [-c CA] [NAME...]
#
# DIR (default: certs/ beside this script) receives CA-ca.pem and CA-ca.key (CA defaults to
# "nordic"; an existing CA there is reused) and, for each NAME (default: ssp-a ssp-b),
# NAME.pem and NAME.key: a certificate for the border element sbe.NAME.test (its DNS
# subjectAltName), usable as TLS server and client (mutual TLS between SBEs), signed by the
# CA and valid for 30 days. Keys are P-256 and unencrypted: for tests and demos only. Never
# commit them (examples/federation/.gitignore keeps certs/ out of git).
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/certs"
ca=nordic
while getopts d:c: opt; do
  case $opt in
    d) dir=$OPTARG ;;
    c) ca=$OPTARG ;;
    *) echo "usage: $0 [-d DIR] [-c CA] [NAME...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- ssp-a ssp-b
command -v openssl >/dev/null || { echo "$0: openssl is not installed" >&2; exit 1; }
mkdir -p "$dir"
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -f "$dir/$ca-ca.pem" ] || [ ! -f "$dir/$ca-ca.key" ]; then
  key "$dir/$ca-ca.key"
  openssl req -x509 -new -key "$dir/$ca-ca.key" -subj "/O=$ca federation/CN=$ca test CA" \
    -days 30 -sha256 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/$ca-ca.pem"
fi
for name in "$@"; do
  san="sbe.$name.test"
  key "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "/O=$name/CN=$san" -out "$dir/$name.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$san" > "$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca-ca.pem" -CAkey "$dir/$ca-ca.key" \
    -CAcreateserial -days 30 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
  echo "$dir/$name.pem: $san, signed by $ca"
done
