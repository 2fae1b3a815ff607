"""Analytics charts of an assignment, and regrades previewed before they are applied."""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from grader.domain.analytics import Analytics, BasisKey, PartBasis, assignment_analytics
from grader.domain.diagnoses import short
from grader.domain.gradebook import gradebook
from grader.domain.regrades import regrade_report, start_regrade
from grader.exceptions import NotFound
from grader.extensions import db
from grader.models import Assignment, Regrade
from grader.web import svg
from grader.web.access import assignment_taught_by
from grader.web.auth import login_required, user
from grader.web.context import back
from grader.web.instructor import bp, forms

#: Uploads are charted per week once they span this many days or more.
WEEKLY_AFTER_DAYS = 21


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _score_chart(data: Analytics, max_score: float) -> Markup:
    bins = 10
    counts = [0] * bins
    for score in data.scores:
        i = min(bins - 1, int(bins * score / max_score)) if max_score > 0 else 0
        counts[i] += 1
    labels = [f"{100 * i // bins}–{100 * (i + 1) // bins} %" for i in range(bins)]
    return svg.counts(
        "Counted scores of students", list(zip(labels, counts, strict=True)),
        caption=f"Each student's counted score (late penalties and overrides applied): "
                f"{_plural(len(data.scores), 'student')} with one.",
        headers=("Score", "Students"))


def _timeline(data: Analytics, due: datetime | None) -> Markup:
    if not data.submitted_at:
        return svg.counts("Uploads over time", [])
    days = sorted({t.date() for t in data.submitted_at} | ({due.date()} if due else set()))
    first, last = days[0], days[-1]
    weekly = (last - first).days >= WEEKLY_AFTER_DAYS
    if weekly:
        first = first - timedelta(days=first.weekday())

    def bucket(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day

    step = 7 if weekly else 1
    span = [first + timedelta(days=d) for d in range(0, (last - first).days + 1, step)]
    tally = dict.fromkeys(span, 0)
    for t in data.submitted_at:
        tally[bucket(t.date())] += 1
    due_at = span.index(bucket(due.date())) if due else None
    labels = [("week of " if weekly else "") + d.strftime("%d %b")
              + (" (due)" if i == due_at else "") for i, d in enumerate(span)]
    per = "week" if weekly else "day"
    return svg.counts(
        f"Uploads per {per}", [(label, tally[d]) for label, d in zip(labels, span, strict=True)],
        caption=f"Every upload, {_plural(len(data.submitted_at), 'upload')} in all"
                + ("; the due date's row is marked (due)." if due else "."),
        headers=("Week" if weekly else "Day", "Uploads"),
        highlight=[due_at] if due_at is not None else [])


def _latency_chart(latencies: list[float]) -> Markup:
    edges = [1, 2, 5, 10, 30, 60, 300]
    labels = ["under 1 s", "1–2 s", "2–5 s", "5–10 s", "10–30 s", "30–60 s", "1–5 min",
              "over 5 min"]
    counts = [0] * len(labels)
    for value in latencies:
        counts[next((i for i, e in enumerate(edges) if value < e), len(edges))] += 1
    return svg.counts(
        "Seconds from upload to result", list(zip(labels, counts, strict=True)),
        caption=f"First grading of each upload: {_plural(len(latencies), 'upload')} graded.",
        headers=("Time to result", "Uploads"))


def _basis_caption(parts: PartBasis) -> str:
    who = _plural(parts.students, "student")
    if parts.key == "counted":
        return (f"Basis: each student's counted attempt, the one their grade comes from "
                f"({who} with one).")
    return (f"Basis: every graded attempt; a student counts once if any of their attempts "
            f"did it ({who} with a graded attempt).")


def _share(parts: PartBasis, n: int) -> str:
    return f"{100 * parts.share(n):.0f} % ({n} of {parts.students})"


@bp.get("/assignments/<int:assignment_id>/analytics")
@login_required("instructor")
def analytics(assignment_id: int) -> str:
    """Score distribution, pass rate per part, frequent mistakes, timeline, latency."""
    assignment = assignment_taught_by(user(), assignment_id)
    basis = request.args.get("basis", "counted")
    key: BasisKey = "any" if basis == "any" else "counted"
    data = assignment_analytics(db.session, assignment, gradebook(db.session, assignment), key)
    parts = data.parts
    caption = _basis_caption(parts)
    parts_chart = svg.hbars("Share of students passing each part", [
        (name, parts.share(n), _share(parts, n)) for name, n in parts.passed.items()
    ], caption=caption, headers=("Part", "Students passing")) if parts.students else None
    mistake_chart = svg.hbars("Share of students who made each mistake", [
        (plain_mistake(assignment.slug, code), parts.share(n), _share(parts, n))
        for code, n in parts.diagnoses[:10]
    ], caption=caption, headers=("Mistake", "Students")) if parts.diagnoses else None
    latency = ({"median": statistics.median(data.latencies), "max": max(data.latencies)}
               if data.latencies else None)
    return render_template(
        "instructor/analytics.html", assignment=assignment, data=data, basis=key,
        basis_caption=caption,
        mean=sum(data.scores) / len(data.scores) if data.scores else None,
        score_chart=_score_chart(data, assignment.max_score), parts_chart=parts_chart,
        mistake_chart=mistake_chart, timeline=_timeline(data, assignment.due_at),
        latency_chart=_latency_chart(data.latencies), latency=latency,
    )


def plain_mistake(slug: str, code: str) -> str:
    """A diagnosis as a chart label: "forgot the 1/N batch mean" (no leading "You")."""
    text = short(slug, code)
    return text[4:] if text.startswith("You ") else text


def _regrade_of(regrade_id: int) -> tuple[Regrade, Assignment]:
    regrade = db.session.get(Regrade, regrade_id)
    if regrade is None:
        abort(404)
    return regrade, assignment_taught_by(user(), regrade.assignment_id)


@bp.post("/assignments/<int:assignment_id>/regrades")
@login_required("instructor")
def regrade(assignment_id: int) -> Response:
    """Start a regrade: a preview (nothing changes yet) or one that applies."""
    back("instructor.grades", assignment_id=assignment_id)
    assignment = assignment_taught_by(user(), assignment_id)
    preview = forms.text("mode", "preview") != "apply"
    found, pairs = start_regrade(db.session, assignment, user(), preview=preview,
                                 reason=forms.text("reason"))
    db.session.commit()
    return redirect(url_for("instructor.regrade_report_page", regrade_id=found.id))


@bp.get("/regrades/<int:regrade_id>")
@login_required("instructor")
def regrade_report_page(regrade_id: int) -> str:
    """Before and after per student; for a preview, a button to apply it."""
    _, assignment = _regrade_of(regrade_id)
    try:
        report = regrade_report(db.session, regrade_id)
    except NotFound:
        abort(404)
    changed = [line for line in report.lines if line.changed]
    return render_template("instructor/regrade.html", assignment=assignment, report=report,
                           changed=changed)


@bp.post("/regrades/<int:regrade_id>/apply")
@login_required("instructor")
def apply_regrade(regrade_id: int) -> Response:
    """Apply a previewed regrade: grade again, this time making the results count."""
    previewed, assignment = _regrade_of(regrade_id)
    back("instructor.regrade_report_page", regrade_id=regrade_id)
    found, pairs = start_regrade(db.session, assignment, user(), preview=False,
                                 reason=previewed.reason or f"applies preview {previewed.id}")
    db.session.commit()
    flash("Regrade started; the new scores count as each submission finishes.", "success")
    return redirect(url_for("instructor.regrade_report_page", regrade_id=found.id))
