"""Alembic migrations of the autograde database (``autograde db upgrade``)."""
