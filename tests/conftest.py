"""Shared fixtures: real databases (a temp SQLite file, and PostgreSQL when TEST_DATABASE_URL
is set), the real calendars, and a fixed clock. No mocks of the database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
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


def bkk(*args: int) -> datetime:
    """A Bangkok wall-clock time: bkk(2026, 6, 23, 9, 0)."""
    return datetime(*args, tzinfo=BANGKOK)


@pytest.fixture(scope="session")
def calendars() -> Calendars:
    return Calendars.load(SCHEDULES)


def _fresh_postgres_database() -> tuple[str, str]:
    """A new, empty database on the CI server for one test; returns (url, name)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db.normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}", name


def _drop_postgres_database(url: str, name: str) -> None:
    db.engine_for(url).dispose()
    db.forget_engines()
    admin = create_engine(db.normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database: a temp SQLite file, and the same test on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'itabot.db'}"
        db.upgrade(url)
        yield url
        db.engine_for(url).dispose()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url, name = _fresh_postgres_database()
    db.upgrade(url)
    try:
        yield url
    finally:
        _drop_postgres_database(url, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite database only (for tests that are about SQLite itself)."""
    url = f"sqlite:///{tmp_path / 'itabot.db'}"
    db.upgrade(url)
    yield url
    db.engine_for(url).dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        schedules_dir=SCHEDULES,
        admin_ids=frozenset({"Uadmin0000000000000000000000000001"}),
    )


@pytest.fixture
def services(settings: Settings, calendars: Calendars) -> Services:
    return Services(settings=settings, calendars=calendars)
