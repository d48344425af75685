"""The local authorization server a check grades on: the notebook's own, or a private one.

With a real tenant in ``.env`` a check cannot play tricks on Okta (register a key, move a clock,
count polls), so it grades on a private local server it starts and stops itself; with the local
server it uses the notebook's. Either way the rate-limit scenario is suspended while it grades
(the grader's own requests are not the client under test), and a server that is not running any
more (the checkpoint stopped it) becomes feedback, not a ``ConnectionError`` traceback.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import requests

from ..exercises import ExerciseFeedback
from ..local_okta import LocalOkta, start_local_okta

__all__ = ["grading_server"]


@contextlib.contextmanager
def grading_server(okta: LocalOkta | None, exercise: str, name: str) -> Iterator[LocalOkta]:
    """``okta``, or a private local server named ``name`` (stopped on exit), to grade ``exercise`` on."""
    own = okta is None
    server = start_local_okta(name=f"{name}-{secrets.token_hex(3)}") if own else okta
    try:
        with server.rate_limit_suspended():
            yield server
    except requests.ConnectionError:
        raise ExerciseFeedback(exercise, "the authorization server is stopped (the checkpoint stops it).",
                               "run the setup cell again, then your exercise cell, then this one.",
                               wrong_try=False) from None
    finally:
        if own:
            server.stop()
