"""Deep linking: an instructor adds autograde to a course by picking the assignment; the
platform gets a signed resource link that names it, with its line item."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import sqlalchemy.orm as so
from flask import url_for

from grader.lti.keys import signing_key
from grader.lti.launch import LTI, Launch
from grader.models import Assignment, LtiContext, LtiPlatform

CUSTOM_KEY = "autograde_assignment_id"


def remember(launch: Launch, context: LtiContext) -> dict[str, Any]:
    """What the deep linking response will need, kept in the user's session."""
    settings = launch.deep_linking
    return {
        "context": context.id,
        "platform": launch.platform.id,
        "deployment": launch.deployment_id,
        "return_url": str(settings.get("deep_link_return_url", "")),
        "data": settings.get("data"),
    }


def response_jwt(
    session: so.Session, context: LtiContext, remembered: dict[str, Any], assignment: Assignment
) -> str:
    """The LtiDeepLinkingResponse, signed with our key."""
    platform = session.get_one(LtiPlatform, remembered["platform"])
    key = signing_key(session)
    now = int(time.time())
    item = {
        "type": "ltiResourceLink",
        "title": assignment.title,
        "url": url_for("lti.launch", _external=True),
        "custom": {CUSTOM_KEY: str(assignment.id)},
        "lineItem": {
            "scoreMaximum": assignment.max_score,
            "label": assignment.title,
            "resourceId": f"autograde-assignment-{assignment.id}",
            "tag": "autograde",
        },
    }
    claims: dict[str, Any] = {
        "iss": platform.client_id,
        "aud": [platform.issuer],
        "iat": now,
        "exp": now + 600,
        "nonce": uuid.uuid4().hex,
        LTI + "deployment_id": remembered["deployment"],
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [item],
    }
    if remembered.get("data") is not None:
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] = remembered["data"]
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def assignment_from_custom(
    session: so.Session, context: LtiContext, claims: dict[str, Any]
) -> Assignment | None:
    """The assignment a deep-linked placement names, if it belongs to the launch's course."""
    custom = claims.get(LTI + "custom") or {}
    value = custom.get(CUSTOM_KEY) if isinstance(custom, dict) else None
    if not isinstance(value, (str, int)) or not str(value).isdigit():
        return None
    assignment = session.get(Assignment, int(value))
    if assignment is None or assignment.course_id != context.course_id:
        return None
    return assignment
