"""helpers.user_login.remote.browser_elsewhere, without running notebook 06.

tests/test_remote_kernel.py runs the notebook as a remote learner would (slow, and not among the
tests the mutation run selects); these unit tests pin down the guess itself: which environment it
reads, the TUTORIAL_BROWSER override, what counts as "set", and the reason it returns.
"""

from __future__ import annotations

import pytest

from helpers.user_login import browser_elsewhere
from helpers.user_login.remote import _SIGNS

SIGN_NAMES = [name for name, _ in _SIGNS]


@pytest.fixture
def plain_host(monkeypatch):
    """This process's environment with no sign of a remote kernel and no override."""
    for name in [*SIGN_NAMES, "TUTORIAL_BROWSER"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_an_environment_without_signs_means_the_browser_is_here():
    assert browser_elsewhere({}) is None
    assert browser_elsewhere({"HOME": "/home/ada", "PATH": "/usr/bin"}) is None


def test_the_reason_says_what_the_sign_means_and_which_variable_was_set():
    assert browser_elsewhere({"CODESPACES": "true"}) == "this kernel runs in GitHub Codespaces (CODESPACES is set)"
    assert browser_elsewhere({"SSH_CONNECTION": "10.0.0.2 52100 10.0.0.1 22"}) == (
        "this kernel was started over SSH (SSH_CONNECTION is set)")


@pytest.mark.parametrize("value", ["", "  ", "false", "0", " 0 "])
def test_a_sign_that_is_empty_false_or_0_does_not_count(value):
    assert browser_elsewhere({"CODESPACES": value}) is None
    assert browser_elsewhere({"SSH_CONNECTION": value}) is None


def test_the_first_sign_in_order_decides_the_reason():
    environ = {"SSH_CONNECTION": "10.0.0.2 52100 10.0.0.1 22", "JUPYTERHUB_API_URL": "http://hub:8081/hub/api"}
    assert "JupyterHub (JUPYTERHUB_API_URL is set)" in browser_elsewhere(environ)


@pytest.mark.parametrize("value", ["remote", "Remote", " REMOTE "])
def test_tutorial_browser_remote_wins_even_without_signs(value):
    assert browser_elsewhere({"TUTORIAL_BROWSER": value}) == "TUTORIAL_BROWSER=remote says so"


@pytest.mark.parametrize("value", ["local", "LOCAL", " Local "])
def test_tutorial_browser_local_wins_over_the_signs(value):
    assert browser_elsewhere({"TUTORIAL_BROWSER": value, "CODESPACES": "true"}) is None


def test_an_unknown_tutorial_browser_says_what_to_use():
    with pytest.raises(ValueError) as caught:
        browser_elsewhere({"TUTORIAL_BROWSER": "Phone"})
    assert "TUTORIAL_BROWSER='phone' is not understood" in str(caught.value)
    assert "use 'local', 'remote' or leave it unset" in str(caught.value)


def test_without_an_argument_it_reads_this_processs_environment(plain_host):
    assert browser_elsewhere() is None
    plain_host.setenv("COLAB_RELEASE_TAG", "release-colab_20250101")
    assert browser_elsewhere() == "this kernel runs on Google Colab (COLAB_RELEASE_TAG is set)"
    plain_host.setenv("TUTORIAL_BROWSER", "local")
    assert browser_elsewhere() is None


def test_an_environment_handed_in_replaces_this_processs_environment(plain_host):
    plain_host.setenv("CODESPACES", "true")
    assert browser_elsewhere({}) is None
    plain_host.delenv("CODESPACES")
    assert "Binder" in browser_elsewhere({"BINDER_LAUNCH_HOST": "https://mybinder.org/"})
