"""One attempt at a time; a failed attempt is shared with everyone who waited for it, then a pause.

When a token endpoint is down, a naive client lets every waiting caller make its own request,
one after another: 50 callers and a 10 s timeout keep the last one waiting for minutes, and
the endpoint gets 50 requests when it is least able to answer. :class:`SharedBackoff` keeps
the bookkeeping for the better behaviour (the same idea as a future shared by many waiters):

- a caller takes a :meth:`ticket` *before* it waits for the lock that serialises attempts;
- holding the lock, it asks :meth:`failure_to_share`: if an attempt failed while it waited, or
  the pause after the last failure has not passed, it gets that failure instead of trying again;
- otherwise it makes the one attempt and reports :meth:`succeeded` or :meth:`failed`.

The pause doubles after each failure in a row (``first_delay``, 2x, 4x, ... up to ``max_delay``)
and is forgotten after a success. A failure that says when to try again (a rate limit's
``retry_after``, from ``X-Rate-Limit-Reset``) pauses at least that long. The lock belongs to the caller (the token manager's, the
gateway's), so this class holds no lock of its own and must be used under the caller's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["SharedBackoff"]


class SharedBackoff:
    """The outcome of the last attempt, and when the next may be made. Use under one lock."""

    def __init__(
        self, *, first_delay: float = 1.0, max_delay: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if first_delay < 0 or max_delay < first_delay:
            raise ValueError("Need 0 <= first_delay <= max_delay (seconds).")
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._clock = clock
        self._finished = 0
        self._failure: BaseException | None = None
        self._retry_at = 0.0
        self._delay = first_delay

    def ticket(self) -> int:
        """How many attempts have finished: take it before waiting for the lock."""
        return self._finished

    def failure_to_share(self, ticket: int) -> BaseException | None:
        """The failure to hand this caller instead of a new attempt, or ``None`` to try now.

        A caller whose ``ticket`` is older than the last attempt waited while that attempt
        failed: it shares the failure. Anyone arriving during the pause after a failure does too.
        """
        if self._failure is None:
            return None
        if ticket != self._finished or self._clock() < self._retry_at:
            return self._failure
        return None

    def failed_since(self, ticket: int) -> BaseException | None:
        """The failure of an attempt that finished after ``ticket`` was taken, if the last one failed."""
        return self._failure if ticket != self._finished else None

    def succeeded(self) -> None:
        """The attempt worked: forget the failure and the pause."""
        self._finished += 1
        self._failure = None
        self._delay = self.first_delay

    def failed(self, error: BaseException) -> None:
        """The attempt failed with ``error``: share it, and pause before the next attempt."""
        self._finished += 1
        self._failure = error
        told = getattr(error, "retry_after", None)  # Okta's X-Rate-Limit-Reset: nothing sooner is useful
        wait = max(self._delay, told) if isinstance(told, (int, float)) else self._delay
        self._retry_at = self._clock() + wait
        self._delay = min(self._delay * 2, self.max_delay)

    @property
    def retry_in(self) -> float:
        """Seconds until the next attempt may be made (0 when there is no failure to wait out)."""
        if self._failure is None:
            return 0.0
        return max(0.0, self._retry_at - self._clock())
