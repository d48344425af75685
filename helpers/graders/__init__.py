"""Graders for the build-it exercises: real requests against the learner's own code.

Each grader runs attacks or real traffic against what the learner wrote (a verifier, a token
cache, a PKCE sign-in) and returns :class:`~helpers.graders.report.Row`\\ s, one per attack or
behaviour; :func:`~helpers.graders.report.report` prints them and turns the failed ones into
two-step feedback. The tests feed typical wrong implementations and assert on the same rows.

:mod:`~helpers.graders.nb01` holds notebook 01's smaller checks, so that its check cells are one call.
"""
