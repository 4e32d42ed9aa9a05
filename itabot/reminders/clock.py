"""The clock: APScheduler runs the reminder dispatch every minute, in Bangkok time.

Where it runs: its own process (`python -m itabot clock`, the Procfile's `clock:`), or inside
`python bot.py` for local use (`start_background_scheduler`, unless ITABOT_SCHEDULER=off).
Never inside gunicorn's web workers: each worker would start its own scheduler. Even then the
ledger keeps a reminder from going out twice, but a clock per worker is waste and noise.

Three settings carry the correctness, each with a test:

* `misfire_grace_time=300`: APScheduler's default of 1 s silently *skips* a run that starts
  late (a busy machine, a long GC pause, a dispatch overrunning its minute). Five minutes lets a
  late run happen; the planner already sends what is due late the same day.
* `coalesce=True`: after a stall, the missed runs collapse into one, not a burst.
* `max_instances=1`: a slow dispatch is never overlapped by the next minute's in this process
  (other processes are the ledger's business).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from itabot.calendars.model import CalendarError, Calendars
from itabot.calendars.thai_dates import BANGKOK
from itabot.config import Settings
from itabot.reminders.sender import MemberCounts

log = logging.getLogger(__name__)

JOB_ID = "reminders"
PURGE_JOB_ID = "purge-webhook-events"
MISFIRE_GRACE_SECONDS = 300
JOB_OPTIONS: dict[str, Any] = {
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": MISFIRE_GRACE_SECONDS,
}


def reminder_trigger() -> CronTrigger:
    """At second 0 of every minute, Bangkok time (a remind time of 08:30 is met at 08:30:00)."""
    return CronTrigger(second=0, timezone=BANGKOK)


def _schedules_signature(directory: Path) -> tuple:
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.glob("*.yaml")))


class ReminderJob:
    """The scheduled callable: one dispatch at the current time.

    Built once per process (one LINE connection pool, one worker id, the groups' member
    counts kept for hours); the calendars are re-read when a file in schedules/ changes — an
    admin loading next year's calendar must not need a restart — and a calendar that fails
    validation keeps the last good set.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        gateway: Any = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._gateway = gateway
        self._counts = MemberCounts()
        self._clock = clock or (lambda: datetime.now(BANGKOK))
        self._calendars: Calendars | None = None
        self._signature: tuple | None = None

    @property
    def gateway(self) -> Any:
        if self._gateway is None:
            from itabot.line.client import make_line_gateway

            self._gateway = make_line_gateway(self.settings)
        return self._gateway

    def calendars(self) -> Calendars | None:
        signature = _schedules_signature(self.settings.schedules_dir)
        if signature != self._signature:
            try:
                self._calendars = Calendars.load(self.settings.schedules_dir)
                self._signature = signature
                log.info("calendars loaded: %d", len(self._calendars.calendars))
            except CalendarError as exc:
                log.error("calendars not reloaded, keeping the last good set: %s", exc)
        return self._calendars

    def __call__(self) -> Any:
        from itabot.reminders.dispatch import default_worker_id, dispatch

        calendars = self.calendars()
        if calendars is None:
            return None
        try:
            return dispatch(
                self.settings.database_url,
                self.gateway,
                calendars,
                self.settings,
                self._clock(),
                default_worker_id(),
                counts=self._counts,
            )
        except Exception:  # the next minute tries again; the ledger keeps it exactly-once
            log.exception("reminder dispatch failed")
            return None


def add_reminder_job(scheduler: BaseScheduler, job: Callable[[], Any]):
    """The one job, with its misfire/coalesce/instance options set explicitly (see module doc)."""
    return scheduler.add_job(
        job,
        reminder_trigger(),
        id=JOB_ID,
        name="reminder dispatch",
        replace_existing=True,
        **JOB_OPTIONS,
    )


def build_scheduler(
    scheduler_class: type[BaseScheduler], settings: Settings, job: Callable[[], Any] | None = None
) -> BaseScheduler:
    """A configured, not yet started scheduler (tests inspect it without running it)."""
    scheduler = scheduler_class(
        timezone=BANGKOK,
        executors={"default": ThreadPoolExecutor(1), "housekeeping": ThreadPoolExecutor(1)},
        job_defaults=dict(JOB_OPTIONS),
    )
    add_reminder_job(scheduler, job or ReminderJob(settings))
    scheduler.add_job(
        purge_webhook_events,
        CronTrigger(hour=3, minute=17, timezone=BANGKOK),  # the quietest hour, off the minute
        args=(settings,),
        id=PURGE_JOB_ID,
        name="webhook event purge",
        executor="housekeeping",  # never delays the minute's dispatch
        replace_existing=True,
        **JOB_OPTIONS,
    )
    return scheduler


def purge_webhook_events(settings: Settings) -> int:
    """Delete `webhook_event` rows older than ITABOT_EVENT_RETENTION_DAYS (in batches): the
    table is the webhook's dedupe and trail, ~200 bytes an event, and would grow for ever."""
    from datetime import timedelta

    from itabot.webhook.events import purge_events

    try:
        return purge_events(settings.database_url, timedelta(days=settings.event_retention_days))
    except Exception as exc:  # tomorrow tries again
        log.error("webhook event purge failed: %s", type(exc).__name__)
        return 0


STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def run_clock(settings: Settings | None = None) -> None:
    """`python -m itabot clock`: the reminder dispatcher every minute until SIGTERM/SIGINT.

    The main thread blocks in `signal.sigwait` while APScheduler's thread runs the job; no
    Python signal handler runs at all. Both obvious alternatives hang now and then: calling
    `shutdown()` from a handler deadlocks when the signal lands while the main loop holds its
    wake-up Event's plain Lock, and raising from a handler (the documented `BlockingScheduler`
    idiom) can leave a logging lock held by the interrupted frame, so the shutdown that follows
    waits forever on a worker stuck in `log.info`. The signals are blocked before any thread
    starts, so every thread inherits the mask and only `sigwait` receives them; one sent before
    the scheduler is up simply waits, pending, until `sigwait` takes it. SIGTERM is what a PaaS
    sends to stop the dyno; a dispatch in progress is let finish (the ledger would make a
    re-run safe anyway).
    """
    from itabot.reminders.commands import configure_logging

    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    scheduler = build_scheduler(BackgroundScheduler, settings)
    scheduler.start()
    log.info("clock started: reminder dispatch every minute (Asia/Bangkok)")
    received = signal.sigwait(STOP_SIGNALS)
    log.info("clock stopping (%s)", signal.Signals(received).name)
    scheduler.shutdown(wait=True)
    log.info("clock stopped")


def start_background_scheduler(settings: Settings) -> BackgroundScheduler | None:
    """The same clock in a daemon thread, for `python bot.py` only; None when
    ITABOT_SCHEDULER=off (a separate clock process runs it)."""
    if not settings.scheduler:
        log.info("ITABOT_SCHEDULER=off: no reminder scheduler in this process")
        return None
    scheduler = build_scheduler(BackgroundScheduler, settings)
    assert isinstance(scheduler, BackgroundScheduler)
    scheduler.start()
    return scheduler
