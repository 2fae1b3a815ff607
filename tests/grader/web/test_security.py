"""Safety of the pages: who may see what (through every route), CSRF, cookies, headers."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask

from grader import create_app
from grader.domain.regrades import start_regrade
from grader.extensions import db
from grader.models import Assignment, Course, Regrade, Submission, User
from grader.models.accommodations import AuditEvent
from grader.models.logins import PasswordLink
from tests.grader.web.conftest import ADA_MARKER, PASSWORD, Site, login

PAGE_BLUEPRINTS = ("auth.", "student.", "instructor.")
OBJECT_PARAMS = ("submission_id", "assignment_id", "course_id", "student_id", "regrade_id")


def _page_rules() -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) of every page route, read from the real url_map."""
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "ENQUEUE": False})
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(PAGE_BLUEPRINTS):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, rule.rule, method))
    app.extensions["db"].engine.dispose()
    return sorted(found)


RULES = _page_rules()


def _values(site: Site, regrade_id: int) -> dict[str, Any]:
    """Path values pointing at Ada's objects and her instructor's course."""
    return {"submission_id": site.ada_submission, "assignment_id": site.assignment,
            "course_id": site.course, "student_id": site.ada, "regrade_id": regrade_id,
            "token": "not-a-token"}


def _state(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        s = db.session
        return (s.query(Submission).count(), s.query(AuditEvent).count(),
                s.query(Regrade).count(), s.query(Course).count(),
                s.query(PasswordLink).count(), s.query(Assignment).count())


@pytest.mark.parametrize(("endpoint", "rule", "method"), RULES,
                         ids=[f"{m} {r}" for _, r, m in RULES])
def test_no_route_shows_or_changes_another_students_work(
    app: Flask, site: Site, endpoint: str, rule: str, method: str
) -> None:
    """Through every page route, Bob (same course), Eve (other course) and another course's
    instructor never see Ada's code, email or scores, and change nothing of hers."""
    with app.app_context():
        teacher = db.session.get_one(User, site.teacher)
        regrade, _ = start_regrade(db.session, db.session.get_one(Assignment, site.assignment),
                                   teacher, preview=True)
        db.session.commit()
        values = _values(site, regrade.id)
    path = rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    assert "<" not in path, f"no test value for a parameter of {rule}"
    before = _state(app)
    for email in ("bob@example.com", "eve@example.com", "other@example.com"):
        client = login(app.test_client(), email)
        form = {"file": (io.BytesIO(b"email\nx@example.com\n"), "r.csv"), "code": "x = 1\n",
                "action": "override", "score": "1", "comment": "c", "title": "t",
                "slug": "softmax-backprop", "password": "p" * 10, "confirm": "p" * 10,
                "email": email, "mode": "apply"}
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data=form, content_type="multipart/form-data")
        body = response.get_data(as_text=True)
        assert ADA_MARKER not in body, (email, path)
        assert "ada@example.com" not in body, (email, path)
        on_object = any(f"<int:{name}>" in rule for name in OBJECT_PARAMS)
        # Bob is a student of the course: its student pages are his, and show only his work.
        own = email == "bob@example.com" and endpoint.startswith("student.") \
            and "submission_id" not in rule
        if on_object and not own:
            assert response.status_code in (404, 302), (email, method, path)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], (email, path)
    after = _state(app)
    if endpoint == "student.upload":
        assert after[1:] == before[1:]  # Bob's own upload adds a submission, nothing else
    elif any(f"<int:{name}>" in rule for name in OBJECT_PARAMS):
        assert after == before, (endpoint, method)


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_form_without_token_is_refused(self, app: Flask, site: Site) -> None:
        """A POST without the CSRF token is refused, even with a valid session."""
        client = app.test_client()
        assert client.post("/login", data={"email": "ada@example.com",
                                           "password": PASSWORD}).status_code == 400

    def test_form_with_token_works(self, app: Flask, site: Site) -> None:
        """The token rendered into the login form lets the same form through."""
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post("/login", data={"email": "ada@example.com", "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302

    def test_api_is_exempt(self, app: Flask, world: Any) -> None:
        """The bearer-token API takes POSTs without a CSRF token."""
        response = app.test_client().post(
            f"/api/v1/assignments/{world.assignment_id}/submissions",
            data={"file": (io.BytesIO(b"x = 1\n"), "a.py")},
            headers={"Authorization": f"Bearer {world.student_token}"},
            content_type="multipart/form-data")
        assert response.status_code == 202


class TestHeadersAndCookies:
    def test_security_headers(self, app: Flask, site: Site) -> None:
        """Every page forbids inline script, framing and MIME sniffing."""
        response = app.test_client().get("/login")
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"

    def test_no_inline_script_or_style_in_pages(self, ada: Any, teacher: Any,
                                                site: Site) -> None:
        """Pages carry no inline <script> bodies or style attributes (the CSP would block
        them)."""
        pages = [ada.get("/"), ada.get(f"/submissions/{site.ada_submission}"),
                 teacher.get(f"/teach/assignments/{site.assignment}/analytics"),
                 teacher.get(f"/submissions/{site.ada_submission}")]
        for page in pages:
            body = page.get_data(as_text=True)
            assert "<script>" not in body and " style=" not in body
            assert "<script src=" in body

    def test_session_cookie_flags(self, app: Flask, site: Site) -> None:
        """The session cookie is HttpOnly and SameSite=Lax."""
        response = app.test_client().post("/login", data={"email": "ada@example.com",
                                                           "password": PASSWORD})
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

    def test_secure_cookie_when_configured(self, app_config: dict[str, Any]) -> None:
        """AUTOGRADE_SESSION_COOKIE_SECURE makes the cookie Secure and adds HSTS."""
        app = create_app({**app_config, "SESSION_COOKIE_SECURE": True})
        assert app.config["SESSION_COOKIE_SECURE"] is True
        response = app.test_client().get("/login")
        assert "Strict-Transport-Security" in response.headers
        app.extensions["db"].engine.dispose()

    def test_weak_sandbox_banner(self, app: Flask, ada: Any, site: Site) -> None:
        """A result graded with reduced isolation puts a banner on every page."""
        assert b"Reduced isolation" not in ada.get("/").data
        with app.app_context():
            run = db.session.get_one(Submission, site.ada_submission).current_run
            assert run is not None
            run.sandbox_level = "reduced: no seccomp"
            db.session.commit()
        assert b"reduced: no seccomp" in ada.get("/").data
