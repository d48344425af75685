"""Who the AI agent is to Okta: its client id and private key, and the org it belongs to.

An AI agent registered under Directory > AI Agents with *Client registration: Public/private key*
proves who it is with a **client assertion**: a short JWT it signs with its private key for the one
token endpoint it is calling (``aud``), with ``iss`` = ``sub`` = its client id and a fresh ``jti``
(Okta accepts each only once). :class:`helpers.tokens.private_key.PrivateKeyClient` signs it; Okta
holds only the public half. The private key is not in any ``repr`` and nothing here prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..settings import ConfigurationError
from ..tokens.private_key import JWT_BEARER as CLIENT_ASSERTION_TYPE
from ..tokens.private_key import PrivateKeyClient, generate_private_key

__all__ = ["CLIENT_ASSERTION_TYPE", "Agent", "agent_for", "local_agent", "token_endpoint_of"]


@dataclass(frozen=True)
class Agent:
    """An AI agent's credentials at an Okta org.

    ``org_url``: the org (the org authorization server's issuer, ``https://{yourOktaDomain}``);
    ``key``: the agent's client id and the private key whose public half is registered on it;
    ``redirect_uri``: where the user's sign-in to the agent comes back (registered on the agent's
    linked OIDC app).
    """

    org_url: str
    key: PrivateKeyClient
    redirect_uri: str = "http://127.0.0.1:8765/callback"

    @property
    def client_id(self) -> str:
        return self.key.client_id

    @property
    def org_token_endpoint(self) -> str:
        """The org authorization server's token endpoint: where ID-JAGs come from."""
        return f"{self.org_url.rstrip('/')}/oauth2/v1/token"

    def client_assertion(self, token_endpoint: str) -> dict[str, str]:
        """The two form fields that authenticate the agent at ``token_endpoint`` (and only there)."""
        return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": self.key.assertion(token_endpoint)}


def token_endpoint_of(issuer: str) -> str:
    """An Okta custom authorization server's token endpoint, from its issuer (``{issuer}/v1/token``)."""
    return f"{issuer.rstrip('/')}/v1/token"


def local_agent(okta, label: str = "ai_agent") -> Agent:
    """The local server's AI agent ``label`` with a new key pair, its public key registered (as an
    admin would under Directory > AI Agents > the agent > Client registration > Add public key)."""
    key = PrivateKeyClient(okta.tenant.app(label=label).client_id, generate_private_key())
    okta.register_public_key(label, key.public_jwk)
    return Agent(okta.url, key)


def agent_for(auth_server, environ=None, env_file=None) -> Agent:
    """The notebook's AI agent: the local server's (a new key pair, registered), or the one ``.env``
    names with a real org (``AI_AGENT_CLIENT_ID``, ``AI_AGENT_PRIVATE_KEY_FILE``; ``environ`` and
    ``env_file`` as in :func:`helpers.settings.load_settings`)."""
    if auth_server.local is not None:
        return local_agent(auth_server.local)
    from .agent_settings import NOT_SET, load_agent_key

    agent_key = load_agent_key(environ, env_file)
    if agent_key is None:
        raise ConfigurationError(NOT_SET)
    settings = auth_server.settings
    key = PrivateKeyClient.from_file(agent_key.client_id, agent_key.private_key_file)
    org_url = "https://" + urlsplit(settings.issuer).netloc
    return Agent(org_url, key, redirect_uri=settings.redirect_uri)
