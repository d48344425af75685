"""Tests for four behaviours a mutation review could break with every test green (issue 22, point 12).

Each test fails on its mutant (the behaviour removed), as the note beside it says:

- ``urls.is_unambiguous`` compares the host Python reads with the host urllib3 connects to
  (mutant: the comparison removed, so ``https://okta.example.com%2eevil.com/token`` passes);
- ``SharedBackoff`` hands a waiting caller the failure of the attempt it waited for, even with
  no pause after it (mutant: only the pause counts, so 20 waiting callers make 20 requests);
- a lowercase ``https_proxy`` alone counts as a proxy (mutant: only ``HTTPS_PROXY`` does, so
  loopback traffic, tokens included, goes to the proxy);
- within one access policy, rules are tried in priority order (mutant: reversed).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from helpers.backoff import SharedBackoff
from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_okta.policy import evaluate_policy
from helpers.local_okta.tenant import PolicyRule
from helpers.no_proxy import LOOPBACK_NAMES, bypass_proxy_for_loopback
from helpers.settings import ClientCredentials
from helpers.tokens import TokenEndpointUnreachable, TokenError, TokenManager, fetch_token_with_requests
from helpers.urls import is_https, is_secure_or_loopback, is_unambiguous

# -- urls: the host every parser reads ---------------------------------------------------------------

ENCODED_DOT = "https://okta.example.com%2eevil.com/oauth2/default/v1/token"  # urllib3: okta.example.com.evil.com


def test_a_host_that_parsers_read_differently_is_ambiguous():
    assert not is_unambiguous(ENCODED_DOT)
    assert not is_https(ENCODED_DOT) and not is_secure_or_loopback(ENCODED_DOT)
    assert is_unambiguous("https://okta.example.com/oauth2/default/v1/token")  # the plain one still passes


def test_no_secret_goes_to_a_host_that_parsers_read_differently(monkeypatch):
    sent = []
    monkeypatch.setattr(requests, "post", lambda *args, **kwargs: sent.append(args))
    with pytest.raises(TokenError, match="Refusing"):
        fetch_token_with_requests(ENCODED_DOT, ClientCredentials("0oa1", "TOP-SECRET"), ["calculator.add"])
    assert sent == []


# -- backoff: the failure of the attempt a caller waited for ---------------------------------------


def test_a_caller_that_waited_shares_the_failure_even_without_a_pause():
    backoff = SharedBackoff(first_delay=0, max_delay=0)
    waited = backoff.ticket()  # taken before the attempt finished
    error = TokenEndpointUnreachable("https://okta.example.com/oauth2/default/v1/token", "down")
    backoff.failed(error)
    assert backoff.failure_to_share(waited) is error
    assert backoff.failure_to_share(backoff.ticket()) is None  # a caller arriving now may try again


def test_twenty_waiting_callers_make_one_request_with_a_zero_first_delay():
    calls = []

    def fetch(scopes):
        calls.append(scopes)
        time.sleep(0.2)  # long enough for every caller to be waiting for it
        raise TokenEndpointUnreachable("https://okta.example.com/oauth2/default/v1/token", "down")

    manager = TokenManager(fetch, ["calculator.add"], mcp_servers="https://calculator.example.com/mcp",
                           first_retry_delay=0, max_retry_delay=0)
    barrier, outcomes = threading.Barrier(20), []

    def work():
        barrier.wait()
        try:
            outcomes.append(manager.get_token())
        except TokenError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 20 and all(isinstance(o, TokenEndpointUnreachable) for o in outcomes)
    assert len(calls) == 1


# -- no_proxy: the lowercase variable alone ----------------------------------------------------------


def test_a_lowercase_https_proxy_alone_counts_as_a_proxy():
    environ = {"https_proxy": "http://proxy.corp:3128"}
    assert bypass_proxy_for_loopback(environ) is True
    for variable in ("NO_PROXY", "no_proxy"):
        assert environ[variable].split(",") == list(LOOPBACK_NAMES)


def test_with_only_a_lowercase_https_proxy_loopback_traffic_skips_the_proxy(monkeypatch):
    with socket.socket() as sock:  # bound, never listening: a request sent to this "proxy" fails
        sock.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("https_proxy", proxy)
        okta = start_local_okta(name="test-survivors-lowercase-proxy")  # starting a server bypasses the proxy
        try:
            metadata = f"{okta.issuer}/.well-known/oauth-authorization-server"
            assert requests.get(metadata, timeout=10).status_code == 200
        finally:
            okta.stop()


# -- local Okta: rules in priority order within one policy -------------------------------------------


def two_rule_tenant():
    """The write service's policy with two rules: first a short-lived one for add only, then the usual."""
    tenant = default_tenant()
    policy = next(p for p in tenant.authorization_servers[0].policies if "write_service" in p.assigned_to)
    policy.rules.insert(0, PolicyRule("Add only, short tokens", ("client_credentials",), scopes=("calculator.add",),
                                      access_token_lifetime=300))
    return tenant, policy


def test_the_first_rule_of_a_policy_that_matches_decides():
    tenant, policy = two_rule_tenant()
    server = tenant.authorization_servers[0]
    app = tenant.app(label="write_service")
    assert evaluate_policy(server, app, "client_credentials", ["calculator.add"]) is policy.rules[0]
    assert evaluate_policy(server, app, "client_credentials", ["calculator.add", "calculator.subtract"]) is policy.rules[1]


def test_the_local_server_applies_the_higher_priority_rules_lifetime():
    tenant, _ = two_rule_tenant()
    okta = start_local_okta(tenant=tenant, name="test-survivors-rule-priority")
    try:
        client = okta.clients["write_service"]
        add_only = fetch_token_with_requests(okta.token_endpoint, client, ["calculator.add"])
        both = fetch_token_with_requests(okta.token_endpoint, client, ["calculator.add", "calculator.subtract"])
        assert (add_only.expires_in, both.expires_in) == (300, 3600)
    finally:
        okta.stop()

