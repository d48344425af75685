"""Notebook 01's checks: the learner's multiply tool and their two JSON-RPC requests.

Each function sends real requests to the learner's calculator (its ``/mcp`` URL) and either
records the exercise as done or raises :class:`~helpers.exercises.ExerciseFeedback` in two steps
(what is wrong and the idea first, the specific change from the second wrong try). The logic lives
here, not in the check cells, so that a cell is one short call and shows no answer.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from typing import Any

import requests
from fastmcp import Client

from helpers.exercises import ExerciseFeedback, check_prediction, check_that, require_answer

__all__ = ["check_divide_request", "check_multiply_request", "check_multiply_tool", "is_untouched_stub", "tool_result"]


def _post(mcp_url: str, body: Any) -> requests.Response:
    """POST one JSON-RPC message to /mcp, as the notebook's ``post_mcp`` does."""
    return requests.post(mcp_url, json=body, headers={"Accept": "application/json, text/event-stream"}, timeout=10)


def _message(response: requests.Response) -> dict:
    """The JSON-RPC message in a 200 answer (SSE or JSON); {} for any other status."""
    if response.status_code != 200:
        return {}
    if response.headers.get("Content-Type", "").startswith("text/event-stream"):
        data = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
        return json.loads(data[0]) if data else {}
    return response.json()


def tool_result(mcp_url: str, request: Any) -> Any:
    """The tool's value (``structuredContent.result``) the server answers ``request`` with, or None
    when the answer has none (an error, an unknown tool): never a KeyError."""
    message = _message(_post(mcp_url, request))
    result = message.get("result") if isinstance(message, dict) else None
    structured = result.get("structuredContent") if isinstance(result, dict) else None
    return structured.get("result") if isinstance(structured, dict) else None


def is_untouched_stub(function: Any) -> bool:
    """True for the exercise's stub as given: a plain function whose body is a docstring and ``...``."""
    if not callable(function) or hasattr(function, "fn"):  # a FastMCP tool has .fn: not the stub
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else []
    statements = [node for node in body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                                                 and isinstance(node.value.value, str))]
    return [ast.dump(node) for node in statements] == [ast.dump(ast.Expr(ast.Constant(Ellipsis)))]


async def check_multiply_tool(mcp_url: str, multiply: Any) -> None:
    """Exercise 1.1: the server lists a ``multiply`` tool and multiply(6, 7) = 42 through the client."""
    exercise, product, failure = "Exercise 1.1", None, None
    async with Client(mcp_url) as client:
        listed = sorted(tool.name for tool in await client.list_tools())
        if "multiply" in listed:
            try:
                product = (await client.call_tool("multiply", {"a": 6, "b": 7})).data
            except Exception as error:  # the tool failed, or returned something that is not an int
                failure = str(error).splitlines()[0]
    if "multiply" not in listed:
        problem = f"the server lists {listed}: no `multiply`."
        hint = ("a plain function is not a tool yet: look at what `add` and `subtract` have, and `multiply` "
                "lacks, on the line above `def`.")
        fix = "copy the line just above `def add` (a decorator: it starts with @) to just above `def multiply`, and run that cell again."
        if is_untouched_stub(multiply):  # the run the task asks for: not a wrong answer
            raise ExerciseFeedback(exercise, problem, hint + " Then replace the `...` with the body.", wrong_try=False)
    elif failure:
        problem = f"multiply(6, 7) failed: {failure}"
        hint = ("the tool answers with what its body returns, and its type hint `-> int` promises an int; "
                "a body without `return` (like `...`, or `a * b` alone) returns None.")
        fix = "make the body return the product of a and b, and run that cell again."
    else:
        problem = f"multiply(6, 7) returned {product!r}, not 42."
        hint = "the tool answers with what its body returns: does your body compute a product of `a` and `b`?"
        fix = "make the body return the product of a and b (the `*` operator), and run that cell again."
    check_that(exercise, product == 42, problem=problem, hint=hint, fix=fix,
               success=f"the server lists {listed}, and multiply(6, 7) = {product} through the FastMCP client.")


def check_multiply_request(mcp_url: str, multiply_request: Any) -> None:
    """Exercise 1.2: the learner's JSON-RPC message, sent as is, gets 42 back."""
    exercise = "Exercise 1.2"
    require_answer(exercise, "multiply_request", multiply_request)
    response = _post(mcp_url, multiply_request)
    answer = _message(response)
    result = answer.get("result") or {}
    value = (result.get("structuredContent") or {}).get("result")
    if response.status_code == 202:
        problem = "HTTP 202 and no answer: a message without an `id` is a notification, and gets none."
        hint, fix = "a request that expects an answer carries an `id`.", 'keep "id": 7 in the request.'
    elif response.status_code != 200:
        problem = f"HTTP {response.status_code}: the server could not take this as a JSON-RPC request."
        hint = "compare the shape of your message with the request for add: the same keys, the same kinds of value."
        fix = 'keep "jsonrpc": "2.0" and "id": 7, and give "method" as a string and "params" as a dict.'
    elif "error" in answer and answer["error"].get("message") == "Invalid request parameters":
        problem = "a JSON-RPC error: Invalid request parameters."
        hint = 'the method is right; "params" is not what it expects: look at the keys of "params" in the request for add.'
        fix = '"params" needs two keys: "name", the tool to run, and "arguments", a dict of its arguments.'
    elif "error" in answer:
        problem = f"a JSON-RPC error: {answer['error'].get('message')}."
        hint = '"method" names what to do, as a string: "tools/list" lists the tools; another method runs one.'
        fix = 'use the method of the request for add above; the tool\'s name goes in "params", not in "method".'
    elif result.get("isError"):
        problem = f"the tool call failed: {result['content'][0]['text'].splitlines()[0]}"
        hint = "the server understood the call but could not run the tool: check the tool's name and its arguments in \"params\"."
        fix = '"name" must be a tool the server lists (Exercise 1.1 adds multiply), and "arguments" a dict with a and b.'
    elif isinstance(value, str):
        problem = f"the server answered {value!r}, a string, not 42."
        hint = "the value comes from your multiply tool (Exercise 1.1): what type does its body return?"
        fix = "make multiply's body return a number (an int), then run Exercise 1.1's cells again."
    else:
        problem = f"the server answered {value!r}, not 42."
        hint = "the server ran a tool, but not the call asked for: check the tool's name and the two numbers."
        fix = 'call the tool "multiply", with a = 6 and b = 7.'
    check_that(exercise, value == 42, problem=problem, hint=hint, fix=fix,
               success=f"HTTP {response.status_code}, and the result for id {answer.get('id')} is {value}: your request, on the wire.")


def check_divide_request(mcp_url: str, divide_request: Any, multiply_request: Any, predicted_status: Any) -> dict:
    """Exercise 1.3: ``divide_request`` asks for the unknown tool, ``multiply_request`` still asks for
    multiply, and the learner predicted the HTTP status. Returns the server's answer to show."""
    exercise = "Exercise 1.3"
    require_answer(exercise, "divide_request", divide_request)
    if tool_result(mcp_url, multiply_request) != 42:
        raise ExerciseFeedback(
            exercise,
            "multiply_request no longer gets 42: building divide_request changed it too.",
            "dict(multiply_request) copies only the outer dict: its \"params\" is the same dict object as "
            "multiply_request's, so changing the name inside it changes both.",
            "write divide_request out in full (or start from copy.deepcopy(multiply_request)), then run "
            "Exercise 1.2's solution or your own request again so multiply_request calls multiply.",
        )
    response = _post(mcp_url, divide_request)
    answer = _message(response)
    if "Unknown tool: 'divide'" not in json.dumps(answer):
        raise ExerciseFeedback(
            exercise,
            "the server did not answer `divide_request` with \"Unknown tool: 'divide'\".",
            "start from your multiply_request, which works, and change only the tool's name.",
            'write multiply_request out again with the "name" inside "params" as "divide"; keep "method" and "id" as they are.',
        )
    check_prediction(
        exercise, predicted_status, response.status_code, name="predicted_status",
        explanation="HTTP was fine (the right address and headers, a message the server could read), so the status "
        "is 200. That the tool does not exist is the server's answer to the message, inside the body.",
    )
    return answer
