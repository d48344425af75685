"""How the token-cache grader words what a learner's cache did: tokens masked, the secret never shown.

The table's cells (:func:`shown`, :func:`failure`, :func:`counted`), the row for a get_token()
that returned no token (:func:`not_a_token`), and :data:`CLOCK_NOTE`, added to a reason when the
cache never read the clock it was given (:func:`read_the_clock`).
"""

from __future__ import annotations

import re

from helpers.display import mask_token
from helpers.graders.cache_session import CacheSession
from helpers.graders.report import Row

__all__ = ["CLOCK_NOTE", "counted", "failure", "is_token", "not_a_token", "read_the_clock", "shown"]

_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


def shown(value: object, secret: str) -> str:
    """A value for the table: tokens masked, the secret never shown, short."""
    if isinstance(value, str) and _JWT.fullmatch(value):
        return f"a token ({mask_token(value)})"
    text = _JWT.sub(lambda m: mask_token(m.group()), repr(value)).replace(secret, "<the client secret>")
    return text if len(text) <= 60 else text[:57] + "..."


def failure(exc: BaseException, secret: str) -> str:
    """An error the learner's class raised, for the table: tokens masked, the secret never shown, short."""
    message = _JWT.sub(lambda m: mask_token(m.group()), str(exc)).replace(secret, "<the client secret>")
    text = f"raised {type(exc).__name__}: {message}"
    return text if len(text) <= 90 else text[:87] + "..."


def counted(requests_made: int, tokens: int) -> str:
    """"3 token requests, 2 tokens handed out"."""
    return (f"{requests_made} token request{'s' * (requests_made != 1)}, "
            f"{tokens} token{'s' * (tokens != 1)} handed out")


def is_token(value: object) -> bool:
    """True for what get_token() must return: a non-empty str."""
    return isinstance(value, str) and bool(value)


def not_a_token(name: str, expected: str, value: object, secret: str) -> Row:
    """The failed row for a get_token() that returned something other than a token."""
    return Row(name, expected, f"get_token() returned {shown(value, secret)}", False,
               "get_token() must return the access token itself (a str): fetch it with fetch_token(...) the "
               "first time, keep it, and return it.",
               "in get_token, call fetch_token with the four values __init__ kept, store the token it gives (the "
               "first of the two values), and end by returning the stored token.")


CLOCK_NOTE = (" Your cache never called `clock`: it never checks the time, or reads it some other way, which "
              "the check (and your own tests) cannot move. Read every time from the clock you were given.")


def read_the_clock(session: CacheSession) -> str:
    """:data:`CLOCK_NOTE` when the session's cache never read its clock, else nothing."""
    return CLOCK_NOTE if session.clock.reads == 0 else ""
