"""Who the AI agent is to Okta: its client id, its private key, and the org it belongs to.

An AI agent registered under Directory > AI Agents with *Client registration: Public/private key*
proves who it is with a **client assertion**: a short JWT it signs with its private key for the one
token endpoint it is calling (``aud``), with ``iss`` = ``sub`` = its client id, a fresh ``jti`` (Okta
accepts each only once) and an ``exp`` a few minutes ahead (Okta's *JWT with private key* client
authentication). Okta holds only the public half. The private key never leaves this object: it is
not in its ``repr`` and nothing here prints or logs it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["CLIENT_ASSERTION_TYPE", "Agent"]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: a client assertion lives this long (Okta allows up to an hour; a minute is plenty for one request)
ASSERTION_LIFETIME = 60


@dataclass(frozen=True)
class Agent:
    """An AI agent's credentials at an Okta org.

    ``org_url``: the org (the org authorization server's issuer, ``https://{yourOktaDomain}``);
    ``client_id``: the agent's client id; ``private_key``: the RSA key whose public half is
    registered on the agent (``key_id`` its ``kid``); ``redirect_uri``: where the user's sign-in to
    the agent comes back (registered on the agent's linked OIDC app).
    """

    org_url: str
    client_id: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    key_id: str
    redirect_uri: str = "http://127.0.0.1:8765/callback"

    @property
    def org_token_endpoint(self) -> str:
        """The org authorization server's token endpoint: where ID-JAGs come from."""
        return f"{self.org_url.rstrip('/')}/oauth2/v1/token"

    def client_assertion(self, token_endpoint: str) -> dict[str, str]:
        """The two form fields that authenticate the agent at ``token_endpoint`` (and only there)."""
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": token_endpoint,
                  "iat": now, "exp": now + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(24)}
        signed = jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.key_id})
        return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": signed}


def token_endpoint_of(issuer: str) -> str:
    """An Okta custom authorization server's token endpoint, from its issuer (``{issuer}/v1/token``)."""
    return f"{issuer.rstrip('/')}/v1/token"
