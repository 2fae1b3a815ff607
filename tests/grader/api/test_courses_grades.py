"""Roster upserts, grade books (JSON and Canvas CSV), pagination, regrades, OpenAPI."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient

from grader.domain.runs import claim_run, record_result
from grader.engine.result import GradeResult, PartResult, SubmissionStatus
from grader.extensions import db
from grader.models import Assignment, GradingRun, Submission, utcnow
from tests.conftest import World, bearer
from tests.grader.api.test_submissions import upload


def finish(app: Flask, submission_id: int, score: float,
           status: SubmissionStatus = "graded") -> None:
    """Grade a submission's pending run directly, as a worker would."""
    with app.app_context():
        runs = db.session.get_one(Submission, submission_id).runs
        run = [r for r in runs if r.status == "queued"][-1]
        token = claim_run(db.session, run.id, "test", 30)
        assert token
        record_result(
            db.session,
            run.id,
            token,
            GradeResult(
                assignment="softmax-backprop", seed=1, score=score, max_score=90.0,
                status=status, feedback="",
                parts=[PartResult(name="softmax", score=min(score, 10.0), max_score=10.0,
                                  status="passed", diagnoses=["ok"], feedback="fine",
                                  cases_passed=1, cases_total=1)],
            ),
        )
        db.session.commit()


class TestRoster:
    def test_upsert_creates_updates_enrolls(self, client: FlaskClient, world: World) -> None:
        """New students are created and enrolled; known ones are updated, by LMS id first."""
        url = f"/api/v1/courses/{world.course_id}/roster"
        body = {
            "students": [
                {"email": "Cy@Example.com", "name": "Cy", "lms_user_id": "2001"},
                {"email": "ada.new@example.com", "name": "Ada L.", "lms_user_id": "1001"},
            ]
        }
        response = client.put(url, json=body, headers=bearer(world.instructor_token))
        assert response.status_code == 200, response.json
        doc = response.json
        assert (doc["created"], doc["updated"], doc["enrolled"]) == (1, 1, 1)
        emails = {s["email"] for s in doc["students"]}
        assert emails == {"cy@example.com", "ada.new@example.com"}
        again = client.put(url, json=body, headers=bearer(world.instructor_token)).json
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
        sub = upload(client, world, student="2001")
        assert sub.status_code == 202

    def test_rejects_bad_roster_whole(self, app: Flask, client: FlaskClient, world: World) -> None:
        """A roster with one bad entry changes nothing."""
        body = {"students": [{"email": "new@example.com"}, {"email": "not-an-email"}]}
        response = client.put(
            f"/api/v1/courses/{world.course_id}/roster",
            json=body,
            headers=bearer(world.instructor_token),
        )
        assert response.status_code == 400
        assert "invalid email" in response.json["error"]["message"]
        assert upload(client, world, student="new@example.com").status_code == 422

    def test_instructor_email_conflict(self, client: FlaskClient, world: World) -> None:
        """An instructor's email can't be enrolled as a student."""
        response = client.put(
            f"/api/v1/courses/{world.course_id}/roster",
            json={"students": [{"email": "teacher@example.com"}]},
            headers=bearer(world.instructor_token),
        )
        assert response.status_code == 409

    def test_students_cannot_write_roster(self, client: FlaskClient, world: World) -> None:
        """A student token lacks roster:write."""
        response = client.put(
            f"/api/v1/courses/{world.course_id}/roster",
            json={"students": []},
            headers=bearer(world.student_token),
        )
        assert response.status_code == 403


class TestGrades:
    def test_best_attempt_counts_with_late_penalty(
        self, app: Flask, client: FlaskClient, world: World
    ) -> None:
        """The grade book counts the best attempt; late ones lose the per-day penalty."""
        with app.app_context():
            a = db.session.get_one(Assignment, world.assignment_id)
            a.due_at = utcnow() - timedelta(hours=1)
            a.late_penalty_per_day = 10
            db.session.commit()
        first = upload(client, world).json["id"]
        second = upload(client, world).json["id"]
        finish(app, first, 50.0)
        finish(app, second, 90.0)
        doc = client.get(
            f"/api/v1/assignments/{world.assignment_id}/grades",
            headers=bearer(world.instructor_token),
        ).json
        by_email = {g["student"]["email"]: g for g in doc["items"]}
        assert by_email["ada@example.com"]["score"] == pytest.approx(81.0)
        assert by_email["ada@example.com"]["late"] is True
        assert by_email["ada@example.com"]["attempts"] == 2
        assert by_email["bob@example.com"]["score"] is None

    def test_not_gradable_is_free(self, app: Flask, client: FlaskClient, world: World) -> None:
        """A not-gradable upload doesn't use up an attempt."""
        with app.app_context():
            db.session.get_one(Assignment, world.assignment_id).attempt_limit = 1
            db.session.commit()
        sid = upload(client, world).json["id"]
        finish(app, sid, 0.0, status="not_gradable")
        assert upload(client, world).status_code == 202

    def test_canvas_csv(self, app: Flask, client: FlaskClient, world: World) -> None:
        """format=csv is a Canvas gradebook import file with a Points Possible row."""
        finish(app, upload(client, world).json["id"], 42.5)
        response = client.get(
            f"/api/v1/assignments/{world.assignment_id}/grades?format=csv",
            headers=bearer(world.instructor_token),
        )
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
        assert rows[0][5] == f"Softmax and backprop ({world.assignment_id})" or rows[0][5].endswith(
            f"({world.assignment_id})"
        )
        assert rows[1][0] == "Points Possible" and float(rows[1][5]) == 90.0
        ada = next(r for r in rows if r[3] == "ada@example.com")
        assert ada[1] == "1001" and ada[5] == "42.5"
        bob = next(r for r in rows if r[3] == "bob@example.com")
        assert bob[5] == ""

    def test_pagination_next_link(self, client: FlaskClient, world: World) -> None:
        """Lists page with limit/offset and a next link that ends on the last page."""
        url = f"/api/v1/assignments/{world.assignment_id}/grades?limit=1"
        first = client.get(url, headers=bearer(world.instructor_token)).json
        assert len(first["items"]) == 1 and first["next"]
        second = client.get(first["next"], headers=bearer(world.instructor_token)).json
        assert len(second["items"]) == 1 and second["next"] is None
        assert first["items"][0]["student"] != second["items"][0]["student"]
        bad = client.get(url.replace("limit=1", "limit=0"), headers=bearer(world.instructor_token))
        assert bad.status_code == 400


class TestRegrade:
    def test_regrade_reports_before_and_after(
        self, app: Flask, client: FlaskClient, world: World
    ) -> None:
        """A regrade adds runs, keeps old results, and reports before -> after per student."""
        sid = upload(client, world).json["id"]
        finish(app, sid, 50.0)
        response = client.post(
            f"/api/v1/assignments/{world.assignment_id}/regrades",
            json={"reason": "fixed a case"},
            headers=bearer(world.instructor_token),
        )
        assert response.status_code == 202 and response.json["runs"] == 1
        url = response.json["url"]
        pending = client.get(url, headers=bearer(world.instructor_token)).json
        assert pending["runs_pending"] == 1 and pending["done"] is False
        finish(app, sid, 80.0)
        report = client.get(url, headers=bearer(world.instructor_token)).json
        assert report["done"] is True
        (line,) = report["students"]
        assert (line["before"], line["after"], line["changed"]) == (50.0, 80.0, True)
        with app.app_context():
            assert len(db.session.get_one(Submission, sid).runs) == 2
            assert db.session.get_one(Submission, sid).score == 80.0

    def test_preview_changes_nothing(self, app: Flask, client: FlaskClient, world: World) -> None:
        """A preview regrade reports the change but the counted score stays."""
        sid = upload(client, world).json["id"]
        finish(app, sid, 50.0)
        url = client.post(
            f"/api/v1/assignments/{world.assignment_id}/regrades",
            json={"preview": True},
            headers=bearer(world.instructor_token),
        ).json["url"]
        finish(app, sid, 80.0)
        report = client.get(url, headers=bearer(world.instructor_token)).json
        assert report["students"][0]["after"] == 80.0
        with app.app_context():
            sub = db.session.get_one(Submission, sid)
            assert sub.score == 50.0
            assert db.session.get_one(GradingRun, sub.current_run_id).kind == "initial"


def _schema_for(spec: dict[str, Any], path: str, method: str, status: str) -> Any:
    content = spec["paths"][path][method]["responses"][status]["content"]
    return {**content["application/json"]["schema"], "components": spec["components"]}


class TestOpenAPI:
    def test_every_route_is_documented(self, app: Flask, client: FlaskClient) -> None:
        """Each /api/v1 rule and method in the url_map is in the document, and nothing more."""
        spec = client.get("/api/v1/openapi.json").json
        routes = set()
        for rule in app.url_map.iter_rules():
            if rule.rule.startswith("/api/v1"):
                path = rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace(">", "}")
                for method in rule.methods - {"HEAD", "OPTIONS"}:
                    routes.add((path, method.lower()))
        documented = {(p, m) for p, ops in spec["paths"].items() for m in ops}
        assert routes == documented

    def test_responses_match_schemas(self, app: Flask, client: FlaskClient, world: World) -> None:
        """Real responses validate against the documented schemas, errors included."""
        spec = client.get("/api/v1/openapi.json").json
        sid = upload(client, world).json["id"]
        finish(app, sid, 60.0)
        h = bearer(world.instructor_token)
        aid = world.assignment_id
        checks = [
            ("/assignments", "get", "200", client.get("/api/v1/assignments", headers=h)),
            (
                "/assignments/{assignment_id}",
                "get",
                "200",
                client.get(f"/api/v1/assignments/{aid}", headers=h),
            ),
            (
                "/submissions/{submission_id}",
                "get",
                "200",
                client.get(f"/api/v1/submissions/{sid}", headers=h),
            ),
            (
                "/assignments/{assignment_id}/submissions",
                "get",
                "200",
                client.get(f"/api/v1/assignments/{aid}/submissions", headers=h),
            ),
            (
                "/assignments/{assignment_id}/grades",
                "get",
                "200",
                client.get(f"/api/v1/assignments/{aid}/grades", headers=h),
            ),
            ("/assignments/{assignment_id}/submissions", "post", "202", upload(client, world)),
            (
                "/assignments/{assignment_id}/submissions",
                "post",
                "422",
                upload(client, world, student="x@example.com"),
            ),
            (
                "/submissions/{submission_id}",
                "get",
                "404",
                client.get("/api/v1/submissions/999", headers=h),
            ),
            ("/assignments", "get", "401", client.get("/api/v1/assignments")),
            ("/health", "get", "200", client.get("/api/v1/health")),
        ]
        for path, method, status, response in checks:
            assert str(response.status_code) == status, (path, response.json)
            schema = _schema_for(spec, path, method, status)
            errors = [
                e.message for e in jsonschema_rs.validator_for(schema).iter_errors(response.json)
            ]
            assert errors == [], (path, method, status, errors)
