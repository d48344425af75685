"""Okta's rate limits, as every client in this repository handles them.

Okta answers a request over a limit with HTTP 429 and three headers on every answer
(``reference/rl2-monitor`` in Okta's developer docs): ``X-Rate-Limit-Limit`` (the bucket's
size), ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset`` (when the bucket refills, in UTC
epoch seconds). Token requests are also limited per user (4 per second to generate or refresh
a token, ``reference/rl2-limits``). The body is ``invalid_grant`` "API call exceeded rate limit
due to too many requests." at a token endpoint (the catalogue's ``user_rate_limited``) and
Okta's API error ``E0000047`` elsewhere.

What the clients do with a 429 (the token manager, the gateway, the three fetch functions):

- they never retry before ``X-Rate-Limit-Reset`` (another request would only count against
  the same bucket): one request per client per endpoint until the reset;
- a reset that is near (at most :data:`MAX_WAIT` seconds) is waited for, then the request is
  made once more; a later one raises :class:`RateLimited` ("rate limited by Okta, retry after
  N s"), and the shared backoff keeps every caller from trying before then;
- a still-valid token is kept and used meanwhile, and a 429 never drops a user's tokens
  (it says nothing about the refresh token or the code).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

__all__ = ["MAX_WAIT", "RATE_LIMIT_SUMMARY", "RateLimited", "retry_once_after_reset", "seconds_until_reset"]

#: The longest wait for ``X-Rate-Limit-Reset`` before retrying; a later reset raises instead.
MAX_WAIT = 10.0
#: After the reset, a little more, so that a clock a bit behind Okta's does not retry too early.
MARGIN = 0.5
#: Okta's text for a request over a limit (catalogue ``user_rate_limited``; API error E0000047).
RATE_LIMIT_SUMMARY = "API call exceeded rate limit due to too many requests."
#: Okta's buckets are per minute: a 429 without a usable reset header waits out that long.
DEFAULT_RESET = 60.0

logger = logging.getLogger(__name__)
T = TypeVar("T")


def seconds_until_reset(headers: Mapping[str, str], now: float | None = None) -> float:
    """Seconds until the bucket refills: ``X-Rate-Limit-Reset`` (epoch seconds), else
    ``Retry-After`` (seconds), else :data:`DEFAULT_RESET`. Never negative."""
    now = time.time() if now is None else now
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    try:
        return max(0.0, float(lowered["x-rate-limit-reset"]) - now)
    except (KeyError, ValueError):
        pass
    try:
        return max(0.0, float(lowered["retry-after"]))
    except (KeyError, ValueError):
        return DEFAULT_RESET


class RateLimited(Exception):
    """Okta answered 429: ``retry_after`` seconds until ``X-Rate-Limit-Reset``, ``url`` the endpoint.

    A mixin: the token functions raise it as a ``TokenRequestError``, the gateway as a ``LoginError``.
    """

    retry_after: float = DEFAULT_RESET
    url: str = ""

    def rate_limit_message(self) -> str:
        return rate_limit_message(self.retry_after, self.url)


def rate_limit_message(retry_after: float, url: str) -> str:
    """"rate limited by Okta, retry after N s" with what it means and what to do."""
    return (
        f"rate limited by Okta, retry after {math.ceil(retry_after)} s (HTTP 429 from {url}; "
        "X-Rate-Limit-Reset says when the limit resets). Nothing was dropped: tokens still valid "
        "are used meanwhile. If this happens often, fetch fewer tokens (cache one per client, as "
        "TokenManager does) or ask your Okta admin about the org's rate limits."
    )


def retry_once_after_reset(
    attempt: Callable[[], T], *, max_wait: float | None = None, sleep: Callable[[float], None] = time.sleep
) -> T:
    """``attempt()``; if it is rate limited and the reset is at most ``max_wait`` seconds away
    (default :data:`MAX_WAIT`), wait for the reset and try exactly once more (a second 429 is raised)."""
    try:
        return attempt()
    except RateLimited as exc:
        if exc.retry_after > (MAX_WAIT if max_wait is None else max_wait):
            raise
        logger.warning("rate limited by Okta, retry after %d s: waiting for X-Rate-Limit-Reset (%s)",
                       math.ceil(exc.retry_after), exc.url)
        sleep(exc.retry_after + MARGIN)
    return attempt()
