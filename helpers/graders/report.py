"""One graded attack or behaviour (:class:`Row`), and the table and feedback a check prints for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from helpers.display import table
from helpers.exercises import ExerciseFeedback, done

__all__ = ["Row", "failed", "report"]


@dataclass(frozen=True)
class Row:
    """What the grader tried, what it expected, and what the learner's code did.

    ``why`` says what got through (or went wrong) and why it matters: the first wrong try shows
    it. ``fix`` names the specific change: shown from the second wrong try of the exercise on.
    """

    name: str
    expected: str
    got: str
    passed: bool
    why: str = ""
    fix: str = ""


def failed(rows: Sequence[Row]) -> list[Row]:
    """The rows the learner's code did not pass, in order."""
    return [row for row in rows if not row.passed]


def report(exercise: str, rows: Sequence[Row], *, success: str) -> None:
    """Print the rows as a table; then pass the exercise, or raise feedback naming each failed row."""
    if not rows:
        raise ValueError("report() needs at least one graded row")
    print(table(("check", "expected", "got", "ok"), [(r.name, r.expected, r.got, "✅" if r.passed else "❌") for r in rows]))
    print()
    misses = failed(rows)
    if not misses:
        done(exercise, success)
        return
    names = ", ".join(row.name for row in misses)
    hint = " ".join(f"[{row.name}] {row.why}" for row in misses if row.why)
    fix = " ".join(f"[{row.name}] {row.fix}" for row in misses if row.fix)
    count = f"{len(misses)} of {len(rows)} checks" if len(misses) > 1 else f"1 of {len(rows)} checks"
    raise ExerciseFeedback(exercise, f"{count} failed: {names}.", hint, fix)
