"""Scores back to the LMS through the outbox: line items made once, deliveries that fail and
recover, regrades, ordering, reconciliation, roster sync, deep linking and key rotation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask

from grader.domain import outbox, runs
from grader.domain.regrades import start_regrade
from grader.domain.submissions import create_submission
from grader.engine.result import GradeResult, PartResult
from grader.extensions import db
from grader.lti import services
from grader.lti.keys import rotate
from grader.lti.platform_api import forget_tokens
from grader.models import (
    Assignment,
    Enrollment,
    LtiLineItem,
    LtiResourceLink,
    LtiScoreOutbox,
    User,
    utcnow,
)
from grader.tasks import lms as lms_tasks
from tests.grader.lti.conftest import launch
from tests.grader.lti.platform import LTI, Platform
from tests.grader.lti.test_launch import choose_plugin


def result(score: float, max_score: float, diagnoses: list[str]) -> GradeResult:
    part = PartResult(name="gradients", score=score, max_score=max_score,
                      status="passed" if score == max_score else "failed", diagnoses=diagnoses)
    return GradeResult(assignment="softmax-backprop", seed=1, score=score, max_score=max_score,
                       status="graded", feedback="", parts=[part])


def grade(app: Flask, submission_id: int, score: float, diagnoses: list[str],
          run_id: int | None = None) -> None:
    """Record a graded result the way a worker does, in one committed transaction."""
    with app.app_context():
        s = db.session
        run_id = run_id or runs.pending_run_id(s, submission_id)
        assert run_id is not None
        token = runs.claim_run(s, run_id, "test", 30)
        assert token
        assignment = s.get_one(Assignment, s.get_one(runs.Submission, submission_id)
                               .assignment_id)
        assert runs.record_result(s, run_id, token,
                                     result(score, assignment.max_score, diagnoses))
        s.commit()


def submit(app: Flask, assignment_id: int, email: str) -> int:
    with app.app_context():
        s = db.session
        student = s.scalars(sa.select(User).where(User.email == email)).one()
        assignment = s.get_one(Assignment, assignment_id)
        submission = create_submission(s, assignment, student, "hw.py", "x = 1\n")
        s.commit()
        return submission.id


def set_up(app: Flask, lms: Platform) -> int:
    """An instructor picks the assignment, its line item is made, a student launches."""
    assignment_id = choose_plugin(app, lms)
    with app.app_context():
        link = db.session.scalars(sa.select(LtiResourceLink)).one()
        assert lms_tasks.set_up_link(link.id).startswith("line item")
    lms.add_user("s-1", "Sam Student", "sam@uni.example")
    assert launch(app.test_client(), lms, "s-1").status_code == 303
    return assignment_id


def deliver_all(app: Flask, now_offset: float = 0.0) -> list[str]:
    """Run the sweep's choice of due rows through the real delivery task."""
    with app.app_context():
        due = outbox.due_for_delivery(db.session, utcnow() + timedelta(seconds=now_offset))
        db.session.commit()
        return [lms_tasks.deliver_score(i) for i in due]


def outbox_row(app: Flask) -> LtiScoreOutbox:
    with app.app_context():
        return db.session.scalars(sa.select(LtiScoreOutbox)).one()


class TestDelivery:
    def test_score_arrives_with_its_details(self, app: Flask, platform: Platform) -> None:
        """A graded submission's counted score reaches the line item with the AGS fields and
        a comment saying the attempt and its likely mistake in plain words."""
        assignment_id = set_up(app, platform)
        sid = submit(app, assignment_id, "sam@uni.example")
        grade(app, sid, 4.0, ["missing_batch_mean"])
        assert deliver_all(app, 120) == ["delivered version 1"]
        (doc,) = platform.accepted_scores()
        assert doc["userId"] == "s-1" and doc["scoreGiven"] == 4.0
        with app.app_context():
            assert doc["scoreMaximum"] == db.session.get_one(Assignment, assignment_id).max_score
        assert doc["activityProgress"] == "Completed"
        assert doc["gradingProgress"] == "FullyGraded"
        assert doc["timestamp"].endswith("Z")
        # The page's plain words, never the internal code.
        assert doc["comment"].startswith("Attempt 1. 4 of ")
        assert "Likely mistake: You forgot the 1/N batch mean" in doc["comment"]
        assert "missing_batch_mean" not in doc["comment"] and sid
        assert outbox_row(app).state == "delivered"
        assert deliver_all(app, 120) == []

    def test_line_item_made_once(self, app: Flask, platform: Platform) -> None:
        """Relaunching and setting up again reuses the line item, here and on the platform."""
        set_up(app, platform)
        launch(app.test_client(), platform, "t-1")
        with app.app_context():
            link = db.session.scalars(sa.select(LtiResourceLink)).one()
            lms_tasks.set_up_link(link.id)
            db.session.execute(sa.delete(LtiLineItem))  # forgotten here: found on the platform
            db.session.commit()
            lms_tasks.set_up_link(link.id)
            assert db.session.scalar(sa.select(sa.func.count()).select_from(LtiLineItem)) == 1
        assert len(platform.line_items) == 1

    def test_failing_endpoint_then_recovery(self, app: Flask, platform: Platform) -> None:
        """While the score endpoint fails the error is kept and retried with backoff; once it
        recovers the latest score is delivered exactly once."""
        assignment_id = set_up(app, platform)
        sid = submit(app, assignment_id, "sam@uni.example")
        platform.fail_scores = 2
        grade(app, sid, 3.0, [])
        assert deliver_all(app, 120)[0].startswith("failed")
        row = outbox_row(app)
        assert row.state == "failed" and "503" in row.last_error and row.failures == 1
        assert deliver_all(app, 0) == []  # backing off
        sid2 = submit(app, assignment_id, "sam@uni.example")
        grade(app, sid2, 5.0, [])  # a better attempt while the LMS is down
        assert deliver_all(app, 3600)[0].startswith("failed")
        assert deliver_all(app, 3600) == ["delivered version 2"]
        assert [d["scoreGiven"] for d in platform.accepted_scores()] == [5.0]
        assert platform.gradebook() == {"s-1": 5.0}
        assert deliver_all(app, 7200) == []

    def test_regrade_changes_the_lms_score(self, app: Flask, platform: Platform) -> None:
        """A regrade that changes the counted score sends the new one; the LMS keeps it."""
        assignment_id = set_up(app, platform)
        sid = submit(app, assignment_id, "sam@uni.example")
        grade(app, sid, 2.0, ["sign_error"])
        deliver_all(app, 120)
        with app.app_context():
            assignment = db.session.get_one(Assignment, assignment_id)
            _, pairs = start_regrade(db.session, assignment, None, reason="fixed tolerance")
            db.session.commit()
        grade(app, sid, 6.0, [], run_id=pairs[0][1])
        assert deliver_all(app, 120) == ["delivered version 2"]
        assert platform.gradebook() == {"s-1": 6.0}

    def test_instructor_override_reaches_the_lms(self, app: Flask, platform: Platform) -> None:
        """A manual score override, and clearing it, are published like any score change."""
        from grader.domain.accommodations import clear_override, override_score

        assignment_id = set_up(app, platform)
        grade(app, submit(app, assignment_id, "sam@uni.example"), 4.0, [])
        deliver_all(app, 120)
        with app.app_context():
            assignment = db.session.get_one(Assignment, assignment_id)
            sam = db.session.scalars(sa.select(User).where(User.email == "sam@uni.example")).one()
            override_score(db.session, assignment, sam, 7.5, None, "oral exam")
            db.session.commit()
        assert deliver_all(app, 120) == ["delivered version 2"]
        assert platform.gradebook() == {"s-1": 7.5}
        assert "instructor" in platform.accepted_scores()[-1]["comment"]
        with app.app_context():
            assignment = db.session.get_one(Assignment, assignment_id)
            sam = db.session.scalars(sa.select(User).where(User.email == "sam@uni.example")).one()
            clear_override(db.session, assignment, sam, None)
            db.session.commit()
        assert deliver_all(app, 120) == ["delivered version 3"]
        assert platform.gradebook() == {"s-1": 4.0}

    def test_unchanged_score_sends_nothing(self, app: Flask, platform: Platform) -> None:
        """A worse attempt under best-counts leaves the counted score, so no new version."""
        assignment_id = set_up(app, platform)
        grade(app, submit(app, assignment_id, "sam@uni.example"), 6.0, [])
        deliver_all(app, 120)
        grade(app, submit(app, assignment_id, "sam@uni.example"), 1.0, [])
        assert outbox_row(app).version == 1
        assert deliver_all(app, 120) == []

    def test_older_version_never_overwrites(self, app: Flask, platform: Platform) -> None:
        """A slow delivery of an old version landing after a newer one changes nothing, here
        or on the platform."""
        assignment_id = set_up(app, platform)
        grade(app, submit(app, assignment_id, "sam@uni.example"), 2.0, [])
        with app.app_context():
            row_id = outbox_row(app).id
            old = outbox.claim_delivery(db.session, row_id, 0.0)
            db.session.commit()
        assert old is not None
        grade(app, submit(app, assignment_id, "sam@uni.example"), 7.0, [])
        assert deliver_all(app, 120) == ["delivered version 2"]
        with app.app_context():
            services.client_for(db.session, old.platform_id).post_score(
                old.lineitem_url, old.payload)
            assert outbox.record_delivery(db.session, old) is False
            db.session.commit()
        assert outbox_row(app).delivered_version == 2
        assert platform.gradebook() == {"s-1": 7.0}


class TestReconcileAndRoster:
    def test_reconcile_page_finds_and_resends(self, app: Flask, platform: Platform) -> None:
        """A score changed in the LMS shows as differing; resend puts ours back."""
        assignment_id = set_up(app, platform)
        grade(app, submit(app, assignment_id, "sam@uni.example"), 4.0, [])
        deliver_all(app, 120)
        (item,) = platform.line_items.values()
        when, doc = item.results["s-1"]
        item.results["s-1"] = (when, {**doc, "scoreGiven": 9.0})
        teacher = app.test_client()
        launch(teacher, platform, "t-1")
        page = teacher.get(f"/lti/assignments/{assignment_id}/reconcile")
        assert page.status_code == 200
        assert b"1 score differs" in page.data
        resent = teacher.post(f"/lti/assignments/{assignment_id}/resend")
        assert resent.status_code == 303
        deliver_all(app, 120)
        assert platform.gradebook() == {"s-1": 4.0}
        assert b"0 scores differ" in teacher.get(
            f"/lti/assignments/{assignment_id}/reconcile").data

    def test_reconcile_needs_the_courses_instructor(self, app: Flask, platform: Platform
                                                    ) -> None:
        """A student can't see the reconciliation page."""
        assignment_id = set_up(app, platform)
        student = app.test_client()
        launch(student, platform, "s-1")
        assert student.get(f"/lti/assignments/{assignment_id}/reconcile").status_code == 404

    def test_roster_sync_enrolls_who_never_launched(self, app: Flask, platform: Platform
                                                    ) -> None:
        """NRPS members are enrolled, so the grade table lists who has not submitted."""
        assignment_id = set_up(app, platform)
        platform.add_user("s-2", "Nia Never", "nia@uni.example")
        with app.app_context():
            course_id = db.session.get_one(Assignment, assignment_id).course_id
            context = db.session.scalars(sa.select(services.LtiContext)).one()
            assert lms_tasks.sync_roster(context.id).startswith("3 members, 1 newly")
            students = db.session.scalars(
                sa.select(User.email).join(Enrollment, Enrollment.user_id == User.id)
                .where(Enrollment.course_id == course_id, Enrollment.role == "student")
            ).all()
        assert sorted(students) == ["nia@uni.example", "sam@uni.example"]
        with app.app_context():
            from grader.domain.gradebook import gradebook

            book = gradebook(db.session, db.session.get_one(Assignment, assignment_id))
            assert {g.student.email: g.score for g in book}["nia@uni.example"] is None


    def test_sync_button_returns_to_the_roster_not_the_referer(
        self, app: Flask, platform: Platform
    ) -> None:
        """The sync button's answer goes to the course's roster page, whatever Referer came."""
        platform.add_user("t-1", "Tess Teacher", "tess@uni.example", instructor=True)
        teacher = app.test_client()
        first = launch(teacher, platform, "t-1")
        if first.headers.get("Location", "").startswith("/lti/landing/"):
            first = teacher.get(first.headers["Location"])
        teacher.post(first.headers["Location"], data={"choice": "plugin:softmax-backprop"})
        with app.app_context():
            course_id = db.session.scalars(sa.select(services.LtiContext.course_id)).one()
        answer = teacher.post(f"/lti/courses/{course_id}/sync-roster",
                              headers={"Referer": "https://evil.example/phish"})
        assert answer.status_code == 303
        assert answer.headers["Location"].endswith(f"/teach/courses/{course_id}/roster")


class TestKeysAndDeepLinking:
    def test_rotation_keeps_the_old_key_published(self, app: Flask, platform: Platform,
                                                  client: Any) -> None:
        """After a rotation both keys are published; the new one signs what the platform
        accepts."""
        assignment_id = set_up(app, platform)
        old = client.get("/lti/jwks").json["keys"][0]["kid"]
        with app.app_context():
            new = rotate(db.session, timedelta(days=1)).kid
            db.session.commit()
        forget_tokens()  # the next token request signs with the new key
        kids = {k["kid"] for k in client.get("/lti/jwks").json["keys"]}
        assert kids == {old, new}
        grade(app, submit(app, assignment_id, "sam@uni.example"), 1.0, [])
        assert deliver_all(app, 120) == ["delivered version 1"]
        with app.app_context():
            gone = rotate(db.session, timedelta(days=0)).kid
            db.session.commit()
        # The first key is still inside its day of overlap; the second expired at once.
        assert {k["kid"] for k in client.get("/lti/jwks").json["keys"]} == {old, gone}

    def test_deep_linking_returns_a_signed_link(self, app: Flask, platform: Platform) -> None:
        """An instructor's deep linking launch ends with a signed resource link naming the
        chosen assignment and its line item, which later launches open directly."""
        platform.add_user("t-1", "Tess", "tess@uni.example", instructor=True)
        teacher = app.test_client()
        response = launch(teacher, platform, "t-1", **{
            LTI + "message_type": "LtiDeepLinkingRequest", LTI + "resource_link": None,
            "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
                "deep_link_return_url": f"{platform.url}/deep_link_return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["window"], "data": "abc"},
        })
        assert response.status_code == 303
        page = teacher.post(response.headers["Location"],
                            data={"choice": "plugin:softmax-backprop"})
        assert page.status_code == 200
        token = page.get_data(as_text=True).split('name="JWT" value="')[1].split('"')[0]
        keys = teacher.get("/lti/jwks").json["keys"]
        claims = jwt.decode(token, jwt.PyJWK(keys[0]).key, algorithms=["RS256"],
                            audience=platform.issuer)
        (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
        assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
        assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "abc"
        assignment_id = int(item["custom"]["autograde_assignment_id"])
        assert item["lineItem"]["scoreMaximum"] > 0
        again = launch(teacher, platform, "t-1", **{
            LTI + "custom": {"autograde_assignment_id": str(assignment_id)}})
        assert again.status_code == 303
        assert f"/{assignment_id}" in again.headers["Location"]


@pytest.mark.parametrize("teaching", [True, False])
def test_cli_register_and_urls(app: Flask, app_config: dict[str, Any], teaching: bool,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`autograde lti register` adds a platform and deployments; `lti urls` prints ours."""
    from click.testing import CliRunner

    from grader.cli import main

    monkeypatch.setenv("AUTOGRADE_DATABASE_URL", app_config["DATABASE_URL"])
    runner = CliRunner()
    args = ["lti", "register", "--issuer", "https://canvas.instructure.com",
            "--client-id", "10000000000001", "--auth-login-url",
            "https://sso.canvaslms.com/api/lti/authorize_redirect",
            "--token-url", "https://sso.canvaslms.com/login/oauth2/token",
            "--keyset-url", "https://sso.canvaslms.com/api/lti/security/jwks",
            "--deployment-id", "1:abc", "--deployment-id", "2:def"]
    if teaching:
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "deployments 1:abc, 2:def" in result.output
        listed = runner.invoke(main, ["lti", "platforms"])
        assert "https://canvas.instructure.com\t10000000000001" in listed.output
    else:
        result = runner.invoke(main, ["lti", "urls", "--base", "https://grader.example.edu/"])
        assert "https://grader.example.edu/lti/jwks" in result.output
