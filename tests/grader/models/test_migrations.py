"""The Alembic migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grader.extensions import make_engine
from grader.migrate import downgrade, upgrade
from grader.models import Base


class TestMigrations:
    def test_head_matches_models(self, database_url: str) -> None:
        """Autogenerate finds nothing to change after upgrading to head."""
        engine = make_engine(database_url)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, Base.metadata)
        finally:
            engine.dispose()
        assert diff == []

    def test_constraint_names_follow_convention(self, database_url: str) -> None:
        """Foreign keys and unique constraints carry the naming convention's names."""
        engine = make_engine(database_url)
        try:
            inspector = sa.inspect(engine)
            fks = {fk["name"] for fk in inspector.get_foreign_keys("submissions")}
            uniques = {u["name"] for u in inspector.get_unique_constraints("users")}
        finally:
            engine.dispose()
        assert "fk_submissions_student_id_users" in fks
        assert "uq_users_email" in uniques

    def test_downgrade_to_base_and_up_again(self, database_url: str) -> None:
        """Every migration can be undone and redone."""
        engine = make_engine(database_url)
        try:
            downgrade(engine, "base")
            assert "submissions" not in sa.inspect(engine).get_table_names()
            upgrade(engine)
            assert "submissions" in sa.inspect(engine).get_table_names()
        finally:
            engine.dispose()
