"""Making JSON Web Tokens in the tests, good ones and attacks, with the `cryptography` package."""

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(value, length=None):
    length = length or (value.bit_length() + 7) // 8
    return b64url(value.to_bytes(length, "big"))


class Keys:
    """One key of each kind the proxy verifies, and the JWKS and HMAC secret files that publish them."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.hmac = hashlib.sha256(b"zeroweight-proxy test secret " + str(time.time()).encode()).digest()
        self.other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self):
        rsa_numbers = self.rsa.public_key().public_numbers()
        ec_numbers = self.ec.public_key().public_numbers()
        ed_raw = self.ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": uint(rsa_numbers.n), "e": uint(rsa_numbers.e)},
            {"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256", "x": uint(ec_numbers.x, 32), "y": uint(ec_numbers.y, 32)},
            {"kty": "OKP", "kid": "ed-1", "use": "sig", "crv": "Ed25519", "x": b64url(ed_raw)},
        ]}

    def rsa_public_pem(self):
        return self.rsa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims, alg="RS256", kid=None, header=None, key=None):
        """A compact JWS over `claims`; `key` overrides the one `alg` implies (for attacks)."""
        head = {"alg": alg, "typ": "JWT"}
        if kid is None:
            kid = {"RS256": "rsa-1", "ES256": "ec-1", "EdDSA": "ed-1"}.get(alg)
        if kid:
            head["kid"] = kid
        head.update(header or {})
        signing_input = (b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        if alg == "HS256":
            signature = hmac.new(key if key is not None else self.hmac, signing_input, hashlib.sha256).digest()
        elif alg == "RS256":
            signature = (key or self.rsa).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            r, s = decode_dss_signature((key or self.ec).sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        elif alg == "EdDSA":
            signature = (key or self.ed).sign(signing_input)
        elif alg == "none":
            signature = b""
        else:
            raise ValueError(alg)
        return signing_input.decode() + "." + b64url(signature)


def claims(subject="alice", tenant="acme", lifetime=300, **extra):
    now = int(time.time())
    body = {"sub": subject, "tenant": tenant, "iss": "https://login.example.test", "aud": "zeroweight-proxy",
            "iat": now, "exp": now + lifetime}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}
