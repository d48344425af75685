"""What the client-side core does, written down where a mutation run found it unchecked.

Each test here fails on at least one mutant of ``helpers/tokens/manager.py``,
``helpers/backoff.py``, ``helpers/urls.py`` or ``helpers/discovery.py`` (mutmut, see
benchmarks/MUTANTS.md) and passes on the real code: step-up refusals that name what was needed
and say how long to wait, the backoff's documented pause schedule, which URLs count as loopback,
unambiguous or safe for credentials, and a discovery probe that never reads the 401's body.
No network beyond a 127.0.0.1 server: the token endpoint is a function (``ScopedFetch``), the
clock a ``FakeClock``.
"""

from __future__ import annotations

import pytest
from test_discovery_limits import Misbehaving, trickle
from test_token_manager import MCP, FakeClock, ScopedFetch

from helpers.backoff import SharedBackoff
from helpers.discovery import DiscoveryError, discover
from helpers.tokens import StepUpRefusedError, TokenManager, TokenResponse
from helpers.urls import (
    canonical_url, is_https, is_loopback_host, is_loopback_url, is_secure_or_loopback, is_unambiguous,
)

ADD, SUBTRACT, MULTIPLY = "calculator.add", "calculator.subtract", "calculator.multiply"


# -- token manager: renew() -------------------------------------------------------------------------


def test_renew_fetches_a_new_token_even_when_the_cached_one_is_an_empty_string():
    """``renew()`` means "fetch now": a broken server's empty access token is not kept."""
    answers = iter(["", "token-2"])
    manager = TokenManager(lambda scopes: TokenResponse(next(answers), "Bearer", 3600, ADD), [ADD],
                           clock=FakeClock(), mcp_servers=MCP)
    assert manager.get_token() == ""
    assert manager.renew() == "token-2" and manager.token_requests == 2


# -- token manager: step-up refusals say what was needed ---------------------------------------------


def test_a_step_up_outside_the_allowed_scopes_names_the_needed_scopes_and_requests_nothing():
    fetch = ScopedFetch()
    manager = TokenManager(fetch, [ADD], clock=FakeClock(), mcp_servers=MCP)
    with pytest.raises(StepUpRefusedError, match="calculator.admin") as info:
        manager.step_up([ADD, "calculator.admin"])
    assert info.value.needed == (ADD, "calculator.admin") and info.value.requested == ()
    assert fetch.requests == []


def test_a_refused_step_up_does_not_hold_back_a_step_up_for_other_scopes():
    """Each set of needed scopes has its own pause: a refusal of one does not refuse another."""
    fetch = ScopedFetch(refused={SUBTRACT})
    manager = TokenManager(fetch, [ADD], clock=FakeClock(), mcp_servers=MCP, allowed_scopes=[ADD, SUBTRACT, MULTIPLY])
    manager.get_token()
    with pytest.raises(StepUpRefusedError, match="granted only calculator.add"):
        manager.step_up([SUBTRACT])
    assert manager.step_up([MULTIPLY]) == "token-3"  # within the pause after the refusal, yet tried
    assert fetch.requests[-1] == (ADD, MULTIPLY) and manager.scopes == (ADD, MULTIPLY)
    with pytest.raises(StepUpRefusedError, match="granted only"):  # the refused one still pauses
        manager.step_up([SUBTRACT])
    assert len(fetch.requests) == 3


def test_the_fourth_step_up_in_a_minute_is_refused_with_the_limit_and_the_wait():
    clock, fetch = FakeClock(), ScopedFetch()
    extra = tuple(f"calculator.scope{i}" for i in range(4))
    manager = TokenManager(fetch, [ADD], clock=clock, mcp_servers=MCP, allowed_scopes=(ADD, *extra))
    start = clock.now
    for i, scope in enumerate(extra[:3]):
        clock.now = start + 10 * i
        manager.step_up([scope])
    clock.now = start + 30
    with pytest.raises(StepUpRefusedError) as info:
        manager.step_up([extra[3]])
    message = str(info.value)
    assert "calculator.scope3" in message and "3 times in the last 60 s" in message
    assert "Try again in 30 s" in message and "scopes=" in message
    assert info.value.needed == (extra[3],) and info.value.requested == ()
    assert len(fetch.requests) == 3  # the refused one cost no token request


# -- backoff: the pause schedule, the count of attempts, and the failure a caller waited for ---------


class RateLimited(RuntimeError):
    retry_after = 10.0  # what Okta's X-Rate-Limit-Reset said


def test_the_default_pause_is_one_second_doubling_to_thirty():
    clock = FakeClock()
    backoff = SharedBackoff(clock=clock)  # the gateway's, as it uses the defaults
    pauses = []
    for _ in range(7):
        backoff.failed(RuntimeError("the token endpoint is down"))
        pauses.append(backoff.retry_in)
    assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    backoff.succeeded()
    assert backoff.retry_in == 0.0
    backoff.failed(RuntimeError("down again"))
    assert backoff.retry_in == 1.0  # a success forgets the doubling


def test_a_rate_limit_pauses_as_long_as_it_said_and_no_less_than_the_backoff():
    clock = FakeClock()
    backoff = SharedBackoff(first_delay=1.0, max_delay=30.0, clock=clock)
    backoff.failed(RateLimited("429"))
    assert backoff.retry_in == 10.0
    ticket = backoff.ticket()
    clock.now += 9.5
    assert backoff.failure_to_share(ticket) is not None  # the reset has not come
    clock.now += 0.5
    assert backoff.failure_to_share(ticket) is None and backoff.retry_in == 0.0
    for _ in range(3):  # pauses of 2, 4 and 8 s: the next is 16 s, longer than what the server says
        backoff.failed(RuntimeError("down"))
    backoff.failed(RateLimited("429"))
    assert backoff.retry_in == 16.0


def test_a_ticket_counts_the_finished_attempts():
    backoff = SharedBackoff(clock=FakeClock())
    assert backoff.ticket() == 0
    backoff.failed(RuntimeError("down"))
    backoff.succeeded()
    backoff.succeeded()
    assert backoff.ticket() == 3


def test_a_caller_that_waited_for_a_successful_attempt_shares_no_failure():
    clock = FakeClock()
    backoff = SharedBackoff(clock=clock)
    backoff.failed(RuntimeError("down"))
    clock.now += 1.0
    waited = backoff.ticket()
    backoff.succeeded()  # while the caller waited for the lock
    assert backoff.failure_to_share(waited) is None and backoff.failed_since(waited) is None
    assert backoff.retry_in == 0.0


def test_failed_since_is_the_failure_of_an_attempt_finished_after_the_ticket():
    backoff = SharedBackoff(clock=FakeClock())
    waited = backoff.ticket()
    error = RuntimeError("the refresh token was revoked")
    backoff.failed(error)
    assert backoff.failed_since(waited) is error
    assert backoff.failed_since(backoff.ticket()) is None  # a caller arriving after it: no failure of "its" attempt
    backoff.succeeded()
    assert backoff.failed_since(waited) is None  # the last attempt worked


def test_a_clock_below_zero_is_fine_before_any_failure():
    """A monotonic clock's zero is arbitrary: a new backoff has nothing to share whatever it reads."""
    backoff = SharedBackoff(clock=lambda: -50.0)
    assert backoff.failure_to_share(backoff.ticket()) is None and backoff.retry_in == 0.0


@pytest.mark.parametrize("first, longest", [(0.0, 0.0), (0.5, 0.5)])
def test_no_pause_or_a_fixed_short_one_may_be_chosen(first, longest):
    backoff = SharedBackoff(first_delay=first, max_delay=longest, clock=FakeClock())
    backoff.failed(RuntimeError("down"))
    backoff.failed(RuntimeError("down"))
    assert backoff.retry_in == longest


@pytest.mark.parametrize("first, longest", [(-1.0, 30.0), (5.0, 2.0)])
def test_delays_must_be_ordered_and_not_negative(first, longest):
    with pytest.raises(ValueError, match="first_delay <= max_delay"):
        SharedBackoff(first_delay=first, max_delay=longest)


# -- urls ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://[::1/token", "http://[127.0.0.1]x/token"])
def test_a_url_python_cannot_parse_is_not_loopback(url):
    assert is_loopback_url(url) is False


@pytest.mark.parametrize("host, loopback", [
    ("[::1]", True), (" localhost ", True), ("LocalHost", True), ("127.0.0.2", True),
    (None, False), ("", False), ("LOCALHOSTX", False), ("Xlocalhost", False), ("localhost.example.com", False),
])
def test_loopback_host_names(host, loopback):
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize("url", [
    "https://okta.example.com/token\x01",  # a control character
    "https://okta.example.com/token\x7f",  # DEL
    "https://okta.example.com/a b",  # white space
    "https://okta.example.com/a\\b",  # a backslash
    "https://user@okta.example.com/token",  # a user name
    "https://[::1/token",  # Python cannot parse it
], ids=["control", "DEL", "space", "backslash", "user", "unparsable"])
def test_urls_that_parsers_could_read_differently_are_ambiguous(url):
    assert is_unambiguous(url) is False


@pytest.mark.parametrize("url", [
    "http://[::1]:8000/mcp",  # urllib3 keeps the brackets, Python does not
    "HTTPS://Okta.Example.com/token",
    "ftp://Xfiles.Example.com/x",  # a scheme whose host urllib3 leaves in upper case
    "https:///token",  # no host for either
])
def test_urls_every_parser_reads_alike_are_unambiguous(url):
    assert is_unambiguous(url) is True


@pytest.mark.parametrize("url, https, secure_or_loopback", [
    ("https://okta.example.com/oauth2/default", True, True),
    ("HTTPS://Okta.Example.com/token", True, True),  # the scheme in any case
    ("http://127.0.0.1:8001/mcp", False, True),  # plain http to this machine
    ("HTTP://localhost/mcp", False, True),
    ("http://calculator.example.com/mcp", False, False),  # plain http elsewhere
    ("ftp://127.0.0.1/mcp", False, False),  # neither http nor https
    ("https:///token", False, False),  # no host
    ("https://user@okta.example.com/token", False, False),  # ambiguous
])
def test_where_credentials_may_be_sent(url, https, secure_or_loopback):
    assert is_https(url) is https and is_secure_or_loopback(url) is secure_or_loopback


def test_the_canonical_url_lowers_scheme_and_host_and_drops_the_fragment():
    assert canonical_url("HTTPS://MCP.Example.com:8443/MCP?x=Y#part") == "https://mcp.example.com:8443/MCP?x=Y"
    assert canonical_url("https://mcp.example.com/mcp") == "https://mcp.example.com/mcp"


# -- discovery -----------------------------------------------------------------------------------------


def test_the_probe_reads_only_the_status_and_headers_of_the_mcp_servers_answer():
    """The 401's body is never read: an MCP server that trickles it does not hold discovery up."""
    head = b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 100\r\n\r\n"
    slow = Misbehaving({"/mcp": trickle(head, b"x" * 100, 0.3)}, give_up_after=3.0)
    try:
        with pytest.raises(DiscoveryError) as info:
            discover(slow.url + "/mcp", issuer="https://okta.example.com/oauth2/default", timeout=1)
    finally:
        slow.stop()
    assert "publishes neither" in str(info.value) and "did not answer" not in str(info.value)
