"""Loopback ports for tests that need a port number before a server binds it, without a race.

Picking a "free" port (bind port 0, read it, close) and binding it later lets any other
process on the machine take it in between. A :class:`PortReservation` instead keeps a socket
bound to the port, with ``SO_REUSEADDR`` and without listening, for as long as it is held:

- no other process gets the port: the kernel never hands out a bound port for ``bind(("", 0))``
  or an outgoing connection, and an explicit bind without ``SO_REUSEADDR`` fails;
- a server of this test run can still listen on it (uvicorn and :mod:`helpers.background` set
  ``SO_REUSEADDR``; on Linux, sockets that all set it may share a port while none listens),
  and can stop and listen again (a redirect URI's listener does, once per sign-in);
- while nothing listens, a connection to it is refused: a reserved port is also a port where
  nothing answers, for as long as the test needs one.
"""

from __future__ import annotations

import socket

__all__ = ["PortReservation", "reserve_port"]


class PortReservation:
    """A loopback port held for this test run; :meth:`close` gives it back."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> PortReservation:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def reserve_port() -> PortReservation:
    """Hold a loopback port (see the module docstring); use it as a context manager or keep it."""
    return PortReservation()
