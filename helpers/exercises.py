"""Feedback for the notebooks' exercises: what is wrong, a hint, and no traceback.

An exercise in a notebook is four cells, tagged in the cell metadata so that the learner edition
(`python -m helpers.handouts`) can take the answers out:

- a markdown cell tagged ``exercise``: the task, often "predict, then change one thing";
- a code cell tagged ``exercise``: where the learner writes, with ``...`` left to fill in;
- a code cell tagged ``solution``, collapsed: one answer, which replaces the learner's when run;
- a code cell tagged ``check``: calls a function below, which says what is right or what is
  wrong and why.

Hints come in two steps. A wrong answer first gets what is wrong (``problem``) and the idea to
look at (``hint``); from the second wrong try of the same exercise on, the feedback adds the
specific change (``fix``). No check prints the literal answer: the folded solution has it.

A check that fails raises `ExerciseFeedback`. IPython shows it as its message and hint alone (the
`_render_traceback_` hook), so the learner reads what to change, not a stack, and "Run all" stops
at the first exercise still to do. Every check that passes is remembered, so a notebook's
checkpoint can ask for its exercises with `require_done`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ExerciseFeedback",
    "check_prediction",
    "check_that",
    "done",
    "require_answer",
    "require_done",
    "wrong_tries",
]

_done: set[str] = set()
_wrong_tries: dict[str, int] = {}


class ExerciseFeedback(Exception):
    """An exercise is not answered yet, or its answer is not right: what is wrong and a hint.

    ``fix`` is the specific change, shown from the second wrong try of the same exercise on
    (``try_number`` counts them; an answer still ``...`` and the checkpoint pass
    ``wrong_try=False`` and count nothing). ``shows_fix`` says whether this one shows it.
    """

    def __init__(self, exercise: str, problem: str, hint: str = "", fix: str = "", *, wrong_try: bool = True) -> None:
        self.exercise, self.problem, self.hint, self.fix = exercise, problem, hint, fix
        if wrong_try:
            _wrong_tries[exercise] = _wrong_tries.get(exercise, 0) + 1
        self.try_number = _wrong_tries.get(exercise, 0) if wrong_try else 0
        self.shows_fix = bool(fix) and self.try_number >= 2
        super().__init__(
            f"{exercise}: {problem}" + (f" Hint: {hint}" if hint else "") + (f" Fix: {fix}" if self.shows_fix else "")
        )

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback."""
        lines = [f"✋ {self.exercise}: {self.problem}"]
        if self.hint:
            lines.append(f"   hint: {self.hint}")
        if self.shows_fix:
            lines.append(f"   fix (your try {self.try_number}): {self.fix}")
        elif self.fix:
            lines.append("   (still stuck after your next try? the feedback will then name the change to make)")
        return lines


def wrong_tries(exercise: str) -> int:
    """How many wrong answers this exercise has had since it last passed."""
    return _wrong_tries.get(exercise, 0)


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
            wrong_try=False,
        )
    return value


def done(exercise: str, message: str) -> None:
    """Record an exercise as done and say so (its count of wrong tries starts again)."""
    _done.add(exercise)
    _wrong_tries.pop(exercise, None)
    print(f"✅ {exercise}: {message}")


def _same_but_written_differently(predicted: Any, actual: Any) -> bool:
    """True when only the types differ: '401' for 401, ("401", "200") for (401, 200)."""
    if isinstance(predicted, (tuple, list)) and isinstance(actual, (tuple, list)):
        return len(predicted) == len(actual) and any(type(p) is not type(a) for p, a in zip(predicted, actual)) and all(
            p == a or _same_but_written_differently(p, a) for p, a in zip(predicted, actual)
        )
    return type(predicted) is not type(actual) and str(predicted).strip() == str(actual)


def check_prediction(
    exercise: str, predicted: Any, actual: Any, *, explanation: str, name: str = "prediction", fix: str = ""
) -> None:
    """Compare a learner's prediction with what really happened, and explain either way."""
    require_answer(exercise, name, predicted)
    if predicted != actual and _same_but_written_differently(predicted, actual):
        raise ExerciseFeedback(
            exercise,
            f"you predicted {predicted!r}: the right value, written as another type than {actual!r}.",
            "write numbers without quotes (401, not '401'), as the exercise cell shows.",
            wrong_try=False,
        )
    if predicted != actual:
        raise ExerciseFeedback(exercise, f"you predicted {predicted!r}, but it was {actual!r}.", explanation, fix)
    done(exercise, f"{actual!r}, as you predicted. {explanation}")


def check_that(exercise: str, passed: bool, *, problem: str, hint: str, success: str, fix: str = "") -> None:
    """Pass the exercise when `passed`; else say what is wrong (`problem`), the idea to look at
    (`hint`) and, from the second wrong try on, the specific change (`fix`)."""
    if not passed:
        raise ExerciseFeedback(exercise, problem, hint, fix)
    done(exercise, success)


def require_done(*exercises: str) -> None:
    """For a checkpoint: stop, naming them, if any of these exercises has not passed its check."""
    missing = [name for name in exercises if name not in _done]
    if missing:
        raise ExerciseFeedback(
            "Checkpoint",
            "not done yet: " + ", ".join(missing) + ".",
            "scroll up to each one, finish it and run its check cell.",
            wrong_try=False,
        )
