"""The local server's rate-limit scenario: Okta's 429s, headers and bodies, in seconds.

Okta counts requests in buckets and answers every request with ``X-Rate-Limit-Limit`` (the
bucket's size), ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset`` (UTC epoch seconds when
it refills); past the limit it answers HTTP 429 (``reference/rl2-monitor``). Token requests are
limited per user and per org (4 per second per user to generate or refresh a token,
``reference/rl2-limits``); the token endpoint's 429 body is ``invalid_grant`` "API call exceeded
rate limit due to too many requests." (catalogue ``user_rate_limited``), other endpoints send
Okta's API error ``E0000047`` with the same summary (the 429 example of ``reference/api/authn``).
Which of the two bodies Okta's ``/introspect`` and ``/revoke`` send is not documented: E0000047 here.

The scenario is off by default. :meth:`LocalOkta.set_rate_limit(limit, window)
<helpers.local_okta.LocalOkta.set_rate_limit>` switches it on, and so does the environment
variable ``LOCAL_OKTA_RATE_LIMIT=limit/window`` (e.g. ``4/5``) for the server a notebook starts
with ``connect_authorization_server()`` (graders' private servers are never limited): at most ``limit`` requests per client per endpoint (token, introspect, revoke) in each
``window`` of whole seconds, so ``X-Rate-Limit-Reset`` is at most ``window`` (<= 5) seconds ahead.
The limiter also counts what a well-behaved client must never do: a second request to a bucket
after a 429, before its reset (:meth:`RateLimiter.report`).
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, unquote

import jwt
from starlette.responses import JSONResponse

__all__ = ["LIMITED_ENDPOINTS", "RateLimiter", "from_environment"]

ENVIRONMENT_VARIABLE = "LOCAL_OKTA_RATE_LIMIT"
#: The endpoints a client calls with its own credentials (per-client buckets).
LIMITED_ENDPOINTS = ("token", "introspect", "revoke")
SUMMARY = "API call exceeded rate limit due to too many requests."


class RateLimiter:
    """``limit`` requests per client per endpoint in each ``window`` seconds (1 to 5)."""

    def __init__(self, limit: int, window: int = 5, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(limit, int) or limit < 1 or not isinstance(window, int) or not 1 <= window <= 5:
            raise ValueError("A rate limit is a whole number of requests >= 1 per window of 1 to 5 whole seconds.")
        self.limit, self.window, self._clock = limit, window, clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[int, int]] = {}  # (endpoint, client) -> (reset, count)
        #: requests answered 429, per (endpoint, client, reset)
        self.refused: Counter[tuple[str, str, int]] = Counter()

    def take(self, endpoint: str, client: str) -> tuple[bool, dict[str, str]]:
        """Count one request: whether it is within the limit, and Okta's three headers."""
        now = self._clock()
        reset = (math.floor(now / self.window) + 1) * self.window
        with self._lock:
            bucket_reset, count = self._buckets.get((endpoint, client), (reset, 0))
            count = count + 1 if bucket_reset == reset else 1
            self._buckets[(endpoint, client)] = (reset, count)
            allowed = count <= self.limit
            if not allowed:
                self.refused[(endpoint, client, reset)] += 1
        headers = {"X-Rate-Limit-Limit": str(self.limit), "X-Rate-Limit-Remaining": str(max(0, self.limit - count)),
                   "X-Rate-Limit-Reset": str(reset)}
        return allowed, headers

    def report(self) -> dict[str, int]:
        """``{"endpoint client": n}``: the most 429s one client got from one endpoint before a
        reset. A client that waits for ``X-Rate-Limit-Reset`` gets at most 1."""
        most: dict[str, int] = {}
        for (endpoint, client, _), count in self.refused.items():
            key = f"{endpoint} {client}"
            most[key] = max(most.get(key, 0), count)
        return dict(sorted(most.items()))


def from_environment(environ: Mapping[str, str] | None = None) -> RateLimiter | None:
    """The limiter ``LOCAL_OKTA_RATE_LIMIT=limit/window`` asks for (``None`` when unset)."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "").strip()
    if not value:
        return None
    limit, _, window = value.partition("/")
    try:
        return RateLimiter(int(limit), int(window or 5))
    except ValueError:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={value!r}: use limit/window, e.g. 2/5 (window 1 to 5 s).") from None


def client_of(headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> str:
    """Who is asking: the client id of the Basic credentials, the form or the query."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return unquote(base64.b64decode(value.strip(), validate=True).decode().partition(":")[0])
        except (binascii.Error, UnicodeDecodeError):
            return "unknown"
    form = parse_qs(body.decode("utf-8", "replace"))
    from_body = form.get("client_id")
    if not from_body and form.get("client_assertion"):  # private_key_jwt: the assertion's iss, read only to count
        try:
            from_body = [str(jwt.decode(form["client_assertion"][0], options={"verify_signature": False}).get("iss") or "")]
        except jwt.PyJWTError:
            from_body = None
    return (from_body[0] if from_body else None) or query.get("client_id") or "unknown"


def too_many_requests(endpoint: str, headers: dict[str, str]) -> JSONResponse:
    """Okta's 429: the token endpoint's OAuth error, or the API error E0000047."""
    if endpoint == "token":
        body = {"error": "invalid_grant", "error_description": SUMMARY}
    else:
        body = {"errorCode": "E0000047", "errorSummary": SUMMARY, "errorLink": "E0000047",
                "errorId": "oae" + secrets.token_hex(10), "errorCauses": []}
    return JSONResponse(body, status_code=429, headers=headers)
