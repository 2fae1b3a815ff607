"""OIDC login initiation and the checks on a launch's id_token.

Every check that fails raises ``LaunchRefused`` with a reason fit for the page and the log;
nothing here creates a user, a course or an enrollment (``provision`` does, after).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as so
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import get_validators

from grader.lti.errors import LaunchRefused, PlatformError
from grader.lti.platform_api import platform_key
from grader.models import LtiDeployment, LtiLoginState, LtiPlatform, LtiUsedNonce, utcnow

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
MESSAGE_TYPES = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")
LOGIN_LIFETIME = timedelta(minutes=10)
#: Clock skew allowed between the platform and us when checking exp and iat.
LEEWAY_SECONDS = 60
#: Roles that teach; any other role (Learner, Mentor, ...) launches as a student.
TEACHING_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    "Instructor",
    "Administrator",
)


def is_teaching(roles: list[str]) -> bool:
    """Whether a roles claim (or NRPS roles list) makes the user an instructor."""
    return any(role in TEACHING_ROLES for role in roles)


def find_platform(session: so.Session, issuer: str, client_id: str | None) -> LtiPlatform:
    """The registration for ``issuer`` (and ``client_id`` when given).

    Raises:
        LaunchRefused: unknown issuer or client, or several registrations and no client id.
    """
    query = sa.select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        query = query.where(LtiPlatform.client_id == client_id)
    found = session.scalars(query).all()
    if not found:
        raise LaunchRefused(
            f"no platform is registered for issuer {issuer!r}"
            + (f" and client id {client_id!r}" if client_id else "")
        )
    if len(found) > 1:
        raise LaunchRefused(
            f"several registrations for issuer {issuer!r}: the login must name its client_id"
        )
    return found[0]


def begin_login(
    session: so.Session, params: Mapping[str, str], redirect_uri: str
) -> tuple[str, LtiLoginState]:
    """Answer a platform's OIDC login initiation.

    Returns:
        The URL of the platform's authorization endpoint to send the browser to, and the
        stored login state (flushed; the caller commits and sets the state cookie).
    """
    issuer, hint = params.get("iss", ""), params.get("login_hint", "")
    target = params.get("target_link_uri", "")
    if not issuer or not hint or not target:
        raise LaunchRefused("the login request lacks iss, login_hint or target_link_uri")
    platform = find_platform(session, issuer, params.get("client_id") or None)
    deployment = params.get("lti_deployment_id")
    if deployment and not _deployment_known(session, platform, deployment):
        raise LaunchRefused(f"deployment {deployment!r} is not registered for {issuer}")
    now = utcnow()
    login = LtiLoginState(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        platform_id=platform.id,
        target_link_uri=target[:1000],
        created_at=now,
        expires_at=now + LOGIN_LIFETIME,
    )
    session.add(login)
    session.flush()
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": hint,
        "state": login.state,
        "nonce": login.nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    return platform.auth_login_url + separator + urlencode(query), login


@dataclass(frozen=True)
class Launch:
    """A verified launch: who, from where, into what."""

    platform: LtiPlatform
    claims: dict[str, Any]

    def claim(self, name: str, default: Any = None) -> Any:
        return self.claims.get(LTI + name, default)

    @property
    def message_type(self) -> str:
        return str(self.claim("message_type"))

    @property
    def deployment_id(self) -> str:
        return str(self.claim("deployment_id"))

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])

    @property
    def roles(self) -> list[str]:
        return [str(r) for r in self.claim("roles", [])]

    @property
    def teaching(self) -> bool:
        return is_teaching(self.roles)

    @property
    def context(self) -> dict[str, Any]:
        value = self.claim("context") or {}
        return value if isinstance(value, dict) else {}

    @property
    def resource_link(self) -> dict[str, Any]:
        value = self.claim("resource_link") or {}
        return value if isinstance(value, dict) else {}

    @property
    def ags(self) -> dict[str, Any]:
        value = self.claims.get(AGS_CLAIM) or {}
        return value if isinstance(value, dict) else {}

    @property
    def nrps(self) -> dict[str, Any]:
        value = self.claims.get(NRPS_CLAIM) or {}
        return value if isinstance(value, dict) else {}

    @property
    def deep_linking(self) -> dict[str, Any]:
        value = self.claims.get(DL_CLAIM) or {}
        return value if isinstance(value, dict) else {}


def verify_launch(
    session: so.Session,
    id_token: str,
    state: str,
    state_cookie: str | None,
    now: datetime | None = None,
) -> Launch:
    """Check a launch completely and consume its state and nonce (flushed, not committed).

    Checks: the state is ours, unused, unexpired and this browser's; the token is RS256 and
    signed by a key of the platform's key set; iss, aud, azp, exp and iat; the nonce is the
    login's and was never used; the deployment is registered; the message type and version.

    Raises:
        LaunchRefused: any check failed.
    """
    now = now or utcnow()
    login = _consume_state(session, state, state_cookie, now)
    platform = session.get_one(LtiPlatform, login.platform_id)
    claims = _decode(platform, id_token)
    if claims.get("nonce") != login.nonce:
        raise LaunchRefused("the id_token's nonce is not the one of this login")
    aud = claims.get("aud")
    azp = claims.get("azp")
    if isinstance(aud, list) and len(aud) > 1 and azp is None:
        raise LaunchRefused("the id_token has several audiences and no azp")
    if azp is not None and azp != platform.client_id:
        raise LaunchRefused(f"the id_token's azp {azp!r} is not our client id")
    launch = Launch(platform, claims)
    if not launch.claim("deployment_id"):
        raise LaunchRefused("the id_token has no deployment_id")
    if not _deployment_known(session, platform, launch.deployment_id):
        raise LaunchRefused(
            f"deployment {launch.deployment_id!r} is not registered for {platform.issuer}"
        )
    _check_message(claims)
    _use_nonce(session, platform.issuer, login.nonce, claims, now)
    return launch


def _consume_state(
    session: so.Session, state: str, cookie: str | None, now: datetime
) -> LtiLoginState:
    if not state:
        raise LaunchRefused("the launch has no state")
    login = session.scalar(sa.select(LtiLoginState).where(LtiLoginState.state == state))
    if login is None:
        raise LaunchRefused("the launch's state is not one we issued")
    if not cookie or not secrets.compare_digest(cookie, state):
        raise LaunchRefused("the launch's state was issued to another browser")
    if login.expires_at < now:
        raise LaunchRefused("the login expired before the launch arrived")
    used = session.execute(
        sa.update(LtiLoginState)
        .where(LtiLoginState.id == login.id, LtiLoginState.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult
        raise LaunchRefused("the launch's state was already used")
    return login


def _decode(platform: LtiPlatform, id_token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.InvalidTokenError:
        raise LaunchRefused("the id_token is not a JWT") from None
    if header.get("alg") != "RS256":
        raise LaunchRefused(f"the id_token is signed with {header.get('alg')!r}, not RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchRefused("the id_token's header names no key (kid)")
    try:
        key = platform_key(platform, kid)
    except PlatformError as exc:
        raise LaunchRefused(f"the platform's signing key is unavailable: {exc.message}") from None
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=["RS256"],
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
        )
    except jwt.ExpiredSignatureError:
        raise LaunchRefused("the id_token has expired") from None
    except jwt.InvalidAudienceError:
        raise LaunchRefused("the id_token is meant for another tool (aud)") from None
    except jwt.InvalidIssuerError:
        raise LaunchRefused("the id_token's issuer is not the login's platform") from None
    except jwt.ImmatureSignatureError:
        raise LaunchRefused("the id_token is issued in the future (iat)") from None
    except jwt.InvalidSignatureError:
        raise LaunchRefused("the id_token's signature does not verify") from None
    except jwt.InvalidTokenError as exc:
        raise LaunchRefused(f"the id_token is invalid: {exc}") from None
    return claims


def _check_message(claims: dict[str, Any]) -> None:
    message_type = claims.get(LTI + "message_type")
    if message_type not in MESSAGE_TYPES:
        raise LaunchRefused(f"unsupported message type {message_type!r}")
    if claims.get(LTI + "version") != "1.3.0":
        raise LaunchRefused(f"unsupported LTI version {claims.get(LTI + 'version')!r}")
    try:
        for validator in get_validators():  # type: ignore[no-untyped-call]  # untyped library
            if validator.can_validate(claims):
                validator.validate(claims)
    except LtiException as exc:
        raise LaunchRefused(f"the launch message is incomplete: {exc}") from None
    if message_type == "LtiResourceLinkRequest" and not (claims.get(LTI + "context") or {}).get(
        "id"
    ):
        raise LaunchRefused("the launch has no context (course)")


def _use_nonce(
    session: so.Session, issuer: str, nonce: str, claims: dict[str, Any], now: datetime
) -> None:
    exp = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
    try:
        with session.begin_nested():
            session.add(
                LtiUsedNonce(
                    issuer=issuer, nonce=nonce, expires_at=max(exp, now) + timedelta(days=1)
                )
            )
    except sa_exc.IntegrityError:
        raise LaunchRefused("the id_token's nonce was already used (replay)") from None


def _deployment_known(session: so.Session, platform: LtiPlatform, deployment_id: str) -> bool:
    return (
        session.scalar(
            sa.select(LtiDeployment.id).where(
                LtiDeployment.platform_id == platform.id,
                LtiDeployment.deployment_id == deployment_id,
            )
        )
        is not None
    )


def purge_expired(session: so.Session, now: datetime | None = None) -> int:
    """Delete login states and used nonces past their lifetime; returns how many."""
    now = now or utcnow()
    states = session.execute(
        sa.delete(LtiLoginState).where(LtiLoginState.expires_at < now - timedelta(days=1))
    )
    nonces = session.execute(sa.delete(LtiUsedNonce).where(LtiUsedNonce.expires_at < now))
    return int(states.rowcount) + int(nonces.rowcount)  # type: ignore[attr-defined]  # a DML execute returns a CursorResult
