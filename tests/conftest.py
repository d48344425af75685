"""Test-wide setup: tests and notebooks always run against the local authorization server.

The notebook kernels that nbval starts inherit this process's environment, so setting
the switch here keeps a developer's ``.env`` (a real Okta tenant) out of the test run.
"""

import os

os.environ["TUTORIAL_AUTH_SERVER"] = "local"


import pytest


@pytest.fixture
def anyio_backend():
    """Async tests (marked ``anyio``) run on asyncio, the loop Jupyter kernels use."""
    return "asyncio"
