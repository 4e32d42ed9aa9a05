"""Engine and session handling: one engine per process, short transactions, no global session.

SQLite is the default (a file, zero set-up); PostgreSQL is production. For SQLite we turn on
foreign keys and WAL + a busy timeout so a web worker and the clock process can share the file.
The one transaction on every webhook request runs on the driver's cursor instead
(`DriverStatement`, `driver_transaction`), with its SQL still compiled by SQLAlchemy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

from itabot.config import PROJECT_ROOT


def normalise_url(url: str) -> str:
    """Heroku-style `postgres://` and plain `postgresql://` → the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - driver hook
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL is still corruption-safe; it skips the fsync on every commit
            # (5.5 ms each on this disk), risking only the last commits on a power cut.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process."""
    engine = _engines.get(url)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = make_engine(url)
    return engine


def forget_engines() -> None:
    """Drop the engines of this process (they are not disposed): the next call makes new
    ones, as a new process would."""
    with _engines_lock:
        _engines.clear()


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transaction: commit on success, roll back on any error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@dataclass(frozen=True)
class DriverStatement:
    """A Core statement compiled once for one dialect, to run on the DB-API cursor itself.

    For the few statements on every webhook request only: there SQLAlchemy's Connection and
    Result layers cost more than the SQL (≈140 µs of the 230 µs that recording an event took on
    SQLite; benchmarks/bench_webhook.py). The SQL text, the parameter order and the conversion
    of each value still come from SQLAlchemy's compiler, so nothing is written per dialect."""

    sql: str
    order: tuple[str, ...] | None  # parameter names in order (qmark/format); None: named
    converters: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def compile(cls, statement: Executable, dialect: Dialect) -> DriverStatement:
        compiled = statement.compile(dialect=dialect)
        converters = {}
        for name, bind in compiled.binds.items():
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                converters[name] = convert
        order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        return cls(compiled.string, order, converters)

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """`values` (by bind name) as the driver takes them: converted, in order or by name."""
        converted = {
            name: (
                convert(values[name]) if (convert := self.converters.get(name)) else values[name]
            )
            for name in (self.order if self.order is not None else values)
        }
        return tuple(converted.values()) if self.order is not None else converted


@contextmanager
def driver_transaction(url: str) -> Iterator[Any]:
    """A DB-API cursor on a pooled connection, committed on success and rolled back on any
    error. Driver errors are raised as SQLAlchemy's `DBAPIError` (callers handle one family),
    and a connection the driver reports as lost is dropped from the pool, as SQLAlchemy's
    own Connection would do."""
    engine = engine_for(url)
    conn = engine.raw_connection()
    driver_error = engine.dialect.loaded_dbapi.Error
    cursor = None
    try:
        cursor = conn.cursor()
        yield cursor
        cursor.close()
        conn.commit()
    except driver_error as exc:
        if engine.dialect.is_disconnect(exc, conn.dbapi_connection, cursor):
            conn.invalidate(exc)
        else:
            _roll_back_quietly(conn)
        raise DBAPIError.instance(None, None, exc, driver_error) from exc
    except BaseException:
        _roll_back_quietly(conn)
        raise
    finally:
        conn.close()


def _roll_back_quietly(conn: Any) -> None:
    """Roll back after an error; a rollback that fails too leaves the first error to report
    and the connection dropped from the pool."""
    try:
        conn.rollback()
    except Exception as exc:
        conn.invalidate(exc)


def is_reachable(url: str) -> bool:
    try:
        with engine_for(url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def alembic_config(url: str):
    """Alembic's config pointing at our migrations, with the URL given (never from alembic.ini)."""
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(Path(PROJECT_ROOT) / "migrations"))
    cfg.attributes["database_url"] = normalise_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)
