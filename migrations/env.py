"""Alembic environment: the URL comes from the caller (itabot.db) or DATABASE_URL."""

from __future__ import annotations

from alembic import context

from itabot.config import Settings
from itabot.storage.db import make_engine, normalise_url
from itabot.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("database_url") or normalise_url(Settings.from_env().database_url)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys_off(connection)
        # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
    engine.dispose()


def _foreign_keys_off(connection) -> None:
    """Batch mode rebuilds a SQLite table: copy it, drop the old one, rename the copy. With
    foreign keys on, the drop would run the ON DELETE actions of every table pointing at it
    (`reminder.push_id` set to NULL, chats' reminders deleted …). SQLite's documented
    procedure for schema changes is keys off, outside any transaction, and a check after."""
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()


def _check_foreign_keys(connection) -> None:
    """A migration that left a dangling reference fails (and rolls back) instead of landing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"migration left {len(broken)} broken foreign key(s): {broken[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
