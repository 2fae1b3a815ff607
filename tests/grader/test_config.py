"""Configuration defaults that matter for safety."""

import stat
from pathlib import Path

import pytest

from grader import create_app
from grader.config import instance_secret_key


class TestSecretKey:
    def test_random_key_made_once_and_private(self, tmp_path: Path) -> None:
        """Without a configured key, a random one is stored (0600) and reused across starts."""
        first = instance_secret_key(str(tmp_path / "instance"))
        second = instance_secret_key(str(tmp_path / "instance"))
        assert first == second and len(first) >= 64 and first != "dev"
        mode = (tmp_path / "instance" / "secret_key").stat().st_mode
        assert stat.S_IMODE(mode) == 0o600

    def test_installations_get_different_keys(self, tmp_path: Path) -> None:
        """Two instance folders never share a key."""
        assert instance_secret_key(str(tmp_path / "a")) != instance_secret_key(str(tmp_path / "b"))

    def test_configured_key_wins(self, tmp_path: Path) -> None:
        """A key given in the configuration is used as is."""
        app = create_app({"SECRET_KEY": "from-config", "DATABASE_URL": "sqlite://",
                          "ENQUEUE": False})
        assert app.config["SECRET_KEY"] == "from-config"


class TestProxies:
    def _app(self, proxies: int):  # type: ignore[no-untyped-def]
        from flask import request

        app = create_app({"SECRET_KEY": "t", "DATABASE_URL": "sqlite://", "ENQUEUE": False,
                          "TRUSTED_PROXIES": proxies})
        app.add_url_rule("/_whoami", "whoami",
                         lambda: f"{request.remote_addr} {request.scheme}")
        return app

    def test_forwarded_headers_ignored_by_default(self) -> None:
        """Without trusted proxies a client cannot choose its address with X-Forwarded-For."""
        seen = self._app(0).test_client().get(
            "/_whoami", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
        assert seen.get_data(as_text=True) == "127.0.0.1 http"

    def test_one_trusted_proxy(self) -> None:
        """Behind one proxy, the address and scheme it forwards are the client's."""
        seen = self._app(1).test_client().get(
            "/_whoami", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
        assert seen.get_data(as_text=True) == "203.0.113.9 https"


class TestPasswordHashing:
    def test_product_hashes_with_scrypt(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Passwords are stored with werkzeug's scrypt (the suite swaps in a cheap method
        for speed; this test puts the real one back)."""
        import sqlalchemy.orm as so
        from werkzeug.security import check_password_hash, generate_password_hash

        import grader.domain.users as users
        from grader.extensions import make_engine
        from grader.migrate import upgrade

        monkeypatch.setattr(users, "generate_password_hash", generate_password_hash)
        engine = make_engine("sqlite://")
        upgrade(engine)
        with so.Session(engine) as session:
            user = users.create_user(session, "ada@example.com", password="correct horse")
            assert user.password_hash and user.password_hash.startswith("scrypt:")
            assert check_password_hash(user.password_hash, "correct horse")
        engine.dispose()
