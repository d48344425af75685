"""Calling a learner's sign-in functions safely, and reading what came back (for ``sign_in.py``).

A learner's function may raise anything, return anything, or put a secret in its error message.
:func:`calls` runs it and keeps the value or the exception; :func:`returned_tokens` and
:func:`refusal` turn that into what a grading row shows, with every known secret masked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Outcome", "calls", "refusal", "returned_tokens", "shown"]


@dataclass(frozen=True)
class Outcome:
    """What one call of the learner's function did: its value, or the exception it raised."""

    value: Any = None
    exception: BaseException | None = None

    @property
    def error(self) -> str | None:
        """``raised TypeError: ...`` (unmasked: pass it through :func:`shown`), or None."""
        if self.exception is None:
            return None
        return f"raised {type(self.exception).__name__}: {self.exception}"


def calls(function: Callable[..., Any], *args: Any) -> Outcome:
    """Call the learner's `function`; never lets its exception out (KeyboardInterrupt aside)."""
    try:
        return Outcome(value=function(*args))
    except Exception as exc:  # anything the learner's code raises is graded, not crashed on
        return Outcome(exception=exc)


def _leaks(text: str, secrets: Sequence[str]) -> bool:
    return any(secret and len(secret) >= 8 and secret in text for secret in secrets)


def shown(text: str, secrets: Sequence[str], limit: int = 90) -> str:
    """`text` for the table: each secret replaced by ``<masked>``, cut to `limit` characters."""
    for secret in sorted((s for s in secrets if s and len(s) >= 8), key=len, reverse=True):
        text = text.replace(secret, "<masked>")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def returned_tokens(outcome: Outcome, secrets: Sequence[str]) -> tuple[dict, str]:
    """(the tokens, "") when the call returned a dict with an access token; else ({}, what it did)."""
    if outcome.exception is not None:
        return {}, shown(outcome.error or "", secrets)
    value = outcome.value
    if isinstance(value, dict) and isinstance(value.get("access_token"), str) and value["access_token"]:
        return value, ""
    if isinstance(value, dict) and "error" in value:
        return {}, shown(f"returned the error answer as tokens: {value.get('error')}", secrets)
    return {}, shown(f"returned {value!r}" if not isinstance(value, dict) else f"returned a dict without access_token: {sorted(value)}", secrets)


def refusal(outcome: Outcome, must_say: str, secrets: Sequence[str]) -> tuple[str, bool]:
    """(what the table shows, passed) for a call that must raise, with `must_say` in its message."""
    if outcome.exception is None:
        value = outcome.value
        if isinstance(value, dict) and value.get("access_token"):
            return "accepted: returned tokens", False
        return shown(f"no exception: returned {value!r}", secrets), False
    message = str(outcome.exception)
    if _leaks(message, secrets):
        return "raised, but the message holds a code, verifier, token or secret", False
    if must_say.lower() not in message.lower():
        return shown(f"raised without saying '{must_say}': {outcome.error}", secrets), False
    return shown(f"raised {type(outcome.exception).__name__}", secrets), True
