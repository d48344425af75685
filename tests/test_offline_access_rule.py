"""``offline_access`` only where the authorization server lists it (SEP-2207, MCP 2026-07-28).

An MCP client may add ``offline_access`` to a sign-in only when the authorization server's
metadata lists it in ``scopes_supported``; elsewhere asking for it would get the sign-in refused
(``invalid_scope``). The gateway then asks for no refresh token, and says so when the access token
expires: the user signs in again.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from helpers.discovery import Discovered
from helpers.settings import ClientCredentials
from helpers.user_login import USER_SCOPES, RefreshTokenError, UserLogin
from helpers.user_login.setup import first_scopes, offers_offline_access, user_scopes

ISSUER = "https://id.example.com/oauth2/default"
MCP = "https://mcp.example.com/mcp"


def discovered(scopes_supported) -> Discovered:
    metadata = {"issuer": ISSUER, "authorization_endpoint": ISSUER + "/v1/authorize",
                "token_endpoint": ISSUER + "/v1/token", "code_challenge_methods_supported": ["S256"]}
    if scopes_supported is not None:
        metadata["scopes_supported"] = scopes_supported
    return Discovered(resource=MCP, issuer=ISSUER, metadata=metadata, scopes_supported=("mcp:basic",))


@pytest.mark.parametrize("listed, offered", [
    (["openid", "offline_access", "mcp:basic"], True),
    (["openid", "mcp:basic"], False),
    (None, False),                      # no scopes_supported: nothing says it is offered
    ("offline_access", False),          # not a list: not read as one
])
def test_offline_access_is_offered_only_when_listed(listed, offered):
    found = discovered(listed)
    assert offers_offline_access(found) is offered
    assert ("offline_access" in user_scopes(found)) is offered
    assert ("offline_access" in first_scopes(found, None)) is offered


def test_no_openid_scope_the_server_does_not_list():
    assert user_scopes(discovered(["openid", "mcp:basic"])) == ("openid",)
    assert first_scopes(discovered(None), None) == ("mcp:basic",)  # no scopes_supported: only the MCP server's


def test_explicit_scopes_are_the_callers_choice():
    assert first_scopes(discovered(["openid"]), ["openid", "offline_access"]) == ("openid", "offline_access")


def gateway(found: Discovered, clock) -> UserLogin:
    return UserLogin(MCP, ClientCredentials("0oaclient", "secret"), issuer=ISSUER, discovered=found,
                     redirect_uri="http://127.0.0.1:8765/callback", clock=clock)


def test_not_listed_the_sign_in_does_not_ask_for_it_and_says_what_happens_at_expiry():
    now = [1000.0]
    login = gateway(discovered(["openid", "profile", "email", "mcp:basic"]), lambda: now[0])
    assert login.scopes == ("openid", "profile", "email", "mcp:basic")
    asked = parse_qs(urlsplit(login.begin(listen=False).url).query)["scope"][0].split()
    assert "offline_access" not in asked and "offline_access" not in login.allowed_scopes
    login.store_tokens({"access_token": "at", "expires_in": 60, "token_type": "Bearer"})  # no refresh token
    now[0] += 61
    with pytest.raises(RefreshTokenError, match="does not list offline_access.*Sign the user in again"):
        login.access_token()


def test_listed_the_sign_in_asks_for_it():
    login = gateway(discovered(["openid", "profile", "email", "offline_access", "mcp:basic"]), lambda: 0.0)
    assert login.scopes == (*USER_SCOPES, "mcp:basic")
    assert "offline_access" in parse_qs(urlsplit(login.begin(listen=False).url).query)["scope"][0].split()
