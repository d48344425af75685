"""How often a client lets an MCP server's answer cost a token request.

A 401 makes a client renew its token, a 403 ``insufficient_scope`` makes it step up. Both are
right once; but a server (broken, or hostile) that answers every request that way would make
the client hit the token endpoint for every call, and Okta limits token requests per org, so one
bad server could lock every app of the org out. :class:`Pace` counts such requests in a sliding
window; the clients use two:

- :data:`RENEWALS_AFTER_401`: at most **one renewal after a 401 every 10 s**. One renewal fixes
  what a 401 is for (a revoked token, rotated keys); a fresh token rejected again within seconds
  means the setup is wrong, and renewing again would not help;
- :data:`STEP_UPS`: at most **three step-ups a minute**. A session that meets a few tools needing
  more scopes steps up a few times; a server naming scope after scope gets three token requests
  a minute from this client, not one per call.

Use under the caller's lock (the class holds none).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["RENEWALS_AFTER_401", "STEP_UPS", "Pace"]

#: (how many, per how many seconds)
RENEWALS_AFTER_401 = (1, 10.0)
STEP_UPS = (3, 60.0)


class Pace:
    """At most ``limit`` events in any ``period`` seconds, on ``clock``."""

    def __init__(self, limit: int, period: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("Need limit >= 1 and period > 0.")
        self.limit, self.period, self._clock = limit, period, clock
        self._times: deque[float] = deque()

    def _forget_old(self) -> float:
        now = self._clock()
        while self._times and now - self._times[0] >= self.period:
            self._times.popleft()
        return now

    def allows(self) -> bool:
        """Whether one more event fits now (nothing is counted)."""
        self._forget_old()
        return len(self._times) < self.limit

    def take(self) -> bool:
        """Count one event now if it fits; whether it did."""
        now = self._forget_old()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True

    @property
    def wait(self) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        self._forget_old()
        if len(self._times) < self.limit:
            return 0.0
        return max(0.0, self._times[0] + self.period - self._clock())
