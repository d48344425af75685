"""A learner's token cache under a clock the grader moves: calls with a timeout, and token bookkeeping.

:class:`CacheSession` builds one cache with a controlled clock (``clock=`` is part of the exercise's
signature, so no time is patched for the process), calls ``get_token()`` at chosen clock readings in
a worker thread (a deadlocked cache raises :class:`Hung` instead of hanging the kernel), and notes
at which reading each token was fetched, by watching the token endpoint's request count.
:func:`counting_requests_to` is that count when the authorization server cannot give it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import jwt
import requests

__all__ = ["CALL_TIMEOUT", "START", "CacheSession", "Clock", "Hung", "counting_requests_to", "lifetime"]

START = 1000.0  #: the controlled clock's first reading (not 0: a cache may start with "renew at 0.0")
CALL_TIMEOUT = 10.0  #: seconds a single get_token() may take before it counts as hung


class Clock:
    """A clock the grader moves; it counts how often the learner's cache reads it.

    With ``fetch_takes`` seconds, a token request takes that long: once the token endpoint has
    received a request during the current call, the clock reads ``fetch_takes`` later.
    """

    def __init__(self, count: Callable[[], int] | None = None, fetch_takes: float = 0.0) -> None:
        self.now, self.reads = START, 0
        self._count, self.fetch_takes = count, fetch_takes
        self._requests_before: int | None = None

    def start_call(self, at: float) -> None:
        """Set the time to ``at`` for one get_token() call (no token request sent yet)."""
        self.now = at
        self._requests_before = self._count() if self._count and self.fetch_takes else None

    def __call__(self) -> float:
        self.reads += 1
        if self._requests_before is not None and self._count() > self._requests_before:
            return self.now + self.fetch_takes  # the answer came back fetch_takes after the request left
        return self.now


class Hung(Exception):
    """get_token() did not return in time."""


class CacheSession:
    """One cache under test: its clock, calls with a timeout, and when each token was fetched."""

    def __init__(self, cache_class, credentials: tuple[str, str, str, str], count: Callable[[], int],
                 *, fetch_takes: float = 0.0, **options: float) -> None:
        self.clock, self.count = Clock(count, fetch_takes), count
        self.fetched_at: dict[str, float] = {}  # token -> clock reading when its request was sent
        self.cache = cache_class(*credentials, clock=self.clock, **options)

    def call(self, at: float) -> object:
        """get_token() at clock reading ``at``; a new token seen with a new request is recorded."""
        self.clock.start_call(at)
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
        raise Hung
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
