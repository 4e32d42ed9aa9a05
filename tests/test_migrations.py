"""The Alembic migrations: empty → head → base → head again on SQLite and PostgreSQL, and the
migrated schema is exactly the models (a column added to a model without its migration fails
here, not in production)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from itabot.config import PROJECT_ROOT
from itabot.storage import db
from itabot.storage.models import Base

TABLES = {t.name for t in Base.metadata.sorted_tables}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """Here, unlike the rest of the suite (a copy of the session's migrated template), each
    test runs Alembic itself on an empty database: these tests are about the migrations."""
    db.upgrade(empty_database_url)
    return empty_database_url


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


# --- 0003: payloads stored once ------------------------------------------------------------

_PAYLOAD_A = '[{"type": "text", "text": "อีก 7 วัน ปิดรับ OIT"}]'
_PAYLOAD_B = '[{"type": "text", "text": "วันนี้ 16:30 น. ปิดรับ IIT"}]'


def _seed_pushes_at_0002(url: str) -> None:
    """Pushes as revision 0002 stored them (a payload copy in each row), with their ledger."""
    at = "2026-06-23 01:30:00"
    with db.engine_for(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO chat (id, type, active, remind_enabled, created_at, updated_at)"
                " VALUES ('Cmig', 'group', true, true, :at, :at)"
            ),
            {"at": at},
        )
        for pid, payload in ((1, _PAYLOAD_A), (2, _PAYLOAD_B), (3, _PAYLOAD_A)):
            conn.execute(
                text(
                    "INSERT INTO push (id, chat_id, retry_key, kind, payload, status, attempts,"
                    " created_at) VALUES (:id, 'Cmig', :key, 'reminder', :payload, 'pending', 0,"
                    " :at)"
                ),
                {
                    "id": pid,
                    "key": f"00000000-0000-4000-8000-00000000000{pid}",
                    "payload": payload,
                    "at": at,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO reminder (id, chat_id, calendar, phase_id, offset_days,"
                    " fiscal_year, closes_at, due_at, push_id, status, created_at) VALUES"
                    " (:id, 'Cmig', 'national-2569', 'oit', :off, 2569, :at, :at, :id,"
                    " 'pending', :at)"
                ),
                {"id": pid, "off": pid, "at": at},
            )


def _pushes_with_payloads(url: str) -> list[tuple]:
    with db.engine_for(url).connect() as conn:
        return conn.execute(
            text(
                "SELECT p.id, p.retry_key, b.body, r.push_id FROM push p"
                " JOIN push_payload b ON b.id = p.payload_id"
                " JOIN reminder r ON r.id = p.id ORDER BY p.id"
            )
        ).all()


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    (db.downgrade if down else db.upgrade)(url, revision)
    db.engine_for(url).dispose()


def test_0003_moves_each_payload_once_and_keeps_pushes_and_ledger(database_url):
    _migrate(database_url, "0002", down=True)
    _seed_pushes_at_0002(database_url)

    _migrate(database_url, "head")

    assert _pushes_with_payloads(database_url) == [
        (1, "00000000-0000-4000-8000-000000000001", _PAYLOAD_A, 1),
        (2, "00000000-0000-4000-8000-000000000002", _PAYLOAD_B, 2),
        (3, "00000000-0000-4000-8000-000000000003", _PAYLOAD_A, 3),
    ]
    with db.engine_for(database_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM push_payload")).scalar() == 2
    assert schema_differences(database_url) == []


def test_0003_downgrade_puts_each_payload_back_in_its_push(database_url):
    _migrate(database_url, "0002", down=True)
    _seed_pushes_at_0002(database_url)
    _migrate(database_url, "head")

    _migrate(database_url, "0002", down=True)

    with db.engine_for(database_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.id, p.payload, r.push_id FROM push p JOIN reminder r ON r.id = p.id"
                " ORDER BY p.id"
            )
        ).all()
    assert rows == [(1, _PAYLOAD_A, 1), (2, _PAYLOAD_B, 2), (3, _PAYLOAD_A, 3)]
    assert "push_payload" not in tables(database_url)
