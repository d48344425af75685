"""Grading a learner's client-credentials token cache (notebook 04) with real token requests.

The learner writes ``TokenCache(token_url, client_id, client_secret, scope, clock=time.monotonic)``
with ``get_token() -> str``. :func:`grade_token_cache` builds fresh caches with a clock it moves
itself (no patching of time for the process), calls them from one thread and from eight at once
against the real token endpoint, counts the requests that endpoint receives, and returns one
:class:`~helpers.graders.report.Row` per behaviour:

- many calls, one token request;
- renewed before it expires (one second before expiry it hands out a new token);
- never an expired token (long after expiry, each call gets a token still valid then);
- no renewal storm (eight threads at renewal time make exactly one request);
- the token works (the authorization server's introspection endpoint says it is active).

:func:`check_token_cache` is the notebook's check: it grades and :func:`~helpers.graders.report.report`\\ s.
The requests are counted by the local server itself when there is one, else by watching
``requests`` in this process while grading (a cache that uses another HTTP library is then not seen).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator

import jwt
import requests

from helpers.display import mask_token
from helpers.graders.report import Row, report

__all__ = ["check_token_cache", "counting_requests_to", "grade_token_cache"]

START = 1000.0  #: the controlled clock's first reading (not 0: a cache may start with "renew at 0.0")
CALLS = 50  #: calls in the first half of the token's life
THREADS = 8
CALL_TIMEOUT = 10.0  #: seconds a single get_token() may take before it counts as hung

_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


class _Clock:
    """A clock the grader moves; it counts how often the learner's cache reads it."""

    def __init__(self) -> None:
        self.now, self.reads = START, 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


class _Hung(Exception):
    """get_token() did not return in time."""


class _Session:
    """One cache under test: its clock, calls with a timeout, and when each token was fetched."""

    def __init__(self, cache_class, credentials: tuple[str, str, str, str], count: Callable[[], int]) -> None:
        self.clock, self.count = _Clock(), count
        self.fetched_at: dict[str, float] = {}  # token -> clock reading when the endpoint issued it
        self.cache = cache_class(*credentials, clock=self.clock)

    def call(self, at: float) -> object:
        """get_token() at clock reading ``at``; a new token seen with a new request is recorded."""
        self.clock.now = at
        before = self.count()
        token = _call_with_timeout(self.cache.get_token)
        if isinstance(token, str) and self.count() > before and token not in self.fetched_at:
            self.fetched_at[token] = at
        return token

    def expired_at(self, token: object, at: float) -> bool:
        """True when ``token`` was no longer valid at clock reading ``at`` (or never came from here)."""
        if token not in self.fetched_at:
            return True
        return at >= self.fetched_at[token] + lifetime(token)


def _call_with_timeout(function: Callable[[], object]) -> object:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except Exception as exc:  # the learner's error, reported in the row
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="token-cache-grader", daemon=True)
    worker.start()
    worker.join(CALL_TIMEOUT)
    if worker.is_alive():
        raise _Hung
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


def lifetime(token: str) -> float:
    """``exp - iat`` of a JWT access token (read, not verified); Okta's shortest, 300 s, if absent."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return float(claims["exp"] - claims["iat"])
    except (jwt.InvalidTokenError, KeyError, TypeError):
        return 300.0


def _shown(value: object, secret: str) -> str:
    """A value for the table: tokens masked, the secret never shown, short."""
    if isinstance(value, str) and _JWT.fullmatch(value):
        return f"a token ({mask_token(value)})"
    text = _JWT.sub(lambda m: mask_token(m.group()), repr(value)).replace(secret, "<the client secret>")
    return text if len(text) <= 60 else text[:57] + "..."


def _failure(exc: BaseException, secret: str) -> str:
    message = _JWT.sub(lambda m: mask_token(m.group()), str(exc)).replace(secret, "<the client secret>")
    text = f"raised {type(exc).__name__}: {message}"
    return text if len(text) <= 90 else text[:87] + "..."


def _no_str(value: object, secret: str) -> str | None:
    return None if isinstance(value, str) and value else f"get_token() returned {_shown(value, secret)}"


RETURN_THE_TOKEN = (
    "get_token() must return the access token itself (a str): fetch it with "
    "fetch_token(...) the first time, keep it, and return it."
)
RETURN_FIX = "in get_token: token, expires_in = fetch_token(self.token_url, ...); store both; return the token string."
HUNG = (
    "get_token() did not return within 10 s: a thread waits forever, usually a lock taken twice "
    "(threading.Lock is not re-entrant) or a request without a timeout."
)
HUNG_FIX = "take the lock once, in get_token only (with self._lock: ...), and call nothing inside it that takes it again."


def _read_the_clock(session: _Session) -> str:
    if session.clock.reads == 0:
        return (" Your cache never called `clock`: it reads the time some other way, which the check "
                "(and your own tests) cannot move. Use self.clock() for every reading.")
    return ""


def _row_many_calls(cache_class, credentials, count, secret) -> Row:
    name, expected = f"{CALLS} calls, one token", f"1 token request, the same token {CALLS} times"
    session = _Session(cache_class, credentials, count)
    start = count()
    first = session.call(START)
    bad = _no_str(first, secret)
    if bad:
        return Row(name, expected, bad, False, RETURN_THE_TOKEN, RETURN_FIX)
    half_life = lifetime(first) / 2
    tokens = [first] + [session.call(START + half_life * k / CALLS) for k in range(1, CALLS)]
    requests_made, distinct = count() - start, len(set(tokens))
    got = f"{requests_made} token request{'s' * (requests_made != 1)}, {distinct} different token{'s' * (distinct != 1)}"
    if requests_made == 1 and distinct == 1:
        return Row(name, expected, got, True)
    return Row(
        name, expected, got, False,
        f"within the first half of the token's life your cache asked the token endpoint {requests_made} times: it does "
        "not keep the token, or does not reuse it while it is fresh. Every request costs a round trip, and Okta "
        "rate-limits the token endpoint.",
        "when you fetch, store the token and when to renew it (self._token, self._renew_at); in get_token, return "
        "self._token while self.clock() < self._renew_at.",
    )


def _row_renewed_early(cache_class, credentials, count, secret) -> Row:
    name, expected = "renewed before it expires", "1 s before expiry: a new token"
    session = _Session(cache_class, credentials, count)
    first = session.call(START)
    bad = _no_str(first, secret)
    if bad:
        return Row(name, expected, bad, False, RETURN_THE_TOKEN, RETURN_FIX)
    late = session.call(START + lifetime(first) - 1)
    if isinstance(late, str) and late != first and not session.expired_at(late, START + lifetime(first) - 1):
        return Row(name, expected, "a new token", True)
    got = "the first token again, 1 s from expiry" if late == first else f"get_token() returned {_shown(late, secret)}"
    return Row(
        name, expected, got, False,
        "your cache hands out a token about to expire: a request sent with it can arrive after it expired (or at "
        "a server whose clock runs ahead) and gets 401. Renew a margin before expiry, counted on the clock you "
        "were given." + _read_the_clock(session),
        "at each fetch set self._renew_at = sent_at + expires_in - min(self.renew_before, expires_in / 2), with "
        "sent_at = self.clock() read just before fetch_token; renew when self.clock() >= self._renew_at.",
    )


def _row_never_expired(cache_class, credentials, count, secret) -> Row:
    name, expected = "never an expired token", "a valid token at every call"
    session = _Session(cache_class, credentials, count)
    first = session.call(START)
    bad = _no_str(first, secret)
    if bad:
        return Row(name, expected, bad, False, RETURN_THE_TOKEN, RETURN_FIX)
    life = lifetime(first)
    for label, at in (("1 s after expiry", START + life + 1), ("3 lifetimes later", START + 3 * life),
                      ("10 lifetimes later", START + 10 * life)):
        token = session.call(at)
        if session.expired_at(token, at):
            got = f"{label}: {'an expired token' if isinstance(token, str) else _shown(token, secret)}"
            return Row(
                name, expected, got, False,
                "after its token expired, your cache still handed it out: every call made with it gets 401 "
                "invalid_token, and your service stops working an hour after it starts." + _read_the_clock(session),
                "in get_token, fetch a new token when self.clock() >= self._renew_at (and set self._renew_at again "
                "at every fetch), reading the time with self.clock().",
            )
    return Row(name, expected, "a valid token at every call", True)


def _row_no_storm(cache_class, credentials, count, secret) -> Row:
    name, expected = f"{THREADS} threads at renewal time", "1 token request, 1 new token for all"
    session = _Session(cache_class, credentials, count)
    first = session.call(START)
    bad = _no_str(first, secret)
    if bad:
        return Row(name, expected, bad, False, RETURN_THE_TOKEN, RETURN_FIX)
    session.clock.now = START + lifetime(first) + 1  # expired: any cache that renews at all renews now
    barrier, results = threading.Barrier(THREADS), []
    before = count()

    def caller() -> None:
        barrier.wait()
        with contextlib.suppress(Exception):
            results.append(session.cache.get_token())

    threads = [threading.Thread(target=caller, name=f"token-cache-grader-{i}", daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CALL_TIMEOUT)
    if any(thread.is_alive() for thread in threads):
        raise _Hung
    requests_made, distinct = count() - before, set(results)
    got = f"{requests_made} token request{'s' * (requests_made != 1)}, {len(distinct)} different token{'s' * (len(distinct) != 1)}"
    if requests_made == 1 and len(results) == THREADS and distinct != {first} and len(distinct) == 1:
        return Row(name, expected, got, True)
    if requests_made == 0:
        return Row(name, expected, got, False,
                   "no thread renewed the expired token (see 'never an expired token')." + _read_the_clock(session),
                   "renew in get_token when self.clock() >= self._renew_at.")
    return Row(
        name, expected, got, False,
        f"the {THREADS} threads each found the token due and fetched their own: a renewal storm. With 50 workers "
        "that is 50 token requests at once, and Okta answers some of them 429 (rate limit).",
        "make a threading.Lock in __init__ (self._lock) and hold it around both the check and the fetch in "
        "get_token (with self._lock: ...), so a thread that waited finds the token the first one fetched.",
    )


def _row_token_works(cache_class, credentials, count, secret, introspection_url) -> Row:
    name, expected = "the token works", f"introspection: active, scope {credentials[3]}"
    token_url, client_id, client_secret, scope = credentials
    token = _Session(cache_class, credentials, count).call(START)
    bad = _no_str(token, secret)
    if bad:
        return Row(name, expected, bad, False, RETURN_THE_TOKEN, RETURN_FIX)
    answer = requests.post(
        introspection_url, auth=(client_id, client_secret), timeout=10,
        data={"token": token, "token_type_hint": "access_token"}, headers={"Accept": "application/json"},
    ).json()
    if answer.get("active") and sorted(answer.get("scope", "").split()) == sorted(scope.split()):
        return Row(name, expected, f"active, scope {answer['scope']}", True)
    got = f"active, scope {answer.get('scope')}" if answer.get("active") else "not active: not a token of this server"
    return Row(
        name, expected, got, False,
        "the string get_token() returns is not a valid access token with the scopes asked for: it must be the "
        "`access_token` field of the token endpoint's answer.",
        "return the access token that fetch_token(self.token_url, self.client_id, self.client_secret, self.scope) "
        "returned, with the scope you were given.",
    )


def grade_token_cache(
    cache_class, token_url: str, client_id: str, client_secret: str, scope: str, *,
    introspection_url: str, count_token_requests: Callable[[], int],
) -> list[Row]:
    """Grade ``cache_class`` (a TokenCache class) against a real token endpoint: one row per behaviour.

    ``count_token_requests()`` returns how many token requests the endpoint has received so far.
    """
    credentials = (token_url, client_id, client_secret, scope)
    graders = [
        ("%d calls, one token" % CALLS, lambda: _row_many_calls(cache_class, credentials, count_token_requests, client_secret)),
        ("renewed before it expires", lambda: _row_renewed_early(cache_class, credentials, count_token_requests, client_secret)),
        ("never an expired token", lambda: _row_never_expired(cache_class, credentials, count_token_requests, client_secret)),
        (f"{THREADS} threads at renewal time", lambda: _row_no_storm(cache_class, credentials, count_token_requests, client_secret)),
        ("the token works", lambda: _row_token_works(cache_class, credentials, count_token_requests, client_secret, introspection_url)),
    ]
    rows: list[Row] = []
    hung = False
    for name, grade in graders:
        if hung:
            rows.append(Row(name, "-", "not run: get_token() hung above", False))
            continue
        try:
            rows.append(grade())
        except _Hung:
            hung = True
            rows.append(Row(name, "get_token() returns", "no answer within 10 s", False, HUNG, HUNG_FIX))
        except Exception as exc:  # the learner's __init__ or get_token raised
            rows.append(Row(
                name, "get_token() returns a token", _failure(exc, client_secret), False,
                "your class raised an error: run TokenCache(token_url, client_id, client_secret, scope).get_token() "
                "in a cell of your own to see where.",
                "fix the line the traceback points at; the exercise's task lists what __init__ and get_token need.",
            ))
    return rows


@contextlib.contextmanager
def counting_requests_to(url: str) -> Iterator[Callable[[], int]]:
    """While active, count the requests this process sends to ``url`` through ``requests``."""
    sent = [0]
    original = requests.Session.send

    def send(self, request, **kwargs):
        if request.url == url:
            sent[0] += 1
        return original(self, request, **kwargs)

    requests.Session.send = send
    try:
        yield lambda: sent[0]
    finally:
        requests.Session.send = original


def check_token_cache(exercise: str, cache_class, auth_server, metadata: dict, scope: str) -> None:
    """The notebook's check: grade ``cache_class`` with the M2M client of ``auth_server`` and report."""
    client = auth_server.settings.require_m2m_client()
    token_url, introspection_url = metadata["token_endpoint"], metadata["introspection_endpoint"]
    with contextlib.ExitStack() as stack:
        if auth_server.is_local:  # the server's own count
            counts = auth_server.local.request_counts
            count = lambda: counts["token"]  # noqa: E731
        else:
            count = stack.enter_context(counting_requests_to(token_url))
        rows = grade_token_cache(
            cache_class, token_url, client.client_id, client.client_secret, scope,
            introspection_url=introspection_url, count_token_requests=count,
        )
    report(exercise, rows, success=(
        "your cache makes one token request for many calls, renews before expiry, never hands out an expired "
        "token, and lets one thread renew while the others wait."
    ))
