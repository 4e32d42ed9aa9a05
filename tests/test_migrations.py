"""The Alembic migrations: empty → head → base → head again on SQLite and PostgreSQL, and the
migrated schema is exactly the models (a column added to a model without its migration fails
here, not in production)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from itabot import db
from itabot.config import PROJECT_ROOT
from itabot.models import Base

TABLES = {t.name for t in Base.metadata.sorted_tables}


def tables(url: str) -> set[str]:
    return set(inspect(db.engine_for(url)).get_table_names())


def schema_differences(url: str) -> list:
    with db.engine_for(url).connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_head_has_every_table_of_the_models(database_url):
    assert tables(database_url) >= TABLES
    assert "alembic_version" in tables(database_url)


def test_migrated_schema_matches_the_models(database_url):
    assert schema_differences(database_url) == []


def test_down_to_base_and_up_again(database_url):
    db.downgrade(database_url, "base")
    db.engine_for(database_url).dispose()
    assert tables(database_url) & TABLES == set()
    db.upgrade(database_url, "head")
    db.engine_for(database_url).dispose()
    assert tables(database_url) >= TABLES
    assert schema_differences(database_url) == []


def test_upgrade_twice_is_a_no_op(database_url):
    db.upgrade(database_url, "head")
    assert tables(database_url) >= TABLES


def test_cli_db_upgrade_on_a_fresh_sqlite_file(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "itabot", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert tables(url) >= TABLES
    down = subprocess.run(
        [sys.executable, "-m", "itabot", "db", "downgrade", "base"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert down.returncode == 0, down.stderr
    db.engine_for(url).dispose()
    assert tables(url) & TABLES == set()
