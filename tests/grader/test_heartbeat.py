"""Worker heartbeats in Redis: written while a worker lives, gone when it stops or dies, and
'broker down' when Redis does not answer."""

from __future__ import annotations

from typing import Any

import pytest

from grader.heartbeat import Beat, grading_processes, liveness
from tests.services import wait_until

pytestmark = pytest.mark.redis

#: A Redis database of the session's server that no Celery worker uses.
HEARTBEAT_DB = 11


class TestHeartbeat:
    def test_beats_are_counted_and_removed(self, redis_server: Any) -> None:
        """Two workers of 2 and 3 processes make 5; a stopped worker's key is gone at once."""
        url = redis_server.url_of(HEARTBEAT_DB)
        first = Beat(url, "w1@host", 2, interval=0.2)
        second = Beat(url, "w2@host", 3, interval=0.2)
        try:
            found = wait_until(lambda: liveness(url, max_age=0).processes == 5 or None)
            assert found
            assert set(liveness(url, max_age=0).workers) == {"w1@host", "w2@host"}
        finally:
            first.stop()
        assert liveness(url, max_age=0).processes == 3
        second.stop()
        state = liveness(url, max_age=0)
        assert (state.broker, state.processes, state.worker_alive) == (True, 0, False)

    def test_a_dead_worker_expires(self, redis_server: Any) -> None:
        """A worker that stops beating (killed) drops out after three missed beats."""
        url = redis_server.url_of(HEARTBEAT_DB)
        beat = Beat(url, "w3@host", 1, interval=0.4)
        wait_until(lambda: liveness(url, max_age=0).processes == 1 or None)
        beat._stop.set()  # the thread stops beating; the key is left to expire
        beat._thread.join()
        wait_until(lambda: liveness(url, max_age=0).processes == 0 or None, timeout=5)

    def test_broker_down(self) -> None:
        """Nothing listens: the broker is reported down and no process can grade."""
        state = liveness("redis://127.0.0.1:1/0", max_age=0)
        assert (state.broker, state.processes, state.worker_alive) == (False, None, None)
        assert grading_processes("redis://127.0.0.1:1/0") == 0
