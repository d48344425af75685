"""Reading a child process's output line by line with a deadline.

``process.stdout.readline()`` blocks until a line or end of file arrives: a child that hangs
without printing would hold the test (and the whole run) forever, whatever deadline the loop
around it checks. :class:`Lines` reads in a daemon thread instead, and :meth:`Lines.next`
waits at most until the deadline.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import IO

__all__ = ["Lines"]


class Lines:
    """The lines of ``stream``, each waited for until ``deadline`` (a ``time.monotonic()`` value)."""

    def __init__(self, stream: IO[str], *, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), name="test-child-output", daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put("")  # end of file

    def next(self) -> str:
        """The next line ("" at end of file); AssertionError once the deadline has passed."""
        try:
            return self._lines.get(timeout=max(0.0, self.deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError("the child process printed nothing more before the deadline") from None
