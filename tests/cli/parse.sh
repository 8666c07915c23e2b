#!/usr/bin/env bash
# parse.sh: "sipeer parse" on the torture corpus gives the verdicts of verdicts.tsv, and the
# command's output format and exit status follow DESIGN.md section 3.
set -u
bin=${SIPEER_BIN:?}
data=${SIPEER_TESTDATA:-${SIPEER_TESTDATA_DEFAULT:-}}
if [ ! -f "$data/torture/verdicts.tsv" ]; then
  echo "SKIP cli_parse: torture corpus not found"; exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; n=0
while IFS=$'\t' read -r file section verdict _; do
  case "$file" in \#*|"") continue;; esac
  [ "$verdict" = none ] && continue
  out=$("$bin" parse "$data/torture/$file"); rc=$?
  n=$((n+1))
  if [ "$verdict" = invalid ]; then
    if [ $rc -ne 1 ] || [[ "$out" != "$data/torture/$file: invalid: "?* ]]; then
      echo "FAIL $file: expected invalid, got rc=$rc: $out"; fail=1; fi
  else
    if [ $rc -ne 0 ] || [ "$out" != "$data/torture/$file: valid" ]; then
      echo "FAIL $file: expected valid, got rc=$rc: $out"; fail=1; fi
  fi
done < "$data/torture/verdicts.tsv"
echo "checked $n files"
[ $n -ge 60 ] || { echo "FAIL: too few files checked"; fail=1; }

# Several files: one line each, exit 1 when any is invalid.
out=$("$bin" parse "$data/torture/rfc4475/wsinv.dat" "$data/torture/rfc4475/ncl.dat"); rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 2 ] || { echo "FAIL: mixed files rc=$rc: $out"; fail=1; }
# A missing file is reported, not a crash.
out=$("$bin" parse "$tmp/nope.sip"); rc=$?
[ $rc -eq 1 ] && [[ "$out" == "$tmp/nope.sip: invalid: "* ]] || { echo "FAIL: missing file: $out"; fail=1; }
# An over-large datagram is refused as such.
head -c 70000 /dev/zero | tr '\0' 'a' > "$tmp/big.sip"
out=$("$bin" parse "$tmp/big.sip"); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"413"* ]] || { echo "FAIL: big file: $out"; fail=1; }
exit $fail
