"""The submission page says where a waiting submission stands (status fragment and poll), or
that grading is delayed when no grader can take it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from grader.heartbeat import Beat, liveness
from tests.grader.web.conftest import Site
from tests.grader.web.test_student import upload
from tests.services import wait_until

pytestmark = pytest.mark.redis

#: A Redis database of the session's server no Celery worker uses.
QUEUE_DB = 13


@pytest.fixture
def app_config(app_config: dict[str, Any], redis_server: Any) -> dict[str, Any]:
    """Uploads are not sent anywhere; the broker answers (for the workers' heartbeats)."""
    return {**app_config, "REDIS_URL": redis_server.url_of(QUEUE_DB)}


@pytest.fixture
def worker_alive(app_config: dict[str, Any]) -> Iterator[None]:
    """A worker of one grading process says it is alive."""
    url = app_config["REDIS_URL"]
    beat = Beat(url, "grader@host", 1, interval=0.2)
    wait_until(lambda: liveness(url, max_age=0).processes == 1 or None)
    yield
    beat.stop()
    liveness(url, max_age=0)


class TestQueueOnThePage:
    @pytest.mark.usefixtures("worker_alive")
    def test_place_in_the_status_fragment_and_the_poll(self, ada: FlaskClient,
                                                       site: Site) -> None:
        """The second waiting upload is number 2 with one ahead, on the page and in the poll
        that updates it."""
        upload(ada, site)
        url = upload(ada, site)
        page = ada.get(url).get_data(as_text=True)
        assert re.search(r'id="status-text"[^>]*>Number 2 in the queue \(1 ahead of you\); '
                         r"results in about", page)
        status = ada.get(url + "/status.json").get_json()
        assert status["queue_position"] == 2 and status["estimated_wait_s"] is not None
        assert status["queue_message"].startswith("Number 2 in the queue")
        assert status["message"] == status["queue_message"]
        assert status["grading_delayed"] is False

    def test_delayed_without_a_worker(self, ada: FlaskClient, site: Site) -> None:
        """No live worker: the page says grading is delayed, the upload is kept."""
        url = upload(ada, site)
        page = ada.get(url).get_data(as_text=True)
        assert "Grading is delayed: your submission is saved" in page
        status = ada.get(url + "/status.json").get_json()
        assert status["grading_delayed"] is True and status["estimated_wait_s"] is None

    def test_nothing_once_graded(self, ada: FlaskClient, site: Site) -> None:
        status = ada.get(f"/submissions/{site.ada_submission}/status.json").get_json()
        assert (status["queue_position"], status["queue_message"]) == (None, "")
