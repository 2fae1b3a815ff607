"""Logging in and out, and setting a password from an invitation or reset link."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from grader.domain.invitations import check_login, find_password_link, redeem_password_link
from grader.domain.login_limits import (
    PER_ACCOUNT,
    PER_IP,
    check_login_allowed,
    clear_failures,
    record_failure,
)
from grader.exceptions import AutogradeError, NotFound, Unauthorized
from grader.extensions import db
from grader.models import User
from grader.web.login import log_in, log_out, session_user

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User | None:
    """The logged-in user of this request, if any."""
    if "user" not in g:
        g.user = session_user()
    found: User | None = g.user
    return found


def login_required(role: str | None = None) -> Callable[[F], F]:
    """Send anonymous visitors to the login page; answer 404 to a user of another role."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(_login_url())
            if role is not None and user.role != role:
                abort(404)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def _login_url() -> str:
    # Back to this page after logging in: its path, and its query only if it has one; the
    # dashboard is where a login lands anyway.
    here = request.full_path if request.query_string else request.path
    if here == url_for("student.dashboard"):
        return url_for("auth.login")
    return url_for("auth.login", next=here)


def user() -> User:
    """The logged-in user (inside a ``login_required`` view)."""
    found = current_user()
    assert found is not None
    return found


def _safe_next(target: str | None) -> str:
    # Only local paths: never an open redirect. Browsers drop tabs and newlines inside a URL
    # ("/\t/evil.example" is "//evil.example") and read "\\" as "/": refuse them all.
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and target.isprintable()):
        return target
    return url_for("student.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """The login form."""
    if request.method == "POST":
        email, ip = request.form.get("email", ""), request.remote_addr or ""
        try:
            config = current_app.config
            check_login_allowed(
                db.session, email, ip,
                per_account=int(config.get("LOGIN_FAILURES_PER_ACCOUNT", PER_ACCOUNT)),
                per_ip=int(config.get("LOGIN_FAILURES_PER_IP", PER_IP)))
            found = check_login(db.session, email, request.form.get("password", ""))
        except AutogradeError as exc:
            if isinstance(exc, Unauthorized):
                record_failure(db.session, email, ip)
                db.session.commit()
            flash(exc.message, "error")
            return render_template("auth/login.html", email=email), exc.status
        clear_failures(db.session, email)
        db.session.commit()
        log_in(found)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", email="")


@bp.post("/logout")
def logout() -> Response:
    """End this session and every copy of it (and the user's other sessions)."""
    log_out(current_user())
    db.session.commit()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> str | Response | tuple[str, int]:
    """Choose a password through an invitation or reset link."""
    try:
        link = find_password_link(db.session, token)
    except NotFound as exc:
        return render_template("auth/link_invalid.html", message=exc.message), 404
    if request.method == "POST":
        try:
            found = redeem_password_link(db.session, token, request.form.get("password", ""),
                                         request.form.get("confirm", ""))
        except AutogradeError as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            log_in(found)
            flash("Your password is set. Welcome!", "success")
            return redirect(url_for("student.dashboard"))
    return render_template("auth/set_password.html", link=link)
