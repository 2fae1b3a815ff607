"""A small LMS for the tests, served for real on 127.0.0.1: its own keys and key set, an OIDC
authorization endpoint that signs id_tokens, an OAuth2 token endpoint that checks the tool's
client assertion against the tool's published key set, AGS line items, scores and results, and
an NRPS membership list. Scores honour AGS ordering: an older timestamp never overwrites."""

from __future__ import annotations

import functools
import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, abort, jsonify, request
from jwt.algorithms import RSAAlgorithm
from werkzeug.serving import make_server

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
ROLE_LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
ROLE_INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


@dataclass
class LmsUser:
    sub: str
    name: str
    email: str
    roles: list[str]


@dataclass
class LineItem:
    id: str
    data: dict[str, Any]
    #: userId -> (timestamp, score document) of the score the gradebook holds.
    results: dict[str, tuple[datetime, dict[str, Any]]] = field(default_factory=dict)


class ServedApp:
    """A WSGI app on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class Platform:
    """The simulated LMS. ``tool_jwks_url`` is where it reads the tool's public keys."""

    client_id = "autograde-client-1"
    deployment_id = "deployment-1"
    context_id = "course-42"

    def __init__(self, tool_jwks_url: str) -> None:
        self.tool_jwks_url = tool_jwks_url
        self.private_key = platform_private_key()
        self.kid = "platform-key-1"
        self.lock = threading.Lock()
        self.users: dict[str, LmsUser] = {}
        self.line_items: dict[str, LineItem] = {}
        self.tokens: dict[str, set[str]] = {}
        self.used_assertions: set[str] = set()
        #: Every score POST that reached the endpoint: (status answered, document).
        self.score_posts: list[tuple[int, dict[str, Any]]] = []
        self.fail_scores = 0
        self.token_requests = 0
        self.app = self._make_app()
        self.served = ServedApp(self.app)
        self.url = self.served.url
        self.issuer = self.url

    def stop(self) -> None:
        self.served.stop()

    # -- what tests use ---------------------------------------------------------------------

    def add_user(self, sub: str, name: str, email: str, instructor: bool = False) -> LmsUser:
        user = LmsUser(sub, name, email, [ROLE_INSTRUCTOR if instructor else ROLE_LEARNER])
        self.users[sub] = user
        return user

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def claims(self, user: LmsUser, nonce: str, **overrides: Any) -> dict[str, Any]:
        """The claims of a resource link launch by ``user``."""
        now = int(time.time())
        base = f"{self.url}/contexts/{self.context_id}"
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": user.sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": user.name,
            "email": user.email,
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": "https://tool.invalid/lti/launch",
            LTI + "roles": user.roles,
            LTI + "context": {"id": self.context_id, "title": "Numerical Methods"},
            LTI + "resource_link": {"id": "link-1", "title": "Backprop homework"},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": AGS_SCOPES,
                "lineitems": f"{base}/lineitems",
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{base}/memberships",
                "service_versions": ["2.0"],
            },
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], kid: str | None = None, key: Any = None) -> str:
        return jwt.encode(claims, key or self.private_key, algorithm="RS256",
                          headers={"kid": kid or self.kid})

    def authorize(self, login_redirect: str, **overrides: Any) -> dict[str, str]:
        """Follow the tool's redirect to our authorization endpoint, as a browser would, and
        return the form the browser would post to the tool (id_token, state, action)."""
        response = requests.get(login_redirect, params={"_overrides": json.dumps(overrides)},
                                timeout=10)
        assert response.status_code == 200, response.text
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', response.text))
        action = re.search(r'action="([^"]+)"', response.text)
        assert action is not None
        fields = {k: html.unescape(v) for k, v in fields.items()}
        fields["action"] = html.unescape(action.group(1))
        return fields

    def gradebook(self) -> dict[str, float | None]:
        """userId -> scoreGiven held by the (single) line item."""
        assert len(self.line_items) == 1, self.line_items
        (item,) = self.line_items.values()
        return {u: doc.get("scoreGiven") for u, (_, doc) in item.results.items()}

    def accepted_scores(self) -> list[dict[str, Any]]:
        return [doc for status, doc in self.score_posts if status == 200]

    # -- the server -------------------------------------------------------------------------

    def _make_app(self) -> Flask:
        app = Flask("platform")
        base = f"/contexts/{self.context_id}"

        @app.get("/jwks")
        def jwks() -> Any:
            return jsonify(self.jwks())

        @app.get("/auth")
        def auth() -> Any:
            args = request.args
            if args.get("client_id") != self.client_id or args.get("response_type") != "id_token":
                abort(400)
            if args.get("scope") != "openid" or args.get("response_mode") != "form_post":
                abort(400)
            user = self.users.get(args.get("login_hint", ""))
            if user is None:
                abort(403)
            overrides = json.loads(args.get("_overrides") or "{}")
            token = self.sign(self.claims(user, args["nonce"], **overrides))
            redirect_uri = html.escape(args["redirect_uri"])
            return (
                f'<form method="post" action="{redirect_uri}">'
                f'<input type="hidden" name="id_token" value="{html.escape(token)}">'
                f'<input type="hidden" name="state" value="{html.escape(args["state"])}">'
                "</form><script>document.forms[0].submit()</script>"
            )

        @app.get("/course")
        def course() -> Any:
            # A course page showing the tool in an iframe, the way an LMS does by default.
            src = html.escape(request.args["src"])
            return (f'<h1>Numerical Methods</h1><iframe id="tool" src="{src}" width="1200" '
                    'height="800"></iframe>')

        @app.post("/token")
        def token() -> Any:
            form = request.form
            self.token_requests += 1
            if form.get("grant_type") != "client_credentials" or form.get(
                "client_assertion_type"
            ) != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return jsonify(error="unsupported_grant_type"), 400
            assertion = form.get("client_assertion", "")
            try:
                kid = jwt.get_unverified_header(assertion)["kid"]
                keys = requests.get(self.tool_jwks_url, timeout=10).json()["keys"]
                key = next(k for k in keys if k["kid"] == kid)
                claims = jwt.decode(
                    assertion, jwt.PyJWK(key).key, algorithms=["RS256"],
                    audience=f"{self.url}/token", issuer=self.client_id,
                    options={"require": ["exp", "iat", "jti", "sub"]},
                )
            except (jwt.InvalidTokenError, StopIteration, KeyError) as exc:
                return jsonify(error="invalid_client", detail=str(exc)), 401
            if claims["sub"] != self.client_id or claims["jti"] in self.used_assertions:
                return jsonify(error="invalid_client"), 401
            self.used_assertions.add(claims["jti"])
            granted = set(form.get("scope", "").split()) & {*AGS_SCOPES, NRPS_SCOPE}
            access = secrets.token_hex(16)
            self.tokens[access] = granted
            return jsonify(access_token=access, token_type="Bearer", expires_in=3600,
                           scope=" ".join(sorted(granted)))

        def _require(scope: str) -> None:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer ") or scope not in self.tokens.get(header[7:], ()):
                abort(401)

        @app.route(f"{base}/lineitems", methods=["GET", "POST"])
        def lineitems() -> Any:
            _require(AGS_SCOPES[0])
            if request.method == "GET":
                found = [i.data for i in self.line_items.values()
                         if all(i.data.get(k) == request.args[a] for a, k in
                                (("resource_link_id", "resourceLinkId"), ("tag", "tag"))
                                if a in request.args)]
                return app.response_class(json.dumps(found), mimetype="application/json")
            data = request.get_json(force=True)
            with self.lock:
                item_id = f"{self.url}{base}/lineitems/{len(self.line_items) + 1}"
                item = LineItem(item_id, {**data, "id": item_id})
                self.line_items[item_id] = item
            return jsonify(item.data), 201

        @app.post(f"{base}/lineitems/<int:n>/scores")
        def scores(n: int) -> Any:
            _require(AGS_SCOPES[2])
            doc = request.get_json(force=True)
            with self.lock:
                if self.fail_scores > 0:
                    self.fail_scores -= 1
                    self.score_posts.append((503, doc))
                    return "the gradebook is busy", 503
                self.score_posts.append((200, doc))
                item = self.line_items[f"{self.url}{base}/lineitems/{n}"]
                when = datetime.fromisoformat(doc["timestamp"].replace("Z", "+00:00"))
                held = item.results.get(doc["userId"])
                if held is None or held[0] < when:
                    item.results[doc["userId"]] = (when, doc)
            return "", 200

        @app.get(f"{base}/lineitems/<int:n>/results")
        def results(n: int) -> Any:
            _require(AGS_SCOPES[1])
            item = self.line_items[f"{self.url}{base}/lineitems/{n}"]
            found = [{"id": f"{item.id}/results/{u}", "scoreOf": item.id, "userId": u,
                      "resultScore": d.get("scoreGiven"),
                      "resultMaximum": d.get("scoreMaximum"), "comment": d.get("comment")}
                     for u, (_, d) in item.results.items()]
            return app.response_class(json.dumps(found), mimetype="application/json")

        @app.get(f"{base}/memberships")
        def memberships() -> Any:
            _require(NRPS_SCOPE)
            members = [{"user_id": u.sub, "name": u.name, "email": u.email, "roles": u.roles,
                        "status": "Active"} for u in self.users.values()]
            return jsonify(id=f"{self.url}{base}/memberships",
                           context={"id": self.context_id}, members=members)

        return app


@functools.cache
def platform_private_key() -> rsa.RSAPrivateKey:
    """One key for every simulated platform of the session (generating one takes a while)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
