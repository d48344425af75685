"""``private_key_jwt`` for the conformance client: ``TokenManager`` with helper A's private-key fetcher.

The suite's ``auth/client-credentials-jwt`` hands over an EC P-256 key (ES256) and accepts an
assertion only when its ``aud`` is the authorization server's **issuer**. The project's
:class:`~helpers.tokens.private_key.PrivateKeyClient` signs RS256 with an RSA key (what Okta's own
key generator makes) and sets ``aud`` to the **token endpoint**, the endpoint invoked, as Okta's
error catalogue requires. So that the scenario tests the audience and not the key type, the
harness adapts the key type only (:class:`ES256Client`: same claims, ES256); the assertion keeps
Okta's ``aud``, and the suite refuses it. Okta wins: a client that signed for the issuer would be
refused by Okta.
"""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization

from helpers.tokens import TokenManager
from helpers.tokens.private_key import PrivateKeyClient


class ES256Client(PrivateKeyClient):
    """A PrivateKeyClient whose key is EC P-256: the claims of ``PrivateKeyClient.assertion``, signed ES256."""

    def __post_init__(self) -> None:
        if not self.kid:
            object.__setattr__(self, "kid", "conformance-es256")

    def assertion(self, audience: str) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": audience,
                  "iat": now, "exp": now + self.lifetime, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers={"kid": self.kid})


def manager_for(found, server_url: str, context: dict) -> TokenManager:
    key = serialization.load_pem_private_key(context["private_key_pem"].encode(), password=None)
    client = ES256Client(context["client_id"], key) if context.get("signing_algorithm") == "ES256" else PrivateKeyClient(context["client_id"], key)
    return TokenManager.for_client_credentials(found.token_endpoint, client, (), mcp_servers=server_url)
