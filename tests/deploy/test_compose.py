"""docker-compose.yml and the Dockerfile, checked by parsing (no Docker engine needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


class TestCompose:
    def test_services(self, compose: dict[str, Any]) -> None:
        """The stack has its HTTPS front, PostgreSQL, Redis, migrations, web, worker, the
        sweeper and (optional) Flower."""
        assert set(compose["services"]) == {"caddy", "postgres", "redis", "migrate", "web",
                                            "worker", "beat", "flower"}

    def test_flower_is_optional_local_and_behind_a_password(
        self, compose: dict[str, Any]
    ) -> None:
        """Flower runs only with the monitoring profile, listens on the host's loopback only,
        and refuses to start without FLOWER_BASIC_AUTH."""
        flower = compose["services"]["flower"]
        assert flower["profiles"] == ["monitoring"]
        assert flower["ports"] == ["127.0.0.1:5555:5555"]
        script = flower["command"][-1]
        assert 'test -n "$$FLOWER_BASIC_AUTH" ||' in script and "exit 1" in script
        assert '--basic-auth="$$FLOWER_BASIC_AUTH"' in script
        assert "celery -A worker.make_celery flower" in script
        for name, service in compose["services"].items():
            if name != "flower":
                assert "profiles" not in service

    def test_app_services_use_the_built_image(self, compose: dict[str, Any]) -> None:
        """One image is built once and used by every app service."""
        services = compose["services"]
        assert services["migrate"]["build"] == "."
        for name in ("migrate", "web", "worker", "beat"):
            assert services[name]["image"] == "autograde:latest"

    def test_commands(self, compose: dict[str, Any]) -> None:
        """Migrations run on start; gunicorn serves the factory; workers use make_celery."""
        services = compose["services"]
        assert services["migrate"]["command"] == ["autograde", "db", "upgrade"]
        assert services["web"]["command"][0] == "gunicorn"
        assert "grader:create_app()" in services["web"]["command"]
        worker = services["worker"]["command"]
        assert worker[:3] == ["python", "-m", "worker.sandbox.delegate"]
        assert worker[3:7] == ["celery", "-A", "worker.make_celery", "worker"]
        assert services["beat"]["command"][:4] == ["celery", "-A", "worker.make_celery", "beat"]

    def test_environment(self, compose: dict[str, Any]) -> None:
        """Every app service gets the database and broker of the stack."""
        for name in ("migrate", "web", "worker", "beat"):
            env = compose["services"][name]["environment"]
            assert env["AUTOGRADE_DATABASE_URL"].startswith("postgresql+psycopg://")
            assert env["AUTOGRADE_DATABASE_URL"].split("@")[1].startswith("postgres:5432/")
            assert env["AUTOGRADE_REDIS_URL"] == "redis://redis:6379/0"

    def test_healthchecks_and_ordering(self, compose: dict[str, Any]) -> None:
        """Long-running services have health checks; app services wait for migrations."""
        services = compose["services"]
        for name in ("postgres", "redis", "web", "worker"):
            assert services[name]["healthcheck"]["test"]
        for name in ("web", "worker", "beat"):
            assert services[name]["depends_on"]["migrate"]["condition"] == (
                "service_completed_successfully")
        assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "/api/v1/health" in " ".join(services["web"]["healthcheck"]["test"])

    def test_worker_can_build_sandboxes(self, compose: dict[str, Any]) -> None:
        """Workers get what the sandbox needs to create namespaces; web does not."""
        worker, web = compose["services"]["worker"], compose["services"]["web"]
        assert worker["cap_add"] == ["SYS_ADMIN"]
        assert str(worker["user"]) == "0" and "user" not in web
        assert set(worker["security_opt"]) == {"seccomp=unconfined", "apparmor=unconfined"}
        assert "cap_add" not in web and "ports" not in worker

    def test_worker_gets_its_own_cgroup_to_delegate(self, compose: dict[str, Any]) -> None:
        """Workers see only their own cgroup, which delegate makes usable for a cgroup per
        submission before Celery starts."""
        worker = compose["services"]["worker"]
        assert worker["cgroup"] == "private"
        assert worker["command"][:3] == ["python", "-m", "worker.sandbox.delegate"]

    def test_workers_share_sandbox_slots(self, compose: dict[str, Any]) -> None:
        """Scaled workers claim sandbox uids through one shared volume of lock files."""
        worker = compose["services"]["worker"]
        folder = worker["environment"]["AUTOGRADE_SANDBOX_SLOTS_DIR"]
        assert f"sandbox-slots:{folder}" in worker["volumes"]
        assert "sandbox-slots" in compose["volumes"]

    def test_worker_is_scalable(self, compose: dict[str, Any]) -> None:
        """Workers have no fixed name or port, so --scale worker=N works."""
        worker = compose["services"]["worker"]
        assert "container_name" not in worker and "ports" not in worker


class TestDockerfile:
    def test_dockerfile(self) -> None:
        """The image installs the package, drops root and serves the factory with gunicorn."""
        text = (ROOT / "Dockerfile").read_text()
        assert text.startswith("#") and "FROM python:3.11" in text
        assert "USER autograde" in text
        assert "grader:create_app()" in text
        for folder in ("grader", "reference", "worker"):
            assert f"COPY {folder} {folder}" in text
