"""Grade a learner's device-sign-in polling loop against the local server, on the grader's clock.

The learner writes ``poll_for_token(token_endpoint, client_id, device_code, interval, sleep=time.sleep)``
(the shape of ``helpers/recipes/device_signin.py``). Each row starts its own device sign-in for the
local ``device_app`` and calls the function with a ``sleep`` the grader controls: it moves a clock
that the local server's device codes run on too (``LocalOkta.device_flow.clock``), so a 5 s interval
takes no time and the *server* decides whether a poll came too soon. Things happen on the grader's
cue (the user approves, denies, the server asks to slow down); a runaway loop is stopped after
:data:`MAX_POLLS` polls. A refusal counts only when the function raises, and its message shows no
device code and no token.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import requests

from ..exercises import ExerciseFeedback
from ..local_okta import LocalOkta
from ..local_okta.activate import approve
from .grading_server import grading_server
from .report import Row, report

__all__ = ["MAX_POLLS", "check_device_poll", "grade_device_poll"]

#: Polls one row allows before it stops the learner's loop (a correct one needs at most five).
MAX_POLLS = 25
INTERVAL = 5


class _Runaway(BaseException):
    """Raised into the learner's loop to stop it (a BaseException: ``except Exception`` cannot hide it)."""


class _Run:
    """One row's device sign-in: the shared clock, the polls the server answered, the learner's outcome."""

    def __init__(self, okta: LocalOkta, events: dict[int, Callable[["_Run"], None]], start: float) -> None:
        self.okta, self.events = okta, events
        self.now = start  # the server's own time when grading began: its other device codes live on
        self.sleeps: list[Any] = []
        self.polls: list[tuple[float, str]] = []  # (clock, error or "token") for each poll of the token endpoint
        client = okta.clients["device_app"]
        okta.device_flow.clock = self.clock
        answer = requests.post(okta.endpoint("device/authorize"), timeout=10,
                               data={"client_id": client.client_id, "scope": "openid offline_access calculator.add"})
        answer.raise_for_status()
        self.started = answer.json()
        self.client_id = client.client_id
        self.result: Any = None
        self.error: BaseException | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds) -> None:
        self.sleeps.append(seconds)
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise TypeError(f"sleep() takes a number of seconds >= 0, not {seconds!r}")
        if len(self.sleeps) > MAX_POLLS:
            raise _Runaway
        self.now += seconds
        event = self.events.get(len(self.sleeps))
        if event is not None:
            event(self)

    def approve(self, deny: bool = False) -> None:
        approve(self.started["verification_uri_complete"], self.okta.users[0], deny=deny)

    def run(self, poll_for_token: Callable) -> "_Run":
        endpoint = self.okta.token_endpoint
        with _watching(endpoint, self):
            try:
                self.result = poll_for_token(endpoint, self.client_id, self.started["device_code"],
                                             self.started["interval"], sleep=self.sleep)
            except _Runaway:
                self.error = _Runaway()
            except Exception as exc:  # the learner's refusal (or crash): judged by the row
                self.error = exc
        return self

    # -- what happened ---------------------------------------------------------------------

    def gaps(self) -> list[float]:
        times = [t for t, _ in self.polls]
        return [later - earlier for earlier, later in zip(times, times[1:])]

    def answers(self) -> list[str]:
        return [error for _, error in self.polls]

    def got_tokens(self) -> bool:
        return isinstance(self.result, dict) and isinstance(self.result.get("access_token"), str) \
            and "error" not in self.result

    def leaked(self) -> bool:
        message = f"{self.error!s} {self.error!r}" if self.error is not None else ""
        return self.started["device_code"] in message

    def outcome(self) -> str:
        if isinstance(self.error, _Runaway):
            return f"still polling after {MAX_POLLS} polls"
        if self.error is not None:
            return f"raised {type(self.error).__name__}"
        if isinstance(self.result, dict) and "error" in self.result:
            return f"returned the error body ({self.result['error']})"
        if self.got_tokens():
            return "returned the tokens"
        return f"returned {type(self.result).__name__}"


@contextmanager
def _watching(token_endpoint: str, run: _Run):
    """Record every poll of the token endpoint made through requests (with the clock and the answer),
    and stop a loop that polls more than :data:`MAX_POLLS` times."""
    original = requests.sessions.Session.request

    def watched(session, method, url, *args, **kwargs):
        if str(url).split("?")[0] != token_endpoint:
            return original(session, method, url, *args, **kwargs)
        if len(run.polls) >= MAX_POLLS:
            raise _Runaway
        response = original(session, method, url, *args, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {}
        run.polls.append((run.now, body.get("error", "token") if isinstance(body, dict) else "?"))
        return response

    requests.sessions.Session.request = watched
    try:
        yield
    finally:
        requests.sessions.Session.request = original


def _slow_down(run: _Run) -> None:
    run.okta.device_flow.demand_slower(run.started["user_code"])


def grade_device_poll(poll_for_token: Callable, okta: LocalOkta) -> list[Row]:
    """Grade ``poll_for_token`` against the running local server ``okta``: one :class:`Row` per behaviour."""
    saved_clock, rows = okta.device_flow.clock, []
    start = saved_clock()
    try:
        approved = _Run(okta, {2: lambda r: r.approve()}, start).run(poll_for_token)  # approved before the second poll
        rows.append(_approved_row(approved))
        rows.append(_interval_row(approved))
        slowed = _Run(okta, {1: _slow_down, 4: lambda r: r.approve()}, start).run(poll_for_token)
        rows.append(_slow_down_row(slowed))
        okta.set_device_code_lifetime(12)
        try:
            expired = _Run(okta, {}, start).run(poll_for_token)
        finally:
            okta.set_device_code_lifetime(None)
        rows.append(_refusal_row("expired_token", expired, "expired_token"))
        denied = _Run(okta, {1: lambda r: r.approve(deny=True)}, start).run(poll_for_token)
        rows.append(_refusal_row("access_denied", denied, "access_denied"))
        rows.append(_messages_row(expired, denied))
    finally:
        okta.device_flow.clock = saved_clock
    return rows


def _not_reached(name: str, expected: str, got: str, first: str, because: str) -> Row:
    """A row the learner's code never let the grader test: shown as not reached, and failed (never a tick)."""
    return Row(name, expected, f"not reached: {got}", False,
               why=f"not tested, because {because}: fix [{first}] first, then this row is tested.",
               fix=f"fix [{first}] first.")


def _stopped_early(run: _Run) -> bool:
    """The function raised (not stopped by the grader) at an answer that only means "wait"."""
    return run.error is not None and not isinstance(run.error, _Runaway) \
        and run.answers()[-1:] in (["authorization_pending"], ["slow_down"])


def _approved_row(run: _Run) -> Row:
    why = ("once the user approved, the token endpoint answered 200 with the tokens, but your function did not "
           "return that answer (or never got there).")
    if isinstance(run.error, requests.HTTPError) and _stopped_early(run):
        why = ("your function raised HTTPError at the first authorization_pending: authorization_pending and "
               "slow_down come back as HTTP 400, and they are not failures. Do not call raise_for_status; read the "
               "answer's error field (section 1.2).")
    elif _stopped_early(run):
        why = (f"your function raised at {run.answers()[-1]}, which only means \"not yet, poll again\": keep "
               "polling until the answer is 200 (the tokens) or another error.")
    return Row(
        "approved", "returns the tokens", run.outcome(), run.got_tokens(), why=why,
        fix="loop: sleep(interval), post grant_type=urn:ietf:params:oauth:grant-type:device_code with device_code "
        "and client_id, and return response.json() when the status is 200.",
    )


def _interval_row(run: _Run) -> Row:
    expected = f"≥ {INTERVAL} s between polls"
    if len(run.polls) < 2:
        return _not_reached("waits the interval", expected, _gaps_text(run), "approved",
                            "your loop polled less than twice, so there is no gap between polls to measure")
    waited = all(gap >= INTERVAL for gap in run.gaps()) and "slow_down" not in run.answers()
    return Row(
        "waits the interval", expected, _gaps_text(run), waited,
        why="polls came sooner than the interval the server named, so it answered slow_down: a client that polls "
        "faster than asked loads the server and, at Okta, can be rate-limited.",
        fix="call sleep(interval) before every poll, inside the loop (never poll twice without sleeping).",
    )


def _slow_down_row(run: _Run) -> Row:
    expected = f"then ≥ {INTERVAL + 5} s between polls"
    answers = run.answers()
    if "slow_down" not in answers:
        return _not_reached("slow_down", expected, _gaps_text(run), "approved",
                            "your loop stopped before the server could ask it to slow down")
    after = run.gaps()[answers.index("slow_down"):]
    obeyed = run.got_tokens() and answers.count("slow_down") == 1 and bool(after) \
        and all(gap >= INTERVAL + 5 for gap in after)
    got = _gaps_text(run)
    if answers[-1] == "slow_down" and run.error is not None and not isinstance(run.error, _Runaway):
        got = f"{run.outcome()} at slow_down"
        why = ("your loop stopped at slow_down, which is no failure: it means \"wait 5 s longer from now on\", and "
               "comes back as HTTP 400 like authorization_pending.")
    elif any(gap >= INTERVAL + 5 for gap in after) and any(gap < INTERVAL + 5 for gap in after):
        why = ("you waited longer once, then went back: after slow_down the longer interval is kept for every later "
               "poll (RFC 8628, 3.5), so the server answered slow_down again.")
    else:
        why = ("after slow_down the interval must grow by 5 s for that poll and every later one (RFC 8628, 3.5); "
               "your loop kept the old pace (the server answered slow_down again) or stopped.")
    return Row("slow_down", expected, got, obeyed, why=why,
               fix="on error == 'slow_down': interval += 5, then continue the loop (keep the new interval).")


def _messages_row(*runs: _Run) -> Row:
    shown = [run for run in runs if run.leaked()]
    refused = [run for run in runs if run.error is not None and not isinstance(run.error, _Runaway)
               and run.answers()[-1:] in (["expired_token"], ["access_denied"])]
    if not shown and not refused:
        return _not_reached("messages", "no device code", "no refusal raised", "expired_token",
                            "your function raised no exception at expired_token or access_denied, so there was no "
                            "message to read")
    return Row(
        "messages", "no device code", "device code in a message" if shown else "none shown", not shown,
        why="your error message contains the device code: whoever reads the log can redeem it if the user "
        "approves later.", fix="say what happened (expired, denied), never the device code or a token.",
    )


def _refusal_row(name: str, run: _Run, error: str) -> Row:
    if error not in run.answers() and not isinstance(run.error, _Runaway):
        at = f"at {run.answers()[-1]}" if run.polls else "with no poll"
        return _not_reached(name, "raises, stops polling", f"{run.outcome()} {at}", "approved",
                            f"your function stopped before the server answered {error}")
    stopped = run.error is not None and not isinstance(run.error, _Runaway) and run.answers()[-1:] == [error]
    return Row(
        name, "raises, stops polling", run.outcome(), stopped,
        why=f"the token endpoint answered {error}: the sign-in is over and no token will come, so the function "
        "must raise (returning the error body lets a caller take it for tokens; polling on never ends).",
        fix=f"on error == '{error}': raise an exception saying so (never return the answer, never keep polling).",
    )


def _gaps_text(run: _Run) -> str:
    if not run.polls:
        return "no poll"
    gaps = run.gaps()
    if not gaps:
        return "one poll"
    shown = ", ".join(f"{gap:g} s" for gap in gaps[:3])
    return f"gaps {shown}" if len(gaps) <= 3 else f"gaps {shown} ... ({len(run.polls)} polls, shortest {min(gaps):g} s)"


def check_device_poll(poll_for_token: Callable, *, okta: LocalOkta | None = None,
                      exercise: str = "Exercise 8.1") -> list[Row]:
    """The section's check: grade ``poll_for_token`` on ``okta`` (or a private local server) and report."""
    with grading_server(okta, exercise, "device-poll-grader") as server:
        rows = grade_device_poll(poll_for_token, server)
    report(exercise, rows, success="your loop returns the tokens once the user approves, waits the interval, slows "
           "down by 5 s when asked, and stops with an error on expired_token and access_denied.")
    return rows
