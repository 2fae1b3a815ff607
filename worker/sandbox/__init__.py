"""The sandbox: the only place student code runs.

:class:`SandboxRunner` implements the engine's ``Runner`` contract; :func:`sandbox_level`
reports which isolation layers this machine allows. See docs/sandbox.md.
"""

from worker.sandbox.sandbox_runner import SandboxRunner, sandbox_level

__all__ = ["SandboxRunner", "sandbox_level"]
