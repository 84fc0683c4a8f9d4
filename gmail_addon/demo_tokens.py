"""Tokens for the demo preview: an in-memory RSA key signs Google-shaped ID tokens.

Used only when the app is created with ``demo=True``; the key never leaves the process.
"""
from __future__ import annotations

import time

from google.auth import crypt, jwt

from plugin_host.errors import VerificationError


class DemoSigner:
    service_account = "service-0@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
    client_id = "labeldesk-demo.apps.googleusercontent.com"

    def __init__(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        self.signer = crypt.RSASigner.from_string(pem, key_id="demo")
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_pem = public

    def token(self, audience: str, email: str) -> str:
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": audience, "email": email, "email_verified": True,
                  "iat": now, "exp": now + 300, "sub": email}
        return jwt.encode(self.signer, claims).decode()

    def verify(self, token: str, audience: str) -> dict:
        from google.auth import exceptions

        try:
            return jwt.decode(token, certs={"demo": self.public_pem}, audience=audience)
        except (ValueError, exceptions.GoogleAuthError) as exc:
            raise VerificationError(f"demo token rejected: {exc.__class__.__name__}") from None
