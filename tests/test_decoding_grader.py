"""Notebook 05's Exercise 5.1 grader: each typical wrong decode_part is told the step that went wrong.

The padding hint only for a padding error; json.load (a file reader) named as such; any other error
named plainly; the right decode_part passes, and so does one that over-pads (Python ignores it),
with the success message saying how much padding is right.
"""

import base64
import json

import jwt
import pytest

from helpers.exercises import ExerciseFeedback
from helpers.graders.decoding import check_decode_part, grade_decode_part

# claims with "-" and "_" in their base64url text, as a real token's often are
TOKEN = jwt.encode({"iss": "https://issuer.example", "aud": "api://calculator", "scp": ["calculator.add"],
                    "iat": 1000, "exp": 4600, "note": "??>~~~"}, "a-key-of-at-least-32-bytes-for-hs256", algorithm="HS256")


def right(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def over_padded(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (4 - len(part) % 4)))


def json_load(part):
    return json.load(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def name_error(part):
    return json.loads(base64.urlsafe_b64decode(padded))  # noqa: F821 - the learner's typo


def no_padding(part):
    return json.loads(base64.urlsafe_b64decode(part))


def plain_base64(part):
    return json.loads(base64.b64decode(part + "=" * (-len(part) % 4)))


def returns_bytes(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def no_return(part):
    json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def returns_a_list(part):
    return ['x"y']


def test_the_right_decode_and_an_over_padding_one_pass():
    assert "-" in TOKEN.split(".")[1] or "_" in TOKEN.split(".")[1]
    assert grade_decode_part(right, TOKEN) is None
    assert grade_decode_part(over_padded, TOKEN) is None


def test_json_load_is_told_it_reads_a_file_not_the_padding():
    found = grade_decode_part(json_load, TOKEN)
    assert found.problem.startswith("decode_part(claims_part) raised AttributeError")
    assert found.hint == "json.loads parses text or bytes; json.load reads a file."
    assert "padding" not in found.hint + found.fix and "=" not in found.hint


def test_another_error_is_named_plainly_without_the_padding_hint():
    found = grade_decode_part(name_error, TOKEN)
    assert found.problem == "decode_part(claims_part) raised NameError: name 'padded' is not defined"
    assert found.hint.startswith("that NameError comes from a line of your decode_part")
    assert "groups of 4" not in found.hint and "4 - r" not in found.fix


def test_a_padding_error_gets_the_padding_hint():
    found = grade_decode_part(no_padding, TOKEN)
    assert found.problem.endswith("raised binascii.Error: Incorrect padding")
    assert "groups of 4 characters" in found.hint and "add that many `=`" in found.fix


def test_the_plain_base64_decoder_is_told_of_the_alphabet_not_the_padding():
    found = grade_decode_part(plain_base64, TOKEN)
    assert "base64url" in found.hint and "urlsafe_b64decode" in found.fix


def test_bytes_none_and_a_list_each_get_their_own_reason_quoted_once():
    assert grade_decode_part(returns_bytes, TOKEN).hint.startswith("decode_part should return the dict, not bytes")
    nothing = grade_decode_part(no_return, TOKEN)
    assert nothing.problem == "decode_part(claims_part) gave None, not a dict."
    assert "without a `return` line" in nothing.hint
    listed = grade_decode_part(returns_a_list, TOKEN)
    assert listed.problem == """decode_part(claims_part) gave ['x"y'], not a dict."""  # repr, not quoted twice


def test_the_check_stops_the_stub_without_counting_a_try_and_passes_the_right_one(capsys):
    def stub(part):
        return ...

    with pytest.raises(ExerciseFeedback) as caught:
        check_decode_part("Exercise 9.1", stub, TOKEN)
    assert caught.value.try_number == 0
    with pytest.raises(ExerciseFeedback) as caught:
        check_decode_part("Exercise 9.1", json_load, TOKEN)
    assert caught.value.hint == "json.loads parses text or bytes; json.load reads a file."
    check_decode_part("Exercise 9.1", over_padded, TOKEN)
    out = capsys.readouterr().out
    assert "exp - iat = 3600 s" in out and "`-len(part) % 4`" in out
