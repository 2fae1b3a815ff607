"""Analytics charts of an assignment, and regrades previewed before they are applied."""

from __future__ import annotations

import statistics
from datetime import datetime

from flask import abort, flash, redirect, render_template, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from grader.domain.analytics import Analytics, assignment_analytics
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


def _score_chart(data: Analytics, max_score: float) -> Markup:
    bins = 10
    counts = [0] * bins
    for score in data.scores:
        i = min(bins - 1, int(bins * score / max_score)) if max_score > 0 else 0
        counts[i] += 1
    labels = [f"{100 * i // bins}–{100 * (i + 1) // bins}%" for i in range(bins)]
    return svg.columns("Counted scores of students", list(zip(labels, counts, strict=True)))


def _timeline(data: Analytics, due: datetime | None) -> Markup:
    if not data.submitted_at:
        return svg.columns("Submissions per day", [])
    days = sorted({t.date() for t in data.submitted_at} | ({due.date()} if due else set()))
    first, last = days[0], days[-1]
    span = [first.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)]
    counts = {d: 0 for d in span}
    for t in data.submitted_at:
        counts[t.date()] += 1
    marker = (span.index(due.date()) + 1, "due") if due else None
    return svg.columns("Submissions per day", [(d.strftime("%d %b"), counts[d]) for d in span],
                       marker=marker)


def _latency_chart(latencies: list[float]) -> Markup:
    edges = [1, 2, 5, 10, 30, 60, 300]
    labels = ["<1 s", "1–2 s", "2–5 s", "5–10 s", "10–30 s", "30–60 s", "1–5 min", ">5 min"]
    counts = [0] * len(labels)
    for value in latencies:
        counts[next((i for i, e in enumerate(edges) if value < e), len(edges))] += 1
    return svg.columns("Seconds from upload to result", list(zip(labels, counts, strict=True)))


@bp.get("/assignments/<int:assignment_id>/analytics")
@login_required("instructor")
def analytics(assignment_id: int) -> str:
    """Score distribution, pass rate per part, frequent mistakes, timeline, latency."""
    assignment = assignment_taught_by(user(), assignment_id)
    data = assignment_analytics(db.session, assignment, gradebook(db.session, assignment))
    with_attempt = max(1, len(data.scores))
    submitted = max(1, data.submitted)
    parts = svg.hbars("Share of students passing each part", [
        (name, passed / total if total else 0.0,
         f"{100 * passed / total:.0f} % ({passed}/{total})" if total else "—")
        for name, (passed, total) in data.part_pass.items()
    ])
    mistakes = [(code, short(assignment.slug, code), n, 100 * n / submitted)
                for code, n in data.diagnoses]
    mistake_chart = svg.hbars("Share of students who made each mistake", [
        # The list beside the chart says each mistake in words; the bars name it by code,
        # which fits the label column.
        (code, pct / 100, f"{pct:.0f} % ({n})") for code, _, n, pct in mistakes[:8]
    ])
    latency = ({"median": statistics.median(data.latencies), "max": max(data.latencies)}
               if data.latencies else None)
    return render_template(
        "instructor/analytics.html", assignment=assignment, data=data,
        mean=sum(data.scores) / with_attempt if data.scores else None,
        score_chart=_score_chart(data, assignment.max_score), parts_chart=parts,
        mistakes=mistakes, mistake_chart=mistake_chart,
        timeline=_timeline(data, assignment.due_at),
        latency_chart=_latency_chart(data.latencies), latency=latency,
    )


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
