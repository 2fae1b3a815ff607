"""/api/v1/health answers 200 whatever is down and says what is; requests that meet a database
outage get a clean 503 (JSON for the API, a short page for people), never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from grader import create_app
from grader.heartbeat import Beat, liveness
from tests.conftest import World, bearer
from tests.services import free_port, wait_until

HEALTH_DB = 14


class TestHealth:
    def test_degraded_without_broker_or_worker(self, client: Any) -> None:
        """The database answers, the broker does not (so no worker is known): still 200."""
        response = client.get("/api/v1/health")
        assert response.status_code == 200
        assert response.get_json() == {
            "status": "degraded", "database": {"ok": True}, "broker": {"ok": False},
            "workers": {"alive": None, "processes": None}}

    @pytest.mark.redis
    def test_ok_with_a_live_worker(self, app_config: dict[str, Any], redis_server: Any) -> None:
        """Database, broker and a worker of two processes: ok; the worker gone: degraded."""
        url = redis_server.url_of(HEALTH_DB)
        app = create_app({**app_config, "REDIS_URL": url})
        client = app.test_client()
        beat = Beat(url, "w@host", 2, interval=0.2)
        try:
            wait_until(lambda: liveness(url, max_age=0).processes == 2 or None)
            liveness(url, max_age=0)
            assert client.get("/api/v1/health").get_json() == {
                "status": "ok", "database": {"ok": True}, "broker": {"ok": True},
                "workers": {"alive": True, "processes": 2}}
        finally:
            beat.stop()
        liveness(url, max_age=0)
        body = client.get("/api/v1/health").get_json()
        assert body["status"] == "degraded" and body["workers"] == {"alive": False,
                                                                    "processes": 0}
        app.extensions["db"].engine.dispose()


@pytest.fixture
def down(app: Flask, world: World) -> Iterator[Flask]:
    """The same app, its database now unreachable (nothing listens where it points)."""
    dead = f"postgresql+psycopg://autograde@127.0.0.1:{free_port()}/gone"
    broken = create_app({**app.config, "DATABASE_URL": dead, "WTF_CSRF_ENABLED": False})
    yield broken
    broken.extensions["db"].engine.dispose()


class TestDatabaseDown:
    def test_health_still_answers(self, down: Flask) -> None:
        response = down.test_client().get("/api/v1/health")
        assert response.status_code == 200
        assert response.get_json()["database"] == {"ok": False}

    def test_api_answers_503_json(self, down: Flask, world: World) -> None:
        """Reads and uploads get the API's error shape with Retry-After, no traceback."""
        client = down.test_client()
        for response in (
            client.get(f"/api/v1/assignments/{world.assignment_id}",
                       headers=bearer(world.instructor_token)),
            client.post(f"/api/v1/assignments/{world.assignment_id}/submissions",
                        headers=bearer(world.instructor_token),
                        data={"student": "ada@example.com"}),
        ):
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "5"
            error = response.get_json()["error"]
            assert error["code"] == "database_unavailable"
            assert "nothing was stored" in error["message"]
            assert "Traceback" not in response.get_data(as_text=True)
            assert "127.0.0.1" not in error["message"]

    def test_pages_answer_a_friendly_503(self, down: Flask) -> None:
        """Signing in while the database is away: a short page saying so, no traceback."""
        response = down.test_client().post(
            "/login", data={"email": "teacher@example.com", "password": "pw"})
        assert response.status_code == 503
        page = response.get_data(as_text=True)
        assert "Back in a moment" in page and "nothing was stored" in page
        assert "Traceback" not in page and "psycopg" not in page
