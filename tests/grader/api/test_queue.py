"""Students see where they stand while they wait, in the API: queue_position,
estimated_wait_s and grading_delayed (the pages: tests/grader/web/test_queue_page.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from grader.heartbeat import Beat, liveness
from tests.conftest import World, bearer
from tests.grader.api.test_submissions import upload
from tests.services import wait_until

#: A Redis database of the session's server no Celery worker uses.
QUEUE_DB = 12


@pytest.fixture
def app_config(app_config: dict[str, Any], redis_server: Any) -> dict[str, Any]:
    """Uploads are not sent anywhere; the broker answers (for the workers' heartbeats)."""
    return {**app_config, "REDIS_URL": redis_server.url_of(QUEUE_DB),
            "SUBMISSIONS_PER_MINUTE": 0}


@pytest.fixture
def worker_alive(app_config: dict[str, Any]) -> Iterator[None]:
    """A worker of two grading processes says it is alive."""
    url = app_config["REDIS_URL"]
    beat = Beat(url, "grader@host", 2, interval=0.2)
    wait_until(lambda: liveness(url, max_age=0).processes == 2 or None)
    liveness(url, max_age=0)
    yield
    beat.stop()
    liveness(url, max_age=0)


pytestmark = pytest.mark.redis


class TestApi:
    @pytest.mark.usefixtures("worker_alive")
    def test_upload_and_get_say_the_place_and_the_wait(
        self, client: FlaskClient, world: World
    ) -> None:
        """Three uploads: the 202 and the GET give places 1..3 and waits shared by the two
        live processes (2 s a submission before anything was graded)."""
        accepted = [upload(client, world).get_json() for _ in range(3)]
        assert [a["queue_position"] for a in accepted] == [1, 2, 3]
        assert [a["estimated_wait_s"] for a in accepted] == [2.0, 2.0, 4.0]
        assert not any(a["grading_delayed"] for a in accepted)
        doc = client.get(accepted[2]["url"], headers=bearer(world.instructor_token)).get_json()
        assert (doc["queue_position"], doc["estimated_wait_s"], doc["grading_delayed"]) == (
            3, 4.0, False)

    def test_no_worker_alive_is_delayed(self, client: FlaskClient, world: World) -> None:
        """Without a live worker the upload is accepted (202) and marked delayed."""
        response = upload(client, world)
        assert response.status_code == 202
        body = response.get_json()
        assert (body["queue_position"], body["estimated_wait_s"], body["grading_delayed"]) == (
            1, None, True)
