"""See a cell's HTTP traffic: who called whom, with what, and what came back, as a sequence diagram.

    >>> with WireTrace(actors={okta.issuer: "Okta", calculator.url: "MCP server"}) as wire:
    ...     token = fetch_token(...)
    ...     await call_tool(...)
    >>> wire.show()        # a mermaid sequence diagram, drawn by JupyterLab

While a trace is active it records every request made in this process through ``requests``,
``httpx``/``httpx2`` (sync and async: FastMCP's client and server use ``httpx2``) and
``urllib.request`` (PyJWT's ``PyJWKClient``). It records on the client side, so it works against
a real Okta tenant too; a subprocess's traffic (cURL) is not seen. Each :class:`Exchange` holds
only safe text (:mod:`helpers.wire_masking`): no token, secret, code, verifier or state.

Who is who: ``actors`` maps URL prefixes to names (the longest matching prefix wins); another
server this process runs (:mod:`helpers.background`) is named after it; any other is its host.
A request made by one of those servers' threads (the MCP server fetching Okta's keys) comes from
that server; any other comes from ``"Notebook"``. No ports, times or tokens in the drawing, so a
notebook's output is the same on every run.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from helpers import background, wire_hooks
from helpers.wire_masking import HIDDEN, Masker, answer_summary, masked_target, request_summary

__all__ = ["Exchange", "WireTrace"]

NOTEBOOK = "Notebook"


@dataclass
class Exchange:
    """One HTTP request and its answer, as safe text only (see :mod:`helpers.wire_masking`)."""

    caller: str
    callee: str
    method: str
    path: str  #: path and query, query values hidden: ``/callback?code=…&state=…``
    request: str  #: credentials as a word and a body summary: ``Basic client credentials, grant_type=…``
    library: str  #: ``requests``, ``httpx``, ``httpx2`` or ``urllib``
    status: int | None = None  #: ``None`` until the answer arrives, or when none came
    answer: str = ""  #: ``token_type=Bearer expires_in=3600 access_token=…``, ``error=invalid_client``
    sent: int = field(default=0, repr=False)  #: when the request went out, in this process's count of events
    answered: int | None = field(default=None, repr=False)  #: when the answer arrived (same count)


class WireTrace:
    """Records the HTTP exchanges made while active (``with WireTrace() as wire:``) and draws them."""

    def __init__(self, actors: Mapping[str, str] | None = None, secrets: Iterable[str | None] = ()) -> None:
        self._actors = sorted(((prefix.rstrip("/"), name) for prefix, name in (actors or {}).items()),
                              key=lambda item: len(item[0]), reverse=True)
        for prefix, name in self._actors:
            if not urlsplit(prefix).scheme or not isinstance(name, str) or not name.strip():
                raise ValueError(f"actors maps a URL such as 'https://host/path' to a name, not {prefix!r}: {name!r}")
        self._mask = Masker(secrets)
        self._records: list[Exchange] = []
        self._lock = threading.Lock()
        self._depth = 0

    # -- recording -----------------------------------------------------------------------

    def __enter__(self) -> WireTrace:
        with _hooks_lock:
            self._depth += 1
            _active.append(self)
            wire_hooks.install(begin, end)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        with _hooks_lock:
            self._depth -= 1
            _active.remove(self)
            if not _active:
                wire_hooks.uninstall()

    @property
    def active(self) -> bool:
        return self._depth > 0

    @property
    def exchanges(self) -> list[Exchange]:
        """The recorded exchanges, in the order their requests were sent."""
        with self._lock:
            return sorted(self._records, key=lambda record: record.sent)  # threads may append out of turn

    def _name(self, url: str) -> str:
        """The actor a URL belongs to: the longest ``actors`` prefix, else an actor on the same origin,
        else a server of this process (by its name), else the host (no port)."""
        for prefix, name in self._actors:
            if url == prefix or url.startswith((prefix + "/", prefix + "?")):
                return name
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        servers = {server: name for name, server in _servers().items()}
        return self._server_name(servers.get(origin) or urlsplit(url).hostname or "unknown", origin)

    def _server_name(self, name: str, url: str) -> str:
        """What to call the origin ``url``: the (first) actor it serves, or ``name``."""
        served = [actor for prefix, actor in reversed(self._actors) if prefix == url or prefix.startswith(url + "/")]
        return served[0] if served else name

    def _caller(self, server: str | None) -> str:
        if server is None:
            return NOTEBOOK
        url = _servers().get(server)
        return self._server_name(server, url) if url else server

    def _start(self, library: str, method: str, url: str, headers: Mapping[str, str], body: Any, server: str | None) -> Exchange:
        record = Exchange(
            caller=self._mask(self._caller(server)), callee=self._mask(self._name(url)),
            method=self._mask(str(method).upper()), path=self._mask(masked_target(url)),
            request=self._mask(request_summary(headers, body)), library=library, sent=next(_events),
        )
        with self._lock:
            self._records.append(record)
        return record

    def _finish(self, record: Exchange, status: int | None, headers: Mapping[str, str], body: bytes | None, failure: str = "") -> None:
        answer = self._mask(failure or answer_summary(headers, body))
        with self._lock:
            record.status, record.answer = status, answer
            if record.answered is None:
                record.answered = next(_events)

    # -- drawing -------------------------------------------------------------------------

    def mermaid(self) -> str:
        """The exchanges as a mermaid ``sequenceDiagram`` (no ports, times or tokens)."""
        records = self.exchanges
        names: list[str] = [NOTEBOOK] if any(r.caller == NOTEBOOK for r in records) else []
        for record in records:
            names += [name for name in (record.caller, record.callee) if name not in names]
        ids: dict[str, str] = {}
        for index, name in enumerate(names):
            ident = _ident(name, index)
            ids[name] = ident if ident not in ids.values() else f"P{index}_{ident}"
        lines = ["sequenceDiagram"]
        lines += [f"    participant {ids[n]}" + ("" if ids[n] == n else f" as {_text(n)}") for n in names]
        arrows = []  # each request, and each answer where it arrived: a call the server makes meanwhile sits between
        for r in records:
            asked = "<br/>".join(_text(part) for part in (f"{r.method} {r.path}", r.request) if part)
            arrows.append((r.sent, f"    {ids[r.caller]}->>{ids[r.callee]}: {asked}"))
            if r.answered is not None:
                answered = " ".join(part for part in (str(r.status or ""), _text(r.answer)) if part)
                arrows.append((r.answered, f"    {ids[r.callee]}-->>{ids[r.caller]}: {answered}"))
        lines += [line for _, line in sorted(arrows)]
        if not records:
            lines.append(f"    Note over {NOTEBOOK}: no HTTP requests were made")
        return "\n".join(lines) + "\n"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        text = self.mermaid()
        return {"text/vnd.mermaid": text, "text/plain": text}

    def show(self) -> None:
        """Display the diagram: JupyterLab draws it; elsewhere the mermaid text is printed."""
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            get_ipython = None
        if get_ipython is not None and get_ipython() is not None:
            display(self._repr_mimebundle_(), raw=True)
        else:
            print(self.mermaid(), end="")

    def __repr__(self) -> str:
        state = "recording" if self.active else "stopped"
        return f"<WireTrace: {len(self.exchanges)} exchanges, {state}>"


def _ident(name: str, index: int) -> str:
    plain = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    return plain if plain and plain[0].isalpha() else f"P{index}_{plain}"


def _text(text: str) -> str:
    """Text mermaid shows as it is: ``#`` as mermaid's entity code, its separator and markup characters replaced."""
    return "".join(c if c.isalnum() or c in " _.,:=/?&+*@'()[]|!-" or c == HIDDEN else "#35;" if c == "#" else "_"
                   for c in text)


# -- where the hooks go: one set for all active traces ---------------------------------------

_hooks_lock = threading.RLock()
_active: list[WireTrace] = []
_events = itertools.count(1)  # next() on it is atomic: one order for requests and answers of all threads


def _servers() -> dict[str, str]:
    """Name -> URL of this process's background servers (read without their lock: no waiting)."""
    return {name: server.url for name, server in dict(background._registry).items()}


def _server_of_this_thread() -> str | None:
    """The background server whose thread (or worker thread) is making this request, if any."""
    thread = threading.current_thread()
    loop = getattr(thread, "loop", None)  # an AnyIO worker thread serving an event loop
    loop_thread = getattr(loop, "_thread_id", None)
    if loop_thread is not None:
        thread = next((t for t in threading.enumerate() if t.ident == loop_thread), thread)
    prefix = "helpers-server-"
    return thread.name[len(prefix):] if thread.name.startswith(prefix) else None


def begin(library: str, method: str, url: str, headers: Mapping[str, str], body: Any) -> list[tuple[WireTrace, Exchange]]:
    """Record a request in every active trace; returns what :func:`end` completes."""
    with _hooks_lock:
        traces = list(_active)
    if not traces:
        return []
    server = _server_of_this_thread()
    started = []
    for trace in traces:
        try:
            started.append((trace, trace._start(library, method, url, headers, body, server)))
        except Exception:  # noqa: BLE001 - a trace that cannot describe a request must never break it
            continue
    return started


def end(started: list[tuple[WireTrace, Exchange]], status: int | None, headers: Mapping[str, str],
        body: bytes | None = None, failure: BaseException | None = None) -> None:
    """Complete the records :func:`begin` made, with the answer (or the failure: no answer)."""
    text = f"no answer: {type(failure).__name__}" if failure is not None else ""
    for trace, record in started:
        try:
            trace._finish(record, status, headers, body, text)
        except Exception:  # noqa: BLE001 - as in begin(): the caller's answer matters more than the drawing
            trace._finish(record, status, {}, None, "(answer not described)")

