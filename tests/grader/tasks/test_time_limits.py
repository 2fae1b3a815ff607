"""Celery's time limits sit above everything the sandbox may spend on one submission."""

from grader import create_app
from grader.engine.registry import list_plugins
from grader.tasks.grading import time_limits


class TestTimeLimits:
    def test_above_the_slowest_assignment(self) -> None:
        """Soft < hard, and the soft limit exceeds import + all parts of every assignment."""
        app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "t", "ENQUEUE": False})
        with app.app_context():
            soft, hard = time_limits()
        for a in list_plugins():
            budget = a.limits.import_seconds + a.limits.part_seconds * len(a.parts)
            assert soft > budget
        assert hard > soft
