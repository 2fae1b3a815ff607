"""Autograde inside an LMS's iframe: who may frame the pages, cookies that work cross-site,
the cookie checks at login and landing, and the one-time link into a new window."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner

from grader import create_app
from grader.extensions import db
from grader.lti.handoff import make_link_token, read_link_token, redeem_link_token
from grader.lti.registration import register_platform
from grader.models import User
from grader.web.security import extra_origins, forget_frame_ancestors, origin_of
from tests.grader.lti.conftest import launch
from tests.grader.lti.platform import Platform
from tests.grader.lti.test_launch import choose_plugin


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "LTI_EMBED": True}


def register(app: Flask, issuer: str, login_url: str, client_id: str = "c1") -> None:
    with app.app_context():
        register_platform(db.session, issuer=issuer, client_id=client_id,
                          auth_login_url=login_url, auth_token_url=f"{issuer}/token",
                          key_set_url=f"{issuer}/jwks", deployment_ids=["d1"])
        db.session.commit()
    forget_frame_ancestors(app)


def frame_ancestors(response: Any) -> str:
    csp = response.headers["Content-Security-Policy"]
    (directive,) = [d.strip() for d in csp.split(";") if d.strip().startswith("frame-ancestors")]
    return directive


def session_cookie(response: Any) -> str:
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


class TestFraming:
    def test_no_platform_forbids_framing(self, app: Flask) -> None:
        """With no platform registered the pages refuse every frame."""
        response = app.test_client().get("/login")
        assert frame_ancestors(response) == "frame-ancestors 'none'"
        assert response.headers["X-Frame-Options"] == "DENY"

    def test_registered_platforms_only(self, app: Flask) -> None:
        """The origins of the platforms' issuer and authorization URLs, and nothing else, may
        frame the pages; X-Frame-Options, which cannot list origins, is left out."""
        register(app, "https://canvas.instructure.com",
                 "https://sso.canvaslms.com/api/lti/authorize_redirect")
        register(app, "https://moodle.uni.example:8443/moodle",
                 "https://moodle.uni.example:8443/moodle/mod/lti/auth.php", client_id="c2")
        response = app.test_client().get("/login")
        assert frame_ancestors(response) == (
            "frame-ancestors https://canvas.instructure.com https://sso.canvaslms.com "
            "https://moodle.uni.example:8443")
        assert "X-Frame-Options" not in response.headers
        assert "*" not in response.headers["Content-Security-Policy"]

    def test_every_page_kind_carries_it(self, app: Flask) -> None:
        """LTI pages, error pages and static files carry the same allow-list."""
        register(app, "https://lms.example", "https://lms.example/auth")
        client = app.test_client()
        for path in ("/lti/login", "/no-such-page", "/login"):
            response = client.get(path)
            assert frame_ancestors(response) == "frame-ancestors https://lms.example", path

    def test_extra_origins_setting(self, app_config: dict[str, Any]) -> None:
        """FRAME_ANCESTORS adds origins (normalized), with or without platforms."""
        app = create_app({**app_config, "FRAME_ANCESTORS":
                          "https://LMS.example.edu/, https://other.example.org:8443"})
        response = app.test_client().get("/login")
        assert frame_ancestors(response) == (
            "frame-ancestors https://lms.example.edu https://other.example.org:8443")
        assert "X-Frame-Options" not in response.headers
        app.extensions["db"].engine.dispose()

    @pytest.mark.parametrize("value", [
        "*", "https://*.example.edu", "'self'", "https://lms.example.edu/path", "lms.example.edu",
        "https://lms.example.edu; script-src *", "javascript:alert(1)", "data:",
    ])
    def test_bad_extra_origin_is_refused_at_start(self, value: str) -> None:
        """A wildcard, keyword, path or anything but an http(s) origin stops the app."""
        with pytest.raises(ValueError, match="FRAME_ANCESTORS"):
            extra_origins(value)

    def test_embedding_off_keeps_framing_forbidden(self, app_config: dict[str, Any]) -> None:
        """With embedding off, even a registered platform may not frame the pages."""
        app = create_app({**app_config, "LTI_EMBED": False})
        register(app, "https://lms.example", "https://lms.example/auth")
        response = app.test_client().get("/login")
        assert frame_ancestors(response) == "frame-ancestors 'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
        app.extensions["db"].engine.dispose()

    def test_origins_are_cached_briefly(self, app: Flask) -> None:
        """The allow-list is read from the database at most once per cache period."""
        client = app.test_client()
        assert frame_ancestors(client.get("/login")) == "frame-ancestors 'none'"
        with app.app_context():
            register_platform(db.session, issuer="https://lms.example", client_id="c",
                              auth_login_url="https://lms.example/auth",
                              auth_token_url="https://lms.example/token",
                              key_set_url="https://lms.example/jwks", deployment_ids=[])
            db.session.commit()
        assert frame_ancestors(client.get("/login")) == "frame-ancestors 'none'"
        app.config["FRAME_ANCESTORS_CACHE_SECONDS"] = 0
        forget_frame_ancestors(app)
        client.get("/login")
        assert frame_ancestors(client.get("/login")) == "frame-ancestors https://lms.example"

    @pytest.mark.parametrize("url, origin", [
        ("https://canvas.instructure.com", "https://canvas.instructure.com"),
        ("HTTPS://Canvas.Example.EDU:443/x?y#z", "https://canvas.example.edu"),
        ("http://127.0.0.1:8080/auth", "http://127.0.0.1:8080"),
        ("https://[::1]:8443/a", "https://[::1]:8443"),
        ("https://user:pw@lms.example/", None),
        ("https://*.example.edu", None),
        ("https://lms.example:99999/", None),
        ("ftp://lms.example", None),
        ("https://", None),
    ])
    def test_origin_of(self, url: str, origin: str | None) -> None:
        """Origins are scheme://host[:port], lower-cased, default ports dropped; anything a
        CSP source list could read as a wildcard is no origin."""
        assert origin_of(url) == origin

    def test_deep_link_answer_page_may_be_framed(self, app: Flask, platform: Platform) -> None:
        """The deep linking answer page, shown in the LMS's dialog, allows the platform."""
        platform.add_user("t-1", "Tess", "tess@uni.example", instructor=True)
        client = app.test_client()
        response = launch(client, platform, "t-1", **{
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingRequest",
            "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
                "deep_link_return_url": f"{platform.url}/deep_link_return",
                "accept_types": ["ltiResourceLink"], "accept_presentation_document_targets":
                ["iframe"]},
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": None,
        })
        landing = client.get(response.headers["Location"])
        assert landing.headers["Location"] == "/lti/deep-link"
        answer = client.post("/lti/deep-link", data={"choice": "plugin:softmax-backprop"})
        assert answer.status_code == 200, answer.text
        assert f"frame-ancestors {platform.url}" in answer.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in answer.headers


class TestCookies:
    def test_session_cookie_is_cross_site_and_partitioned(self, app: Flask,
                                                          platform: Platform) -> None:
        """With embedding on, the launch's session cookie is SameSite=None; Secure;
        Partitioned; HttpOnly."""
        platform.add_user("s-1", "Sam", "sam@uni.example")
        choose_plugin(app, platform)
        cookie = session_cookie(launch(app.test_client(), platform, "s-1"))
        for flag in ("SameSite=None", "Secure", "Partitioned", "HttpOnly"):
            assert flag in cookie, cookie

    def test_state_cookie_is_partitioned(self, app: Flask, platform: Platform) -> None:
        """The login's state cookie and the cookie check are Partitioned too."""
        client = app.test_client()
        first = client.get("/lti/login", query_string={
            "iss": platform.issuer, "login_hint": "s-1", "target_link_uri": "x"})
        check = first.headers["Set-Cookie"]
        assert check.startswith("lti_cookies=") and "Partitioned" in check
        second = client.get(first.headers["Location"])
        state = second.headers["Set-Cookie"]
        assert state.startswith("lti_state_")
        for flag in ("SameSite=None", "Secure", "Partitioned", "HttpOnly"):
            assert flag in state, state

    def test_password_login_cookie_too(self, app: Flask) -> None:
        """The ordinary login page issues the same cross-site cookie."""
        from grader.domain.users import create_user

        with app.app_context():
            create_user(db.session, "ada@example.com", name="Ada", password="pw pw pw")
            db.session.commit()
        response = app.test_client().post("/login", data={"email": "ada@example.com",
                                                           "password": "pw pw pw"})
        cookie = session_cookie(response)
        assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie

    def test_embedding_follows_secure_cookies(self, app_config: dict[str, Any]) -> None:
        """Unset, embedding is on exactly when the session cookie is Secure (HTTPS); it can
        be turned off explicitly."""
        settings = {k: v for k, v in app_config.items() if k != "LTI_EMBED"}
        for extra, embed, samesite in (({}, False, "Lax"),
                                       ({"SESSION_COOKIE_SECURE": True}, True, "None"),
                                       ({"SESSION_COOKIE_SECURE": True, "LTI_EMBED": False},
                                        False, "Lax")):
            app = create_app({**settings, **extra})
            assert app.config["LTI_EMBED"] is embed
            assert app.config["SESSION_COOKIE_SAMESITE"] == samesite
            assert app.config["SESSION_COOKIE_PARTITIONED"] is embed
            app.extensions["db"].engine.dispose()


class TestCsrfWhenEmbedded:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def _form(self, client: FlaskClient) -> str:
        page = client.get("/login").get_data(as_text=True)
        return page.split('name="csrf_token" value="')[1].split('"')[0]

    def test_embedded_form_post_passes(self, app: Flask) -> None:
        """A form posted from our own page inside the iframe (Referer: our origin, over
        HTTPS) passes the CSRF check."""
        client = app.test_client()
        token = self._form(client)
        response = client.post("/login", data={"email": "x@example.com", "password": "y",
                                               "csrf_token": token},
                               headers={"Referer": "https://localhost/login"})
        assert response.status_code == 401  # past CSRF, to the password check

    def test_cross_site_post_is_refused(self, app: Flask) -> None:
        """SameSite=None sends the cookie on cross-site posts: the token and the Referer check
        refuse them."""
        client = app.test_client()
        token = self._form(client)
        no_token = client.post("/login", data={"email": "x@example.com", "password": "y"},
                               headers={"Referer": "https://localhost/login"})
        assert no_token.status_code == 400
        other_site = client.post("/login", data={"email": "x@example.com", "password": "y",
                                                 "csrf_token": token},
                                 headers={"Referer": "https://evil.example/"})
        assert other_site.status_code == 400


def cookieless(app: Flask) -> FlaskClient:
    """A browser that keeps no cookies in the iframe (Safari, strict settings)."""
    return app.test_client(use_cookies=False)


class TestCookieChecks:
    def test_login_with_blocked_cookies_offers_a_new_window(self, app: Flask,
                                                            platform: Platform) -> None:
        """When the cookie check's cookie does not come back, the login page offers to start
        the same login in a new window instead of a launch that must fail."""
        query = {"iss": platform.issuer, "login_hint": "s-1", "target_link_uri": "x",
                 "lti_message_hint": "hint"}
        client = cookieless(app)
        first = client.get("/lti/login", query_string=query)
        assert first.status_code == 302
        second = client.get(first.headers["Location"])
        assert second.status_code == 200
        body = second.get_data(as_text=True)
        assert "Open autograde in a new window" in body and 'target="_blank"' in body
        href = body.split('class="button primary" href="')[1].split('"')[0].replace("&amp;", "&")
        assert parse_qs(urlsplit(href).query) == {k: [v] for k, v in query.items()}
        # In the new window cookies are first-party: the login proceeds to the platform.
        window = app.test_client()
        again = window.get(window.get(href).headers["Location"])
        assert again.headers["Location"].startswith(platform.url + "/auth")

    def test_landing_with_session_goes_on(self, app: Flask, platform: Platform) -> None:
        """A launch whose session came back lands on the page; its link is then used up."""
        assignment_id = choose_plugin(app, platform)
        platform.add_user("s-1", "Sam", "sam@uni.example")
        client = app.test_client()
        response = launch(client, platform, "s-1")
        landing = response.headers["Location"]
        assert landing.startswith("/lti/landing/")
        onward = client.get(landing)
        assert onward.status_code == 303
        assert onward.headers["Location"].endswith(f"/assignments/{assignment_id}")
        assert client.get(onward.headers["Location"]).status_code == 200
        assert b"already used" in client.get(landing).data
        enter = landing.replace("/landing/", "/enter/")
        assert b"already used" in app.test_client().get(enter).data

    def test_landing_without_session_opens_a_window(self, app: Flask,
                                                    platform: Platform) -> None:
        """Where the session did not survive, the landing offers the one-time link, which
        logs the user in once in a new window."""
        assignment_id = choose_plugin(app, platform)
        platform.add_user("s-1", "Sam", "sam@uni.example")
        landing = launch(app.test_client(), platform, "s-1").headers["Location"]
        page = cookieless(app).get(landing)
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        body = page.get_data(as_text=True)
        assert "Open autograde in a new window" in body
        href = body.split('class="button primary" href="')[1].split('"')[0]
        assert href == landing.replace("/landing/", "/enter/")
        window = app.test_client()
        entered = window.get(href, headers={"Sec-Fetch-Site": "same-origin"})
        assert entered.status_code == 303
        assert entered.headers["Location"].endswith(f"/assignments/{assignment_id}")
        with window.session_transaction() as cookie:
            uid = cookie["uid"]
        with app.app_context():
            assert db.session.get_one(User, uid).email == "sam@uni.example"
        assert window.get(entered.headers["Location"]).status_code == 200
        replay = app.test_client().get(href)
        assert replay.status_code == 400 and b"already used" in replay.data
        with app.test_client() as other:
            other.get(href)
            with other.session_transaction() as cookie:
                assert "uid" not in cookie

    def test_link_from_another_site_is_refused(self, app: Flask, platform: Platform) -> None:
        """A link opened from another site (login CSRF) is refused and stays unused."""
        choose_plugin(app, platform)
        platform.add_user("s-1", "Sam", "sam@uni.example")
        landing = launch(app.test_client(), platform, "s-1").headers["Location"]
        href = landing.replace("/landing/", "/enter/")
        client = app.test_client()
        for site in ("cross-site", "same-site", "none"):
            assert client.get(href, headers={"Sec-Fetch-Site": site}).status_code == 403
        assert client.get(href, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303


class TestOneTimeLink:
    def _user(self, app: Flask, email: str = "ada@example.com") -> int:
        from grader.domain.users import create_user

        with app.app_context():
            user = create_user(db.session, email, name=email, password="first password")
            db.session.commit()
            return user.id

    def test_works_once(self, app: Flask) -> None:
        """A link logs its user in once; the second use is refused."""
        uid = self._user(app)
        with app.app_context():
            token = make_link_token("test", db.session.get_one(User, uid), "/assignments/1")
            handoff, user = redeem_link_token(db.session, "test", token, 120)
            db.session.commit()
            assert (user.id, handoff.target) == (uid, "/assignments/1")
            with pytest.raises(Exception, match="already used"):
                redeem_link_token(db.session, "test", token, 120)

    def test_expires(self, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
        """A link older than its lifetime is refused, through the page too."""
        uid = self._user(app)
        with app.app_context():
            token = make_link_token("test", db.session.get_one(User, uid), "/")
            read_link_token(db.session, "test", token, 120)
        later = int(time.time()) + 121
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
        with app.app_context(), pytest.raises(Exception, match="expired"):
            read_link_token(db.session, "test", token, 120)
        response = app.test_client().get(f"/lti/enter/{token}")
        assert response.status_code == 400 and b"expired" in response.data

    def test_bound_to_the_user(self, app: Flask) -> None:
        """A link names one user: it cannot be altered to another, is refused under another
        key, and dies when its user's password changes."""
        from werkzeug.security import generate_password_hash

        ada, bob = self._user(app), self._user(app, "bob@example.com")
        with app.app_context():
            token = make_link_token("test", db.session.get_one(User, ada), "/")
            bob_token = make_link_token("test", db.session.get_one(User, bob), "/")
            forged = bob_token.split(".")[0] + "." + token.split(".", 1)[1]
            for bad in (forged, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")):
                with pytest.raises(Exception, match="not valid"):
                    read_link_token(db.session, "test", bad, 120)
            with pytest.raises(Exception, match="not valid"):
                read_link_token(db.session, "another key", token, 120)
            db.session.get_one(User, ada).password_hash = generate_password_hash("changed")
            db.session.commit()
            with pytest.raises(Exception, match="no longer valid"):
                read_link_token(db.session, "test", token, 120)

    def test_only_local_targets(self, app: Flask) -> None:
        """A link can only lead to a local page."""
        uid = self._user(app)
        with app.app_context():
            user = db.session.get_one(User, uid)
            for target in ("https://evil.example/", "//evil.example/", "evil"):
                with pytest.raises(ValueError):
                    make_link_token("test", user, target)
