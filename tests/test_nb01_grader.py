"""Notebook 01's checks (helpers.graders.nb01) against a real calculator: the untouched stub is no
wrong try, a body without return gets a hint that says so, and a shallow copy that changed
multiply_request is named in Exercise 1.3 instead of failing later with a KeyError."""

from __future__ import annotations

import asyncio
import copy

import pytest
from fastmcp import FastMCP

from helpers import exercises
from helpers.background_mcp import start_mcp_server
from helpers.exercises import ExerciseFeedback
from helpers.graders.nb01 import check_divide_request, check_multiply_tool, is_untouched_stub, tool_result

MULTIPLY = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "multiply", "arguments": {"a": 6, "b": 7}}}


def stub(a: int, b: int) -> int:
    """Multiply two integers and return the product."""
    ...


def no_return(a: int, b: int) -> int:
    """Multiply two integers and return the product."""
    a * b


def right(a: int, b: int) -> int:
    """Multiply two integers and return the product."""
    return a * b


@pytest.fixture(autouse=True)
def fresh_tries():
    exercises._wrong_tries.clear()
    yield
    exercises._wrong_tries.clear()


def serve(multiply=None):
    mcp = FastMCP("Calculator")
    tool = mcp.tool(multiply, name="multiply") if multiply else None
    return start_mcp_server(mcp, name="nb01-grader-test"), tool


def test_the_stub_is_recognised_and_a_written_body_is_not():
    assert is_untouched_stub(stub)
    assert not is_untouched_stub(no_return) and not is_untouched_stub(right)


def test_running_the_untouched_stub_counts_no_wrong_try():
    server, _ = serve()
    try:
        for _ in range(2):
            with pytest.raises(ExerciseFeedback) as caught:
                asyncio.run(check_multiply_tool(server.mcp_url, stub))
            assert caught.value.try_number == 0 and not caught.value.shows_fix
        with pytest.raises(ExerciseFeedback) as caught:  # a body written, but still not a tool: a wrong try
            asyncio.run(check_multiply_tool(server.mcp_url, right))
        assert caught.value.try_number == 1
    finally:
        server.stop()


def test_a_body_without_return_is_named_and_the_fix_asks_for_a_returned_product():
    server, tool = serve(no_return)
    try:
        feedback = []
        for _ in range(2):
            with pytest.raises(ExerciseFeedback) as caught:
                asyncio.run(check_multiply_tool(server.mcp_url, tool))
            feedback.append(caught.value)
    finally:
        server.stop()
    assert "a body without `return` (like `...`, or `a * b` alone) returns None" in feedback[0].hint
    assert not feedback[0].shows_fix and feedback[1].shows_fix
    assert feedback[1].fix.startswith("make the body return the product of a and b")


def test_a_shallow_copy_that_changed_multiply_request_is_named_in_exercise_1_3():
    server, _ = serve(right)
    try:
        multiply_request = copy.deepcopy(MULTIPLY)
        divide_request = dict(multiply_request)
        divide_request["params"]["name"] = "divide"  # changes multiply_request too
        with pytest.raises(ExerciseFeedback) as caught:
            check_divide_request(server.mcp_url, divide_request, multiply_request, 200)
        assert "multiply_request no longer gets 42" in caught.value.problem
        assert "dict(multiply_request) copies only the outer dict" in caught.value.hint
        assert tool_result(server.mcp_url, multiply_request) is None  # no KeyError for the checkpoint either

        divide_request = copy.deepcopy(MULTIPLY)
        divide_request["params"]["name"] = "divide"
        answer = check_divide_request(server.mcp_url, divide_request, MULTIPLY, 200)
        assert answer["result"]["isError"] is True
        assert tool_result(server.mcp_url, MULTIPLY) == 42
    finally:
        server.stop()
