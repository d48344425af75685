"""Grading a learner's client-credentials token cache (notebook 04) with real token requests.

The learner writes ``TokenCache(token_url, client_id, client_secret, scope, clock=time.monotonic)``
with ``get_token() -> str``. :func:`grade_token_cache` builds fresh caches with a clock it moves
itself (no patching of time for the process), calls them from one thread and from eight at once
against the real token endpoint, counts the requests that endpoint receives, and returns one
:class:`~helpers.graders.report.Row` per behaviour:

- many calls, one token request;
- renewal at most half the lifetime early (built with ``renew_before`` longer than the token's
  life, it still makes one request in the first half of that life);
- renewed before it expires (one second before expiry it hands out a new token);
- the lifetime counted from when the request was sent (the clock moves on during a slow fetch);
- never an expired token (long after expiry, each call gets a token still valid then);
- no renewal storm (eight threads at renewal time make exactly one request);
- the token works (the authorization server's introspection endpoint says it is active).

:func:`check_token_cache` is the notebook's check: it grades and :func:`~helpers.graders.report.report`\\ s.
The requests are counted by the local server itself when there is one, else by watching
``requests`` in this process while grading (a cache that uses another HTTP library is then not seen).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import requests

from helpers.graders import cache_session
from helpers.graders.cache_session import START, CacheSession, Hung, counting_requests_to, lifetime
from helpers.graders.cache_wording import CLOCK_NOTE, counted, failure, is_token, not_a_token, read_the_clock, shown
from helpers.graders.report import Row, report

__all__ = ["check_token_cache", "grade_token_cache"]

CALLS = 50  #: calls in the first half of the token's life
THREADS = 8
LONG_RENEW_BEFORE = 86400.0  #: a day: longer than any token's life (Okta's longest access token lives a day)
HALF_LIFE_CALLS = 10  #: calls in the first half of the token's life, with LONG_RENEW_BEFORE
SLOW_FETCH = 30.0  #: seconds the slow token request takes on the grader's clock

HUNG = (
    "get_token() did not return within 10 s: a thread waits forever, usually a lock taken twice "
    "(threading.Lock is not re-entrant) or a request without a timeout."
)
HUNG_FIX = "take the lock in one place only, one `with` block in get_token, and call nothing inside it that takes it again."


RENEW_EARLY_WHY = (
    "your cache hands out a token about to expire: a request sent with it can arrive after it expired (or at "
    "a server whose clock runs ahead) and gets 401. Renew a margin before expiry, counted on the clock you "
    "were given."
)
RENEW_EARLY_FIX = (
    "at each fetch, note when to renew: the clock's reading just before the request, plus expires_in, minus "
    "the margin min(renew_before, expires_in / 2); fetch again once the clock reaches that time."
)


def _row_many_calls(cache_class, credentials, count, secret) -> Row:
    name, expected = f"{CALLS} calls, one token", "1 token request, 1 token handed out"
    session = CacheSession(cache_class, credentials, count)
    start = count()
    first = session.call(START)
    if not is_token(first):
        return not_a_token(name, expected, first, secret)
    half_life = lifetime(first) / 2
    tokens = [first] + [session.call(START + half_life * k / CALLS) for k in range(1, CALLS)]
    requests_made, distinct = count() - start, len(set(tokens))
    got = counted(requests_made, distinct)
    if requests_made == 1 and distinct == 1:
        return Row(name, expected, got, True)
    return Row(
        name, expected, got, False,
        f"within the first half of the token's life your cache asked the token endpoint {requests_made} times: it does "
        "not keep the token, or does not reuse it while it is fresh. Every request costs a round trip, and Okta "
        "rate-limits the token endpoint.",
        "when you fetch, keep the token and the clock reading at which to renew it as attributes; in get_token, "
        "fetch only when there is no token yet or the clock has reached that reading, else return the kept token.",
    )


def _row_renewed_early(cache_class, credentials, count, secret) -> Row:
    name, expected = "renewed before it expires", "1 s before expiry: a new token"
    session = CacheSession(cache_class, credentials, count)
    first = session.call(START)
    if not is_token(first):
        return not_a_token(name, expected, first, secret)
    late = session.call(START + lifetime(first) - 1)
    if isinstance(late, str) and late != first and not session.expired_at(late, START + lifetime(first) - 1):
        return Row(name, expected, "a new token", True)
    got = "the first token again, 1 s from expiry" if late == first else f"get_token() returned {shown(late, secret)}"
    return Row(name, expected, got, False, RENEW_EARLY_WHY + read_the_clock(session), RENEW_EARLY_FIX)


def _row_half_life(cache_class, credentials, count, secret) -> Row:
    name, expected = "renew_before past the lifetime", "1 token request in the first half of its life"
    session = CacheSession(cache_class, credentials, count, renew_before=LONG_RENEW_BEFORE)
    start = count()
    first = session.call(START)
    if not is_token(first):
        return not_a_token(name, expected, first, secret)
    life = lifetime(first)
    for k in range(1, HALF_LIFE_CALLS):
        session.call(START + life / 2 * k / HALF_LIFE_CALLS)
    requests_made = count() - start
    got = f"{requests_made} token request{'s' * (requests_made != 1)} in {HALF_LIFE_CALLS} calls"
    if requests_made == 1:
        return Row(name, expected, got, True)
    return Row(
        name, expected, got, False,
        f"built with renew_before={LONG_RENEW_BEFORE:g} (longer than the token's {life:g} s life, as a careful "
        "colleague might set it), your cache finds every new token already due and fetches at every call. "
        "Rule 2: renew renew_before early, but at most half the token's lifetime early." + read_the_clock(session),
        "make the margin min(renew_before, expires_in / 2): renew at the clock reading before the request, plus "
        "expires_in, minus that margin.",
    )


def _row_counted_from_sending(cache_class, credentials, count, secret) -> Row:
    name, expected = f"a token request taking {SLOW_FETCH:g} s", "renewed on time: a new token"
    session = CacheSession(cache_class, credentials, count, fetch_takes=SLOW_FETCH)
    first = session.call(START)
    if not is_token(first):
        return not_a_token(name, expected, first, secret)
    life = lifetime(first)
    at = START + life - min(60.0, life / 2) + SLOW_FETCH / 2  # renewal was due SLOW_FETCH / 2 ago
    late = session.call(at)
    if is_token(late) and late != first:
        return Row(name, expected, "a new token", True)
    got = (f"the first token again, {SLOW_FETCH / 2:g} s after its renewal was due" if late == first
           else f"get_token() returned {shown(late, secret)}")
    control = CacheSession(cache_class, credentials, count)  # the same calls, with a fetch that takes no time
    if control.call(START) == control.call(at):  # it renews late even then: the margin is the mistake
        return Row(name, expected, got, False, RENEW_EARLY_WHY + read_the_clock(control), RENEW_EARLY_FIX)
    return Row(
        name, expected, got, False,
        f"this token request took {SLOW_FETCH:g} s, and your cache counted the token's lifetime from when the "
        "answer came back. The token's life starts when the server issues it, about when you sent the request: "
        f"your cache renews {SLOW_FETCH:g} s late, after retries or on a slow network, perhaps after the token "
        "expired. Rule 2: count expires_in from when you sent the request." + read_the_clock(session),
        "read the clock into a variable just before calling fetch_token, and compute the renewal time from that "
        "reading, not from a clock read after fetch_token returns.",
    )


def _row_never_expired(cache_class, credentials, count, secret) -> Row:
    name, expected = "never an expired token", "a valid token at every call"
    session = CacheSession(cache_class, credentials, count)
    first = session.call(START)
    if not is_token(first):
        return not_a_token(name, expected, first, secret)
    life = lifetime(first)
    for label, at in (("1 s after expiry", START + life + 1), ("3 lifetimes later", START + 3 * life),
                      ("10 lifetimes later", START + 10 * life)):
        token = session.call(at)
        if session.expired_at(token, at):
            got = f"{label}: {'an expired token' if isinstance(token, str) else shown(token, secret)}"
            return Row(
                name, expected, got, False,
                "after its token expired, your cache still handed it out: every call made with it gets 401 "
                "invalid_token, and your service stops working an hour after it starts." + read_the_clock(session),
                "in get_token, fetch a new token once the clock has reached the renewal time noted at the last "
                "fetch, and note a new one at every fetch, reading the time from the clock you were given.",
            )
    return Row(name, expected, "a valid token at every call", True)


def _row_no_storm(cache_class, credentials, count, secret) -> Row:
    name, expected = f"{THREADS} threads at renewal time", "1 token request, 1 new token handed out"
    session = CacheSession(cache_class, credentials, count)
    first = session.call(START)
    if not is_token(first):
        return not_a_token(name, expected, first, secret)
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
    deadline = time.monotonic() + cache_session.CALL_TIMEOUT  # for all eight together
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise Hung
    requests_made, distinct = count() - before, set(results)
    got = counted(requests_made, len(distinct))
    if requests_made == 1 and len(results) == THREADS and distinct != {first} and len(distinct) == 1:
        return Row(name, expected, got, True)
    if requests_made == 0:
        return Row(name, expected, got, False,
                   "no thread renewed the expired token (see 'never an expired token')." + read_the_clock(session),
                   "in get_token, fetch again once the clock reaches the renewal time you noted.")
    return Row(
        name, expected, got, False,
        f"the {THREADS} threads each found the token due and fetched their own: a renewal storm. With 50 workers "
        "that is 50 token requests at once, and Okta answers some of them 429 (rate limit).",
        "make one threading.Lock in __init__, and in get_token hold it (a `with` block) around both the check and "
        "the fetch, so a thread that waited finds the token the first one fetched.",
    )


def _row_token_works(cache_class, credentials, count, secret, *, introspection_url) -> Row:
    name, expected = "the token works", "introspection: active, the scopes asked for"
    token_url, client_id, client_secret, scope = credentials
    token = CacheSession(cache_class, credentials, count).call(START)
    if not is_token(token):
        return not_a_token(name, expected, token, secret)
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
        "return the access_token string of the token endpoint's answer (the first value fetch_token gives), "
        "fetched for the scope you were given.",
    )


def grade_token_cache(
    cache_class, token_url: str, client_id: str, client_secret: str, scope: str, *,
    introspection_url: str, count_token_requests: Callable[[], int],
) -> list[Row]:
    """Grade ``cache_class`` (a TokenCache class) against a real token endpoint: one row per behaviour.

    ``count_token_requests()`` returns how many token requests the endpoint has received so far.
    """
    arguments = (cache_class, (token_url, client_id, client_secret, scope), count_token_requests, client_secret)
    graders = [(f"{CALLS} calls, one token", _row_many_calls), ("renew_before past the lifetime", _row_half_life),
               ("renewed before it expires", _row_renewed_early),
               (f"a token request taking {SLOW_FETCH:g} s", _row_counted_from_sending),
               ("never an expired token", _row_never_expired), (f"{THREADS} threads at renewal time", _row_no_storm),
               ("the token works", partial(_row_token_works, introspection_url=introspection_url))]
    rows: list[Row] = []
    hung = False
    for name, grade in graders:
        if hung:
            rows.append(Row(name, "-", "not run: get_token() hung above", False))
            continue
        try:
            rows.append(grade(*arguments))
        except Hung:
            hung = True
            rows.append(Row(name, "get_token() returns", "no answer within 10 s", False, HUNG, HUNG_FIX))
        except Exception as exc:  # the learner's __init__ or get_token raised
            rows.append(Row(
                name, "get_token() returns a token", failure(exc, client_secret), False,
                "your class raised an error: run TokenCache(token_url, client_id, client_secret, scope).get_token() "
                "in a cell of your own to see where.",
                "fix the line the traceback points at; the exercise's task lists what __init__ and get_token need.",
            ))
    return rows


def _said_once(rows: list[Row]) -> list[Row]:
    """The rows for the learner: a reason already given by an earlier failed row is referred to, not repeated.

    The note that the cache never read its clock is said once, with the first row that has it.
    """
    first_with: dict[str, str] = {}
    noted, shown = False, []
    for row in rows:
        if not row.passed:
            has_note, reason = CLOCK_NOTE in row.why, row.why.replace(CLOCK_NOTE, "")
            if reason in first_with:
                row = replace(row, why=f"as for '{first_with[reason]}'.", fix="")
            else:
                first_with[reason] = row.name
                row = replace(row, why=reason)
            if has_note and not noted:
                row, noted = replace(row, why=row.why + CLOCK_NOTE), True
        shown.append(row)
    return shown


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
    report(exercise, _said_once(rows), success=(
        "your cache makes one token request for many calls, renews before expiry (at most half the lifetime "
        "early, counted from when it sent the request), never hands out an expired token, and lets one thread "
        "renew while the others wait."
    ))
