#!/usr/bin/env python3
"""Independent check of the provenance test vector (tests/vectors/provenance.txt)
with Python's hashlib (its own BLAKE2b and SHA-256, not libsodium), from the
construction in docs/protocol.md ("Provenance") alone:

  K = BLAKE2b-256(key = seed, "tamizdat/provenance-key/v1")
  k = BLAKE2b-256(key = K, "tamizdat/provenance-file/v1" || salt)
  C = BLAKE2b-256(key = k, "tamizdat/provenance-commit/v1" || SHA-256(original))

and the proof file's fixed form. Prints one line per check; exits 1 on any failure.
"""
import hashlib
import pathlib
import sys

VECTOR = pathlib.Path(__file__).resolve().parent.parent / "vectors" / "provenance.txt"


def read_vector(path):
    values = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key] = value
    return values


def b2(key, message):
    return hashlib.blake2b(message, key=key, digest_size=32).digest()


def main():
    v = read_vector(VECTOR)
    seed = bytes.fromhex(v["seed"])
    salt = bytes.fromhex(v["salt"])
    original = bytes.fromhex(v["original"])
    digest = hashlib.sha256(original).digest()
    provenance_key = b2(seed, b"tamizdat/provenance-key/v1")
    file_key = b2(provenance_key, b"tamizdat/provenance-file/v1" + salt)
    commitment = b2(file_key, b"tamizdat/provenance-commit/v1" + digest)
    proof = ('{"tamizdat_proof":1,"bundle_id":"%s","path":"%s","file_key":"%s"}\n'
             % (v["bundle_id"], v["path"], file_key.hex())).encode()

    checks = [
        ("SHA-256 of the original", digest.hex() == v["original_sha256"]),
        ("provenance key K", provenance_key.hex() == v["provenance_key"]),
        ("file proof key k", file_key.hex() == v["file_key"]),
        ("commitment C", commitment.hex() == v["commitment"]),
        ("proof file bytes", proof.hex() == v["proof"]),
        # Without k, the original's plain hashes must not be the commitment.
        ("commitment is not a plain hash of the original",
         commitment not in (digest, hashlib.blake2b(original, digest_size=32).digest())),
    ]
    failed = 0
    for name, ok in checks:
        print(("ok: " if ok else "FAIL: ") + name)
        failed += 0 if ok else 1
    print("%d passed, %d failed" % (len(checks) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
