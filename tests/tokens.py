"""Sign real RS256 Google-style ID tokens with a local key, and serve its certificate (no network)."""
from __future__ import annotations

import datetime as dt
import json
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

CERTS_URL = "https://certs.test/oauth2/v1/certs"


class TokenSigner:
    """A key pair, its certificate and a signer making ID tokens Google's verifier accepts."""

    def __init__(self, key_id: str = "test-key"):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labeldesk-test")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=30)).sign(self.key, hashes.SHA256()))
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        self.key_id = key_id
        self.signer = crypt.RSASigner.from_string(pem, key_id=key_id)

    def certs_json(self) -> str:
        return json.dumps({self.key_id: self.cert_pem})

    def token(self, audience: str, email: str, email_verified: bool = True, expires_in: int = 3600,
              issuer: str = "https://accounts.google.com", **extra) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "email": email, "email_verified": email_verified,
                  "iat": now - 10, "exp": now + expires_in, "sub": "1234567890", **extra}
        return jwt.encode(self.signer, claims).decode()


def serve_certs(responses_mock, signer: TokenSigner, url: str = CERTS_URL) -> None:
    responses_mock.add("GET", url, body=signer.certs_json(), content_type="application/json")
