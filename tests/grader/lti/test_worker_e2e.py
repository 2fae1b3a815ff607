"""End to end with a real Celery worker and the real sandbox: launches from the simulated LMS,
a submission graded by the worker, its score delivered by the worker to the LMS (through a
failing then recovering score endpoint), and a regrade that changes the score."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from grader import create_app
from grader.domain.regrades import start_regrade
from grader.domain.submissions import create_submission
from grader.extensions import db, make_engine
from grader.lti.platform_api import forget_tokens
from grader.lti.registration import register_platform
from grader.migrate import upgrade
from grader.models import Assignment, LtiLineItem, LtiScoreOutbox, Submission, User
from tests.conftest import BACKENDS
from tests.grader.lti.conftest import launch
from tests.grader.lti.platform import Platform, ServedApp
from tests.services import REDIS_DBS, ROOT, CeleryWorker, empty_database, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.sandbox]

CORRECT = (ROOT / "tests" / "submissions" / "softmax_backprop" / "correct.py").read_text()
SETTINGS = {"LTI_RETRY_BACKOFF_SECONDS": 0.2, "LTI_SWEEP_INTERVAL_SECONDS": 1}


@pytest.fixture(scope="module", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, redis_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A migrated database of each backend and a worker on it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('lti') / 'db.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        redis_db = REDIS_DBS["lti-sqlite"]
    else:
        url = request.getfixturevalue("postgres_database")
        redis_db = REDIS_DBS["lti-postgresql"]
    config = {**SETTINGS, "DATABASE_URL": url, "REDIS_URL": redis_server.url_of(redis_db)}
    worker = CeleryWorker(config, concurrency=2, log=tmp_path_factory.mktemp("w") / "w.log")
    yield config
    worker.stop()
    print(worker.output()[-3000:])


@pytest.fixture
def live(stack: dict[str, Any]) -> Iterator[tuple[Flask, Platform]]:
    """The app (enqueueing to the worker) served beside a registered simulated LMS."""
    empty_database(stack["DATABASE_URL"])
    app = create_app({**stack, "TESTING": True, "PREFERRED_URL_SCHEME": "https",
                      "WTF_CSRF_ENABLED": False})
    tool = ServedApp(app)
    lms = Platform(f"{tool.url}/lti/jwks")
    with app.app_context():
        register_platform(
            db.session, issuer=lms.issuer, client_id=lms.client_id,
            auth_login_url=f"{lms.url}/auth", auth_token_url=f"{lms.url}/token",
            key_set_url=f"{lms.url}/jwks", deployment_ids=[lms.deployment_id],
        )
        db.session.commit()
    forget_tokens()
    yield app, lms
    lms.stop()
    tool.stop()
    forget_tokens()
    app.extensions["db"].session.remove()
    app.extensions["db"].engine.dispose()


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_launch_submit_grade_deliver_regrade(live: tuple[Flask, Platform]) -> None:
    """Instructor and student launch; the worker grades the student's upload in the sandbox
    and delivers the score past a failing endpoint exactly once; a regrade that changes the
    score reaches the LMS too."""
    app, lms = live
    lms.add_user("t-1", "Tess Teacher", "tess@uni.example", instructor=True)
    lms.add_user("s-1", "Sam Student", "sam@uni.example")
    teacher = app.test_client()
    chooser = launch(teacher, lms, "t-1").headers["Location"]
    assert teacher.post(chooser, data={"choice": "plugin:softmax-backprop"}).status_code == 303
    wait_until(lambda: count(app, LtiLineItem) == 1 and len(lms.line_items) == 1, 30)
    assert launch(app.test_client(), lms, "s-1").status_code == 303

    lms.fail_scores = 1
    with app.app_context():
        s = db.session
        sam = s.scalars(sa.select(User).where(User.email == "sam@uni.example")).one()
        assignment = s.scalars(sa.select(Assignment)).one()
        submission = create_submission(s, assignment, sam, "hw.py", CORRECT)
        s.commit()  # the commit sends it to the worker
        full = assignment.max_score
    wait_until(lambda: lms.accepted_scores(), 60)
    assert lms.gradebook() == {"s-1": full}
    assert [status for status, _ in lms.score_posts] == [503, 200]

    with app.app_context():
        s = db.session
        assignment = s.scalars(sa.select(Assignment)).one()
        # The rules changed (the upload was late, half off): the regrade's result counts so.
        assignment.late_penalty_per_day = 25.0
        s.get_one(Submission, submission.id).days_late = 1.5
        start_regrade(s, assignment, None, reason="late penalty applied")
        s.commit()
        changed = full * 0.5
    wait_until(lambda: lms.gradebook() == {"s-1": changed}, 60)
    assert len(lms.accepted_scores()) == 2

    def outbox_row() -> tuple[int, int, str]:
        with app.app_context():
            row = db.session.scalars(sa.select(LtiScoreOutbox)).one()
            return row.version, row.delivered_version, row.state

    # The worker records the delivery just after the LMS accepted it: give it that moment.
    wait_until(lambda: outbox_row()[1] == 2, 10)
    assert outbox_row() == (2, 2, "delivered")
