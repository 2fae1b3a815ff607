"""Student pages: dashboard, assignment, upload, results, status polling, downloads."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from grader.extensions import db
from grader.models import Assignment, Submission, utcnow
from tests.grader.web.conftest import ADA_MARKER, Site, graded_result, record

CODE = b"import numpy as np\n\ndef softmax(z):\n    return z\n"


def upload(client: FlaskClient, site: Site, data: bytes = CODE, name: str = "mine.py") -> str:
    response = client.post(f"/assignments/{site.assignment}/submissions",
                           data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    return str(response.headers["Location"])


class TestDashboard:
    def test_lists_courses_assignments_and_scores(self, ada: FlaskClient, site: Site) -> None:
        """The dashboard shows the course, the assignment, attempts and the counted score."""
        page = ada.get("/").data.decode()
        assert "Deep Learning 101" in page
        assert "Softmax and backpropagation" in page
        assert "10</strong>" in page
        assert "Other course" not in page

    def test_instructors_go_to_their_pages(self, teacher: FlaskClient) -> None:
        """An instructor's / is the course list."""
        assert teacher.get("/").headers["Location"] == "/teach/"


class TestAssignmentPage:
    def test_rules_handout_and_starter(self, ada: FlaskClient, site: Site) -> None:
        """The page links the handout (rendered HTML) and the starter file."""
        page = ada.get(f"/assignments/{site.assignment}").data.decode()
        assert "Your best graded attempt" in page
        handout = ada.get(f"/assignments/{site.assignment}/handout").data.decode()
        assert "<h1>Softmax and backpropagation" in handout
        assert "<table>" in handout
        starter = ada.get(f"/assignments/{site.assignment}/starter.py")
        assert starter.headers["Content-Disposition"].startswith("attachment")
        assert b"def softmax" in starter.data

    def test_attempts_left_and_why_the_score_counts(self, app: Flask, ada: FlaskClient,
                                                    site: Site) -> None:
        """With a limit and a late penalty the page says how many attempts remain and why."""
        with app.app_context():
            a = db.session.get_one(Assignment, site.assignment)
            a.attempt_limit = 3
            db.session.commit()
        page = ada.get(f"/assignments/{site.assignment}").data.decode()
        assert "2 of 3 left" in page
        assert "The best graded attempt counts (attempt 1 of 1 graded)" in page


class TestUpload:
    def test_file_upload_queues_a_submission(self, app: Flask, ada: FlaskClient,
                                             site: Site) -> None:
        """An uploaded .py lands on its submission page, queued, with a status to poll."""
        url = upload(ada, site)
        page = ada.get(url).data.decode()
        assert "Waiting" in page and "data-status-url" in page
        status = ada.get(url + "/status.json").get_json()
        assert status["status"] == "queued" and status["done"] is False
        with app.app_context():
            newest = db.session.query(Submission).order_by(Submission.id.desc()).first()
            assert newest is not None and newest.filename == "mine.py"

    def test_pasted_code_is_a_submission(self, ada: FlaskClient, site: Site) -> None:
        """Code pasted into the text area is submitted as submission.py."""
        response = ada.post(f"/assignments/{site.assignment}/submissions",
                            data={"code": CODE.decode()})
        assert response.status_code == 302
        assert b"submission.py" in ada.get(response.headers["Location"]).data

    def test_not_python_is_flashed(self, ada: FlaskClient, site: Site) -> None:
        """A non-.py file goes back to the assignment page with the reason."""
        response = ada.post(f"/assignments/{site.assignment}/submissions",
                            data={"file": (io.BytesIO(b"x"), "notes.txt")},
                            content_type="multipart/form-data", follow_redirects=True)
        assert b"expected a .py file" in response.data

    def test_too_large_upload_is_refused(self, app: Flask, ada: FlaskClient, site: Site) -> None:
        """A file over the cap is refused with a message, never stored."""
        big = b"x = 1\n" * (app.config["MAX_SUBMISSION_BYTES"] // 6 + 10)
        response = ada.post(f"/assignments/{site.assignment}/submissions",
                            data={"file": (io.BytesIO(big), "big.py")},
                            content_type="multipart/form-data", follow_redirects=True)
        assert b"limit" in response.data or b"too large" in response.data
        with app.app_context():
            assert db.session.query(Submission).count() == 1

    def test_rate_limit(self, app: Flask, ada: FlaskClient, site: Site) -> None:
        """More uploads in a minute than allowed are refused with a message."""
        app.config["SUBMISSIONS_PER_MINUTE"] = 2
        upload(ada, site)
        response = ada.post(f"/assignments/{site.assignment}/submissions",
                            data={"code": "x = 1\n"}, follow_redirects=True)
        assert b"times in the last minute" in response.data

    def test_attempt_limit_and_extra_attempts(self, app: Flask, ada: FlaskClient,
                                              teacher: FlaskClient, site: Site) -> None:
        """At the limit uploads are refused, until the instructor grants an extra attempt."""
        with app.app_context():
            db.session.get_one(Assignment, site.assignment).attempt_limit = 1
            db.session.commit()
        refused = ada.post(f"/assignments/{site.assignment}/submissions",
                           data={"code": "x = 1\n"}, follow_redirects=True)
        assert b"used all 1 attempt" in refused.data
        teacher.post(f"/teach/assignments/{site.assignment}/students/{site.ada}/exceptions",
                     data={"action": "attempts", "extra_attempts": "1", "comment": "sick"})
        assert "/submissions/" in upload(ada, site)


class TestResults:
    def test_diagnosis_in_plain_words_with_counterexample(self, ada: FlaskClient,
                                                          site: Site) -> None:
        """A failed part shows the catalog's message, the snippet to copy and the output."""
        page = ada.get(f"/submissions/{site.ada_submission}").data.decode()
        assert "You forgot the 1/N batch mean" in page
        assert "a3 = np.array" in page
        assert "data-copy-target" in page
        assert "debug print" in page
        assert "10</strong>" in page

    def test_results_fragment_for_the_poller(self, ada: FlaskClient, site: Site) -> None:
        """The fragment the status poller fetches holds the per-part results."""
        fragment = ada.get(f"/submissions/{site.ada_submission}/results").data.decode()
        assert "grad_z3" in fragment and "<html" not in fragment

    def test_feedback_hidden_before_due_when_configured(self, app: Flask, ada: FlaskClient,
                                                        site: Site) -> None:
        """With feedback after the due date, students see the score but not the diagnosis."""
        with app.app_context():
            a = db.session.get_one(Assignment, site.assignment)
            a.feedback_before_due = False
            a.due_at = utcnow() + timedelta(days=2)
            db.session.commit()
        page = ada.get(f"/submissions/{site.ada_submission}").data.decode()
        assert "appears after the due date" in page
        assert "batch mean" not in page

    def test_download_returns_the_code(self, ada: FlaskClient, site: Site) -> None:
        """Past submissions can be downloaded as uploaded."""
        response = ada.get(f"/submissions/{site.ada_submission}/download")
        assert ADA_MARKER.encode() in response.data
        assert 'filename="solution.py"' in response.headers["Content-Disposition"]

    def test_better_attempt_counts(self, app: Flask, ada: FlaskClient, site: Site) -> None:
        """After a full-marks attempt the page says the best attempt counts."""
        url = upload(ada, site)
        with app.app_context():
            record(int(url.rsplit("/", 1)[1]), graded_result(score_missing=False))
        page = ada.get(f"/assignments/{site.assignment}").data.decode()
        assert "attempt 2 of 2 graded" in page
        assert "20</strong>" in page
