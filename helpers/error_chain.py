"""Find the error that matters inside the ones that wrap it.

MCP clients wrap what goes wrong inside a request: fastmcp raises ``RuntimeError("Client failed
to connect: ...")`` from it, anyio may put it in an exception group. :func:`find_in_chain`
follows ``__cause__``, ``__context__`` and exception groups to the first error of a given kind,
so a notebook or a gateway can show the helpful message instead of the wrapper's.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["find_in_chain"]

E = TypeVar("E", bound=BaseException)


def find_in_chain(error: BaseException, kind: type[E]) -> E | None:
    """The first error of ``kind`` in ``error``'s chain (``error`` itself included), or ``None``."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None
