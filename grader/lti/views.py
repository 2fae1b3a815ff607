"""The LTI endpoints: key set, login, launch, choosing a link's assignment, deep linking,
and the instructor's reconciliation page."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from grader.domain.courses import create_assignment
from grader.domain.outbox import note_score_change, resend
from grader.domain.roster import is_instructor_of
from grader.exceptions import AutogradeError
from grader.extensions import db
from grader.lti import deep_linking, keys, services
from grader.lti.errors import LaunchRefused, PlatformError
from grader.lti.handoff import make_link_token, read_link_token, redeem_link_token
from grader.lti.launch import begin_login, verify_launch
from grader.lti.provision import provision
from grader.models import Assignment, Course, LtiContext, LtiResourceLink, User, utcnow
from grader.web.login import log_in, session_user
from grader.web.render import plural
from grader.web.security import frame_ancestors_directive

bp = Blueprint("lti", __name__, url_prefix="/lti", template_folder="templates")
log = logging.getLogger(__name__)
STATE_COOKIE = "lti_state_"
#: Set on the first pass through /lti/login when embedding is on; the second pass sees
#: whether the browser kept it (it does not where third-party cookies are blocked).
CHECK_COOKIE = "lti_cookies"
CHECK_PARAM = "lti_cookie_check"


def _embedding() -> bool:
    return bool(current_app.config["LTI_EMBED"])


def _cookie_flags(path: str) -> dict[str, Any]:
    # The launch is a cross-site POST (SameSite=None); inside an LMS iframe the cookie is
    # also Partitioned, so browsers phasing out third-party cookies still keep it there.
    return {"secure": True, "httponly": True, "samesite": "None", "path": path,
            "partitioned": _embedding()}


def _open_in_window(href: str, one_time: bool = False) -> tuple[str, int]:
    return render_template("lti/open_window.html", href=href, one_time=one_time), 200


def _refuse(reason: str, status: int = 403) -> tuple[str, int]:
    db.session.rollback()
    log.warning("LTI launch refused: %s (from %s)", reason, request.remote_addr)
    return render_template("lti/error.html", reason=reason), status


@bp.get("/jwks")
def jwks() -> Response:
    """Our public keys, for platforms to check what we sign."""
    document = keys.jwks(db.session)
    db.session.commit()
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    """OIDC login initiation: remember a state and nonce, send the browser to the platform.

    With embedding on, a first pass sets a test cookie and comes back here; if the browser
    did not keep it (third-party cookies blocked in the LMS's iframe), the page offers to
    start the same login in a new window, where our cookies are first-party.
    """
    params = {k: str(v) for k, v in request.values.items()}
    if _embedding():
        checked = params.pop(CHECK_PARAM, None) is not None
        if not checked:
            response = redirect(
                url_for("lti.login") + "?" + urlencode({**params, CHECK_PARAM: "1"}), 302
            )
            flags = _cookie_flags(url_for("lti.login"))
            response.set_cookie(CHECK_COOKIE, "1", max_age=600, **flags)
            return response
        if request.cookies.get(CHECK_COOKIE) != "1":
            return _open_in_window(url_for("lti.login") + "?" + urlencode(params))
    try:
        target, state = begin_login(db.session, params, url_for("lti.launch", _external=True))
    except LaunchRefused as exc:
        return _refuse(exc.message, 400)
    db.session.commit()
    response = redirect(target)
    # Bound to this browser; SameSite=None because the launch is a cross-site POST.
    response.set_cookie(
        STATE_COOKIE + state.state[:16],
        state.state,
        max_age=600,
        **_cookie_flags(url_for("lti.launch")),
    )
    return response


@bp.post("/launch")
def launch() -> Response | tuple[str, int]:
    """A launch: verify it all, then link or create user, course and enrollment, and log in."""
    state = request.form.get("state", "")
    try:
        verified = verify_launch(
            db.session,
            request.form.get("id_token", ""),
            state,
            request.cookies.get(STATE_COOKIE + state[:16]),
        )
        landed = provision(db.session, verified)
    except LaunchRefused as exc:
        return _refuse(exc.message)
    except AutogradeError as exc:
        return _refuse(exc.message, 400)
    link = landed.link
    if link is not None and link.assignment_id is None:
        chosen = deep_linking.assignment_from_custom(db.session, landed.context, verified.claims)
        if chosen is not None:
            link.assignment_id = chosen.id
    db.session.commit()
    user, context = landed.user, landed.context
    log.info(
        "LTI launch: user %s (%s) in course %s, %s",
        user.id,
        "instructor" if verified.teaching else "student",
        context.course_id,
        verified.message_type,
    )
    log_in(user)
    _after_launch(context, link)
    if verified.message_type == "LtiDeepLinkingRequest":
        if not verified.teaching:
            return _refuse("only instructors can add autograde to a course")
        session["lti_deep_link"] = deep_linking.remember(verified, context)
        target = url_for("lti.deep_link")
    elif link is None or link.assignment_id is None:
        if not verified.teaching:
            return render_template("lti/not_ready.html", title=link.title if link else ""), 200
        target = url_for("lti.choose", link_id=link.id if link else 0)
    else:
        target = _landing(link.assignment_id, verified.teaching)
    if _embedding():
        # Through the landing check: did the session cookie survive in this context?
        token = make_link_token(current_app.config["SECRET_KEY"], user, target)
        target = url_for("lti.landing", token=token)
    response = redirect(target, 303)
    flags = _cookie_flags(url_for("lti.launch"))
    response.delete_cookie(STATE_COOKIE + state[:16], **flags)
    return response


@bp.get("/landing/<token>")
def landing(token: str) -> Response | tuple[str, int]:
    """Where an embedded launch arrives: on to the page if the browser sent back the session
    the launch set; else (cookies blocked in the iframe) a button that opens the page in a
    new window through the same one-time link."""
    try:
        handoff, user = read_link_token(db.session, current_app.config["SECRET_KEY"], token,
                                        float(current_app.config["LTI_HANDOFF_SECONDS"]))
        if session_user() is not user:
            return _no_store(_open_in_window(url_for("lti.enter", token=token), True))
        # The session works here: use the link up so it cannot be replayed.
        redeem_link_token(db.session, current_app.config["SECRET_KEY"], token,
                          float(current_app.config["LTI_HANDOFF_SECONDS"]))
    except LaunchRefused as exc:
        return _refuse(exc.message, 400)
    db.session.commit()
    return redirect(handoff.target, 303)


@bp.get("/enter/<token>")
def enter(token: str) -> Response | tuple[str, int]:
    """The one-time link, opened in a new window: exchanged for a session on first use."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site != "same-origin":
        # Only our own landing page links here: another site must not be able to log a
        # visitor in as the link's user (login CSRF).
        return _refuse("open this sign-in link from the autograde page in your LMS")
    try:
        handoff, user = redeem_link_token(db.session, current_app.config["SECRET_KEY"], token,
                                          float(current_app.config["LTI_HANDOFF_SECONDS"]))
    except LaunchRefused as exc:
        return _refuse(exc.message, 400)
    db.session.commit()
    log_in(user)
    log.info("LTI sign-in link used by user %s", user.id)
    return redirect(handoff.target, 303)


def _no_store(page: tuple[str, int]) -> Response:
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def _landing(assignment_id: int, teaching: bool) -> str:
    try:
        if teaching:
            return url_for("instructor.grades", assignment_id=assignment_id)
        return url_for("student.assignment", assignment_id=assignment_id)
    except BuildError:
        return url_for("lti.reconcile", assignment_id=assignment_id) if teaching else "/"


def _after_launch(context: LtiContext, link: LtiResourceLink | None) -> None:
    if not current_app.config["ENQUEUE"]:
        return
    from grader.tasks.lms import set_up_link, sync_roster

    every = timedelta(minutes=float(current_app.config["LTI_ROSTER_SYNC_MINUTES"]))
    if context.memberships_url and (
        context.roster_synced_at is None or context.roster_synced_at < utcnow() - every
    ):
        sync_roster.delay(context.id)
    if link is not None and link.assignment_id is not None:
        set_up_link.delay(link.id)


def _commit_signing_key() -> None:
    # Before calling the platform, which reads our key set while we wait for its answer.
    keys.signing_key(db.session)
    db.session.commit()


def _teaching(course_id: int) -> User:
    user = session_user()
    if user is None or not is_instructor_of(db.session, user, course_id):
        abort(404)
    return user


@bp.route("/links/<int:link_id>/choose", methods=["GET", "POST"])
def choose(link_id: int) -> str | Response:
    """The instructor picks, once, which assignment a placement in the LMS opens."""

    link = db.session.get(LtiResourceLink, link_id)
    if link is None:
        abort(404)
    context = db.session.get_one(LtiContext, link.context_id)
    _teaching(context.course_id)
    course = db.session.get_one(Course, context.course_id)
    if link.assignment_id is not None:
        return redirect(_landing(link.assignment_id, True))
    if request.method == "POST":
        assignment = _chosen(course, request.form.get("choice", ""))
        if assignment is not None:
            link.assignment_id = assignment.id
            db.session.commit()
            _after_launch(context, link)
            return redirect(_landing(assignment.id, True), 303)
        flash("Choose one of the assignments.", "error")
    return _choose_page(course, link)


def _choose_page(course: Course, link: LtiResourceLink | None) -> str:
    """The page where an instructor picks a plugin, or one of the course's assignments."""
    from grader.engine.registry import list_plugins

    existing = db.session.scalars(
        sa.select(Assignment).where(Assignment.course_id == course.id).order_by(Assignment.id)
    ).all()
    return render_template(
        "lti/choose.html", link=link, course=course, plugins=list_plugins(), existing=existing
    )


def _chosen(course: Course, choice: str) -> Assignment | None:
    kind, _, value = choice.partition(":")
    if kind == "assignment" and value.isdigit():
        found = db.session.get(Assignment, int(value))
        return found if found is not None and found.course_id == course.id else None
    if kind == "plugin":
        try:
            return create_assignment(db.session, course, value)
        except AutogradeError:
            return None
    return None


@bp.route("/deep-link", methods=["GET", "POST"])
def deep_link() -> str | Response:
    """Deep linking: the instructor picks an assignment; we answer the platform with a
    signed resource link carrying it and its line item."""

    remembered: dict[str, Any] | None = session.get("lti_deep_link")
    if not remembered:
        abort(404)
    context = db.session.get(LtiContext, remembered["context"])
    if context is None:
        abort(404)
    _teaching(context.course_id)
    course = db.session.get_one(Course, context.course_id)
    if request.method == "POST":
        assignment = _chosen(course, request.form.get("choice", ""))
        if assignment is not None:
            jwt_response = deep_linking.response_jwt(db.session, context, remembered, assignment)
            db.session.commit()
            session.pop("lti_deep_link", None)
            page = make_response(
                render_template(
                    "lti/deep_link_return.html",
                    jwt=jwt_response,
                    return_url=remembered["return_url"],
                    assignment=assignment,
                )
            )
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(remembered["return_url"]))
            # The answer is a form posted to the platform: allow that one origin.
            page.headers["Content-Security-Policy"] = (
                f"default-src 'self'; form-action 'self' {origin}; "
                f"frame-ancestors {frame_ancestors_directive()}"
            )
            return page
        flash("Choose one of the assignments.", "error")
    return _choose_page(course, None)


def _reconciled(assignment_id: int) -> tuple[Assignment, services.Reconciliation]:
    """An assignment the current user teaches, compared with what the LMS holds."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    _teaching(assignment.course_id)
    _commit_signing_key()
    return assignment, services.reconcile(db.session, assignment)


@bp.get("/assignments/<int:assignment_id>/reconcile")
def reconcile(assignment_id: int) -> str:
    """Scores that differ between autograde and the LMS, and deliveries that failed."""
    assignment, report = _reconciled(assignment_id)
    context = db.session.scalar(
        sa.select(LtiContext).where(LtiContext.course_id == assignment.course_id).limit(1)
    )
    db.session.commit()
    return render_template(
        "lti/reconcile.html", assignment=assignment, report=report, context=context
    )


@bp.post("/assignments/<int:assignment_id>/resend")
def resend_scores(assignment_id: int) -> Response:
    """Send again the scores that differ or failed (or one student's, with ``student``)."""
    assignment, report = _reconciled(assignment_id)
    wanted = request.form.get("student", type=int)
    if wanted is not None:
        lines = [line for line in report.lines if line.student.id == wanted]
    else:
        lines = [
            line
            for line in report.lines
            if line.differs or (line.outbox and line.outbox.state != "delivered")
        ]
    ids = [line.outbox.id for line in lines if line.outbox is not None]
    count = resend(db.session, ids)
    for line in lines:
        if line.outbox is None:
            count += len(note_score_change(db.session, assignment.id, line.student.id))
    db.session.commit()
    flash(f"{plural(count, 'score')} queued for sending to the LMS.", "success")
    return redirect(url_for("lti.reconcile", assignment_id=assignment_id), 303)


@bp.post("/courses/<int:course_id>/sync-roster")
def sync_roster(course_id: int) -> Response:
    """Fetch the course's members from the LMS now."""
    _teaching(course_id)
    context = db.session.scalar(
        sa.select(LtiContext).where(LtiContext.course_id == course_id).limit(1)
    )
    if context is None:
        abort(404)
    _commit_signing_key()
    try:
        result = services.sync_roster(db.session, context)
    except PlatformError as exc:
        db.session.rollback()
        flash(f"The LMS roster could not be read: {exc.message}", "error")
    else:
        db.session.commit()
        flash(f"{result.members} members in the LMS, {result.enrolled} newly enrolled.", "success")
    # Back to the course's roster page: never to a Referer, which another site could set.
    return redirect(url_for("instructor.roster", course_id=course_id), 303)
