"""Configuration defaults that matter for safety."""

import stat
from pathlib import Path

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
