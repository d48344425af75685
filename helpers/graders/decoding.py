"""Grading notebook 05's Exercise 5.1: the learner's ``decode_part(part)``, a JWT part decoded by hand.

The learner pads a base64url part with ``=``, decodes it with ``base64.urlsafe_b64decode`` and
parses the bytes with ``json.loads``. :func:`grade_decode_part` compares the result with PyJWT's
unverified decode of the same token, then tries parts that need zero, one or two ``=`` and parts
holding ``-`` and ``_``; it returns ``None`` when all agree, else a :class:`Diagnosis`: what went
wrong, the idea to look at, and the specific change. The hint names the step that went wrong:
the padding only for a padding error, the JSON step for ``json.load`` instead of ``json.loads``,
and any other error by its name. :func:`check_decode_part` is the notebook's check cell.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from helpers.exercises import ExerciseFeedback, check_that

__all__ = ["Diagnosis", "check_decode_part", "grade_decode_part"]

#: One, no and two "=" missing; then "_" and "-" in the text ({"q": "??>"} and {"q": "~~~"}).
SAMPLES = ({"n": 1}, {"n": 10}, {"n": 100}, {"q": "??>"}, {"q": "~~~"})

PADDING = ("Base64 text comes in groups of 4 characters: how many `=` make `len(part)` a multiple of 4?",
           "if len(part) % 4 is r (0, 2 or 3), the last group is 4 - r characters short (none when r is 0): add that many `=`.")
ALPHABET = ("this part contains `-` or `_`, which only base64url uses: which decoder reads that alphabet?",
            "decode with base64.urlsafe_b64decode, not base64.b64decode.")
NOT_PARSED = ("decode_part should return the dict, not bytes or text: the decoded bytes are JSON.",
              "parse the decoded bytes with json.loads and return what it gives.")
JSON_FILE = ("json.loads parses text or bytes; json.load reads a file.",
             "parse the decoded bytes with json.loads(data), with its s, and return what it gives.")
NO_RETURN = ("decode_part returned None: a function without a `return` line gives None.",
             "end decode_part with `return json.loads(data)`.")


@dataclass(frozen=True)
class Diagnosis:
    """What is wrong with the learner's decode_part (``problem``), the idea (``hint``), the change (``fix``)."""

    problem: str
    hint: str
    fix: str


def encoded(sample: dict) -> str:
    """A JWT part for ``sample``: base64url JSON without its ``=`` padding."""
    return base64.urlsafe_b64encode(json.dumps(sample).encode()).decode().rstrip("=")


def _name(error: BaseException) -> str:
    kind = type(error)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _raised_in_json(error: BaseException) -> bool:
    """True when the error was raised inside the json module (json.load given bytes, say)."""
    traceback, inside = error.__traceback__, False
    while traceback is not None:
        inside = f"{os.sep}json{os.sep}" in traceback.tb_frame.f_code.co_filename
        traceback = traceback.tb_next
    return inside


def _run(decode_part: Callable[[str], Any], part: str) -> tuple[Any, BaseException | None]:
    try:
        return decode_part(part), None
    except Exception as error:  # the learner's error becomes feedback, not a traceback
        return None, error


def _hint_for_error(decode_part: Callable[[str], Any], part: str, error: BaseException) -> tuple[str, str]:
    """The idea and the change for an error decode_part raised on ``part``."""
    if isinstance(error, (binascii.Error, UnicodeDecodeError, json.JSONDecodeError)) and _only_the_alphabet(decode_part, part):
        return ALPHABET  # base64.b64decode drops "-" and "_": what is left is short, or decodes to other bytes
    if isinstance(error, binascii.Error) and "padding" in str(error).lower():
        return PADDING
    if isinstance(error, (AttributeError, TypeError)) and _raised_in_json(error):
        return JSON_FILE
    return (f"that {type(error).__name__} comes from a line of your decode_part: run decode_part(claims_part) in a "
            "cell of your own and read the last line of the traceback that is in your code.",
            "fix that line; the three steps are: add the `=` padding, base64.urlsafe_b64decode, json.loads.")


def _hint_for_value(decode_part: Callable[[str], Any], part: str, got: Any) -> tuple[str, str]:
    """The idea and the change for a wrong value decode_part returned for ``part``."""
    if got is None:
        return NO_RETURN
    if isinstance(got, (bytes, bytearray, str)):
        return NOT_PARSED
    return ALPHABET if _only_the_alphabet(decode_part, part) else PADDING


def _only_the_alphabet(decode_part: Callable[[str], Any], part: str) -> bool:
    """True when ``part`` holds "-" or "_" and decode_part reads every sample part without them."""
    return ("-" in part or "_" in part) and all(_run(decode_part, encoded(sample))[0] == sample for sample in SAMPLES[:3])


def grade_decode_part(decode_part: Callable[[str], Any], token: str) -> Diagnosis | None:
    """None when ``decode_part`` reads ``token``'s header and claims as PyJWT does, and every sample part."""
    header_part, claims_part, _ = token.split(".")
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    cases = [("claims_part", claims_part, claims, ("iss", "aud", "scp")), ("header_part", header_part, header, None)]
    cases += [(repr(encoded(sample)), encoded(sample), sample, None) for sample in SAMPLES]
    for shown, part, expected, names in cases:
        got, error = _run(decode_part, part)
        if error is not None:
            return Diagnosis(f"decode_part({shown}) raised {_name(error)}: {error}", *_hint_for_error(decode_part, part, error))
        if not isinstance(got, dict):
            return Diagnosis(f"decode_part({shown}) gave {repr(got)[:100]}, not a dict.", *_hint_for_value(decode_part, part, got))
        if names and (differing := [name for name in names if got.get(name) != expected[name]]):
            return Diagnosis(f"the {', '.join(differing)} you decoded differ from what PyJWT's unverified decode gives.",
                             *_hint_for_value(decode_part, part, got))
        if not names and got != expected:
            what = "the header PyJWT reads" if shown == "header_part" else repr(expected)
            return Diagnosis(f"decode_part({shown}) gave {repr(got)[:100]}, not {what}.", *_hint_for_value(decode_part, part, got))
    return None


def check_decode_part(exercise: str, decode_part: Callable[[str], Any], token: str) -> None:
    """The notebook's check: pass the exercise, or say what is wrong, the idea, and (from try 2) the change."""
    stub = _run(decode_part, token.split(".")[1])[0]
    if stub is Ellipsis:
        raise ExerciseFeedback(exercise, "decode_part still returns `...`.",
                               "replace each `...` in the exercise cell above, run that cell, then this one.", wrong_try=False)
    diagnosis = grade_decode_part(decode_part, token)
    claims = jwt.decode(token, options={"verify_signature": False})
    check_that(
        exercise, diagnosis is None,
        problem=diagnosis.problem if diagnosis else "", hint=diagnosis.hint if diagnosis else "",
        fix=diagnosis.fix if diagnosis else "",
        success="your iss, aud and scp equal PyJWT's, read with no key at all: anyone holding a token can. "
        f"And exp - iat = {claims['exp'] - claims['iat']} s: how long the token lives. (The padding to add is "
        "`-len(part) % 4` `=` signs, 0 to 3; `4 - len(part) % 4` adds four when none are missing, which Python's "
        "decoder happens to ignore.)",
    )
