"""Shared fixtures: real databases (a temp SQLite file, and PostgreSQL when TEST_DATABASE_URL
is set), the real calendars, and a fixed clock. No mocks of the database."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from itabot.calendars.model import Calendars
from itabot.calendars.thai_dates import BANGKOK
from itabot.config import PROJECT_ROOT, Settings
from itabot.router import Services
from itabot.storage import db

SCHEDULES = PROJECT_ROOT / "schedules"
SOURCES = SCHEDULES / "sources"  # the five documents the calendars are transcribed from
LINE_OPENAPI = Path(__file__).parent / "spec" / "line-openapi"  # LINE's own spec (Apache-2.0)
PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_SKIP_REASON = "TEST_DATABASE_URL is not set: PostgreSQL tests skipped (.ci/run sets it)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip is a failure here, but for the PostgreSQL tests without TEST_DATABASE_URL: a
    plain clone has everything the suite needs, so a skip could only hide a test not run."""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if reason != f"Skipped: {PG_SKIP_REASON}":
            report.outcome = "failed"
            report.longrepr = f"skipped, which only the PostgreSQL tests may do: {reason}"
    return report


def bkk(*args: int) -> datetime:
    """A Bangkok wall-clock time: bkk(2026, 6, 23, 9, 0)."""
    return datetime(*args, tzinfo=BANGKOK)


@pytest.fixture(scope="session")
def calendars() -> Calendars:
    return Calendars.load(SCHEDULES)


def _postgres(sql: str) -> None:
    """One statement on the CI server's maintenance connection (CREATE/DROP DATABASE)."""
    admin = create_engine(db.normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def _postgres_url(name: str) -> str:
    return f"{PG_URL.rpartition('/')[0]}/{name}"


# Alembic runs once per session, into a template; each test gets a copy of it (a file copy on
# SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL), which costs milliseconds where migrating
# cost a tenth of a second or more. The migrations themselves are tested in test_migrations.py
# on empty databases.


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "itabot.db"
    db.upgrade(f"sqlite:///{path}")  # Alembic's own engine, disposed: the WAL is checkpointed
    assert not path.with_name("itabot.db-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a migrated database nothing stays connected to (a TEMPLATE must have no
    connections while it is copied)."""
    name = f"tmpl_{uuid.uuid4().hex[:12]}"
    _postgres(f'CREATE DATABASE "{name}"')
    try:
        db.upgrade(_postgres_url(name))
        yield name
    finally:
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _database(request, kind: str, tmp_path: Path, *, migrated: bool) -> Iterator[str]:
    """A database of the test's own: SQLite file or PostgreSQL database, empty or migrated."""
    if kind == "sqlite":
        path = tmp_path / "itabot.db"
        if migrated:
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        yield url
        db.engine_for(url).dispose()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    template = f' TEMPLATE "{request.getfixturevalue("postgres_template")}"' if migrated else ""
    name = f"t_{uuid.uuid4().hex[:12]}"
    _postgres(f'CREATE DATABASE "{name}"{template}')
    url = _postgres_url(name)
    try:
        yield url
    finally:
        db.engine_for(url).dispose()
        db.forget_engines()
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BOTH = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BOTH)
def database_url(request, tmp_path: Path) -> Iterator[str]:
    """A migrated database: a temp SQLite file, and the same test on PostgreSQL."""
    with _database(request, request.param, tmp_path, migrated=True) as url:
        yield url


@pytest.fixture(params=BOTH)
def empty_database_url(request, tmp_path: Path) -> Iterator[str]:
    """A database with no tables, for the tests of the migrations."""
    with _database(request, request.param, tmp_path, migrated=False) as url:
        yield url


@pytest.fixture
def sqlite_url(request, tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite database only (for tests that are about SQLite itself)."""
    with _database(request, "sqlite", tmp_path, migrated=True) as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        schedules_dir=SCHEDULES,
        admin_ids=frozenset({"Uad000000000000000000000000000001"}),
    )


@pytest.fixture
def services(settings: Settings, calendars: Calendars) -> Services:
    return Services(settings=settings, calendars=calendars)
