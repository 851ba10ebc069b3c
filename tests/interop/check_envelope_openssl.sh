#!/usr/bin/env bash
# Independent check of the envelope test vector (tests/vectors/envelope.txt)
# with OpenSSL's Ed25519, not libsodium: the signature must verify over
# "tamizdat/v1/" || kind || 0x00 || payload, and fail with one payload bit flipped.
set -euo pipefail
vec="$(dirname "$0")/../vectors/envelope.txt"
get() { sed -n "s/^$1=//p" "$vec"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pk=$(get public_key)
payload=$(get payload)
env=$(get envelope)
# The signature is the envelope's last 64 bytes (field 4, tag 0x22 0x40).
sig=${env: -128}
[[ ${env: -132:4} == "2240" ]] || { echo "FAIL: signature field not at the end"; echo "0 passed, 1 failed"; exit 1; }
# SubjectPublicKeyInfo for a raw Ed25519 key: fixed 12-byte DER prefix.
echo "302a300506032b6570032100$pk" | xxd -r -p > "$tmp/pub.der"
echo -n "$sig" | xxd -r -p > "$tmp/sig"
{ printf 'tamizdat/v1/manifest\0'; echo -n "$payload" | xxd -r -p; } > "$tmp/msg"
openssl pkeyutl -verify -pubin -inkey "$tmp/pub.der" -keyform DER -rawin -in "$tmp/msg" -sigfile "$tmp/sig" > /dev/null
echo "ok: OpenSSL verifies the vector's signature"
# The signed message must contain the payload exactly as carried in the envelope.
[[ "$env" == *"$payload"* ]] || { echo "FAIL: payload not in envelope"; echo "1 passed, 1 failed"; exit 1; }
echo "ok: the envelope carries the payload bytes verbatim"
printf '\x01' | dd of="$tmp/msg" bs=1 seek=30 conv=notrunc status=none
if openssl pkeyutl -verify -pubin -inkey "$tmp/pub.der" -keyform DER -rawin -in "$tmp/msg" -sigfile "$tmp/sig" > /dev/null 2>&1; then
  echo "FAIL: a changed message verified"; echo "2 passed, 1 failed"; exit 1
fi
echo "ok: a changed message does not verify"
echo "3 passed, 0 failed"
