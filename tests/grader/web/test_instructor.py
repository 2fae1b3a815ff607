"""Instructor pages: courses, rules, roster, exceptions, grade table, analytics, exports,
regrades."""

from __future__ import annotations

import csv
import io
import re

from flask import Flask
from flask.testing import FlaskClient

from grader.extensions import db
from grader.models import Assignment, Regrade, User
from grader.models.accommodations import AuditEvent
from tests.grader.web.conftest import Site


class TestCoursesAndRules:
    def test_create_course_and_assignment(self, teacher: FlaskClient) -> None:
        """A new course, then an assignment in it, lands on the rules page."""
        response = teacher.post("/teach/courses", data={"title": "Numerics"})
        course_url = response.headers["Location"]
        page = teacher.get(course_url).data.decode()
        assert "Numerics" in page and "softmax-backprop" in page
        course_id = int(course_url.rsplit("/", 1)[1])
        made = teacher.post(f"/teach/courses/{course_id}/assignments",
                            data={"slug": "softmax-backprop", "due_at": "2030-01-31T23:59"})
        assert made.headers["Location"].endswith("/edit")
        assert b"2030-01-31T23:59" in teacher.get(made.headers["Location"]).data

    def test_unknown_plugin_is_flashed(self, teacher: FlaskClient, site: Site) -> None:
        """A slug that is not installed comes back as a message."""
        response = teacher.post(f"/teach/courses/{site.course}/assignments",
                                data={"slug": "nope"}, follow_redirects=True)
        assert b"unknown assignment" in response.data

    def test_edit_rules(self, app: Flask, teacher: FlaskClient, site: Site) -> None:
        """Due date, points, late policy, attempts, counting and feedback are saved."""
        with app.app_context():
            parts = list(db.session.get_one(Assignment, site.assignment).part_points)
        form = {"title": "Backprop", "due_at": "2030-02-01T12:00", "attempt_limit": "4",
                "late_penalty_per_day": "10", "late_cutoff_days": "3", "counts": "latest"}
        form.update({f"points-{p}": "5" for p in parts})
        response = teacher.post(f"/teach/assignments/{site.assignment}/edit", data=form)
        assert response.status_code == 302
        with app.app_context():
            a = db.session.get_one(Assignment, site.assignment)
            assert (a.title, a.attempt_limit, a.counts, a.late_penalty_per_day) == (
                "Backprop", 4, "latest", 10.0)
            assert a.feedback_before_due is False
            assert a.max_score == 5 * len(parts)

    def test_invalid_rule_is_flashed(self, app: Flask, teacher: FlaskClient, site: Site) -> None:
        """An out-of-range penalty or a missing number is refused with a message."""
        with app.app_context():
            parts = list(db.session.get_one(Assignment, site.assignment).part_points)
        form = {"title": "x", "late_penalty_per_day": "120", "counts": "best"}
        response = teacher.post(f"/teach/assignments/{site.assignment}/edit", data=form,
                                follow_redirects=True)
        assert b"must be a number" in response.data
        form.update({f"points-{p}": "1" for p in parts})
        response = teacher.post(f"/teach/assignments/{site.assignment}/edit", data=form,
                                follow_redirects=True)
        assert b"between 0 and 100" in response.data


class TestRoster:
    def test_csv_import_shows_invitation_links(self, app: Flask, teacher: FlaskClient,
                                               site: Site) -> None:
        """New students from a CSV get links that set their password."""
        data = "Name,Email,Section\nCy Doe,cy@example.com,A\nAda,ada@example.com,B\n"
        response = teacher.post(f"/teach/courses/{site.course}/roster",
                                data={"file": (io.BytesIO(data.encode()), "roster.csv")},
                                content_type="multipart/form-data")
        page = response.data.decode()
        assert "1 new, 0 updated" in page
        links = re.findall(r"http://localhost/password/[\w-]+", page)
        assert len(links) == 1
        client = app.test_client()
        client.post(links[0], data={"password": "cy's password", "confirm": "cy's password"})
        assert b"Deep Learning 101" in client.get("/").data

    def test_bad_csv_names_the_line(self, teacher: FlaskClient, site: Site) -> None:
        """A bad email is reported with its line number."""
        data = "email\nok@example.com\nnot-an-email\n"
        response = teacher.post(f"/teach/courses/{site.course}/roster",
                                data={"file": (io.BytesIO(data.encode()), "r.csv")},
                                content_type="multipart/form-data", follow_redirects=True)
        assert b"line 3" in response.data

    def test_reset_link_for_a_student(self, teacher: FlaskClient, site: Site) -> None:
        """Students with a password get a reset link."""
        page = teacher.post(f"/teach/courses/{site.course}/students/{site.ada}/link").data
        assert b"/password/" in page and b"ada@example.com" in page


class TestExceptions:
    def test_extension_override_and_audit_trail(self, app: Flask, teacher: FlaskClient,
                                                site: Site) -> None:
        """Each exception is recorded with its comment and shown on the submission."""
        url = f"/teach/assignments/{site.assignment}/students/{site.ada}/exceptions"
        teacher.post(url, data={"action": "extension", "due_at": "2030-03-01T09:00",
                                "comment": "doctor's note"})
        teacher.post(url, data={"action": "override", "score": "17", "comment": "regraded by hand"})
        page = teacher.get(f"/submissions/{site.ada_submission}").data.decode()
        assert "doctor&#39;s note" in page and "regraded by hand" in page
        assert "score computed → 17" in page
        assert "Set by the instructor" in page
        with app.app_context():
            assert db.session.query(AuditEvent).count() == 2

    def test_override_needs_a_comment(self, teacher: FlaskClient, site: Site) -> None:
        """An override without a reason is refused."""
        url = f"/teach/assignments/{site.assignment}/students/{site.ada}/exceptions"
        response = teacher.post(url, data={"action": "override", "score": "5", "comment": ""},
                                follow_redirects=True)
        assert b"comment is required" in response.data


class TestGrades:
    def test_table_sort_filter_and_not_submitted(self, teacher: FlaskClient, site: Site) -> None:
        """One row per student, sortable and filterable; Bob is listed as not submitted."""
        page = teacher.get(f"/teach/assignments/{site.assignment}").data.decode()
        assert page.index("ada@example.com") < page.index("bob@example.com")
        assert "Not submitted yet" in page
        desc = teacher.get(f"/teach/assignments/{site.assignment}?sort=score&dir=desc")
        body = desc.data.decode()
        table = body[body.index("grade-table"):body.index("</table>")]
        assert table.index("ada@example.com") < table.index("bob@example.com")
        missing = teacher.get(f"/teach/assignments/{site.assignment}?show=missing").data.decode()
        table = missing[missing.index("grade-table"):missing.index("</table>")]
        assert "bob@example.com" in table and "ada@example.com" not in table
        assert f"/submissions/{site.ada_submission}" in page

    def test_submission_shows_highlighted_code(self, teacher: FlaskClient, site: Site) -> None:
        """The instructor sees the code, highlighted, next to the results."""
        page = teacher.get(f"/submissions/{site.ada_submission}").data.decode()
        assert 'class="code"' in page and "linenos" in page
        assert "You forgot the 1/N batch mean" in page

    def test_exports(self, teacher: FlaskClient, site: Site) -> None:
        """Canvas and Moodle CSVs carry the counted scores."""
        canvas = teacher.get(f"/teach/assignments/{site.assignment}/grades.csv?format=canvas")
        rows = list(csv.reader(io.StringIO(canvas.data.decode())))
        assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
        assert ["Ada", "", "", "ada@example.com", "", "10"] in rows
        moodle = teacher.get(f"/teach/assignments/{site.assignment}/grades.csv?format=moodle")
        rows = list(csv.reader(io.StringIO(moodle.data.decode())))
        assert rows[0][0] == "Email address"
        assert rows[1][0] == "ada@example.com" and rows[1][3] == "10"

    def test_analytics_charts(self, teacher: FlaskClient, site: Site) -> None:
        """Charts are inline SVG; the most frequent mistake is named in words."""
        page = teacher.get(f"/teach/assignments/{site.assignment}/analytics").data.decode()
        assert page.count("<svg") >= 4
        assert "forgot the 1/N batch mean" in page and "100 % (1 of 1)" in page


class TestRegrade:
    def test_preview_then_apply(self, app: Flask, teacher: FlaskClient, site: Site) -> None:
        """A preview shows before/after and offers to apply; applying starts a real regrade."""
        response = teacher.post(f"/teach/assignments/{site.assignment}/regrades",
                                data={"mode": "preview", "reason": "tolerance"})
        report_url = response.headers["Location"]
        page = teacher.get(report_url).data.decode()
        assert "Regrade preview" in page and "0 of 1 submissions graded" in page
        applied = teacher.post(report_url + "/apply")
        assert applied.status_code == 302
        with app.app_context():
            kinds = [r.preview for r in db.session.query(Regrade).order_by(Regrade.id)]
            assert kinds == [True, False]
            assert db.session.query(User).count() == 5
