"""Engine and session handling: one engine per process, short transactions, no global session.

SQLite is the default (a file, zero set-up); PostgreSQL is production. For SQLite we turn on
foreign keys and WAL + a busy timeout so a web worker and the clock process can share the file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker

from itabot.config import PROJECT_ROOT

log = logging.getLogger(__name__)

# Errors after which a pooled connection is no good even once the database is fine again: a
# SQLite connection opened while its file was read-only stays read-only, and one that met a
# disk error may hold a broken file handle; a PostgreSQL session may have been put read-only
# (a failover to a standby). Flagged as disconnects, SQLAlchemy drops the connection and every
# connection the pool handed out before it, so the next checkout opens a fresh one.
_STALE_CONNECTION_MARKERS = (
    "readonly database",
    "read-only transaction",
    "disk i/o error",
    "unable to open database file",
    "database disk image is malformed",
)


def normalise_url(url: str) -> str:
    """Heroku-style `postgres://` and plain `postgresql://` → the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def insert_for(dialect: str) -> Callable[..., Any]:
    """The dialect's `insert` (with ON CONFLICT: PostgreSQL's and SQLite's both have it),
    imported when first used, so a SQLite deployment never loads PostgreSQL's dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"itabot needs PostgreSQL or SQLite, not {dialect}")
    return insert


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

        _recycle_after_write_faults(engine)
        return engine
    # connect_timeout: a PostgreSQL that does not answer (host down, SYN dropped) is a 503 in
    # 5 s, not a request stuck until gunicorn's 30 s timeout kills the worker.
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": 5},
    )
    _recycle_after_write_faults(engine)
    return engine


def once_more_if_invalidated(work: Callable[[], Any]) -> Any:
    """`work()`, run a second time if its connection turned out stale and was dropped (a
    server restart, a file made writable again after opening read-only): the pool has new
    connections now, and the caller's request need not fail for an old one."""
    from sqlalchemy.exc import DBAPIError

    try:
        return work()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.info("stale database connection dropped: retrying once on a new one")
        return work()


def _recycle_after_write_faults(engine: Engine) -> None:
    @event.listens_for(engine, "handle_error")
    def _invalidate_stale(context: ExceptionContext) -> None:
        message = str(context.original_exception).lower()
        if any(marker in message for marker in _STALE_CONNECTION_MARKERS):
            context.is_disconnect = True


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


def close_engine(url: str) -> None:
    """Close this process's engine for `url` and drop it: the next `engine_for` makes a new one
    (a preloading master closes its own before forking, so each worker creates its engine)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


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


def probe_write(url: str) -> None:
    """Write one row and commit: what `/healthz` asks of the database. A `SELECT 1` answers on a
    SQLite file made read-only, a full disk or a read-only PostgreSQL; a committed UPDATE does
    not. Raises the database's error."""
    from itabot.storage.models import HealthProbe

    table = HealthProbe.__table__
    engine = engine_for(url)

    def write() -> None:
        with engine.begin() as conn:
            now = datetime.now(UTC)
            conn.execute(
                insert_for(conn.dialect.name)(table)
                .values(id=1, probed_at=now)
                .on_conflict_do_update(index_elements=["id"], set_={"probed_at": now})
            )

    once_more_if_invalidated(write)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        # A connection opened before the file became read-only keeps writing through its open
        # descriptor (SQLite even hands a closed connection's descriptor to the next one in the
        # process), so the write above can succeed while no new connection, and no restarted
        # worker, could open the file for writing. Ask the kernel as an open would: access(2)
        # refuses a read-only mount, an immutable file and, for anyone but root, the modes.
        import sqlite3

        path = Path(engine.url.database)
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if (file == path or file.exists()) and not os.access(file, os.W_OK):
                raise sqlite3.OperationalError(
                    f"attempt to write a readonly database ({file.name})"
                )


def driver_errors(url: str) -> tuple[type[Exception], ...]:
    """Every error class a database failure can surface as, SQLAlchemy's wrapper and the
    driver's own (a few paths — a connect, a pool's reset — can let the driver's escape)."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    errors: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error)
    if not normalise_url(url).startswith("sqlite"):
        import psycopg

        errors += (psycopg.Error,)
    return errors


class ErrorLog:
    """One log line per kind of database failure per `every` seconds, without a traceback: a
    10-second outage under load is thousands of identical failures, and the operator needs to
    know that it happened, what it was and how often, not 400 stack traces."""

    def __init__(self, logger: logging.Logger, every: float = 10.0) -> None:
        self._log, self._every = logger, every
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def failed(self, where: str, exc: BaseException) -> None:
        kind = describe(exc)
        key = f"{where}:{kind}"
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -self._every) < self._every:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            self._last[key] = now
            more = self._suppressed.pop(key, 0)
        also = f" (and {more} more since the last report)" if more else ""
        self._log.error("%s: database unavailable: %s%s", where, kind, also)


def describe(exc: BaseException) -> str:
    """The error's kind and the driver's first line, short and free of parameters (a bound
    value could be a user's message)."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0][:160] if str(orig).strip() else ""
    kind = type(orig).__name__
    return f"{kind}: {first}" if first else kind


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
