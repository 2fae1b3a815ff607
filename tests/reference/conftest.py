"""A real sandbox for grading sample submissions, shared by the module's tests."""

from collections.abc import Iterator

import pytest

from grader.engine.runner import Runner


@pytest.fixture(scope="session")
def runner() -> Iterator[Runner]:
    from worker.sandbox import SandboxRunner

    with SandboxRunner() as r:
        yield r
