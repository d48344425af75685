"""What a setup check reports, and how a report is shown (terminal or notebook).

A :class:`CheckResult` is data: which check, its :class:`Status`, what was seen, and for
a failure or a warning the fix in the words of Okta's Admin Console. A
:class:`CheckReport` is the ordered list of them, with the questions a caller asks
(did everything pass? which check failed first?) and two renderings: :meth:`CheckReport.table`
(one row per check, with check marks) and :meth:`CheckReport.text` (the table plus the fixes).
Nothing here ever holds a secret or a whole token: the checks only put safe text in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from helpers.display import check_mark, table

__all__ = ["CheckReport", "CheckResult", "Status"]


class Status(str, Enum):
    """How a check ended. ``SKIPPED``: it could not run because an earlier check failed."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value

    @property
    def mark(self) -> str:
        """✅ pass, ⚠️ warn, ❌ fail, ⏩ skipped."""
        if self is Status.SKIPPED:
            return "⏩"
        return check_mark({Status.PASS: True, Status.FAIL: False, Status.WARN: None}[self])


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome.

    ``name`` is a stable identifier (``"issuer"``, ``"token:calculator.add"``); ``title``
    says in words what was checked; ``seen`` what was observed; ``fix`` what to change
    (for ``FAIL`` and ``WARN``); ``blocked_by`` the name of the failed check that made
    this one ``SKIPPED``.
    """

    name: str
    title: str
    status: Status
    seen: str
    fix: str | None = None
    blocked_by: str | None = None

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def line(self) -> str:
        """``❌ Issuer is a custom authorization server: <seen>``, one line."""
        return f"{self.status.mark} {self.title}: {self.seen}"


class CheckReport:
    """The results of a run of the setup checks, in the order they ran."""

    def __init__(self, results: list[CheckResult]) -> None:
        self.results = list(results)

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, name: str) -> CheckResult:
        """The result of the check called ``name`` (``report["issuer"]``)."""
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"No check named {name!r}; the checks are: {', '.join(self.names)}")

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        return f"<CheckReport {counts}>"

    @property
    def names(self) -> list[str]:
        return [result.name for result in self.results]

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed; nothing is skipped without a failure)."""
        return not self.failures

    @property
    def all_passed(self) -> bool:
        """True when every check passed, without warnings."""
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if result.failed]

    @property
    def warnings(self) -> list[CheckResult]:
        return [result for result in self.results if result.status is Status.WARN]

    @property
    def first_failure(self) -> CheckResult | None:
        return next(iter(self.failures), None)

    @property
    def counts(self) -> dict[Status, int]:
        return {status: sum(r.status is status for r in self.results) for status in Status}

    def table(self) -> str:
        """One row per check: mark, check, what was seen (text, stable for notebooks)."""
        rows = []
        for result in self.results:
            seen = result.seen if result.status is not Status.SKIPPED else f"skipped: {result.seen}"
            rows.append((result.status.mark, result.title, seen))
        return table(("", "check", "seen"), rows)

    def fixes(self) -> str:
        """What to change, for each failure and warning ("" when there is nothing to fix)."""
        blocks = []
        for result in self.results:
            if result.fix and result.status in (Status.FAIL, Status.WARN):
                blocks.append(f"{result.status.mark} {result.title}\n   Fix: {result.fix}")
        return "\n".join(blocks)

    def summary(self) -> str:
        """``9 passed, 1 failed, 2 skipped`` (only the statuses that occur)."""
        words = {Status.PASS: "passed", Status.WARN: "warned", Status.FAIL: "failed", Status.SKIPPED: "skipped"}
        return ", ".join(f"{n} {words[s]}" for s, n in self.counts.items() if n)

    def diagnosis(self) -> str:
        """The first failure (else the first warning) with what was seen and its fix, or that all is well."""
        first = self.first_failure or next(iter(self.warnings), None)
        if first is None:
            return f"{Status.PASS.mark} every check passed ({self.summary()})"
        lines = [f"{first.status.mark} {first.title}", f"   seen: {first.seen}", f"   fix:  {first.fix}"]
        others = [r.title for r in self.failures[1:]]
        if others:
            lines.append(f"   also failing: {'; '.join(others)}")
        return "\n".join(lines)

    def text(self) -> str:
        """The table, then the fixes, then the summary: the whole report as text."""
        parts = [self.table()]
        fixes = self.fixes()
        if fixes:
            parts += ["", fixes]
        parts += ["", self.summary()]
        return "\n".join(parts)
