"""The LINE webhook: `POST /callback` (signature, size, parse, dedupe, dispatch, reply) and
`GET /healthz`.

The order is the point. Nothing is read, parsed or stored before the body is known to be small
and signed with our channel secret. Each event is then recorded in `webhook_event` under its
`webhookEventId` (the table's primary key) *before* LINE gets its 200: a redelivery, or a copy
that reached another gunicorn worker, hits the key and is dropped — the database is the dedupe,
not a worker's memory. Answering and replying happen on a small per-process thread pool, so a
slow LINE (LINE counts a webhook answer slower than 2 s as an error) never delays the 200: the
request waits at most `REPLY_WAIT` seconds for the reply, which in the usual case means the
reply is already out when LINE hears 200, and otherwise it finishes in the background.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import (
    Event,
    MessageEvent,
    TextMessageContent,
)
from sqlalchemy import Connection, bindparam, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from itabot import db
from itabot.chats import Binding, binding_of
from itabot.line import LineGateway
from itabot.messages import answer_to_messages, apology_messages, greeting_messages
from itabot.models import WebhookEvent
from itabot.services import Services
from itabot.thaidate import BANGKOK

log = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)

MAX_BODY = 1024 * 1024  # LINE's bodies are a few KB; anything near 1 MiB is not from LINE
REPLY_WAIT = 0.25  # seconds /callback waits for the reply before answering 200 regardless
POOL_WORKERS = 4
STATUS_LINGER = 0.2  # seconds a handled event's status may wait for a transaction to ride on
POOL_BACKLOG = 200  # accepted-but-unhandled events per process before new ones are shed
STALE_AFTER = timedelta(minutes=5)
SWEEP_EVERY = 300.0  # seconds between sweeps of events a dead worker left `received`
# The console's Verify button (and old-style test deliveries) carry these; replying is pointless.
DUMMY_REPLY_TOKENS = frozenset({"0" * 32, "f" * 32})
HANDLED_TYPES = frozenset({"message", "follow", "unfollow", "join", "leave"})
EXTENSION = "itabot"


# --- what the background needs to know about an event -------------------------------------


@dataclass(frozen=True)
class Job:
    """An accepted event reduced to plain values: no SDK model crosses into the pool."""

    event_id: str
    event_type: str
    chat_id: str | None = None
    chat_type: str | None = None  # user | group | room
    user_id: str | None = None
    reply_token: str | None = None
    can_reply: bool = False
    text: str | None = None
    mentions_bot: bool = False
    redelivery: bool = False
    binding: Binding | None = None  # the chat's binding, read when the event was recorded


def _source(event: Event) -> tuple[str | None, str | None, str | None]:
    """(chat_id, chat_type, user_id): a group's or room's id when there is one, else the user's."""
    source = getattr(event, "source", None)
    if source is None:
        return None, None, None
    user_id = getattr(source, "user_id", None)
    chat_id = getattr(source, "group_id", None) or getattr(source, "room_id", None) or user_id
    return chat_id, source.type, user_id


def _mentions_bot(message: Any) -> bool:
    mention = getattr(message, "mention", None)
    return any(getattr(m, "is_self", False) for m in (getattr(mention, "mentionees", None) or ()))


def to_job(event: Event) -> Job | None:
    """The job for a parsed event; None for events without an id we can store (unknown types,
    which the SDK hands back as `UnknownEvent`, are skipped by the caller)."""
    event_id = getattr(event, "webhook_event_id", None)
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
        return None
    chat_id, chat_type, user_id = _source(event)
    if chat_id is not None and len(chat_id) > 64:
        chat_id = None
    token = getattr(event, "reply_token", None)
    mode = getattr(getattr(event, "mode", None), "value", None)
    message = getattr(event, "message", None) if isinstance(event, MessageEvent) else None
    return Job(
        event_id=event_id,
        event_type=str(event.type)[:32],
        chat_id=chat_id,
        chat_type=chat_type,
        user_id=user_id,
        reply_token=token,
        can_reply=bool(token) and mode == "active" and token not in DUMMY_REPLY_TOKENS,
        text=message.text if isinstance(message, TextMessageContent) else None,
        mentions_bot=_mentions_bot(message),
        redelivery=bool(getattr(getattr(event, "delivery_context", None), "is_redelivery", False)),
    )


def needs_handling(job: Job) -> bool:
    """Text messages and the chat's life-cycle events; everything else is recorded and left."""
    if job.event_type == "message":
        return job.text is not None
    return job.event_type in HANDLED_TYPES


# --- the per-process runtime ----------------------------------------------------------------


@dataclass
class WebhookRuntime:
    """What the webhook needs, built once per app. The thread pool is created on first use in
    each process (gunicorn forks workers after importing the app; threads do not survive a
    fork), and re-created if the process id changes."""

    services: Services
    line: LineGateway
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(BANGKOK))
    reply_wait: float = REPLY_WAIT
    workers: int = POOL_WORKERS
    backlog: int = POOL_BACKLOG
    parser: WebhookParser | None = None
    marks: StatusWriter = field(init=False)
    _pool: ThreadPoolExecutor | None = None
    _pool_pid: int | None = None
    _slots: threading.BoundedSemaphore | None = None
    _pending: set[Future] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _warned_no_secret: bool = False
    _last_sweep: float = field(default_factory=time.monotonic)  # create_app sweeps at start

    def __post_init__(self) -> None:
        secret = self.services.settings.line_channel_secret
        self.parser = WebhookParser(secret) if secret else None
        self.marks = StatusWriter(self.database_url)
        # On a worker's exit (after the reply pool has drained): write what is still waiting.
        atexit.register(self.marks.flush)

    @property
    def database_url(self) -> str:
        return self.services.settings.database_url

    def warn_no_secret_once(self) -> None:
        with self._lock:
            if self._warned_no_secret:
                return
            self._warned_no_secret = True
        log.warning("LINE_CHANNEL_SECRET is not set: every webhook request is refused (400)")

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="itabot-webhook")
                self._pool_pid = os.getpid()
                self._slots = threading.BoundedSemaphore(self.workers + self.backlog)
                self._pending = set()
            return self._pool

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future | None:
        """Run `fn` on the pool; None when the backlog is full (the caller sheds the event)."""
        pool = self._executor()
        slots = self._slots
        assert slots is not None
        if not slots.acquire(blocking=False):
            return None
        try:
            future = pool.submit(fn, *args)
        except RuntimeError:  # the pool is shutting down with the process
            slots.release()
            return None
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(lambda f: self._done(f, slots))
        return future

    def _done(self, future: Future, slots: threading.BoundedSemaphore) -> None:
        slots.release()
        with self._lock:
            self._pending.discard(future)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every submitted job has finished (tests, graceful shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = set(self._pending)
            if not pending:
                self.marks.flush()
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait(pending, timeout=remaining)

    def sweep_due(self) -> bool:
        with self._lock:
            if time.monotonic() - self._last_sweep < SWEEP_EVERY:
                return False
            self._last_sweep = time.monotonic()
            return True


def runtime() -> WebhookRuntime:
    return current_app.extensions[EXTENSION]


# --- recording events: the dedupe ------------------------------------------------------------
# Core statements on a plain connection, not ORM sessions: this runs on every request, and a
# Session costs ~1 ms more than the insert itself.

_EVENTS = WebhookEvent.__table__
_MARK = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), handled_at=bindparam("b_at"), error=bindparam("b_error"))
)


@cache
def _insert_new(dialect: str) -> Any:
    """`INSERT … ON CONFLICT (id) DO NOTHING RETURNING id` where the dialect has it (PostgreSQL,
    SQLite ≥ 3.35): a duplicate returns no row — no error, no aborted transaction. None
    elsewhere."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        return None
    return insert(_EVENTS).on_conflict_do_nothing(index_elements=["id"]).returning(_EVENTS.c.id)


def _insert_ignoring_duplicates(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert one event row; False when its id is already there (another worker, a redelivery)."""
    stmt = _insert_new(conn.dialect.name)
    if stmt is not None:
        # RETURNING, not rowcount: psycopg 3 under SQLAlchemy 2.1 reports a rowcount of -1 here.
        return conn.execute(stmt, row).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(sa_insert(_EVENTS), row)
        return True
    except IntegrityError:
        return False


def record_events(
    database_url: str, jobs: list[Job], statuses: StatusWriter | None = None
) -> list[Job]:
    """Store every job's event in one transaction; return the jobs seen for the first time.
    Events we do not act on are stored as `done` straight away (a trail, and no sweep).

    The same transaction reads each fresh question's chat binding (so answering needs no
    database round trip of its own) and writes the statuses of events handled since the last
    one (`statuses`): one connection and one commit per message, not three."""
    now = datetime.now(UTC)
    fresh = []
    handled = statuses.take() if statuses is not None else []
    try:
        with db.engine_for(database_url).begin() as conn:
            if handled:
                conn.execute(_MARK, _mark_params(handled, now))
            fresh = _insert_new_events(conn, jobs, now)
    except BaseException:
        if statuses is not None:
            statuses.put_back(handled)
        raise
    return fresh


def _insert_new_events(conn: Connection, jobs: list[Job], now: datetime) -> list[Job]:
    """Insert each job's event row; the jobs not seen before, their bindings read."""
    fresh = []
    for job in jobs:
        handled_later = needs_handling(job)
        row = {
            "id": job.event_id,
            "event_type": job.event_type,
            "chat_id": job.chat_id,
            "status": "received" if handled_later else "done",
            "received_at": now,
            "handled_at": None if handled_later else now,
            "error": None,
        }
        if _insert_ignoring_duplicates(conn, row):
            if job.text is not None and job.chat_id:
                job = replace(job, binding=binding_of(conn, job.chat_id, sender=job.user_id))
            fresh.append(job)
        else:
            log.info(
                "event %s already recorded (redelivery=%s): skipped",
                job.event_id,
                job.redelivery,
            )
    return fresh


def _mark_params(marks: list[tuple[str, str, str | None]], now: datetime) -> list[dict]:
    return [{"b_id": i, "b_status": s, "b_at": now, "b_error": e} for i, s, e in marks]


def mark_events(database_url: str, marks: list[tuple[str, str, str | None]]) -> None:
    """Set (event id, status, error) for several events in one transaction."""
    with db.engine_for(database_url).begin() as conn:
        conn.execute(_MARK, _mark_params(marks, datetime.now(UTC)))


def mark_event(database_url: str, event_id: str, status: str, error: str | None = None) -> None:
    mark_events(database_url, [(event_id, status, error)])


class StatusWriter:
    """Handled events' statuses, written a few at a time rather than one commit each.

    A status is worth recording but not worth a commit of its own: it waits (at most `linger`
    seconds) and rides on the next transaction that records new events in this process
    (`take`, inside `record_events`), so under load one commit serves a new event and the
    statuses of those just answered, and the reply thread does no database work at all. When
    no event comes, a timer writes what is waiting; `flush` writes it at once (tests, shutdown).
    A status lost with a killed process leaves its row `received`: the sweep reports it.
    """

    def __init__(self, database_url: str, *, linger: float = STATUS_LINGER) -> None:
        self.database_url = database_url
        self.linger = linger
        self._pending: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def add(self, event_id: str, status: str, error: str | None = None) -> None:
        with self._lock:
            self._pending.append((event_id, status, error))
            self._arm()

    def take(self) -> list[tuple[str, str, str | None]]:
        """What is waiting, handed to a caller that writes it in its own transaction."""
        with self._lock:
            batch, self._pending = self._pending, []
        return batch

    def put_back(self, batch: list[tuple[str, str, str | None]]) -> None:
        """A batch `take`n by a transaction that rolled back: the timer writes it later."""
        if batch:
            with self._lock:
                self._pending[:0] = batch
                self._arm()

    def _arm(self) -> None:
        """Start the timer if none is running (the caller holds the lock)."""
        if self._timer is None:
            self._timer = threading.Timer(self.linger, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if not batch:
            return
        try:
            mark_events(self.database_url, batch)
        except SQLAlchemyError as exc:  # rows stay `received`; the sweep reports them
            log.error(
                "status of %d event(s) not recorded (%s): %s",
                len(batch),
                type(exc).__name__,
                ", ".join(i for i, _, _ in batch[:20]),
            )


def sweep_stale_events(
    database_url: str, *, now: datetime | None = None, older_than: timedelta = STALE_AFTER
) -> int:
    """Mark events still `received` long after arrival as failed: their worker died (killed,
    OOM, deploy) between recording and replying. Not retried and not pushed instead — the reply
    token has expired, a push costs quota per group member, and the reply may in fact have gone
    out just before the crash (a push would then say it twice). See docs/decisions.md."""
    now = now or datetime.now(UTC)
    with db.session_scope(database_url) as session:
        stale = session.scalars(
            update(WebhookEvent)
            .where(WebhookEvent.status == "received", WebhookEvent.received_at < now - older_than)
            .values(
                status="failed", handled_at=now, error="abandoned: worker stopped before replying"
            )
            .returning(WebhookEvent.id)
        ).all()
    if stale:
        log.warning(
            "%d webhook event(s) abandoned by a stopped worker: %s",
            len(stale),
            ", ".join(stale[:20]),
        )
    return len(stale)


# --- handling one event (on the pool) ----------------------------------------------------------


def _reply_is_wanted(answer: Any, job: Job) -> bool:
    """In a group or room the bot answers questions, not chatter: a text it does not understand
    gets no "I don't understand" unless the bot was @mentioned (staff talk about many things in
    their group; a bot that answers every message gets removed)."""
    if job.chat_type in ("group", "room") and answer.intent == "unknown":
        return job.mentions_bot
    return True


def _touch(rt: WebhookRuntime, job: Job) -> None:
    """Remember the chat (created, or reactivated after the bot was re-invited)."""
    from itabot import chats

    if not job.chat_id or job.chat_type not in ("user", "group", "room"):
        return
    try:
        with db.session_scope(rt.database_url) as session:
            chats.touch_chat(session, job.chat_id, job.chat_type)
    except ValueError:  # an id LINE would never send; answering matters more than the row
        log.warning("event %s: chat not recorded (unexpected id shape)", job.event_id)


def _answer_text(rt: WebhookRuntime, job: Job) -> list:
    """A question or a command: the binding read with the event answers a known chat; the
    router records a new one."""
    from itabot.router import handle_message

    answer = handle_message(
        job.text or "",
        services=rt.services,
        now=rt.clock(),
        user_id=job.user_id,
        chat_id=job.chat_id,
        chat_type=job.chat_type,
        binding=job.binding,
    )
    return answer_to_messages(answer) if _reply_is_wanted(answer, job) else []


def _greet(rt: WebhookRuntime, job: Job) -> list:
    from itabot.conversation import EXAMPLE_QUESTIONS, QUICK_REPLIES

    _touch(rt, job)
    return greeting_messages(job.chat_type or "user", EXAMPLE_QUESTIONS, QUICK_REPLIES)


def _farewell(rt: WebhookRuntime, job: Job) -> list:
    """Unfollowed or removed from a group: stop pushing there (a push would fail anyway)."""
    from itabot import chats

    if job.chat_id:
        with db.session_scope(rt.database_url) as session:
            chats.deactivate_chat(session, job.chat_id)
    return []


_HANDLERS: dict[str, Callable[[WebhookRuntime, Job], list]] = {
    "message": _answer_text,
    "follow": _greet,
    "join": _greet,
    "unfollow": _farewell,
    "leave": _farewell,
}


def handle_job(rt: WebhookRuntime, job: Job) -> None:
    """Answer one recorded event and mark it done or failed. Never raises: a failure is logged
    with the event id (not the message, not a token) and the user gets a short apology."""
    status, error = "done", None
    try:
        messages = _HANDLERS[job.event_type](rt, job)
        if messages and job.can_reply and not rt.line.reply(job.reply_token or "", messages):
            status, error = "failed", "reply not accepted by LINE"
    except Exception as exc:
        log.error(
            "event %s (%s) failed: %s",
            job.event_id,
            job.event_type,
            type(exc).__name__,
            exc_info=True,
        )
        status, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        if job.can_reply:
            rt.line.reply(job.reply_token or "", apology_messages())
    rt.marks.add(job.event_id, status, error)
    if rt.sweep_due():
        try:
            sweep_stale_events(rt.database_url)
        except SQLAlchemyError as exc:
            log.error("sweep of abandoned webhook events failed: %s", type(exc).__name__)


# --- the routes ---------------------------------------------------------------------------------


def _refuse(status: int, why: str) -> Response:
    return Response(why, status=status, mimetype="text/plain")


def _read_body() -> bytes | None:
    """The raw body, or None when it is over MAX_BODY — decided from Content-Length when given,
    else (a chunked upload) by reading at most one byte more than allowed. Never reads a large
    body whole; short reads from the socket are looped over."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    chunks: list[bytes] = []
    total = 0
    try:
        while total <= MAX_BODY:
            chunk = request.stream.read(min(64 * 1024, MAX_BODY + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except RequestEntityTooLarge:  # werkzeug's own MAX_CONTENT_LENGTH guard on the stream
        return None
    return None if total > MAX_BODY else b"".join(chunks)


def _parse(rt: WebhookRuntime, body: bytes, signature: str) -> tuple[list[Event], str] | Response:
    """Signature first (the SDK's constant-time check), then the SDK's parse; the events and
    the body's text, or the refusal."""
    assert rt.parser is not None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "invalid signature")  # not UTF-8: cannot be LINE's signed JSON
    try:
        payload = rt.parser.parse(text, signature, as_payload=True)
    except InvalidSignatureError:
        return _refuse(400, "invalid signature")
    except Exception as exc:  # signed, but not a payload the SDK can read
        log.warning("signed webhook body could not be parsed: %s", type(exc).__name__)
        return _refuse(400, "invalid payload")
    return list(payload.events or []), text


def _str(obj: Any, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def job_from_raw(raw: Any) -> Job | None:
    """A job from the raw JSON of an event whose type we handle but whose fields the SDK's
    models refused — a field LINE left out that the SDK requires (as `quoteToken` once was new).
    Staff still get their answer; the event must carry an id, or it cannot be deduped."""
    event_type, event_id = _str(raw, "type"), _str(raw, "webhookEventId")
    if event_type not in HANDLED_TYPES or not event_id or len(event_id) > 64:
        return None
    source = raw.get("source")
    chat_type = _str(source, "type")
    user_id = _str(source, "userId")
    chat_id = _str(source, "groupId") or _str(source, "roomId") or user_id
    message = raw.get("message") if event_type == "message" else None
    text = _str(message, "text") if _str(message, "type") == "text" else None
    mention = message.get("mention") if isinstance(message, dict) else None
    mentionees = mention.get("mentionees") if isinstance(mention, dict) else None
    token = _str(raw, "replyToken")
    context = raw.get("deliveryContext")
    return Job(
        event_id=event_id,
        event_type=event_type,
        chat_id=chat_id if chat_id and len(chat_id) <= 64 else None,
        chat_type=chat_type if chat_type in ("user", "group", "room") else None,
        user_id=user_id,
        reply_token=token,
        can_reply=bool(token)
        and (_str(raw, "mode") or "active") == "active"
        and token not in DUMMY_REPLY_TOKENS,
        text=text,
        mentions_bot=isinstance(mentionees, list)
        and any(isinstance(m, dict) and m.get("isSelf") is True for m in mentionees),
        redelivery=isinstance(context, dict) and context.get("isRedelivery") is True,
    )


def _jobs(events: list[Event], text: str) -> list[Job]:
    """Jobs for the events worth recording; the SDK returns one event per raw event, in order,
    an `UnknownEvent` for a type it does not know or fields it refused."""
    from linebot.v3.models.events import UnknownEvent

    raw_events: list | None = None
    jobs = []
    for index, event in enumerate(events):
        try:
            if isinstance(event, UnknownEvent):
                kind = str(getattr(event, "type", ""))[:40]
                if kind not in HANDLED_TYPES:
                    log.info("ignored event of unknown type %r", kind)
                    continue
                raw_events = raw_events if raw_events is not None else json.loads(text)["events"]
                job = job_from_raw(raw_events[index])
                log.warning("a %r event did not match the SDK's model: read from its JSON", kind)
            else:
                job = to_job(event)
        except Exception as exc:  # an odd but signed event must not cost the others their answer
            log.warning("event skipped: %s", type(exc).__name__)
            continue
        if job is not None:
            jobs.append(job)
    return jobs


@bp.post("/callback")
def callback() -> Response:
    rt = runtime()
    body = _read_body()  # size first: at most 1 MiB + 1 byte is ever read
    if body is None:
        return _refuse(413, "request body too large")
    if rt.parser is None:
        rt.warn_no_secret_once()
        return _refuse(400, "channel secret not configured")
    signature = request.headers.get("X-Line-Signature", "")
    if not signature:
        return _refuse(400, "missing signature")
    parsed = _parse(rt, body, signature)
    if isinstance(parsed, Response):
        return parsed
    jobs = _jobs(*parsed)
    if not jobs:
        return _refuse(200, "OK")  # e.g. the console's Verify: {"events": []}
    try:
        fresh = record_events(rt.database_url, jobs, rt.marks)
    except SQLAlchemyError as exc:
        # Not recorded means not deduped: let LINE redeliver later rather than risk answering twice.
        log.error("webhook events not recorded (database): %s", type(exc).__name__)
        return _refuse(503, "database unavailable")
    futures = [f for f in (_dispatch(rt, job) for job in fresh) if f is not None]
    if futures and rt.reply_wait > 0:
        wait(futures, timeout=rt.reply_wait)
    return _refuse(200, "OK")


def _dispatch(rt: WebhookRuntime, job: Job) -> Future | None:
    if not needs_handling(job):
        return None
    future = rt.submit(handle_job, rt, job)
    if future is None:
        log.error(
            "event %s shed: %d events already waiting in this worker", job.event_id, rt.backlog
        )
        mark_event(rt.database_url, job.event_id, "failed", "shed: webhook backlog full")
    return future


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    if db.is_reachable(runtime().database_url):
        return jsonify(status="ok"), 200
    return jsonify(status="unavailable", database="unreachable"), 503
