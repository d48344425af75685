"""What a gateway settles when it is created (helpers.user_login.setup): cases mutation testing found unchecked.

The checks on the authorization server's metadata (each refusal says which field is wrong),
which client ids are client ID metadata document URLs, and the scopes: the first sign-in's, and
all a step-up may ever ask for. Pure functions on a given discovery result: no network.
"""

from __future__ import annotations

import pytest

from helpers.discovery import Discovered
from helpers.settings import ClientCredentials
from helpers.user_login import LoginError
from helpers.user_login.setup import (
    allowed_scopes_for,
    check_sign_in_metadata,
    choose_client,
    first_scopes,
    is_client_metadata_url,
    user_scopes,
)

ISSUER = "https://okta.example.com/oauth2/default"
CIMD = "https://gateway.example.com/oauth/client.json"


def discovered(*, challenge_scopes=None, **metadata) -> Discovered:
    fields = {"issuer": ISSUER, "token_endpoint": ISSUER + "/v1/token",
              "authorization_endpoint": ISSUER + "/v1/authorize", "code_challenge_methods_supported": ["S256"]}
    fields.update(metadata)
    return Discovered(resource="https://mcp.example.com/mcp", issuer=ISSUER, metadata=fields,
                      scopes_supported=("calculator.add", "calculator.subtract"), challenge_scopes=challenge_scopes)


# -- the authorization server's metadata ----------------------------------------------------------------


def test_metadata_fit_for_signing_in_passes():
    check_sign_in_metadata(discovered(), ISSUER)


@pytest.mark.parametrize("changes, words", [
    ({"authorization_endpoint": ""}, "publishes no authorization_endpoint"),
    ({"code_challenge_methods_supported": ["plain"]}, "does not list S256"),
    ({"code_challenge_methods_supported": None}, "does not list S256"),
    ({"code_challenge_methods_supported": ["s256"]}, "does not list S256"),  # the method name is case-sensitive
])
def test_metadata_unfit_for_signing_in_is_refused_naming_the_field(changes, words):
    with pytest.raises(LoginError, match=words):
        check_sign_in_metadata(discovered(**changes), ISSUER)


def test_another_issuer_is_refused_before_anything_is_sent():
    with pytest.raises(LoginError, match="registered with https://other.example.com: its credentials are not sent"):
        check_sign_in_metadata(discovered(), "https://other.example.com")


# -- client ID metadata documents ----------------------------------------------------------------------


@pytest.mark.parametrize("client_id, expected", [
    (CIMD, True),
    ("https://gateway.example.com/", False),   # no path
    ("https://gateway.example.com", False),
    ("http://gateway.example.com/client.json", False),  # not https
    ("https:///client.json", False),           # no host
    ("0oa1calculatorweb0001", False),
])
def test_which_client_ids_are_metadata_document_urls(client_id, expected):
    assert is_client_metadata_url(client_id) is expected


def test_the_metadata_document_url_is_the_client_only_where_cimd_is_advertised():
    web = ClientCredentials("0oaweb", "web-secret")
    chosen = choose_client(discovered(client_id_metadata_document_supported=True), web, CIMD)
    assert (chosen.client_id, chosen.client_secret) == (CIMD, None)
    for value in (None, False, "true"):
        assert choose_client(discovered(client_id_metadata_document_supported=value), web, CIMD) is web
    assert choose_client(discovered(client_id_metadata_document_supported=True), web, None) is web


def test_a_client_metadata_url_that_is_not_one_is_refused_quoting_it():
    with pytest.raises(LoginError, match=r"client_metadata_url must be an https:// URL with a path, not 'http://x.example/c'"):
        choose_client(discovered(client_id_metadata_document_supported=True), ClientCredentials("0oaweb", "s"),
                      "http://x.example/c")


def test_a_cimd_client_id_is_checked_even_when_given_as_the_client():
    with pytest.raises(LoginError, match="does not advertise client_id_metadata_document_supported"):
        choose_client(discovered(client_id_metadata_document_supported=False), ClientCredentials(CIMD, None), None)
    with pytest.raises(LoginError, match="has no secret"):
        choose_client(discovered(client_id_metadata_document_supported=True), ClientCredentials(CIMD, "s"), None)


# -- scopes ----------------------------------------------------------------------------------------------


def test_user_scopes_are_only_those_the_server_lists():
    assert user_scopes(discovered(scopes_supported=["openid", "email", "calculator.add"])) == ("openid", "email")
    assert user_scopes(discovered(scopes_supported="openid profile")) == ()  # not a list: nothing trusted
    assert user_scopes(discovered()) == ()


def test_first_scopes_default_to_user_scopes_and_the_challenges_without_repeats():
    server = discovered(scopes_supported=["openid", "offline_access"], challenge_scopes=("calculator.add", "openid"))
    assert first_scopes(server, None) == ("openid", "offline_access", "calculator.add")
    assert first_scopes(server, ["email", "email", "calculator.subtract"]) == ("email", "calculator.subtract")


def test_allowed_scopes_default_to_everything_the_servers_published_or_asked_for():
    server = discovered(scopes_supported=["openid", "profile"], challenge_scopes=("calculator.admin",))
    assert allowed_scopes_for(server, ("openid",), None) == {
        "openid", "profile", "calculator.add", "calculator.subtract", "calculator.admin"}


def test_allowed_scopes_given_as_a_string_or_a_list_must_include_the_first_ones():
    assert allowed_scopes_for(discovered(), ("openid",), "openid calculator.add") == {"openid", "calculator.add"}
    assert allowed_scopes_for(discovered(), ("openid",), ["openid"]) == {"openid"}
    with pytest.raises(ValueError, match=r"must include the scopes of the first sign-in \(missing: email profile\)"):
        allowed_scopes_for(discovered(), ("openid", "email", "profile"), ["openid"])
