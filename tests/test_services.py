"""The servers the test session starts for itself: they come up, go away and come back."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
import redis

from tests.services import PostgresServer, RedisServer, _copy_programs, postgres_bindir


@pytest.mark.postgres
class TestPostgresServer:
    def test_stop_and_start_keep_port_and_data(self, postgres_server: PostgresServer) -> None:
        """After a stop (clean or a crash) and a start, the same URL reaches the same data."""
        url = postgres_server.create_database("restart_check")
        dsn = postgres_server.dsn("restart_check")
        try:
            with psycopg.connect(dsn) as conn:
                conn.execute("CREATE TABLE kept (n int)")
                conn.execute("INSERT INTO kept VALUES (42)")
            for mode in ("fast", "immediate"):
                postgres_server.stop(mode)
                assert not postgres_server.running
                with pytest.raises(psycopg.OperationalError):
                    psycopg.connect(dsn, connect_timeout=2).close()
                postgres_server.start()
                assert postgres_server.running
                with psycopg.connect(dsn) as conn:
                    assert conn.execute("SELECT n FROM kept").fetchone() == (42,)
            assert url.endswith(f"127.0.0.1:{postgres_server.port}/restart_check")
        finally:
            postgres_server.start()
            postgres_server.drop_database("restart_check")

    def test_server_is_not_run_as_root(self, postgres_server: PostgresServer) -> None:
        """The server runs unprivileged (initdb refuses root), on loopback only."""
        with psycopg.connect(postgres_server.dsn()) as conn:
            row = conn.execute(
                "SELECT current_setting('listen_addresses'), "
                "current_setting('unix_socket_directories'), pg_backend_pid()"
            ).fetchone()
            assert row is not None and row[:2] == ("127.0.0.1", "")
            # Read while connected: the backend process ends with the connection.
            assert Path(f"/proc/{row[2]}").stat().st_uid != 0

    def test_close_removes_everything(self) -> None:
        """close() stops a server and removes its folder."""
        server = PostgresServer()
        assert server.running
        server.close()
        assert not server.workdir.exists()

    def test_programs_in_a_private_folder_still_run(self, tmp_path: Path) -> None:
        """Programs the unprivileged account cannot reach (a checkout private to root) are
        copied into the server's own folder and run from there."""
        private = tmp_path / "private"
        private.mkdir(mode=0o700)
        bindir = _copy_programs(postgres_bindir(), private)
        server = PostgresServer(bindir)
        try:
            with psycopg.connect(server.dsn()) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            if os.geteuid() == 0:
                assert server.bindir.is_relative_to(server.workdir)
        finally:
            server.close()

    def test_missing_programs_are_named(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A folder without the PostgreSQL programs gives a message that says what to do."""
        monkeypatch.setenv("AUTOGRADE_TEST_PG_BINDIR", str(tmp_path))
        with pytest.raises(RuntimeError, match="AUTOGRADE_TEST_PG_BINDIR"):
            postgres_bindir()

    def test_unknown_account_is_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Run as root, a missing account to run the server as is named in the error."""
        monkeypatch.setattr(os, "geteuid", lambda: 0)
        monkeypatch.setenv("AUTOGRADE_TEST_PG_USER", "no-such-user-here")
        with pytest.raises(RuntimeError, match="no-such-user-here"):
            PostgresServer()


@pytest.mark.redis
class TestRedisServer:
    def test_stop_and_start_keep_the_port(self, tmp_path: Path) -> None:
        """A stopped private Redis refuses connections; started again, the same URL works."""
        server = RedisServer(tmp_path / "redis")
        try:
            client = redis.Redis.from_url(server.url, socket_timeout=2)
            assert client.ping()
            server.stop()
            with pytest.raises(redis.ConnectionError):
                client.ping()
            server.start()
            assert client.ping()
            client.close()
        finally:
            server.close()
        assert not server.running
