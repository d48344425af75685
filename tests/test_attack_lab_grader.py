"""The attack lab's runner (notebook 10): each defence line exists where it says, and the checks of
Exercises 10.1 and 10.2 pass the solution, stop a stub, and name the row of a typical wrong answer."""

from __future__ import annotations

import pytest
import requests

from helpers.authorization_server import AuthorizationServer
from helpers.bound_servers import BoundServers
from helpers.calculator import start_calculator
from helpers.exercises import ExerciseFeedback
from helpers.graders.attack_lab import (
    DEFENCES, Lookalike, check_replay, check_switched_off, defence_source, held_by, manager_rows,
)
from helpers.local_okta import start_local_okta
from helpers.mcp_client import start_mcp_calculator
from helpers.tokens import TokenManager
from helpers.tokens.fetching import fetch_token_with_requests
from helpers.verification import Protection

BODY = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "subtract", "arguments": {"a": 10, "b": 4}}}
ACCEPT = "application/json, text/event-stream"


@pytest.fixture(scope="module")
def lab():
    okta = start_local_okta(name="test-attack-lab-okta")
    calculator = start_calculator(Protection.from_settings(okta.settings()), name="test-attack-lab-calculator")
    mcp_calculator = start_mcp_calculator(AuthorizationServer(okta.settings(), okta), name="test-attack-lab-mcp")
    lookalike = Lookalike(okta.issuer, name="test-attack-lab-lookalike")
    stolen = fetch_token_with_requests(okta.token_endpoint, okta.clients["write_service"],
                                       ("calculator.add", "calculator.subtract")).access_token
    yield {"okta": okta, "calculator": calculator, "mcp": mcp_calculator, "lookalike": lookalike, "stolen": stolen}
    for server in (lookalike, mcp_calculator, calculator, okta):
        server.stop()


def manager_lab(lab):
    return dict(token_url=lab["okta"].token_endpoint, client=lab["okta"].clients["write_service"],
                calculator_url=lab["calculator"].mcp_url, lookalike=lab["lookalike"])


# -- where each defence lives ---------------------------------------------------------------------------


@pytest.mark.parametrize("attack", sorted(DEFENCES))
def test_each_defence_line_is_in_the_function_the_notebook_names(attack):
    line, module, qualname = DEFENCES[attack]
    assert line in defence_source(attack), f"{attack}: {line!r} is no longer in {module}.{qualname}"
    shown = held_by(attack)
    assert line.strip() in shown and qualname in shown and module.split(".")[-1] in shown


def test_the_replay_refused_where_the_audience_is_the_urls_own_names_the_audience_check():
    assert "audience=audience," in held_by("stolen token, audience = its URL")
    assert "OktaJWTVerifier.__init__" in held_by("stolen token, audience = its URL")


def test_held_by_says_when_the_line_is_the_local_stand_in_for_okta():
    assert "the local stand-in for Okta" in held_by("rotated refresh token replayed")
    assert "the local stand-in for Okta" in held_by("token for a lookalike's URL")
    assert "stand-in" not in held_by("token sent to a lookalike")  # the learner's own code


# -- Exercise 10.1: the replay --------------------------------------------------------------------------


def solution_replay(stolen_token, mcp_url):
    return requests.post(mcp_url, headers={"Authorization": f"Bearer {stolen_token}", "Accept": ACCEPT},
                         json=BODY, timeout=10)


def check(lab, replay, predicted):
    return check_replay("Exercise 10.1", replay, lab["stolen"], shared_url=lab["calculator"].mcp_url,
                        own_audience_url=lab["mcp"].mcp_url, predicted=predicted)


def test_the_replay_solution_passes_a_token_works_only_where_the_audience_is_shared(lab, capsys):
    assert check(lab, solution_replay, (200, 401)) == {"shared": 200, "own": 401}
    printed = capsys.readouterr().out
    assert "✅ Exercise 10.1" in printed and "❌" not in printed


def test_a_replay_stub_is_not_answered_yet(lab):
    with pytest.raises(ExerciseFeedback) as info:
        check(lab, lambda token, url: None, (200, 401))
    assert "returns nothing" in info.value.problem and info.value.try_number == 0
    with pytest.raises(ExerciseFeedback, match="still `...`"):
        check(lab, solution_replay, (..., 401))


def test_a_replay_without_mcps_accept_header_is_named(lab):
    def without_accept(stolen_token, mcp_url):
        return requests.post(mcp_url, headers={"Authorization": f"Bearer {stolen_token}"}, json=BODY, timeout=10)

    with pytest.raises(ExerciseFeedback) as info:
        check(lab, without_accept, (200, 401))
    assert "accept" in info.value.problem and "Server-Sent Events" in info.value.hint
    # the calculator ran the tool (200): the feedback must not lead with a status that reads as success
    assert "HTTP 200" not in info.value.problem and "406" in info.value.problem


def test_a_replay_that_raises_is_one_clear_line(lab):
    with pytest.raises(ExerciseFeedback, match="replay raised NameError: name 'reqests' is not defined"):
        check(lab, lambda token, url: reqests.post(url), (200, 401))  # noqa: F821 - the learner's typo


def test_a_replay_without_the_token_is_named(lab):
    with pytest.raises(ExerciseFeedback, match="bearer token"):
        check(lab, lambda token, url: requests.post(url, headers={"Accept": ACCEPT}, json=BODY, timeout=10), (200, 401))


def test_predicting_the_own_audience_server_accepts_names_that_row_without_the_answer(lab, capsys):
    with pytest.raises(ExerciseFeedback) as info:
        check(lab, solution_replay, (200, 200))
    assert "your prediction: calculator whose audience is its URL" in info.value.problem
    assert "sharing the audience" not in info.value.problem
    printed = capsys.readouterr().out
    assert "401" not in printed and "not what it answered" in printed


# -- Exercise 10.2: the binding switched off in a copy ---------------------------------------------------


def careless(allows):
    class AnyServer(BoundServers):
        def allows(self, url):
            return allows

    class CarelessManager(TokenManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.bound_servers = AnyServer(self.bound_servers.urls)

    return CarelessManager


RED = {"lookalike gets the token", "its replay at the calculator"}


def test_the_token_manager_itself_holds_every_row(lab):
    rows = manager_rows(TokenManager, **manager_lab(lab))
    assert [row.name for row in rows if not row.passed] == []
    assert lab["lookalike"].tokens == []


def test_the_switched_off_solution_passes_and_the_lookalike_replays(lab, capsys):
    rows = check_switched_off("Exercise 10.2", careless(True), RED, **manager_lab(lab))
    assert {row.name for row in rows if not row.passed} == RED
    assert lab["lookalike"].tokens  # the copy really sent it
    assert "✅ Exercise 10.2" in capsys.readouterr().out


def test_a_copy_that_switches_nothing_off_is_named(lab, capsys):
    with pytest.raises(ExerciseFeedback) as info:
        check_switched_off("Exercise 10.2", TokenManager, RED, **manager_lab(lab))
    assert "the copy's binding is off" in info.value.problem
    assert "own server: add" in capsys.readouterr().out  # a wrong copy: the rows' table helps find it


def test_a_copy_that_allows_nothing_breaks_its_own_server_and_is_named(lab):
    with pytest.raises(ExerciseFeedback) as info:
        check_switched_off("Exercise 10.2", careless(False), RED, **manager_lab(lab))
    assert "everything else still holds" in info.value.problem and "the copy's binding is off" in info.value.problem


def test_a_wrong_prediction_is_named_without_showing_the_red_rows(lab, capsys):
    with pytest.raises(ExerciseFeedback) as info:
        check_switched_off("Exercise 10.2", careless(True), {"lookalike gets the token"}, **manager_lab(lab))
    assert info.value.problem == "1 of 3 checks failed: your prediction of the red rows."
    assert "token(s) captured" not in capsys.readouterr().out  # the rows' table would give the answer away
    with pytest.raises(ExerciseFeedback, match="still `...`"):
        check_switched_off("Exercise 10.2", careless(True), ..., **manager_lab(lab))
