"""The browser's side of Web Push, for the tests, on an implementation independent of the server's:
`http_ece` (RFC 8188/8291) decrypts, `cryptography` checks the VAPID signature (RFC 8292).

    push_check.py keygen
        prints {"p256dh", "auth", "private"}: a subscription's keys, base64url, and the private key
        (its scalar) to decrypt with later.
    push_check.py open PRIVATE AUTH < requests.json
        reads the push requests a fake push service recorded ([{"endpoint", "headers", "body"}],
        body base64url) and prints, for each, the decrypted JSON payload and the VAPID claims it
        verified ({"payload", "claims", "vapid_key"}); exits non-zero if any fails to verify.
"""
import base64
import json
import sys

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def keygen():
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    import os

    print(json.dumps({
        "p256dh": b64e(public),
        "auth": b64e(os.urandom(16)),
        "private": b64e(key.private_numbers().private_value.to_bytes(32, "big")),
    }))


def verify_vapid(header):
    # "vapid t=<jwt>, k=<public key>"
    assert header.startswith("vapid "), header
    parts = dict(p.strip().split("=", 1) for p in header[len("vapid "):].split(","))
    token, key = parts["t"], parts["k"]
    signing_input, signature = token.rsplit(".", 1)
    head, claims = (json.loads(b64d(p)) for p in signing_input.split("."))
    assert head == {"typ": "JWT", "alg": "ES256"}, head
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(key))
    raw = b64d(signature)
    assert len(raw) == 64, "an ES256 signature is r || s, 64 bytes"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    return claims, key


def open_all(private, auth):
    key = ec.derive_private_key(int.from_bytes(b64d(private), "big"), ec.SECP256R1())
    out = []
    for request in json.load(sys.stdin):
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers.get("content-encoding") == "aes128gcm", headers
        claims, vapid_key = verify_vapid(headers["authorization"])
        payload = http_ece.decrypt(
            b64d(request["body"]), private_key=key, auth_secret=b64d(auth), version="aes128gcm"
        )
        out.append({"payload": json.loads(payload), "claims": claims, "vapid_key": vapid_key})
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen()
    else:
        open_all(sys.argv[2], sys.argv[3])
