"""Registering a platform (an LMS) and its deployments."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.exceptions import InvalidInput
from grader.models import LtiDeployment, LtiPlatform


def register_platform(
    session: so.Session,
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    deployment_ids: Iterable[str],
    name: str = "",
    auth_audience: str | None = None,
) -> LtiPlatform:
    """Add a platform, or update the one with this issuer and client id; deployments are added
    to the ones it has (flushed).

    Raises:
        InvalidInput: an empty field or a URL that is not http(s).
    """
    values = {
        "issuer": issuer,
        "client_id": client_id,
        "auth_login_url": auth_login_url,
        "auth_token_url": auth_token_url,
        "key_set_url": key_set_url,
    }
    for field, value in values.items():
        if not value.strip():
            raise InvalidInput(f"{field} is required")
        if field != "client_id" and not value.startswith(("https://", "http://")):
            raise InvalidInput(f"{field} must be an http(s) URL, not {value!r}")
    platform = session.scalar(
        sa.select(LtiPlatform).where(
            LtiPlatform.issuer == issuer, LtiPlatform.client_id == client_id
        )
    )
    if platform is None:
        platform = LtiPlatform(issuer=issuer, client_id=client_id)
        session.add(platform)
    platform.name = name or platform.name or issuer
    platform.auth_login_url = auth_login_url
    platform.auth_token_url = auth_token_url
    platform.key_set_url = key_set_url
    platform.auth_audience = auth_audience or None
    session.flush()
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in deployment_ids:
        deployment_id = deployment_id.strip()
        if deployment_id and deployment_id not in known:
            platform.deployments.append(LtiDeployment(deployment_id=deployment_id))
            known.add(deployment_id)
    session.flush()
    return platform
