"""The LINE webhook: `POST /callback` (signature, size, parse, dedupe, dispatch) and
`GET /healthz`.

The order is the point. Nothing is read, parsed or stored before the body is known to be small
and signed with our channel secret. Each event is then read on its own (a malformed one is
skipped, not its siblings) and recorded (`events.record_events`: the database is the dedupe,
across workers and redeliveries) and LINE gets its 200 at once, as LINE asks (a slow answer
delays its later webhooks; over 2 s is an error). Answering, replying and writing each event's
status happen afterwards on a bounded per-process thread pool, so LINE's latency (Japan is
50–150 ms away) is never in the webhook's answer. A database failure anywhere in a request is a
503 (`database_unavailable`): LINE redelivers, and the log has one line per kind of failure.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from linebot.v3.webhook import SignatureValidator
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from itabot.calendars.thai_dates import BANGKOK
from itabot.line.answer_messages import answer_to_messages, apology_messages, greeting_messages
from itabot.line.client import LineGateway
from itabot.router import Services
from itabot.storage import chats, db
from itabot.webhook.events import (
    claim_reply,
    mark_event,
    process_owner,
    record_events,
    sweep_stale_events,
    token_usable,
)
from itabot.webhook.jobs import Job, jobs_from, needs_handling

log = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)

MAX_BODY = 1024 * 1024  # LINE's bodies are a few KB; anything near 1 MiB is not from LINE
# Reply threads per process. A reply waits on LINE (50–150 ms from Thailand) far longer than it
# uses the CPU, so a thread answers ~10 events a second: 32 keep up with what two cores can
# answer (benchmarks/bench_webhook.py), and the LINE client's connection pool holds as many.
POOL_WORKERS = 32
# Accepted-but-unhandled events per process before new ones are shed. The queue is bounded by
# age too (an event is expired, not replied to, once its token is too old), so this only caps
# memory: with LINE at 3 s a call, 32 threads answer ~500 events in a token's life.
POOL_BACKLOG = 1000
SWEEP_EVERY = 5.0  # seconds between sweeps for events a stopped worker left unanswered
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
    utcnow: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # token ages
    workers: int = POOL_WORKERS
    backlog: int = POOL_BACKLOG
    signature: SignatureValidator | None = None
    _owner: tuple[int, str] | None = None  # (pid, this process as an event's owner)
    _pool: ThreadPoolExecutor | None = None
    _pool_pid: int | None = None
    _in_flight: int = 0  # events submitted and not yet finished, in this process
    _chains: dict[str, deque] = field(default_factory=dict)  # a chat's events waiting in order
    _idle: threading.Condition = field(default_factory=threading.Condition)
    database_errors: db.ErrorLog = field(default_factory=lambda: db.ErrorLog(log))
    _warned_no_secret: bool = False
    _last_sweep: tuple[int, float] | None = None  # (pid, when): a new worker sweeps at once

    def __post_init__(self) -> None:
        secret = self.services.settings.line_channel_secret
        self.signature = SignatureValidator(secret) if secret else None

    @property
    def database_url(self) -> str:
        return self.services.settings.database_url

    @property
    def owner(self) -> str:
        """This process as the owner of the events it answers; a forked worker gets its own."""
        with self._idle:
            if self._owner is None or self._owner[0] != os.getpid():
                self._owner = (os.getpid(), process_owner())
            return self._owner[1]

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
        """True once per `SWEEP_EVERY` in this process, and at its first request."""
        now = time.monotonic()
        with self._idle:
            last = self._last_sweep
            if last is not None and last[0] == os.getpid() and now - last[1] < SWEEP_EVERY:
                return False
            self._last_sweep = (os.getpid(), now)
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


def _members(rt: WebhookRuntime, job: Job) -> list:
    """Members joined or left a group: its stored member count (what a push there costs, for
    the month plan) follows, so LINE need not be asked again. Silent: nobody asked anything."""
    if job.chat_id and job.members_changed:
        with db.session_scope(rt.database_url) as session:
            chats.count_members(session, job.chat_id, job.members_changed)
    return []


_HANDLERS: dict[str, Callable[[WebhookRuntime, Job], list]] = {
    "message": _answer_text,
    "postback": _postback,
    "follow": _greet,
    "join": _greet,
    "unfollow": _farewell,
    "leave": _farewell,
    "memberJoined": _members,
    "memberLeft": _members,
}


def _reply(rt: WebhookRuntime, job: Job, messages: list) -> str | None:
    """Reply if the token is still usable and this process still owns the event: the status
    to record, or None when another process has taken the event over (it answers)."""
    if not token_usable(job, rt.utcnow()):
        return "expired"
    if not claim_reply(rt.database_url, job.event_id, rt.owner):
        return None
    return "done" if rt.line.reply(job.reply_token or "", messages) else "failed"


def _answer(rt: WebhookRuntime, job: Job) -> tuple[str, str | None] | None:
    """(status, error) of one event once answered, or None when it is no longer ours."""
    if job.can_reply and not token_usable(job, rt.utcnow()):
        return "expired", "reply token too old when its turn came"  # nothing done, nothing said
    try:
        messages = _HANDLERS[job.event_type](rt, job)
    except Exception as exc:
        if isinstance(exc, SQLAlchemyError):
            rt.database_errors.failed("answering an event", exc)
        else:
            log.error(
                "event %s (%s) failed: %s",
                job.event_id,
                job.event_type,
                type(exc).__name__,
                exc_info=True,
            )
        error = f"{type(exc).__name__}: {exc}"[:500]
        if not job.can_reply:
            return "failed", error
        status = _reply(rt, job, apology_messages())
        return None if status is None else ("failed", error)
    if not (messages and job.can_reply):
        return "done", None
    status = _reply(rt, job, messages)
    if status is None:
        return None
    return status, {"done": None, "expired": "reply token too old when answered"}.get(
        status, "reply not accepted by LINE"
    )


def handle_job(rt: WebhookRuntime, job: Job) -> None:
    """Answer one recorded event and record its status. Never raises: a failure is logged
    with the event id (not the message, not a token) and the user gets a short apology. When
    the database fails before the reply, nothing is said: the row stays `received` for a
    redelivery or the sweep to answer while the reply token lasts."""
    try:
        outcome = _answer(rt, job)
    except SQLAlchemyError as exc:
        rt.database_errors.failed("claiming an event's reply", exc)
        return
    if outcome is None:
        log.info("event %s: answered by the process that took it over", job.event_id)
        return
    status, error = outcome
    try:
        mark_event(rt.database_url, job.event_id, status, error, rt.owner)
    except SQLAlchemyError as exc:  # the row stays `replying`; the sweep reports it
        log.error("event %s: status %s not recorded: %s", job.event_id, status, type(exc).__name__)


def sweep(rt: WebhookRuntime) -> None:
    """Take over the events a stopped worker left unanswered, on this process's pool."""
    try:
        taken = sweep_stale_events(rt.database_url, owner=rt.owner).taken
    except SQLAlchemyError as exc:
        rt.database_errors.failed("sweep of unanswered events", exc)
        return
    for job in taken:
        if not rt.submit(handle_job, rt, job, chat=job.chat_id):
            _shed(rt, job)


def _sweep_if_due(rt: WebhookRuntime) -> None:
    if rt.sweep_due() and not rt.submit(sweep, rt):
        log.warning("sweep of unanswered events skipped: the reply pool is full")


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


def _events(rt: WebhookRuntime, body: bytes, signature: str) -> list | Response:
    """Signature first (the SDK's constant-time check), then JSON; the body's raw events, or the
    refusal. Each event is read on its own later (`jobs_from`): the SDK's parser would refuse
    the whole body for one event it cannot read."""
    assert rt.signature is not None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "invalid signature")  # not UTF-8: cannot be LINE's signed JSON
    if not rt.signature.validate(text, signature):
        return _refuse(400, "invalid signature")
    try:
        payload = json.loads(text)
    except ValueError:
        log.warning("signed webhook body is not JSON")
        return _refuse(400, "invalid payload")
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        log.warning("signed webhook body has no list of events")
        return _refuse(400, "invalid payload")
    return events


@bp.post("/callback")
def callback() -> Response:
    rt = runtime()
    body = _read_body()  # size first: at most 1 MiB + 1 byte is ever read
    if body is None:
        return _refuse(413, "request body too large")
    if rt.signature is None:
        rt.warn_no_secret_once()
        return _refuse(400, "channel secret not configured")
    signature = request.headers.get("X-Line-Signature", "")
    if not signature:
        return _refuse(400, "missing signature")
    events = _events(rt, body, signature)
    if isinstance(events, Response):
        return events
    jobs = jobs_from(events)
    if jobs:
        # A database error here is a 503 (`database_unavailable`): not recorded means not
        # deduped, so LINE's redelivery tries again rather than risk answering twice.
        for job in record_events(rt.database_url, jobs, rt.owner):
            if needs_handling(job) and not rt.submit(handle_job, rt, job, chat=job.chat_id):
                _shed(rt, job)
    _sweep_if_due(rt)
    return _refuse(200, "OK")  # also the console's Verify: {"events": []}


def _shed(rt: WebhookRuntime, job: Job) -> None:
    """The backlog is full: better no answer than one after the reply token has expired —
    recorded `expired`, which is what waiting would have made it."""
    log.error("event %s shed: %d events already waiting in this worker", job.event_id, rt.backlog)
    try:
        mark_event(rt.database_url, job.event_id, "expired", "shed: webhook backlog full", rt.owner)
    except SQLAlchemyError as exc:  # recorded all the same: LINE still gets its 200
        rt.database_errors.failed("recording a shed event", exc)


def database_unavailable(exc: Exception) -> Response:
    """Any database error a request meets, whatever layer raised it (SQLAlchemy's wrapper, the
    driver's own error at connect, the pool's timeout): 503 with a short body, and one log
    line per kind of failure every few seconds — never Flask's HTML 500 and a traceback."""
    runtime().database_errors.failed(f"{request.method} {request.path}", exc)
    return _refuse(503, "database unavailable")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """A committed write, not a `SELECT 1`: a database that can be read but not written (a
    read-only file, a full disk, a read-only standby) cannot record events either."""
    rt = runtime()
    try:
        db.probe_write(rt.database_url)
    except Exception as exc:
        rt.database_errors.failed("GET /healthz", exc)
        return jsonify(status="unavailable", database="cannot write"), 503
    _sweep_if_due(rt)  # a platform's health checks keep the sweep going when no one writes
    return jsonify(status="ok"), 200
