"""The application factory: Flask, its database, Celery and every blueprint, wired together."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application.

    Args:
        config: Settings applied last, over the defaults and ``AUTOGRADE_*`` variables.

    Returns:
        The app, with its database, Celery app and blueprints registered.
    """
    from grader.config import DEFAULTS, instance_secret_key
    from grader.converters import IdConverter
    from grader.extensions import db
    from grader.tasks.celery_app import celery_init_app

    # The instance folder (SQLite file, secret key, demo credentials, worker log): ``instance/``
    # beside the package unless AUTOGRADE_INSTANCE_PATH names another (absolute) folder.
    instance = os.environ.get("AUTOGRADE_INSTANCE_PATH") or None
    app = Flask("grader", instance_relative_config=True,
                instance_path=os.path.abspath(instance) if instance else None)
    app.url_map.converters["int"] = IdConverter
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("AUTOGRADE")
    if config is not None:
        app.config.from_mapping(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        # Room for the multipart framing around the largest accepted file.
        app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_SUBMISSION_BYTES"] + 64 * 1024

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind N reverse proxies, take the client's address, scheme and host from the
        # X-Forwarded-* headers they set (and only from that many hops).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask documents wrapping wsgi_app
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies)

    db.init_app(app)
    celery_init_app(app)

    from grader.logs import init_app as init_logs
    from grader.outage import init_app as init_outage

    init_logs(app)
    init_outage(app)

    from grader.metrics import init_app as init_metrics

    init_metrics(app)

    from grader.api import bp as api_bp

    app.register_blueprint(api_bp)

    from grader.web import init_app as init_web

    init_web(app)

    from grader.lti import init_app as init_lti

    init_lti(app)
    return app
