"""POST and GET of submissions through /api/v1."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from grader.extensions import db
from grader.models import GradingRun, Submission
from tests.conftest import World, bearer

CODE = b"import numpy as np\n\ndef softmax(z):\n    return z\n"


def upload(
    client: FlaskClient,
    world: World,
    data: bytes = CODE,
    *,
    name: str = "hw.py",
    student: str | None = "ada@example.com",
    token: str | None = None,
):  # type: ignore[no-untyped-def]
    form: dict[str, object] = {"file": (io.BytesIO(data), name)}
    if student is not None:
        form["student"] = student
    return client.post(
        f"/api/v1/assignments/{world.assignment_id}/submissions",
        data=form,
        headers=bearer(token or world.instructor_token),
        content_type="multipart/form-data",
    )


def count_rows(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) or 0,
            db.session.scalar(sa.select(sa.func.count()).select_from(GradingRun)) or 0,
        )


class TestUpload:
    def test_instructor_uploads_for_student(self, client: FlaskClient, world: World) -> None:
        """An upload answers 202 with the id, url and queued status, and stores code+run."""
        response = upload(client, world)
        assert response.status_code == 202, response.json
        body = response.json
        assert body["status"] == "queued"
        assert body["url"].endswith(f"/api/v1/submissions/{body['id']}")
        assert response.headers["Location"] == body["url"]
        detail = client.get(body["url"], headers=bearer(world.instructor_token)).json
        assert detail["status"] == "queued"
        assert detail["student"]["email"] == "ada@example.com"
        assert detail["attempt"] is None and detail["late"] is False
        assert len(detail["sha256"]) == 64

    def test_student_by_lms_id(self, client: FlaskClient, world: World) -> None:
        """The student may be named by LMS user id."""
        response = upload(client, world, student="1002")
        assert response.status_code == 202
        detail = client.get(response.json["url"], headers=bearer(world.instructor_token)).json
        assert detail["student"]["email"] == "bob@example.com"

    def test_student_submits_for_self(self, client: FlaskClient, world: World) -> None:
        """A student's own token submits for them without naming anyone."""
        response = upload(client, world, student=None, token=world.student_token)
        assert response.status_code == 202

    def test_student_cannot_submit_for_others(self, client: FlaskClient, world: World) -> None:
        """A student's token can't submit for another student."""
        response = upload(client, world, student="bob@example.com", token=world.student_token)
        assert response.status_code == 403
        assert response.json["error"]["code"] == "forbidden"


class TestUploadRejects:
    def test_not_python(self, app: Flask, client: FlaskClient, world: World) -> None:
        """A file not named .py is refused and nothing is stored."""
        response = upload(client, world, name="hw.txt")
        assert response.status_code == 400
        assert response.json["error"]["code"] == "invalid_submission"
        assert count_rows(app) == (0, 0)

    def test_not_utf8(self, app: Flask, client: FlaskClient, world: World) -> None:
        """Bytes that aren't UTF-8 are refused with a clear message."""
        response = upload(client, world, data=b"x = '\xff\xfe'\n")
        assert response.status_code == 400
        assert "UTF-8" in response.json["error"]["message"]
        assert count_rows(app) == (0, 0)

    def test_too_large(self, app: Flask, client: FlaskClient, world: World) -> None:
        """A file over the cap is refused with 413."""
        response = upload(client, world, data=b"#" * (256 * 1024 + 1))
        assert response.status_code == 413
        assert response.json["error"]["code"] == "submission_too_large"
        assert count_rows(app) == (0, 0)

    def test_huge_body(self, app: Flask, client: FlaskClient, world: World) -> None:
        """A body far over the cap is cut off before it is read, in the same error shape."""
        body = (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.py"\r\n\r\n'
            + b"#" * (2 * 1024 * 1024)
            + b"\r\n--b--\r\n"
        )
        response = client.post(
            f"/api/v1/assignments/{world.assignment_id}/submissions",
            data=body,
            content_type="multipart/form-data; boundary=b",
            headers=bearer(world.instructor_token),
        )
        assert response.status_code == 413
        assert response.json["error"]["code"] == "submission_too_large"

    def test_empty(self, client: FlaskClient, world: World) -> None:
        """An empty file is refused."""
        assert upload(client, world, data=b"  \n").status_code == 400

    def test_missing_file(self, client: FlaskClient, world: World) -> None:
        """A request without the file field says which field is missing."""
        response = client.post(
            f"/api/v1/assignments/{world.assignment_id}/submissions",
            data={"student": "ada@example.com"},
            headers=bearer(world.instructor_token),
        )
        assert response.status_code == 400
        assert "'file'" in response.json["error"]["message"]

    def test_unknown_student(self, app: Flask, client: FlaskClient, world: World) -> None:
        """An unknown student is refused with 422 and nothing is stored."""
        response = upload(client, world, student="nobody@example.com")
        assert response.status_code == 422
        assert response.json["error"]["code"] == "not_enrolled"
        assert count_rows(app) == (0, 0)

    def test_instructor_must_name_student(self, client: FlaskClient, world: World) -> None:
        """An instructor's upload without a student is refused."""
        response = upload(client, world, student=None)
        assert response.status_code == 400

    def test_unknown_assignment(self, client: FlaskClient, world: World) -> None:
        """A missing assignment is a JSON 404."""
        response = client.post(
            "/api/v1/assignments/999/submissions",
            data={"file": (io.BytesIO(CODE), "a.py")},
            headers=bearer(world.instructor_token),
        )
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"

    def test_attempt_limit(self, app: Flask, client: FlaskClient, world: World) -> None:
        """Past the attempt limit the upload is refused with 409."""
        from grader.models import Assignment

        with app.app_context():
            db.session.get_one(Assignment, world.assignment_id).attempt_limit = 1
            db.session.commit()
        assert upload(client, world).status_code == 202
        response = upload(client, world)
        assert response.status_code == 409
        assert response.json["error"]["code"] == "attempt_limit_reached"
        assert count_rows(app) == (1, 1)

    def test_extra_attempts_count_through_the_api(
        self, app: Flask, client: FlaskClient, world: World
    ) -> None:
        """A student's extra attempts raise their limit for uploads through the API too."""
        from grader.domain.accommodations import grant_attempts
        from grader.models import Assignment, User

        with app.app_context():
            assignment = db.session.get_one(Assignment, world.assignment_id)
            assignment.attempt_limit = 1
            student = db.session.get_one(User, world.student_ids[0])
            grant_attempts(db.session, assignment, student, 1, None, "illness")
            db.session.commit()
        assert upload(client, world).status_code == 202
        assert upload(client, world).status_code == 202
        assert upload(client, world).status_code == 409


class TestRateLimit:
    def test_per_student_whatever_the_channel(
        self, app: Flask, client: FlaskClient, world: World
    ) -> None:
        """A service token submitting for many students is limited per student, and the
        student's own uploads count against the same limit; a refusal stores nothing."""
        app.config["SUBMISSIONS_PER_MINUTE"] = 2
        assert [upload(client, world).status_code for _ in range(2)] == [202, 202]
        refused = upload(client, world)
        assert refused.status_code == 429
        assert refused.json["error"]["code"] == "rate_limited"
        own = upload(client, world, student=None, token=world.student_token)
        assert own.status_code == 429
        assert count_rows(app) == (2, 2)
        assert upload(client, world, student="bob@example.com").status_code == 202


class TestAuth:
    def test_no_token(self, client: FlaskClient, world: World) -> None:
        """No Authorization header is a 401 in the error shape."""
        response = client.get("/api/v1/assignments")
        assert response.status_code == 401
        assert set(response.json["error"]) == {"code", "message"}

    def test_bad_token(self, client: FlaskClient, world: World) -> None:
        """An unknown token is a 401."""
        response = client.get("/api/v1/assignments", headers=bearer("ag_nope"))
        assert response.status_code == 401

    def test_revoked_token(self, app: Flask, client: FlaskClient, world: World) -> None:
        """A revoked token stops working."""
        from grader.domain.tokens import hash_token, revoke_token
        from grader.models import ApiToken

        with app.app_context():
            row = db.session.scalar(
                sa.select(ApiToken).where(ApiToken.token_hash == hash_token(world.student_token))
            )
            assert row is not None
            revoke_token(db.session, row.id)
            db.session.commit()
        response = client.get("/api/v1/assignments", headers=bearer(world.student_token))
        assert response.status_code == 401

    def test_expired_token(self, app: Flask, client: FlaskClient, world: World) -> None:
        """A token past its expiry stops working, with a message saying so."""
        from datetime import timedelta

        from grader.domain.tokens import create_token
        from grader.models import User, utcnow

        with app.app_context():
            teacher = db.session.get_one(User, world.instructor_id)
            token, row = create_token(db.session, teacher, expires_in=timedelta(days=1))
            db.session.commit()
            token_id = row.id
        assert client.get("/api/v1/assignments", headers=bearer(token)).status_code == 200
        with app.app_context():
            from grader.models import ApiToken

            db.session.get_one(ApiToken, token_id).expires_at = utcnow() - timedelta(seconds=1)
            db.session.commit()
        response = client.get("/api/v1/assignments", headers=bearer(token))
        assert response.status_code == 401 and "expired" in response.json["error"]["message"]

    def test_missing_scope(self, client: FlaskClient, world: World) -> None:
        """A student's token lacks grades:read: 403 naming the scope."""
        response = client.get(
            f"/api/v1/assignments/{world.assignment_id}/grades", headers=bearer(world.student_token)
        )
        assert response.status_code == 403
        assert "grades:read" in response.json["error"]["message"]

    def test_student_cannot_read_others(self, client: FlaskClient, world: World) -> None:
        """A student gets 404 for another student's submission."""
        sub = upload(client, world, student="bob@example.com").json
        response = client.get(sub["url"], headers=bearer(world.student_token))
        assert response.status_code == 404

    def test_unknown_api_path(self, client: FlaskClient) -> None:
        """Unknown API paths answer in the JSON error shape."""
        response = client.get("/api/v1/nope")
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
