"""Attacks on the student and instructor pages: stored XSS, CSV formulas, redirects, headers,
sessions, password guessing, account takeover through rosters, and error pages."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grader.domain.accommodations import override_score
from grader.domain.regrades import start_regrade
from grader.extensions import db
from grader.models import Assignment, Course, Enrollment, Submission, User
from grader.web import render, svg
from tests.grader.web.conftest import (
    ADA_MARKER,
    PASSWORD,
    Site,
    graded_result,
    login,
    record,
    submit_as,
)
from tests.grader.web.test_security import RULES
from tests.grader.web.test_security import _state as page_state
from tests.grader.web.test_security import _values as page_values
from tests.security.conftest import Tokens, bearer

#: Page routes on an object (the ones an attacker aims at).
PAGE_RULES = [r for r in RULES if "<int:" in r[1]]

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)><svg/onload=alert(2)>'
#: What must never appear in a page: any of the payload's tags, unescaped.
RAW = ("<script>alert", "<img src=x", "<svg/onload")


def _assert_escaped(body: str, where: str) -> None:
    for raw in RAW:
        assert raw not in body, (raw, where)


@pytest.fixture
def poisoned(app: Flask, site: Site) -> dict[str, int]:
    """Every student- or LMS-controlled text of the site set to an XSS payload."""
    with app.app_context():
        s = db.session
        ada = s.get_one(User, site.ada)
        bob = s.get_one(User, site.bob)
        teacher = s.get_one(User, site.teacher)
        assignment = s.get_one(Assignment, site.assignment)
        ada.name = XSS
        s.query(Enrollment).filter_by(user_id=bob.id).one().section = XSS
        assignment.title = XSS
        s.get_one(Course, site.course).title = XSS
        s.commit()
        sub = submit_as(ada, assignment, XSS)
        s.get_one(Submission, sub).filename = XSS + ".py"
        s.commit()
        result = graded_result()
        result.feedback = XSS
        result.output = XSS
        for part in result.parts:
            part.feedback, part.output, part.counterexample = XSS, XSS, XSS
        result.parts[1].diagnoses = [XSS]
        record(sub, result)
        broken = submit_as(bob, assignment, "x = 1\n")
        row = s.get_one(Submission, broken)
        row.status, row.current_run_id = "grader_error", row.runs[0].id
        row.runs[0].error = XSS
        override_score(s, assignment, bob, 1.0, teacher, XSS)
        regrade, _ = start_regrade(s, assignment, teacher, preview=True, reason=XSS)
        s.commit()
        return {"sub": sub, "broken": broken, "regrade": regrade.id}


class TestStoredXss:
    def test_instructor_pages_escape_student_text(
        self, teacher: FlaskClient, site: Site, poisoned: dict[str, int]
    ) -> None:
        """Names, sections, titles, code, filename, output, feedback, counterexamples,
        diagnoses, grader errors, audit comments and regrade reasons reach the instructor's
        pages escaped."""
        a, c = site.assignment, site.course
        paths = ["/teach/", f"/teach/courses/{c}", f"/teach/courses/{c}/roster",
                 f"/teach/assignments/{a}", f"/teach/assignments/{a}?q=script",
                 f"/teach/assignments/{a}/edit", f"/teach/assignments/{a}/analytics",
                 f"/teach/assignments/{a}/students/{site.ada}",
                 f"/teach/assignments/{a}/students/{site.bob}",
                 f"/submissions/{poisoned['sub']}", f"/submissions/{poisoned['sub']}/results",
                 f"/submissions/{poisoned['broken']}", f"/teach/regrades/{poisoned['regrade']}"]
        for path in paths:
            response = teacher.get(path)
            assert response.status_code == 200, path
            _assert_escaped(response.get_data(as_text=True), path)
        grades = teacher.get(f"/teach/assignments/{a}").get_data(as_text=True)
        assert "&lt;script&gt;" in grades  # shown, as text

    def test_student_pages_escape_student_text(
        self, ada: FlaskClient, site: Site, poisoned: dict[str, int]
    ) -> None:
        """The student's own pages show their output, feedback and titles escaped."""
        for path in ["/", f"/assignments/{site.assignment}", f"/submissions/{poisoned['sub']}",
                     f"/submissions/{poisoned['sub']}/results",
                     f"/assignments/{site.assignment}/handout"]:
            response = ada.get(path)
            assert response.status_code == 200, path
            _assert_escaped(response.get_data(as_text=True), path)

    def test_status_json_is_json(self, ada: FlaskClient, poisoned: dict[str, int]) -> None:
        """The polled status is served as JSON, never as HTML a browser would render."""
        response = ada.get(f"/submissions/{poisoned['sub']}/status.json")
        assert response.mimetype == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"

    def test_highlighted_code_is_escaped(self) -> None:
        """Syntax highlighting of a submission escapes its HTML."""
        _assert_escaped(str(render.python(XSS + "\n# " + XSS)), "pygments")

    def test_handout_markdown_escapes_raw_html_and_script_links(self, tmp_path: Path) -> None:
        """The handout renderer escapes raw HTML and drops javascript: links."""
        path = tmp_path / "handout.md"
        path.write_text(f"# T\n\n{XSS}\n\n[x](javascript:alert(1)) ![y](javascript:alert(2))\n"
                        f"<a href=\"javascript:alert(3)\">z</a>\n", encoding="utf-8")
        html = str(render.markdown_file(path))
        _assert_escaped(html, "markdown")
        assert 'href="javascript:' not in html and 'src="javascript:' not in html

    def test_svg_chart_labels_are_escaped(self) -> None:
        """Chart labels and titles built as SVG strings escape their text."""
        charts = [svg.hbars(XSS, [(XSS, 0.5, XSS)]),
                  svg.counts(XSS, [(XSS, 3), ("b", 1)], caption=XSS, headers=(XSS, XSS))]
        for chart in charts:
            _assert_escaped(str(chart), "svg")
            assert 'aria-label="&lt;script&gt;' in str(chart)

    def test_xss_in_roster_csv_is_escaped_on_the_roster(
        self, teacher: FlaskClient, site: Site
    ) -> None:
        """Names and sections imported from a roster CSV are escaped on the roster page, where
        invitation links are shown."""
        data = f'email,name,section\nmal@example.com,"{XSS.replace(chr(34), chr(34) * 2)}",x\n'
        response = teacher.post(f"/teach/courses/{site.course}/roster",
                                data={"file": (io.BytesIO(data.encode()), "r.csv")},
                                content_type="multipart/form-data")
        assert response.status_code == 200
        _assert_escaped(response.get_data(as_text=True), "roster import")


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+cmd|'/C calc'!A0", "@SUM(1+1)",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def _rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body)))


class TestCsvInjection:
    @pytest.fixture
    def formulas(self, app: Flask, site: Site) -> None:
        """Names, LMS ids, sections and the title starting like formulas."""
        with app.app_context():
            s = db.session
            ada, bob = s.get_one(User, site.ada), s.get_one(User, site.bob)
            ada.name, ada.lms_user_id = FORMULAS[0], FORMULAS[1]
            bob.name, bob.lms_user_id = FORMULAS[2], FORMULAS[3]
            s.query(Enrollment).filter_by(user_id=ada.id).one().section = FORMULAS[4]
            s.query(Enrollment).filter_by(user_id=bob.id).one().section = FORMULAS[5]
            s.get_one(Assignment, site.assignment).title = "=1+2"
            s.commit()

    def _check(self, rows: list[list[str]]) -> None:
        cells = [cell for row in rows for cell in row]
        for formula in FORMULAS + ["=1+2 (1)", "=1+2"]:
            assert formula not in cells, formula
        for cell in cells:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            if cell.startswith("-"):
                float(cell)  # only a number may start with a minus

    def test_canvas_page_export(self, teacher: FlaskClient, site: Site, formulas: None) -> None:
        """The Canvas export from the grade page quotes formula-like text; scores stay
        numbers."""
        response = teacher.get(f"/teach/assignments/{site.assignment}/grades.csv?format=canvas")
        rows = _rows(response.get_data(as_text=True))
        self._check(rows)
        ada = next(r for r in rows if r[3] == "ada@example.com")
        assert ada[0] == "'" + FORMULAS[0] and float(ada[5]) == 10.0
        assert rows[1][0] == "Points Possible" and float(rows[1][5]) > 0

    def test_moodle_page_export(self, teacher: FlaskClient, site: Site, formulas: None) -> None:
        """The Moodle export quotes formula-like text; the grade stays a number."""
        response = teacher.get(f"/teach/assignments/{site.assignment}/grades.csv?format=moodle")
        rows = _rows(response.get_data(as_text=True))
        self._check(rows)
        ada = next(r for r in rows if r[0] == "ada@example.com")
        assert ada[1] == "'" + FORMULAS[0] and float(ada[3]) == 10.0

    def test_api_csv_export(self, app: Flask, site: Site, tokens: Tokens,
                            formulas: None) -> None:
        """The API's ?format=csv quotes formula-like text too."""
        response = app.test_client().get(
            f"/api/v1/assignments/{site.assignment}/grades?format=csv",
            headers=bearer(tokens.teacher))
        self._check(_rows(response.get_data(as_text=True)))

    def test_normal_values_are_untouched(self, teacher: FlaskClient, site: Site) -> None:
        """Ordinary names (with inner dashes, quotes, accents) and emails come out unchanged."""
        with teacher.application.app_context():
            db.session.get_one(User, site.ada).name = "Ada O'Lovelace-Byron é"
            db.session.commit()
        body = teacher.get(f"/teach/assignments/{site.assignment}/grades.csv").get_data(
            as_text=True)
        ada = next(r for r in _rows(body) if r[3] == "ada@example.com")
        assert ada[0] == "Ada O'Lovelace-Byron é"


class TestRedirectsAndHeaders:
    @pytest.mark.parametrize("target", [
        "//evil.example/x", "/\\evil.example", "https://evil.example", "\t//evil.example",
        "/\t/evil.example", "/\n/evil.example", "/\r\nSet-Cookie: pwn=1", "javascript:alert(1)",
        " //evil.example",
    ])
    def test_login_next_stays_local(self, app: Flask, site: Site, target: str) -> None:
        """?next= after login never leads off the site (browsers drop tabs and newlines in
        URLs) and never breaks the Location header."""
        response = app.test_client().post("/login", query_string={"next": target},
                                          data={"email": "ada@example.com",
                                                "password": PASSWORD})
        assert response.status_code == 302
        assert response.headers["Location"] == "/"

    def test_local_next_is_kept(self, app: Flask, site: Site) -> None:
        """A local path with a query survives the login."""
        response = app.test_client().post(
            "/login", query_string={"next": f"/assignments/{site.assignment}?x=1"},
            data={"email": "ada@example.com", "password": PASSWORD})
        assert response.headers["Location"] == f"/assignments/{site.assignment}?x=1"

    @pytest.mark.parametrize("name", ['a"; filename=evil.sh; x=".py', "a\r\nX-Evil: 1.py",
                                      "../../../etc/passwd.py", "résumé ☃.py"])
    def test_download_filename_cannot_break_the_header(
        self, app: Flask, ada: FlaskClient, site: Site, name: str
    ) -> None:
        """A stored filename with quotes, CR/LF or folders downloads with one well-formed
        Content-Disposition (and no injected header)."""
        with app.app_context():
            db.session.get_one(Submission, site.ada_submission).filename = name
            db.session.commit()
        response = ada.get(f"/submissions/{site.ada_submission}/download")
        assert response.status_code == 200
        assert "X-Evil" not in response.headers
        value = response.headers["Content-Disposition"]
        assert value.isprintable() and value.startswith('attachment; filename="')
        assert value.count('"') == 2 and value.count(";") == 2
        assert ADA_MARKER in response.get_data(as_text=True)

    def test_starter_and_exports_have_fixed_filenames(self, teacher: FlaskClient,
                                                      site: Site) -> None:
        """Export downloads name their file from ids only, whatever the title is."""
        with teacher.application.app_context():
            db.session.get_one(Assignment, site.assignment).title = 'x"\r\n.sh'
            db.session.commit()
        for fmt in ("canvas", "moodle"):
            response = teacher.get(f"/teach/assignments/{site.assignment}/grades.csv?format={fmt}")
            assert response.headers["Content-Disposition"] == (
                f'attachment; filename="grades-{fmt}-assignment-{site.assignment}.csv"')


class TestSessions:
    def test_login_starts_a_fresh_session(self, app: Flask, site: Site) -> None:
        """Whatever a session held before the login (planted values) is gone after it."""
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["planted"] = "attacker"
            sess["lti_deep_link"] = {"context": 1}
        login(client, "ada@example.com")
        with client.session_transaction() as sess:
            assert "planted" not in sess and "lti_deep_link" not in sess
            assert sess["uid"] == site.ada

    def test_forged_session_without_fingerprint_is_anonymous(self, app: Flask,
                                                             site: Site) -> None:
        """A session naming a user id without the password fingerprint logs nobody in."""
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["uid"] = site.teacher
        assert client.get("/teach/").status_code == 302

    def test_cookie_signed_with_another_key_is_ignored(self, app: Flask, site: Site) -> None:
        """A session cookie signed with another secret key is not accepted."""
        from flask.sessions import SecureCookieSessionInterface

        other = Flask("other")
        other.secret_key = "dev"
        serializer = SecureCookieSessionInterface().get_signing_serializer(other)
        assert serializer is not None
        from grader.web.login import fingerprint

        with app.app_context():
            carried = fingerprint(db.session.get_one(User, site.teacher))
        cookie = serializer.dumps({"uid": site.teacher, "pw": carried})
        client = app.test_client()
        client.set_cookie("session", cookie)
        assert client.get("/teach/").status_code == 302

    def test_logout_ends_copies_of_the_session_cookie(self, app: Flask, site: Site) -> None:
        """A session cookie copied before logout (a shared computer, a stolen cookie) no
        longer logs anyone in after the user logs out."""
        client = app.test_client()
        login(client, "ada@example.com")
        assert client.get("/").status_code == 200
        copy = client.get_cookie("session")
        assert copy is not None
        thief = app.test_client()
        thief.set_cookie("session", copy.value)
        assert thief.get("/").status_code == 200
        assert client.post("/logout").status_code in (302, 303)
        assert thief.get("/").status_code == 302
        login(client, "ada@example.com")
        assert client.get("/").status_code == 200

    def test_logout_needs_a_post(self, ada: FlaskClient) -> None:
        """Logging out is a POST (a cross-site link or image can't log a user out)."""
        assert ada.get("/logout").status_code == 405
        assert ada.get("/").status_code == 200


class TestLoginThrottle:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "LOGIN_FAILURES_PER_ACCOUNT": 3, "LOGIN_FAILURES_PER_IP": 6}

    def _try(self, client: FlaskClient, email: str, password: str = "wrong password",
             ip: str = "203.0.113.7") -> Any:
        return client.post("/login", data={"email": email, "password": password},
                           environ_base={"REMOTE_ADDR": ip})

    def test_account_is_throttled_after_failures(self, app: Flask, site: Site) -> None:
        """After the allowed failures even the right password is refused with 429 and a clear
        message, from any address; the typed email stays in the form."""
        client = app.test_client()
        assert [self._try(client, "ada@example.com").status_code for _ in range(3)] == [401] * 3
        refused = self._try(client, "ADA@example.com", PASSWORD, ip="198.51.100.1")
        assert refused.status_code == 429
        body = refused.get_data(as_text=True)
        assert "too many failed logins" in body and 'value="ADA@example.com"' in body
        with client.session_transaction() as sess:
            assert "uid" not in sess

    def test_unknown_emails_are_throttled_alike(self, app: Flask, site: Site) -> None:
        """An unknown email is limited exactly like a known one (no account discovery)."""
        client = app.test_client()
        codes = [self._try(client, "nobody@example.com").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]

    def test_other_accounts_are_not_locked(self, app: Flask, site: Site) -> None:
        """Guessing at one account does not lock another one out."""
        client = app.test_client()
        for _ in range(3):
            self._try(client, "ada@example.com", ip="198.51.100.9")
        assert self._try(client, "bob@example.com", PASSWORD).status_code == 302

    def test_address_is_throttled_across_accounts(self, app: Flask, site: Site) -> None:
        """Spraying one password over many accounts from one address is stopped too."""
        client = app.test_client()
        codes = [self._try(client, f"u{i}@example.com").status_code for i in range(7)]
        assert codes == [401] * 6 + [429]
        assert self._try(client, "bob@example.com", PASSWORD,
                         ip="198.51.100.2").status_code == 302

    def test_success_forgets_the_accounts_failures(self, app: Flask, site: Site) -> None:
        """A successful login clears the account's failures: typos never add up to a lockout."""
        client = app.test_client()
        for _ in range(2):
            self._try(client, "ada@example.com")
        assert self._try(client, "ada@example.com", PASSWORD).status_code == 302
        codes = [self._try(app.test_client(), "ada@example.com").status_code for _ in range(3)]
        assert codes == [401] * 3

    def test_failures_expire(self, app: Flask, site: Site) -> None:
        """Failures older than the window no longer count."""
        from datetime import timedelta

        from grader.domain.login_limits import WINDOW
        from grader.models.logins import LoginFailure

        client = app.test_client()
        for _ in range(3):
            self._try(client, "ada@example.com")
        with app.app_context():
            for row in db.session.query(LoginFailure):
                row.created_at -= WINDOW + timedelta(seconds=1)
            db.session.commit()
        assert self._try(client, "ada@example.com", PASSWORD).status_code == 302


class TestAccountTakeover:
    def test_other_instructor_cannot_reset_a_students_password(
        self, app: Flask, site: Site
    ) -> None:
        """Another course's instructor who adds Ada to their roster can't make a password
        link for her: that would hand over her account and her work in the first course."""
        other = login(app.test_client(), "other@example.com")
        data = b"email,name\nada@example.com,Ada\n"
        response = other.post(f"/teach/courses/{site.other_course}/roster",
                              data={"file": (io.BytesIO(data), "r.csv")},
                              content_type="multipart/form-data")
        assert response.status_code == 200
        response = other.post(f"/teach/courses/{site.other_course}/students/{site.ada}/link",
                              follow_redirects=True)
        body = response.get_data(as_text=True)
        assert "/password/" not in body
        assert "enrolled in a course you don&#39;t teach" in body
        with app.app_context():
            from grader.models.logins import PasswordLink

            assert db.session.query(PasswordLink).count() == 0
        assert login(app.test_client(), "ada@example.com")

    def test_own_instructor_can_still_reset(self, teacher: FlaskClient, site: Site) -> None:
        """The instructor of every course a student is in still gets a reset link."""
        body = teacher.post(f"/teach/courses/{site.course}/students/{site.ada}/link").get_data(
            as_text=True)
        assert "/password/" in body

    def test_roster_cannot_rename_another_courses_student(
        self, app: Flask, site: Site, tokens: Tokens
    ) -> None:
        """A roster from another course (CSV or API) enrolls an existing student but can't
        change their name, email or LMS id."""
        other = login(app.test_client(), "other@example.com")
        other.post(f"/teach/courses/{site.other_course}/roster",
                   data={"file": (io.BytesIO(b"email,name,id\nada@example.com,Pwned,666\n"),
                                  "r.csv")}, content_type="multipart/form-data")
        with app.app_context():
            db.session.get_one(User, site.ada).lms_user_id = "1001"
            db.session.commit()
        app.test_client().put(
            f"/api/v1/courses/{site.other_course}/roster", headers=bearer(tokens.other_teacher),
            json={"students": [{"email": "attacker@evil.example", "lms_user_id": "1001",
                                "name": "Pwned"}]})
        with app.app_context():
            ada = db.session.get_one(User, site.ada)
            assert (ada.name, ada.email, ada.lms_user_id) == ("Ada", "ada@example.com", "1001")

    def test_roster_cannot_take_an_instructor(self, app: Flask, site: Site) -> None:
        """An instructor's email in a roster is refused, so no instructor can be enrolled as
        a student (and then reset)."""
        other = login(app.test_client(), "other@example.com")
        response = other.post(
            f"/teach/courses/{site.other_course}/roster", follow_redirects=True,
            data={"file": (io.BytesIO(b"email\nteacher@example.com\n"), "r.csv")},
            content_type="multipart/form-data")
        assert "instructor account" in response.get_data(as_text=True)


class TestErrorPages:
    def test_not_found_pages_show_nothing_internal(self, ada: FlaskClient, site: Site) -> None:
        """404 pages for unknown paths and others' objects are the same plain page."""
        pages = [ada.get("/nope"), ada.get("/submissions/999999"),
                 ada.get(f"/teach/assignments/{site.assignment}"),
                 ada.get("/submissions/99999999999999999999999")]
        for page in pages:
            assert page.status_code == 404
            body = page.get_data(as_text=True)
            for leak in ("Traceback", "SELECT", "sqlalchemy", "werkzeug", ADA_MARKER):
                assert leak not in body

    def test_domain_errors_are_flashed_without_internals(self, ada: FlaskClient,
                                                         site: Site) -> None:
        """A refused upload tells the student why, in words, and nothing else."""
        response = ada.post(f"/assignments/{site.assignment}/submissions",
                            data={"code": "x = '\x00'"}, follow_redirects=True)
        body = response.get_data(as_text=True)
        assert "NUL" in body and "Traceback" not in body


class TestUploadAbuse:
    @pytest.mark.parametrize(("data", "words"), [
        (b"x = '\xff'\n", "UTF-8"), (b"x = 1\x00\n", "NUL"), (b"", "empty"),
    ], ids=["not-utf8", "nul-byte", "empty"])
    def test_bad_files_are_flashed_and_not_stored(
        self, app: Flask, ada: FlaskClient, site: Site, data: bytes, words: str
    ) -> None:
        """Non-UTF-8, NUL bytes and empty files are refused with the reason; nothing stored,
        no attempt charged."""
        with app.app_context():
            before = db.session.query(Submission).count()
        response = ada.post(f"/assignments/{site.assignment}/submissions",
                            data={"file": (io.BytesIO(data), "a.py")},
                            content_type="multipart/form-data", follow_redirects=True)
        assert words in response.get_data(as_text=True)
        with app.app_context():
            assert db.session.query(Submission).count() == before

    def test_web_filename_with_folders_is_stored_as_its_name(
        self, app: Flask, ada: FlaskClient, site: Site
    ) -> None:
        """A filename with folder parts is stored as its last part."""
        ada.post(f"/assignments/{site.assignment}/submissions",
                 data={"file": (io.BytesIO(b"x = 1\n"), "../../../x.py")},
                 content_type="multipart/form-data")
        with app.app_context():
            newest = db.session.query(Submission).order_by(Submission.id.desc()).first()
            assert newest is not None and newest.filename == "x.py"

    def test_oversized_page_upload_is_cut_off(self, app: Flask, ada: FlaskClient,
                                              site: Site) -> None:
        """A body far over the cap is refused before it is read, with a message, not a 500."""
        body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.py"\r\n\r\n'
                + b"#" * (2 * 1024 * 1024) + b"\r\n--b--\r\n")
        response = ada.post(f"/assignments/{site.assignment}/submissions", data=body,
                            content_type="multipart/form-data; boundary=b")
        assert response.status_code == 302
        assert "too large" in ada.get(response.headers["Location"]).get_data(as_text=True)


class TestAnonymousWalk:
    @pytest.mark.parametrize(("endpoint", "rule", "method"), PAGE_RULES,
                             ids=[f"{m} {r}" for _, r, m in PAGE_RULES])
    def test_logged_out_visitor_reaches_nothing(
        self, app: Flask, site: Site, endpoint: str, rule: str, method: str
    ) -> None:
        """Through every page route, a visitor without a session (or with a forged one) is
        sent to the login or refused, sees none of Ada's work and changes nothing."""
        with app.app_context():
            teacher = db.session.get_one(User, site.teacher)
            regrade, _ = start_regrade(db.session,
                                       db.session.get_one(Assignment, site.assignment),
                                       teacher, preview=True)
            db.session.commit()
        path = rule
        for name, value in page_values(site, regrade.id).items():
            path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        before = page_state(app)
        for forged in (None, {"uid": site.teacher, "pw": "0" * 16}):
            client = app.test_client()
            if forged is not None:
                with client.session_transaction() as sess:
                    sess.update(forged)
            form = {"code": "x = 1\n", "action": "override", "score": "1", "comment": "c",
                    "title": "t", "slug": "softmax-backprop", "mode": "apply"}
            response = client.open(path, method=method, data=form)
            assert ADA_MARKER not in response.get_data(as_text=True), path
            assert response.status_code in (302, 405), (method, path)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login"), path
        assert page_state(app) == before
