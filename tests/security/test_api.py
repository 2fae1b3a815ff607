"""Attacks on the /api/v1 JSON API: other people's objects, tokens, scopes, uploads, errors."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask

from grader import create_app
from grader.domain.regrades import start_regrade
from grader.domain.tokens import revoke_token
from grader.extensions import db
from grader.models import ApiToken, Assignment, Enrollment, Regrade, Submission, User
from tests.grader.web.conftest import ADA_MARKER, Site
from tests.security.conftest import Tokens, bearer


def _api_rules() -> list[tuple[str, str]]:
    """(rule, method) of every API route, read from the real url_map."""
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "ENQUEUE": False})
    found = [(rule.rule, method) for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("api.")
             for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]
    app.extensions["db"].engine.dispose()
    return sorted(found)


API_RULES = _api_rules()


def _state(app: Flask) -> tuple[Any, ...]:
    with app.app_context():
        s = db.session
        ada = s.query(User).filter_by(email="ada@example.com").one()
        return (s.query(Regrade).count(), s.query(Enrollment).count(), ada.name, ada.email,
                s.query(Submission).filter_by(student_id=ada.id).count())


class TestApiAuthorization:
    @pytest.mark.parametrize(("rule", "method"), API_RULES,
                             ids=[f"{m} {r}" for r, m in API_RULES])
    def test_no_api_route_shows_or_changes_another_students_work(
        self, app: Flask, site: Site, tokens: Tokens, rule: str, method: str
    ) -> None:
        """Through every API route, Bob's (same course), Eve's (other course) and another
        course's instructor's tokens never see Ada's code, email or scores, nor change them."""
        with app.app_context():
            teacher = db.session.get_one(User, site.teacher)
            regrade, _ = start_regrade(db.session,
                                       db.session.get_one(Assignment, site.assignment),
                                       teacher, preview=True)
            db.session.commit()
            regrade_id = regrade.id
        values = {"submission_id": site.ada_submission, "assignment_id": site.assignment,
                  "course_id": site.course, "regrade_id": regrade_id}
        path = rule
        for name, value in values.items():
            path = path.replace(f"<int:{name}>", str(value))
        assert "<" not in path, f"no test value for a parameter of {rule}"
        before = _state(app)
        client = app.test_client()
        for who, token in (("bob", tokens.bob), ("eve", tokens.eve),
                           ("other", tokens.other_teacher)):
            headers = bearer(token)
            if method == "GET":
                response = client.get(path + "?student=ada@example.com", headers=headers)
            elif path.endswith("/submissions"):
                response = client.post(path, headers=headers, content_type="multipart/form-data",
                                       data={"file": (io.BytesIO(b"x = 1\n"), "a.py"),
                                             "student": "ada@example.com"})
            else:
                body = {"students": [{"email": "ada@example.com", "name": "Pwned"}],
                        "preview": False, "reason": "x"}
                response = client.open(path, method=method, json=body, headers=headers)
            text = response.get_data(as_text=True)
            assert ADA_MARKER not in text, (who, method, path)
            assert "ada@example.com" not in text, (who, method, path)
            if "<int:" in rule:
                # Bob may read the assignment of his own course; nothing else of Ada's.
                own = who == "bob" and method == "GET" and rule.count("<") == 1 \
                    and "assignment_id" in rule
                if not own:
                    assert response.status_code in (403, 404), (who, method, path, text)
            if who != "bob":
                assert response.status_code not in (401, 500), (who, method, path)
        assert _state(app) == before

    def test_another_courses_instructor_gets_404_not_403(
        self, app: Flask, site: Site, tokens: Tokens
    ) -> None:
        """An instructor of another course can't tell an existing assignment from a missing
        one: both answer 404 (no probing of ids)."""
        client = app.test_client()
        headers = bearer(tokens.other_teacher)
        for path in (f"/api/v1/assignments/{site.assignment}/grades",
                     f"/api/v1/assignments/{site.assignment}/grades?format=csv"):
            existing = client.get(path, headers=headers)
            missing = client.get(path.replace(str(site.assignment), "999999"), headers=headers)
            assert existing.status_code == missing.status_code == 404
        existing = client.put(f"/api/v1/courses/{site.course}/roster", json={"students": []},
                              headers=headers)
        missing = client.put("/api/v1/courses/999999/roster", json={"students": []},
                             headers=headers)
        assert existing.status_code == missing.status_code == 404

    def test_student_of_the_course_is_forbidden_grades(
        self, app: Flask, site: Site, tokens: Tokens
    ) -> None:
        """A student token on its own course's grade book gets 403 naming the missing scope."""
        response = app.test_client().get(f"/api/v1/assignments/{site.assignment}/grades",
                                         headers=bearer(tokens.bob))
        assert response.status_code == 403
        assert "grades:read" in response.json["error"]["message"]

    def test_student_cannot_submit_for_another_student(
        self, app: Flask, site: Site, tokens: Tokens
    ) -> None:
        """A student naming a classmate in 'student' is refused; nothing is stored."""
        before = _state(app)
        response = app.test_client().post(
            f"/api/v1/assignments/{site.assignment}/submissions", headers=bearer(tokens.bob),
            data={"file": (io.BytesIO(b"x = 1\n"), "a.py"), "student": "ada@example.com"},
            content_type="multipart/form-data")
        assert response.status_code == 403
        assert _state(app) == before

    def test_student_list_ignores_student_filter(
        self, app: Flask, site: Site, tokens: Tokens
    ) -> None:
        """?student= in a student's submission list still lists only their own."""
        response = app.test_client().get(
            f"/api/v1/assignments/{site.assignment}/submissions?student=ada@example.com",
            headers=bearer(tokens.bob))
        assert response.status_code == 200
        assert response.json["items"] == []

    def test_revoked_token_is_refused(self, app: Flask, site: Site, tokens: Tokens) -> None:
        """A revoked token answers 401, even for its own submission."""
        with app.app_context():
            row = db.session.query(ApiToken).join(User).filter(
                User.email == "ada@example.com").one()
            revoke_token(db.session, row.id)
            db.session.commit()
        response = app.test_client().get(f"/api/v1/submissions/{site.ada_submission}",
                                         headers=bearer(tokens.ada))
        assert response.status_code == 401
        assert ADA_MARKER not in response.get_data(as_text=True)

    @pytest.mark.parametrize("header", [
        "", "Bearer", "Bearer ", "Basic YWRhOnB3", "Bearer ag_not-a-real-token",
        "Bearer ' OR 1=1 --", "Token x",
    ])
    def test_bad_authorization_headers(self, app: Flask, site: Site, header: str) -> None:
        """Missing, malformed, unknown or injected tokens all answer 401 in the error shape."""
        response = app.test_client().get(f"/api/v1/submissions/{site.ada_submission}",
                                         headers={"Authorization": header} if header else {})
        assert response.status_code == 401
        assert set(response.json) == {"error"}

    def test_missing_scope_is_refused(self, app: Flask, site: Site) -> None:
        """A token without results:read can't read even its owner's submission."""
        from grader.domain.tokens import create_token

        with app.app_context():
            ada = db.session.get_one(User, site.ada)
            token, _ = create_token(db.session, ada, ["submissions:write"])
            db.session.commit()
        response = app.test_client().get(f"/api/v1/submissions/{site.ada_submission}",
                                         headers=bearer(token))
        assert response.status_code == 403

    def test_student_token_cannot_get_instructor_scopes(self, app: Flask, site: Site) -> None:
        """A student's token can't be given roster, grades or regrade scopes."""
        from grader.domain.tokens import create_token
        from grader.exceptions import InvalidInput

        with app.app_context():
            ada = db.session.get_one(User, site.ada)
            for scope in ("roster:write", "grades:read", "regrades:write"):
                with pytest.raises(InvalidInput):
                    create_token(db.session, ada, [scope])


class TestApiUploads:
    def _post(self, app: Flask, site: Site, token: str, data: bytes,
              filename: str = "a.py") -> Any:
        return app.test_client().post(
            f"/api/v1/assignments/{site.assignment}/submissions", headers=bearer(token),
            data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")

    def test_oversized_body_is_413_json(self, app: Flask, site: Site, tokens: Tokens) -> None:
        """A body over the cap answers 413 in the API's error shape; nothing is stored."""
        before = _state(app)
        body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.py"\r\n\r\n'
                + b"#" * (2 * 1024 * 1024) + b"\r\n--b--\r\n")
        response = app.test_client().post(
            f"/api/v1/assignments/{site.assignment}/submissions", data=body,
            content_type="multipart/form-data; boundary=b", headers=bearer(tokens.ada))
        assert response.status_code == 413
        assert response.json["error"]["code"] == "submission_too_large"
        assert _state(app) == before

    @pytest.mark.parametrize(("data", "filename"), [
        (b"x = '\xff\xfe'\n", "a.py"),
        (b"x = 1\x00\n", "a.py"),
        (b"x = 1\n", "a.exe"),
        (b"   \n", "a.py"),
    ], ids=["not-utf8", "nul-byte", "not-py", "empty"])
    def test_bad_files_are_refused(self, app: Flask, site: Site, tokens: Tokens, data: bytes,
                                   filename: str) -> None:
        """Non-UTF-8, NUL bytes, other extensions and empty files answer 400; nothing stored."""
        before = _state(app)
        response = self._post(app, site, tokens.ada, data, filename)
        assert response.status_code == 400
        assert response.json["error"]["code"] == "invalid_submission"
        assert _state(app) == before

    @pytest.mark.parametrize("filename", [
        b"../../etc/cron.d/x.py", b"..\\..\\windows\\x.py", b"/abs/path/x.py",
        b"red\x1b[31m\tbell\x07\x7f.py", b"a\\\"b.py",
    ])
    def test_filename_is_stored_without_folders_or_control_characters(
        self, app: Flask, site: Site, tokens: Tokens, filename: bytes
    ) -> None:
        """A filename with folders or control characters (as a script may send it) is stored
        as its last part, printable only."""
        body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + filename
                + b'"\r\n\r\nx = 1\n\r\n--b--\r\n')
        response = app.test_client().post(
            f"/api/v1/assignments/{site.assignment}/submissions", data=body,
            content_type="multipart/form-data; boundary=b", headers=bearer(tokens.ada))
        assert response.status_code == 202, response.json
        stored = app.test_client().get(response.json["url"], headers=bearer(tokens.ada))
        name = stored.json["filename"]
        assert "/" not in name and "\\" not in name and name.isprintable()
        assert name.endswith(".py")

    def test_api_uploads_are_not_rate_limited_but_attempts_are(
        self, app: Flask, site: Site, tokens: Tokens
    ) -> None:
        """Many API uploads in a row are accepted (no per-student rate limit by design), and
        the assignment's attempt limit still stops them."""
        with app.app_context():
            db.session.get_one(Assignment, site.assignment).attempt_limit = 4
            db.session.commit()
        codes = [self._post(app, site, tokens.bob, b"x = 1\n").status_code for _ in range(6)]
        assert codes == [202] * 4 + [409] * 2


class TestApiErrors:
    def test_errors_echo_no_internals(self, app: Flask, site: Site, tokens: Tokens) -> None:
        """Unknown routes, methods, ids and bad JSON answer the error shape with no trace,
        SQL or configuration in it."""
        client = app.test_client()
        headers = bearer(tokens.teacher)
        responses = [
            client.get("/api/v1/nope", headers=headers),
            client.delete(f"/api/v1/submissions/{site.ada_submission}", headers=headers),
            client.get("/api/v1/submissions/99999999999999999999", headers=headers),
            client.get(f"/api/v1/assignments/{site.assignment}/submissions?limit=x",
                       headers=headers),
            client.put(f"/api/v1/courses/{site.course}/roster", data="{not json",
                       content_type="application/json", headers=headers),
            client.get(f"/api/v1/assignments/{site.assignment}/grades?format=<script>",
                       headers=headers),
        ]
        for response in responses:
            assert 400 <= response.status_code < 500
            assert set(response.json) == {"error"}
            text = response.get_data(as_text=True)
            for leak in ("Traceback", "SELECT", "sqlalchemy", "SECRET", "test", "<script>"):
                assert leak not in text, (leak, text)

    def test_student_errors_name_no_other_student(self, app: Flask, site: Site,
                                                  tokens: Tokens) -> None:
        """A student probing another student's submission id gets the same 404 as for a
        missing id."""
        client = app.test_client()
        theirs = client.get(f"/api/v1/submissions/{site.ada_submission}",
                            headers=bearer(tokens.bob))
        missing = client.get("/api/v1/submissions/999999", headers=bearer(tokens.bob))
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json["error"]["message"].replace(str(site.ada_submission), "N") == \
            missing.json["error"]["message"].replace("999999", "N")
