"""The one logging setup: JSON lines with the service and the ids a record carries, to a file
and stderr, installed once however often it is called."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.logs import configure


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root")
class TestConfigure:
    def test_json_lines_with_ids(self, tmp_path: Path) -> None:
        """A record with a submission and run id is one JSON line naming the service."""
        path = tmp_path / "app.log"
        configure("worker", log_file=path, console=False)
        logging.getLogger("grader.tasks.grading").info(
            "recorded ✓", extra={"submission_id": 7, "run_id": 9})
        try:
            raise ValueError("bad \ud800")
        except ValueError:
            logging.getLogger("x").exception("failed")
        first, second = (json.loads(line) for line in path.read_text().splitlines())
        assert {k: first[k] for k in ("level", "logger", "service", "message", "submission_id",
                                      "run_id")} == {
            "level": "INFO", "logger": "grader.tasks.grading", "service": "worker",
            "message": "recorded ✓", "submission_id": 7, "run_id": 9}
        assert first["time"].endswith("+00:00") and isinstance(first["process"], int)
        assert "ValueError" in second["exc_info"] and second["level"] == "ERROR"

    def test_configuring_again_replaces(self, tmp_path: Path) -> None:
        """A second call (the worker after the app) leaves one handler, with the new name."""
        configure("web", log_file=tmp_path / "a.log", console=False)
        configure("worker", log_file=tmp_path / "a.log", console=False)
        logging.getLogger("y").warning("once")
        (line,) = (tmp_path / "a.log").read_text().splitlines()
        assert json.loads(line)["service"] == "worker"

    def test_level(self, tmp_path: Path) -> None:
        configure("web", log_file=tmp_path / "b.log", console=False, level="warning")
        logging.getLogger("z").info("hidden")
        logging.getLogger("z").warning("shown")
        assert [json.loads(x)["message"] for x in (tmp_path / "b.log").read_text().splitlines()
                ] == ["shown"]
