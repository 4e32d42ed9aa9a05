"""The LINE webhook: `POST /callback` (signature, size, parse, dedupe, dispatch) and
`GET /healthz`.

The order is the point. Nothing is read, parsed or stored before the body is known to be small
and signed with our channel secret. Each event is then recorded (`events.record_events`: the
database is the dedupe, across workers and redeliveries) and LINE gets its 200 at once, as LINE
asks (a slow answer delays its later webhooks; over 2 s is an error). Answering, replying and
writing each event's status happen afterwards on a bounded per-process thread pool, so LINE's
latency (Japan is 50–150 ms away) is never in the webhook's answer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import Event
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from itabot.calendars.thai_dates import BANGKOK
from itabot.line.answer_messages import answer_to_messages, apology_messages, greeting_messages
from itabot.line.client import LineGateway
from itabot.router import Services
from itabot.storage import chats, db
from itabot.webhook.events import mark_event, record_events, sweep_stale_events
from itabot.webhook.jobs import Job, jobs_from, needs_handling

log = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)

MAX_BODY = 1024 * 1024  # LINE's bodies are a few KB; anything near 1 MiB is not from LINE
# Reply threads per process. A reply waits on LINE (50–150 ms from Thailand) far longer than it
# uses the CPU, so a thread answers ~10 events a second: 32 keep up with what two cores can
# answer (benchmarks/bench_webhook.py), and the LINE client's connection pool holds as many.
POOL_WORKERS = 32
POOL_BACKLOG = 200  # accepted-but-unhandled events per process before new ones are shed
SWEEP_EVERY = 300.0  # seconds between sweeps of events a dead worker left `received`
EXTENSION = "itabot"


# --- the per-process runtime ----------------------------------------------------------------


@dataclass
class WebhookRuntime:
    """What the webhook needs, built once per app. The reply pool is created on first use in
    each process (gunicorn forks workers after importing the app; threads do not survive a
    fork), and re-created if the process id changes."""

    services: Services
    line: LineGateway
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(BANGKOK))
    workers: int = POOL_WORKERS
    backlog: int = POOL_BACKLOG
    parser: WebhookParser | None = None
    _pool: ThreadPoolExecutor | None = None
    _pool_pid: int | None = None
    _in_flight: int = 0  # events submitted and not yet finished, in this process
    _chains: dict[str, deque] = field(default_factory=dict)  # a chat's events waiting in order
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _warned_no_secret: bool = False
    _last_sweep: float = field(default_factory=time.monotonic)  # create_app sweeps at start

    def __post_init__(self) -> None:
        secret = self.services.settings.line_channel_secret
        self.parser = WebhookParser(secret) if secret else None

    @property
    def database_url(self) -> str:
        return self.services.settings.database_url

    def warn_no_secret_once(self) -> None:
        with self._idle:
            if self._warned_no_secret:
                return
            self._warned_no_secret = True
        log.warning("LINE_CHANNEL_SECRET is not set: every webhook request is refused (400)")

    def submit(self, fn: Callable[..., Any], *args: Any, chat: str | None = None) -> bool:
        """Run `fn` on the pool; False when the backlog is full (the caller sheds the event).

        Events of one `chat` run one after another, in the order LINE sent them: the answer to
        a question typed right after `/bind` must see the binding. Other chats run alongside."""
        with self._idle:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="itabot-webhook")
                self._pool_pid, self._in_flight, self._chains = os.getpid(), 0, {}
            if self._in_flight >= self.workers + self.backlog:
                return False
            self._in_flight += 1
            if chat is not None:
                if chat in self._chains:  # a pool thread is working through this chat
                    self._chains[chat].append((fn, args))
                    return True
                self._chains[chat] = deque()
            pool = self._pool
        try:
            pool.submit(self._run, fn, args, chat)
        except RuntimeError:  # the pool is shutting down with the process
            with self._idle:  # this event, and any of its chat's queued behind it, are dropped
                waiting = self._chains.pop(chat, ()) if chat is not None else ()
                self._in_flight -= 1 + len(waiting)
                self._idle.notify_all()
            return False
        return True

    def _run(self, fn: Callable[..., Any], args: tuple, chat: str | None) -> None:
        while True:
            try:
                fn(*args)
            finally:
                self._finished()
            if chat is None:
                return
            with self._idle:
                waiting = self._chains[chat]
                if not waiting:
                    del self._chains[chat]
                    return
                fn, args = waiting.popleft()

    def _finished(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every submitted event has been handled (tests, graceful shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def sweep_due(self) -> bool:
        with self._idle:
            if time.monotonic() - self._last_sweep < SWEEP_EVERY:
                return False
            self._last_sweep = time.monotonic()
            return True


def runtime() -> WebhookRuntime:
    return current_app.extensions[EXTENSION]


# --- handling one event (on the pool) ----------------------------------------------------------


def _touch(rt: WebhookRuntime, job: Job) -> None:
    """Remember the chat (created, or reactivated after the bot was re-invited)."""
    if not job.chat_id or job.chat_type not in ("user", "group", "room"):
        return
    try:
        with db.session_scope(rt.database_url) as session:
            chats.touch_chat(session, job.chat_id, job.chat_type)
    except ValueError:  # an id LINE would never send; answering matters more than the row
        log.warning("event %s: chat not recorded (unexpected id shape)", job.event_id)


def _answer_text(rt: WebhookRuntime, job: Job) -> list:
    """A question or a command, answered in its chat's context (the router reads the binding
    here, after the chat's earlier events: a `/bind` just before counts)."""
    from itabot.router import handle_message

    answer = handle_message(
        job.text or "",
        services=rt.services,
        now=rt.clock(),
        user_id=job.user_id,
        chat_id=job.chat_id,
        chat_type=job.chat_type,
        mentioned=job.mentions_bot,
    )
    return answer_to_messages(answer) if answer.text else []  # silent: chatter in a group


def _postback(rt: WebhookRuntime, job: Job) -> list:
    """A button pressed ("✓ ทำแล้ว", "ยกเลิก"): answered by reply, like a question."""
    from itabot.router import handle_postback

    answer = handle_postback(
        job.postback_data,
        services=rt.services,
        now=rt.clock(),
        user_id=job.user_id,
        chat_id=job.chat_id,
        chat_type=job.chat_type,
    )
    return answer_to_messages(answer)


def _greet(rt: WebhookRuntime, job: Job) -> list:
    """Followed or invited: a group re-invited while bound hears what it is bound to."""
    from itabot.conversation.replies import EXAMPLE_QUESTIONS, QUICK_REPLIES

    _touch(rt, job)
    bound_to = None
    if job.chat_type in ("group", "room") and job.chat_id:
        with db.session_scope(rt.database_url) as session:
            binding = chats.binding_of(session, job.chat_id)
        if binding is not None and binding.agency and binding.province:
            bound_to = (binding.agency, binding.province)
    kind = job.chat_type or "user"
    return greeting_messages(kind, EXAMPLE_QUESTIONS, QUICK_REPLIES, bound_to=bound_to)


def _farewell(rt: WebhookRuntime, job: Job) -> list:
    """Unfollowed or removed from a group: stop pushing there (a push would fail anyway)."""
    if job.chat_id:
        with db.session_scope(rt.database_url) as session:
            chats.deactivate_chat(session, job.chat_id)
    return []


_HANDLERS: dict[str, Callable[[WebhookRuntime, Job], list]] = {
    "message": _answer_text,
    "postback": _postback,
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
    try:
        mark_event(rt.database_url, job.event_id, status, error)
    except SQLAlchemyError as exc:  # the row stays `received`; the sweep reports it
        log.error("event %s: status %s not recorded: %s", job.event_id, status, type(exc).__name__)
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
    jobs = jobs_from(*parsed)
    if not jobs:
        return _refuse(200, "OK")  # e.g. the console's Verify: {"events": []}
    try:
        fresh = record_events(rt.database_url, jobs)
    except SQLAlchemyError as exc:
        # Not recorded means not deduped: let LINE redeliver later rather than risk answering twice.
        log.error("webhook events not recorded (database): %s", type(exc).__name__)
        return _refuse(503, "database unavailable")
    for job in fresh:
        if needs_handling(job) and not rt.submit(handle_job, rt, job, chat=job.chat_id):
            _shed(rt, job)
    return _refuse(200, "OK")


def _shed(rt: WebhookRuntime, job: Job) -> None:
    """The backlog is full: better no answer than one after the reply token has expired."""
    log.error("event %s shed: %d events already waiting in this worker", job.event_id, rt.backlog)
    try:
        mark_event(rt.database_url, job.event_id, "failed", "shed: webhook backlog full")
    except SQLAlchemyError as exc:  # recorded all the same: LINE still gets its 200
        log.error("event %s: shed status not recorded: %s", job.event_id, type(exc).__name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    if db.is_reachable(runtime().database_url):
        return jsonify(status="ok"), 200
    return jsonify(status="unavailable", database="unreachable"), 503
