"""Calls to a platform's services: what we refuse to follow."""

from __future__ import annotations

import pytest
from flask import Flask, redirect

from grader.lti.errors import PlatformError
from grader.lti.platform_api import _request
from tests.grader.lti.platform import ServedApp


class TestRedirects:
    def test_a_redirect_is_an_error_not_followed(self) -> None:
        """A service answering with a redirect (to an internal address, say) is refused."""
        visited: list[str] = []
        site = Flask("redirecting")

        @site.get("/scores")
        def scores():  # type: ignore[no-untyped-def]
            return redirect("/internal", 302)

        @site.get("/internal")
        def internal() -> str:
            visited.append("internal")
            return "secret"

        served = ServedApp(site)
        try:
            with pytest.raises(PlatformError, match="HTTP 302"):
                _request("GET", f"{served.url}/scores")
        finally:
            served.stop()
        assert visited == []
