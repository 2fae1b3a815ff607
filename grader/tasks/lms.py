"""Celery tasks of the LTI integration: deliver scores from the outbox, sweep it, make line
items and sync rosters. Thin: ids in, rows re-read, the domain and the platform client do the
work; every state lives in the database so a lost message is only a delay."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from flask import current_app

from grader.domain import outbox
from grader.extensions import db
from grader.lti import services
from grader.lti.errors import PlatformError
from grader.lti.keys import signing_key
from grader.lti.launch import purge_expired
from grader.models import LtiContext, LtiResourceLink

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]  # untyped
def deliver_score(outbox_id: int) -> str:
    """Send the latest version of one outbox row to its line item, at most one sender at a
    time; on failure keep the platform's error and try again later with backoff."""
    session = db.session
    config = current_app.config
    _commit_signing_key()
    delivery = outbox.claim_delivery(session, outbox_id, config["LTI_DELIVERY_LEASE_SECONDS"])
    session.commit()
    if delivery is None:
        return "nothing to deliver, or another worker is delivering it"
    try:
        client = services.client_for(session, delivery.platform_id)
        session.commit()
        client.post_score(delivery.lineitem_url, delivery.payload)
    except PlatformError as exc:
        delay = outbox.record_failure(
            session,
            delivery,
            exc.message,
            config["LTI_RETRY_BACKOFF_SECONDS"],
            config["LTI_MAX_BACKOFF_SECONDS"],
        )
        session.commit()
        log.warning(
            "score %s v%s not delivered (retry in %.0fs): %s",
            outbox_id,
            delivery.version,
            delay,
            exc.message,
        )
        if config["ENQUEUE"]:
            deliver_score.apply_async((outbox_id,), countdown=delay)
        return f"failed: {exc.message}"
    outbox.record_delivery(session, delivery)  # a newer version is sent after the commit
    session.commit()
    log.info("score delivered to the LMS", extra={"outbox_id": outbox_id,
                                                  "version": delivery.version})
    return f"delivered version {delivery.version}"


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery is untyped
def sweep_outbox() -> int:
    """Enqueue again every undelivered row that is due (lost message, backoff elapsed), and
    forget expired launch states and nonces."""
    session = db.session
    due = outbox.due_for_delivery(session)  # sent after the commit
    purge_expired(session)
    session.commit()
    return len(due)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=5)  # type: ignore[untyped-decorator]  # noqa: E501
def set_up_link(self: Any, resource_link_id: int) -> str:
    """Make sure the link's assignment has its line item (retried while the platform fails)."""
    session = db.session
    _commit_signing_key()
    link = session.get(LtiResourceLink, resource_link_id)
    if link is None:
        return "no such link"
    try:
        item = services.ensure_line_item(session, link)
    except PlatformError as exc:
        session.rollback()
        link = session.get_one(LtiResourceLink, resource_link_id)
        link.line_item_error = exc.message
        session.commit()
        backoff = current_app.config["LTI_RETRY_BACKOFF_SECONDS"]
        raise self.retry(countdown=backoff * 2**self.request.retries) from None
    session.commit()
    return f"line item {item.url}" if item else "no line item"


@shared_task(acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]  # untyped
def sync_roster(context_id: int) -> str:
    """Enroll the course's members from the platform's roster service."""
    session = db.session
    _commit_signing_key()
    context = session.get(LtiContext, context_id)
    if context is None:
        return "no such context"
    try:
        result = services.sync_roster(session, context)
    except PlatformError as exc:
        session.rollback()
        context = session.get_one(LtiContext, context_id)
        context.roster_error = exc.message
        session.commit()
        return f"failed: {exc.message}"
    session.commit()
    return f"{result.members} members, {result.enrolled} newly enrolled"


def _commit_signing_key() -> None:
    # Made (once) and committed before any call to a platform: the platform reads our key set
    # while we wait for its answer, and must not wait for our transaction.
    signing_key(db.session)
    db.session.commit()

