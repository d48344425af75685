"""Step-up authorization: the user grants more scopes when a tool asks for them.

An MCP server answers a call whose token lacks the tool's scope with 403 and
``WWW-Authenticate: Bearer error="insufficient_scope", scope="..."``. A gateway acting for a
person asks that person to authorize the **union** of the scopes it asked for before, the
scopes it holds and the ones named (so one tool's permission does not cost another's), then
retries the call once (MCP authorization specification 2025-11-25, "Step-Up Authorization Flow").

Only scopes the gateway may ask for (``login.allowed_scopes``) are asked; a 403 naming another
is refused without showing the user anything. At most three step-up sign-ins a minute
(:mod:`helpers.pacing`), so a server cannot flood the user, or the token endpoint, with them.
"""

from __future__ import annotations

import inspect
from typing import Any

import anyio

from ..backoff import SharedBackoff
from .bearer import SignInHandler
from .errors import LoginError, StepUpError

__all__ = ["step_up"]


async def step_up(login: Any, needed: tuple[str, ...], sign_in: SignInHandler | None) -> str:
    """An access token of ``login`` (a :class:`~helpers.user_login.UserLogin`) that carries ``needed``.

    ``sign_in(pending)`` shows the user the new sign-in (a link, a browser, or the local test
    user's password; it may be a coroutine function); this then waits for the redirect. One
    step-up runs at a time per gateway; a call that waited for another's gets its token, or
    its failure (then nobody asks the user again for the same scopes during a short pause, so
    five calls that need a scope show the user one sign-in, not five).
    Raises :class:`StepUpError` when there is no ``sign_in``, when the user or the access
    policy refuses, or when the scopes granted still lack ``needed``.
    """
    outside = [scope for scope in needed if scope not in login.allowed_scopes]
    if outside:
        raise StepUpError(
            f"The MCP server asks for the scope {' '.join(outside)}, which this gateway was not configured "
            f"to ask for (allowed_scopes: {' '.join(sorted(login.allowed_scopes))}). It does not ask the user "
            "for scopes on a server's say-so; if the tool should work, create the gateway with "
            "allowed_scopes=... that include it.",
            needed,
        )
    gate = login.step_up_gates.setdefault(frozenset(needed), SharedBackoff(clock=login.now))
    ticket = gate.ticket()
    lock = login.step_up_lock
    while not lock.acquire(blocking=False):  # wait without blocking the event loop
        await anyio.sleep(0.02)
    try:
        tokens = login.tokens
        if tokens is not None and set(needed) <= set(tokens.scopes):
            return tokens.access_token  # another call stepped up meanwhile
        shared = gate.failure_to_share(ticket)
        if shared is not None:
            raise shared
        pace = login.step_up_pace
        if not pace.take():
            raise StepUpError(
                f"The tool needs the scope {' '.join(needed)}, but this gateway already asked the user to "
                f"step up {pace.limit} times in the last {pace.period:g} s and asks no more for now, so that a "
                f"server cannot flood the user with sign-ins. Try again in {pace.wait:.0f} s.",
                needed,
            )
        try:
            token = await _ask_the_user(login, needed, sign_in)
        except StepUpError as error:
            gate.failed(error)
            raise
        gate.succeeded()
        return token
    finally:
        lock.release()


async def _ask_the_user(login: Any, needed: tuple[str, ...], sign_in: SignInHandler | None) -> str:
    """One step-up sign-in for the union of the scopes; its access token, or :class:`StepUpError`."""
    if sign_in is None:
        raise StepUpError(
            f"The tool needs the scope {' '.join(needed)}, which the user has not granted. Pass "
            "sign_in= to login.auth() so the gateway can ask the user, or sign in again with "
            "login.begin(scopes=...).",
            needed,
        )
    tokens = login.tokens
    held = tokens.scopes if tokens is not None else ()
    wanted = tuple(dict.fromkeys((*login.scopes, *held, *needed)))
    pending = login.begin(scopes=wanted)
    login.stats["step-ups"] += 1
    try:
        shown = sign_in(pending)
        if inspect.isawaitable(shown):
            await shown
        new = await pending.wait()
    except LoginError as exc:
        raise StepUpError(
            f"The tool needs the scope {' '.join(needed)}; asking the user for it failed: {exc}", needed
        ) from None
    if not set(needed) <= set(new.scopes):
        raise StepUpError(
            f"The tool needs the scope {' '.join(needed)}, but the authorization server granted only "
            f"{' '.join(new.scopes)}. Allow the scope for this app in the access policy rule.",
            needed,
        )
    login.scopes = wanted
    return new.access_token
