"""Feedback for the notebooks' exercises: what is wrong, a hint, and no traceback.

An exercise in a notebook is four cells, tagged in the cell metadata so that the learner edition
(`python -m helpers.handouts`) can take the answers out:

- a markdown cell tagged ``exercise``: the task, often "predict, then change one thing";
- a code cell tagged ``exercise``: where the learner writes, with ``...`` left to fill in;
- a code cell tagged ``solution``, collapsed: one answer, which replaces the learner's when run;
- a code cell tagged ``check``: calls a function below, which says what is right or what is
  wrong and why.

A check that fails raises `ExerciseFeedback`. IPython shows it as its message and hint alone (the
`_render_traceback_` hook), so the learner reads what to change, not a stack, and "Run all" stops
at the first exercise still to do. Every check that passes is remembered, so a notebook's
checkpoint can ask for its exercises with `require_done`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ExerciseFeedback", "check_prediction", "check_that", "require_answer", "require_done", "done"]

_done: set[str] = set()


class ExerciseFeedback(Exception):
    """An exercise is not answered yet, or its answer is not right: what is wrong and a hint."""

    def __init__(self, exercise: str, problem: str, hint: str = "") -> None:
        self.exercise, self.problem, self.hint = exercise, problem, hint
        super().__init__(f"{exercise}: {problem}" + (f" Hint: {hint}" if hint else ""))

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback."""
        lines = [f"✋ {self.exercise}: {self.problem}"]
        if self.hint:
            lines.append(f"   hint: {self.hint}")
        return lines


def _is_unanswered(value: Any) -> bool:
    """True for the ``...`` an exercise cell starts with, alone or inside a tuple, list or dict."""
    if value is Ellipsis:
        return True
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(_is_unanswered(item) for item in value)
    if isinstance(value, dict):
        return any(_is_unanswered(item) for item in value.values())
    return False


def require_answer(exercise: str, name: str, value: Any) -> Any:
    """Stop with "fill in `name`" while the exercise cell still holds ``...``; else return the value."""
    if _is_unanswered(value):
        raise ExerciseFeedback(
            exercise,
            f"`{name}` is still `...`.",
            "replace the `...` in the exercise cell above with your answer, run that cell, then this one.",
        )
    return value


def done(exercise: str, message: str) -> None:
    """Record an exercise as done and say so."""
    _done.add(exercise)
    print(f"✅ {exercise}: {message}")


def _same_but_written_differently(predicted: Any, actual: Any) -> bool:
    """True when only the types differ: '401' for 401, ("401", "200") for (401, 200)."""
    if isinstance(predicted, (tuple, list)) and isinstance(actual, (tuple, list)):
        return len(predicted) == len(actual) and any(type(p) is not type(a) for p, a in zip(predicted, actual)) and all(
            p == a or _same_but_written_differently(p, a) for p, a in zip(predicted, actual)
        )
    return type(predicted) is not type(actual) and str(predicted).strip() == str(actual)


def check_prediction(exercise: str, predicted: Any, actual: Any, *, explanation: str, name: str = "prediction") -> None:
    """Compare a learner's prediction with what really happened, and explain either way."""
    require_answer(exercise, name, predicted)
    if predicted != actual and _same_but_written_differently(predicted, actual):
        raise ExerciseFeedback(
            exercise,
            f"you predicted {predicted!r}: the right value, written as another type than {actual!r}.",
            "write numbers without quotes (401, not '401'), as the exercise cell shows.",
        )
    if predicted != actual:
        raise ExerciseFeedback(exercise, f"you predicted {predicted!r}, but it was {actual!r}.", explanation)
    done(exercise, f"{actual!r}, as you predicted. {explanation}")


def check_that(exercise: str, passed: bool, *, problem: str, hint: str, success: str) -> None:
    """Pass the exercise when `passed`; else say what is wrong (`problem`) and how to fix it (`hint`)."""
    if not passed:
        raise ExerciseFeedback(exercise, problem, hint)
    done(exercise, success)


def require_done(*exercises: str) -> None:
    """For a checkpoint: stop, naming them, if any of these exercises has not passed its check."""
    missing = [name for name in exercises if name not in _done]
    if missing:
        raise ExerciseFeedback(
            "Checkpoint",
            "not done yet: " + ", ".join(missing) + ".",
            "scroll up to each one, finish it and run its check cell.",
        )
