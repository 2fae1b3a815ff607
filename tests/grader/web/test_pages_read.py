"""Pages as people read them: analytics on one stated basis, every bar labelled, regrade rows
still being graded shown as pending, plain plurals, one breadcrumb trail, the status sentence,
the favicon, and where a login goes back to."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient

from grader.domain.analytics import part_basis
from grader.domain.gradebook import gradebook
from grader.domain.regrades import start_regrade
from grader.extensions import db
from grader.models import Assignment, GradingRun, User
from grader.web import svg
from grader.web.status import status_message
from tests.grader.web.conftest import Site, graded_result, record, submit_as


def _second_attempts(app: Flask, site: Site) -> None:
    """Ada fixes her mistake in a second attempt; Bob makes it once and stops."""
    with app.app_context():
        assignment = db.session.get_one(Assignment, site.assignment)
        ada, bob = db.session.get_one(User, site.ada), db.session.get_one(User, site.bob)
        record(submit_as(ada, assignment, "# fixed\n"), graded_result(score_missing=False))
        record(submit_as(bob, assignment, "# bob\n"), graded_result())


def _rows(html: str, table_caption: str) -> dict[str, str]:
    """The rows of the numbers table whose caption is ``table_caption``: label -> value."""
    found = re.search(rf"<caption>{re.escape(table_caption)}</caption>(.*?)</table>", html,
                      re.S)
    assert found, table_caption
    return dict(re.findall(r'<th scope="row">(.*?)</th><td class="num">(.*?)</td>',
                           found.group(1)))


class TestAnalyticsBasis:
    def test_domain_counts_one_basis_at_a_time(self, app: Flask, site: Site) -> None:
        """Counted basis: each student's counted attempt; any basis: every graded attempt."""
        _second_attempts(app, site)
        with app.app_context():
            assignment = db.session.get_one(Assignment, site.assignment)
            rows = gradebook(db.session, assignment)
            counted = part_basis(db.session, assignment, rows, "counted")
            every = part_basis(db.session, assignment, rows, "any")
        assert counted.students == every.students == 2
        assert counted.passed["grad_z3"] == 1 and dict(counted.diagnoses) == {
            "missing_batch_mean": 1}
        assert every.passed["grad_z3"] == 1 and dict(every.diagnoses) == {
            "missing_batch_mean": 2}

    def test_page_states_the_basis_and_the_numbers_agree(self, app: Flask,
                                                         teacher: FlaskClient,
                                                         site: Site) -> None:
        """Both part charts say their basis; a part's pass rate and its mistake add up."""
        _second_attempts(app, site)
        url = f"/teach/assignments/{site.assignment}/analytics"
        counted = teacher.get(url).data.decode()
        assert counted.count("Basis: each student&#39;s counted attempt") == 2
        passing = _rows(counted, "Share of students passing each part")
        mistakes = _rows(counted, "Share of students who made each mistake")
        assert passing["grad_z3"] == "50 % (1 of 2)"
        assert mistakes["forgot the 1/N batch mean"] == "50 % (1 of 2)"

        every = teacher.get(url + "?basis=any").data.decode()
        assert every.count("Basis: every graded attempt") == 2
        assert 'aria-current=page>Any attempt' in every
        assert _rows(every, "Share of students who made each mistake")[
            "forgot the 1/N batch mean"] == "100 % (2 of 2)"
        assert _rows(every, "Share of students passing each part")["grad_z3"] == "50 % (1 of 2)"


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "text":
            self.classes.append(dict(attrs).get("class") or "")


class TestCharts:
    def test_every_bar_has_its_label_and_value(self) -> None:
        """Twelve bins, twelve labels and twelve values (zeros included), and a table."""
        bins = [(f"day {i}", i % 3) for i in range(12)]
        chart = str(svg.counts("Uploads per day", bins, caption="Every upload."))
        texts = _Texts()
        texts.feed(chart)
        assert texts.classes.count("chart-label") == 12
        assert texts.classes.count("chart-value") == 12
        assert chart.count('<th scope="row">') == 12 and "<figcaption" in chart

    def test_long_labels_get_a_line_of_their_own(self) -> None:
        """A label too long to sit beside its bar is written above it, not cut short."""
        label = "forgot the 1/N batch mean of the gradient"
        chart = str(svg.hbars("Mistakes", [(label, 0.5, "50 %")]))
        assert f">{label}<title>" in chart

    def test_charts_never_grow_past_their_natural_width(self) -> None:
        """The chart is drawn at svg.WIDTH, so its text is FONT px at most, shrunk only to
        fit: at a 390 px screen (a 336 px card) that is still at least 11 px."""
        chart = str(svg.counts("x", [("a", 1)]))
        assert f'width="{svg.WIDTH}"' in chart
        assert svg.FONT * 336 / svg.WIDTH >= 11


class TestRegradePending:
    def test_rows_still_grading_read_pending(self, app: Flask, teacher: FlaskClient,
                                            site: Site) -> None:
        """A running preview shows pending rows as pending, never as "no change"."""
        with app.app_context():
            assignment = db.session.get_one(Assignment, site.assignment)
            regrade, _ = start_regrade(db.session, assignment, None, preview=True)
            db.session.commit()
            regrade_id = regrade.id
        page = teacher.get(f"/teach/regrades/{regrade_id}").data.decode()
        assert "pending" in page and "no change" not in page
        assert "0 of 1 submissions graded" in page
        with app.app_context():
            run = db.session.query(GradingRun).filter_by(regrade_id=regrade_id).one()
            run.status, run.score = "graded", 10.0
            db.session.commit()
        page = teacher.get(f"/teach/regrades/{regrade_id}").data.decode()
        assert "pending" not in page and "no change" in page
        assert "<strong>0 students</strong> would get a different score" in page


class TestSmallThings:
    def test_counts_read_as_words(self, teacher: FlaskClient, site: Site) -> None:
        """"1 assignment", never "1 assignment(s)"."""
        page = teacher.get("/teach/").data.decode()
        assert "1 assignment<" in page and "(s)" not in page

    def test_no_limit_of_unlimited(self, teacher: FlaskClient, site: Site) -> None:
        """Without an attempt limit, the extra-attempts form says so in words."""
        page = teacher.get(f"/teach/assignments/{site.assignment}/students/{site.ada}").data
        assert b"limit of unlimited" not in page and b"has no attempt limit" in page

    def test_breadcrumbs_start_at_the_top_of_each_side(self, ada: FlaskClient,
                                                       teacher: FlaskClient,
                                                       site: Site) -> None:
        """Every student page's trail starts at My assignments, every instructor page's at
        Courses, and the page itself is marked current."""
        a, sub = site.assignment, site.ada_submission
        for url in (f"/assignments/{a}", f"/assignments/{a}/handout", f"/submissions/{sub}"):
            page = ada.get(url).data.decode()
            trail = re.search(r'<nav class="crumbs" aria-label="Breadcrumb"><ol>(.*?)</ol>', page)
            assert trail and trail.group(1).startswith('<li><a href="/">My assignments</a>'), url
            assert 'aria-current="page"' in trail.group(1)
        for url in (f"/teach/courses/{site.course}", f"/teach/courses/{site.course}/roster",
                    f"/teach/assignments/{a}", f"/teach/assignments/{a}/analytics",
                    f"/teach/assignments/{a}/edit", f"/teach/assignments/{a}/students/{site.ada}",
                    f"/submissions/{sub}"):
            page = teacher.get(url).data.decode()
            trail = re.search(r'<nav class="crumbs" aria-label="Breadcrumb"><ol>(.*?)</ol>', page)
            assert trail and trail.group(1).startswith('<li><a href="/teach/">Courses</a>'), url

    def test_submission_heading_does_not_depend_on_timing(self, app: Flask, ada: FlaskClient,
                                                          site: Site) -> None:
        """"Submission N" is the student's Nth upload, before and after grading alike."""
        with app.app_context():
            assignment = db.session.get_one(Assignment, site.assignment)
            pending = submit_as(db.session.get_one(User, site.ada), assignment, "# two\n")
        before = ada.get(f"/submissions/{pending}").data.decode()
        assert "<h1>Submission 2</h1>" in before and "Attempt number given once graded" in before
        with app.app_context():
            record(pending, graded_result())
        after = ada.get(f"/submissions/{pending}").data.decode()
        assert "<h1>Submission 2</h1>" in after and "Attempt 2" in after

    def test_status_is_said_in_words(self, ada: FlaskClient, site: Site) -> None:
        """status.json and the page's live region carry the same sentence."""
        doc = ada.get(f"/submissions/{site.ada_submission}/status.json").get_json()
        assert doc["message"] == "Graded: 10 of 20 points. The results are below."
        assert doc["queue_position"] is None
        page = ada.get(f"/submissions/{site.ada_submission}").data.decode()
        assert ('role="status" aria-live="polite" aria-atomic="true">'
                + doc["message"]) in page

    def test_queue_position_is_said_once_known(self) -> None:
        """The waiting sentence names the queue position when the service gives one."""
        assert "2 submissions ahead of yours" in status_message("queued", None, 90, 2)
        assert "yours is next" in status_message("queued", None, 90, 0)
        assert "ahead" not in status_message("queued", None, 90)

    def test_favicon(self, app: Flask) -> None:
        """/favicon.ico is our icon, not a 404."""
        with app.test_client().get("/favicon.ico") as response:
            assert response.status_code == 200 and response.mimetype == "image/svg+xml"
            assert b"<svg" in response.data

    def test_login_goes_back_without_a_dangling_question_mark(self, app: Flask,
                                                              site: Site) -> None:
        """The dashboard sends to /login plain; a page with a query keeps it."""
        client = app.test_client()
        assert client.get("/").headers["Location"] == "/login"
        assert client.get(f"/assignments/{site.assignment}").headers["Location"] == (
            f"/login?next=/assignments/{site.assignment}")
        assert client.get("/teach/assignments/1?sort=score").headers["Location"] == (
            "/login?next=/teach/assignments/1?sort%3Dscore")
