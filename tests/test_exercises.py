"""The exercises' feedback: a message and a hint instead of a traceback, and the checkpoint's memory."""

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers import exercises
from helpers.exercises import ExerciseFeedback, check_prediction, check_that, require_answer, require_done


def test_an_unanswered_exercise_says_which_name_to_fill_in():
    with pytest.raises(ExerciseFeedback, match=r"`status` is still `\.\.\.`"):
        require_answer("Exercise 3.1", "status", ...)
    with pytest.raises(ExerciseFeedback):
        require_answer("Exercise 3.1", "pair", (401, ...))
    with pytest.raises(ExerciseFeedback):
        require_answer("Exercise 3.1", "answers", {"add": ...})
    assert require_answer("Exercise 3.1", "status", 401) == 401


def test_a_wrong_prediction_names_both_values_and_explains(capsys):
    with pytest.raises(ExerciseFeedback) as caught:
        check_prediction("Exercise 3.2", 200, 401, explanation="the token expired beyond the leeway")
    assert caught.value.problem == "you predicted 200, but it was 401."
    assert caught.value._render_traceback_() == [
        "✋ Exercise 3.2: you predicted 200, but it was 401.",
        "   hint: the token expired beyond the leeway",
    ]
    check_prediction("Exercise 3.2", 401, 401, explanation="beyond the leeway")
    assert "✅ Exercise 3.2: 401, as you predicted. beyond the leeway" in capsys.readouterr().out


def test_a_number_written_as_a_string_is_called_what_it_is():
    with pytest.raises(ExerciseFeedback, match=r"you predicted '200': the right value, written as another type than 200"):
        check_prediction("Exercise 1.3", "200", 200, explanation="x")
    with pytest.raises(ExerciseFeedback, match=r"the right value, written as another type") as caught:
        check_prediction("Exercise 3.1", ("401", "200"), (401, 200), explanation="x")
    assert "without quotes" in caught.value.hint
    with pytest.raises(ExerciseFeedback, match=r"but it was \(401, 200\)"):  # a wrong value stays a wrong value
        check_prediction("Exercise 3.1", ("200", "200"), (401, 200), explanation="x")


def test_the_checkpoint_names_the_exercises_not_done(monkeypatch):
    monkeypatch.setattr(exercises, "_done", set())
    check_that("Exercise 1.1", True, problem="-", hint="-", success="multiply works")
    with pytest.raises(ExerciseFeedback, match="not done yet: Exercise 1.2.") as caught:
        require_done("Exercise 1.1", "Exercise 1.2")
    assert caught.value.exercise == "Checkpoint"
    with pytest.raises(ExerciseFeedback, match="no multiply tool"):
        check_that("Exercise 1.2", False, problem="no multiply tool", hint="add @mcp.tool", success="-")
    check_that("Exercise 1.2", True, problem="-", hint="-", success="ok")
    require_done("Exercise 1.1", "Exercise 1.2")


def test_a_kernel_shows_the_feedback_without_a_traceback():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from helpers.exercises import check_prediction\n"
        "check_prediction('Exercise 9.9', ..., 401, explanation='x')"
    )])
    with pytest.raises(CellExecutionError):
        NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    error = notebook.cells[0].outputs[-1]
    assert error.output_type == "error"
    assert error.traceback == [
        "✋ Exercise 9.9: `prediction` is still `...`.",
        "   hint: replace the `...` in the exercise cell above with your answer, run that cell, then this one.",
    ]


def test_hints_come_in_two_steps_the_fix_only_from_the_second_wrong_try(monkeypatch):
    monkeypatch.setattr(exercises, "_wrong_tries", {})
    monkeypatch.setattr(exercises, "_done", set())
    with pytest.raises(ExerciseFeedback) as first:
        check_that("Exercise 4.2", False, problem="the cache never renews", hint="look at expires_in",
                   fix="renew 60 s before expiry", success="-")
    assert first.value.try_number == 1 and not first.value.shows_fix
    assert "renew 60 s" not in str(first.value)
    assert not any("renew 60 s" in line for line in first.value._render_traceback_())
    with pytest.raises(ExerciseFeedback) as second:
        check_prediction("Exercise 4.2", 1, 2, explanation="one request per token", fix="count the token requests")
    assert second.value.try_number == 2 and second.value.shows_fix
    assert second.value._render_traceback_()[-1] == "   fix (your try 2): count the token requests"
    check_that("Exercise 4.2", True, problem="-", hint="-", success="renews")
    assert exercises.wrong_tries("Exercise 4.2") == 0  # passing starts the count again


def test_an_unanswered_exercise_and_the_checkpoint_are_not_wrong_tries(monkeypatch):
    monkeypatch.setattr(exercises, "_wrong_tries", {})
    monkeypatch.setattr(exercises, "_done", set())
    for _ in range(3):
        with pytest.raises(ExerciseFeedback):
            require_answer("Exercise 6.1", "verifier", ...)
        with pytest.raises(ExerciseFeedback):
            check_prediction("Exercise 6.1", "401", 401, explanation="x", fix="the fix")
    with pytest.raises(ExerciseFeedback):
        require_done("Exercise 6.1")
    assert exercises.wrong_tries("Exercise 6.1") == 0
    with pytest.raises(ExerciseFeedback) as first_real:
        check_prediction("Exercise 6.1", 200, 401, explanation="x", fix="the fix")
    assert not first_real.value.shows_fix


def test_a_graded_report_prints_every_row_and_names_the_failed_ones(monkeypatch, capsys):
    from helpers.graders.report import Row, report

    monkeypatch.setattr(exercises, "_wrong_tries", {})
    monkeypatch.setattr(exercises, "_done", set())
    rows = [
        Row("good token", "accepted", "accepted: HTTP 200", True),
        Row("wrong audience", "refused", "accepted: HTTP 200", False, why="aud is not checked", fix="pass audience="),
        Row("alg none", "refused", "refused: HTTP 401", True),
    ]
    with pytest.raises(ExerciseFeedback) as caught:
        report("Exercise 3.3", rows, success="all refused")
    printed = capsys.readouterr().out
    assert "wrong audience  refused   accepted: HTTP 200  ❌" in printed and printed.count("✅") == 2
    assert caught.value.problem == "1 of 3 checks failed: wrong audience."
    assert caught.value.hint == "[wrong audience] aud is not checked" and not caught.value.shows_fix
    with pytest.raises(ExerciseFeedback) as again:
        report("Exercise 3.3", rows, success="all refused")
    assert again.value.shows_fix and "[wrong audience] pass audience=" in str(again.value)
    report("Exercise 3.3", [r if r.passed else Row(r.name, r.expected, "refused: HTTP 401", True) for r in rows], success="all refused")
    assert "✅ Exercise 3.3: all refused" in capsys.readouterr().out
    with pytest.raises(ValueError):
        report("Exercise 3.3", [], success="-")
