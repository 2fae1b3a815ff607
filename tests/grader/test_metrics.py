"""/metrics: Prometheus's format, figures read from the database and the broker (both
backends), and served only to configured addresses or with the metrics token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from grader import create_app
from grader.domain import jobs, runs
from grader.domain.submissions import create_submission
from grader.engine.result import GradeResult
from grader.extensions import db
from grader.lti.registration import register_platform
from grader.models import (
    Assignment,
    GradingRun,
    LtiContext,
    LtiLineItem,
    LtiResourceLink,
    LtiScoreOutbox,
    User,
    utcnow,
)
from tests.conftest import World

OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(client: FlaskClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Sample name -> labels -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = (
                sample.value)
    return found


def one(found: dict[str, dict[Any, float]], name: str, **labels: str) -> float:
    return found[name][tuple(sorted(labels.items()))]


class TestAccess:
    def test_local_scrape_is_allowed(self, client: FlaskClient) -> None:
        assert client.get("/metrics").status_code == 200

    def test_other_addresses_are_refused_even_spoofing_a_proxy_header(
        self, client: FlaskClient
    ) -> None:
        """Without trusted proxies, X-Forwarded-For naming 127.0.0.1 does not open it."""
        assert client.get("/metrics", environ_base=OUTSIDE).status_code == 403
        spoofed = client.get("/metrics", environ_base=OUTSIDE,
                             headers={"X-Forwarded-For": "127.0.0.1"})
        assert spoofed.status_code == 403
        assert b"autograde_" not in spoofed.data

    def test_token_and_networks(self, app_config: dict[str, Any]) -> None:
        """The right token opens it from anywhere, a wrong one does not; a listed network is
        allowed."""
        app = create_app({**app_config, "METRICS_TOKEN": "s3cret-metrics",
                          "METRICS_ALLOW": '["10.0.0.0/8"]'})
        client = app.test_client()
        assert client.get("/metrics", environ_base=OUTSIDE,
                          headers={"Authorization": "Bearer s3cret-metrics"}).status_code == 200
        for wrong in ("Bearer s3cret-metric", "Bearer ", "s3cret-metrics"):
            assert client.get("/metrics", environ_base=OUTSIDE,
                              headers={"Authorization": wrong}).status_code == 403
        assert client.get("/metrics").status_code == 403  # 127.0.0.1 is no longer listed
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}
                          ).status_code == 200
        app.extensions["db"].engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


def submit(world: World) -> GradingRun:
    assignment = db.session.get_one(Assignment, world.assignment_id)
    student = db.session.get_one(User, world.student_ids[0])
    submission = create_submission(db.session, assignment, student, "hw.py", "x = 1\n")
    jobs.take(db.session)
    db.session.commit()
    (run,) = submission.runs
    return run


def finish(run: GradeResult | None, grading: GradingRun, waited: float, took: float,
           level: str = "full") -> None:
    """Claim ``grading`` ``took`` seconds before its result, ``waited`` after upload."""
    created = grading.created_at
    token = runs.claim_run(db.session, grading.id, "w", 600,
                           now=created + timedelta(seconds=waited - took))
    assert token
    result = run or GradeResult("softmax-backprop", 1, 1.0, 1.0, "graded", "ok",
                                sandbox_level=level)
    assert runs.record_result(db.session, grading.id, token, result,
                              now=created + timedelta(seconds=waited))
    db.session.commit()


@pytest.mark.usefixtures("ctx")
class TestFigures:
    def test_queue_durations_levels_retries_poison_and_outbox(
        self, client: FlaskClient, world: World
    ) -> None:
        """Every figure the issue names, from a known state."""
        finish(None, submit(world), waited=0.8, took=0.2)
        finish(None, submit(world), waited=40.0, took=3.0, level="reduced (no seccomp)")
        failed = GradeResult.grader_error("softmax-backprop", 1, 1.0)
        finish(failed, submit(world), waited=4.5, took=4.0)
        poison = submit(world)
        for _ in range(3):
            assert runs.claim_run(db.session, poison.id, "dead", -1, max_lost_leases=3)
        assert runs.claim_run(db.session, poison.id, "w", 30, max_lost_leases=3) is None
        retried = submit(world)
        token = runs.claim_run(db.session, retried.id, "w", 30)
        assert token and runs.release_for_retry(db.session, retried.id, token, "boom")
        assert runs.claim_run(db.session, submit(world).id, "w", 30)
        db.session.commit()
        outbox(world, failures=[0, 2, 0], delivered=[False, False, True])

        found = scrape(client)
        assert one(found, "autograde_queue_depth", state="queued") == 1
        assert one(found, "autograde_queue_depth", state="running") == 1
        # Waits: the poison run (given up at once), 0.8 s, 4.5 s and 40 s.
        assert one(found, "autograde_upload_to_graded_seconds_count") == 4
        assert one(found, "autograde_upload_to_graded_seconds_bucket", le="0.1") == 1
        assert one(found, "autograde_upload_to_graded_seconds_bucket", le="1.0") == 2
        assert one(found, "autograde_upload_to_graded_seconds_bucket", le="5.0") == 3
        assert one(found, "autograde_upload_to_graded_seconds_bucket", le="30.0") == 3
        assert one(found, "autograde_upload_to_graded_seconds_bucket", le="60.0") == 4
        assert one(found, "autograde_upload_to_graded_seconds_bucket", le="+Inf") == 4
        assert one(found, "autograde_grading_seconds_count", status="graded") == 2
        assert one(found, "autograde_grading_seconds_bucket", status="graded", le="0.25") == 1
        assert one(found, "autograde_grading_seconds_sum", status="graded") == pytest.approx(
            3.2, abs=0.01)
        assert one(found, "autograde_grading_seconds_count", status="grader_error") == 2
        assert one(found, "autograde_runs_by_sandbox_level_total",
                   level="reduced (no seccomp)") == 1
        assert one(found, "autograde_grading_retries_total") == 1
        assert one(found, "autograde_lost_leases_total") == 3
        assert one(found, "autograde_poison_runs_total") == 1
        assert one(found, "autograde_lms_outbox_backlog") == 2
        assert one(found, "autograde_lms_outbox_failing") == 1
        assert one(found, "autograde_lms_delivery_failures") == 2
        assert one(found, "autograde_database_up") == 1
        assert one(found, "autograde_broker_up") == 0  # nothing listens at the test's URL


def outbox(world: World, failures: list[int], delivered: list[bool]) -> None:
    """Outbox rows of a linked line item, one per (failures, delivered) pair."""
    s = db.session
    platform = register_platform(s, issuer="https://lms.example", client_id="c",
                                  auth_login_url="https://lms.example/a",
                                  auth_token_url="https://lms.example/t",
                                  key_set_url="https://lms.example/k", deployment_ids=["d"])
    s.flush()
    context = LtiContext(platform_id=platform.id, context_id="ctx", course_id=world.course_id)
    s.add(context)
    s.flush()
    link = LtiResourceLink(context_id=context.id, resource_link_id="l",
                           assignment_id=world.assignment_id)
    s.add(link)
    s.flush()
    item = LtiLineItem(resource_link_id=link.id, assignment_id=world.assignment_id,
                       platform_id=platform.id, url="https://lms.example/li/1")
    s.add(item)
    s.flush()
    users = [world.instructor_id, *world.student_ids]
    for user_id, failed, done in zip(users, failures, delivered, strict=True):
        s.add(LtiScoreOutbox(line_item_id=item.id, user_id=user_id, lti_user_id=f"u{user_id}",
                             version=2, delivered_version=2 if done else 1, score_given=1.0,
                             score_maximum=1.0, changed_at=utcnow(), failures=failed))
    s.commit()


@pytest.mark.redis
class TestBroker:
    def test_broker_workers_and_waiting_messages(self, app_config: dict[str, Any],
                                                 redis_server: Any) -> None:
        """With the broker up: the live workers' processes and the messages waiting."""
        import redis

        from grader.heartbeat import Beat, liveness
        from tests.services import wait_until

        url = redis_server.url_of(15)
        broker = redis.Redis.from_url(url)
        broker.delete("celery")
        broker.lpush("celery", "a", "b", "c")
        beat = Beat(url, "w@host", 3, interval=0.2)
        app = create_app({**app_config, "REDIS_URL": url})
        try:
            wait_until(lambda: liveness(url, max_age=0).processes == 3 or None)
            liveness(url, max_age=0)
            found = scrape(app.test_client())
        finally:
            beat.stop()
            broker.delete("celery")
            broker.close()
            app.extensions["db"].engine.dispose()
        assert one(found, "autograde_broker_up") == 1
        assert one(found, "autograde_worker_processes") == 3
        assert one(found, "autograde_broker_queue_messages") == 3
