"""The clock: APScheduler's job configuration (the traps: misfire grace, duplicates), the job
itself, clean stops on SIGTERM, and no scheduler in web workers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.executors.base import run_job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from itabot.calendars.thai_dates import BANGKOK
from itabot.config import PROJECT_ROOT, Settings
from itabot.reminders.clock import (
    JOB_ID,
    MISFIRE_GRACE_SECONDS,
    ReminderJob,
    add_reminder_job,
    build_scheduler,
    start_background_scheduler,
)
from itabot.storage import db
from tests.conftest import SCHEDULES, bkk
from tests.test_reminder_support import FakeGateway, bind_chat, ledger


def the_job(scheduler):
    return scheduler.get_job(JOB_ID)


def test_the_job_runs_every_minute_in_bangkok_and_is_configured_against_the_traps():
    scheduler = build_scheduler(BlockingScheduler, Settings(), job=lambda: None)
    job = the_job(scheduler)
    assert job.id == JOB_ID
    assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS == 300  # not APScheduler's 1 s
    assert job.coalesce is True
    assert job.max_instances == 1
    assert isinstance(job.trigger, CronTrigger)
    assert str(job.trigger.timezone) == "Asia/Bangkok"
    fire = job.trigger.get_next_fire_time(None, bkk(2026, 6, 23, 8, 29, 30))
    assert fire == bkk(2026, 6, 23, 8, 30)


def _run_late(scheduler, seconds_late: int) -> str:
    """APScheduler's own misfire decision for `scheduler`'s job due `seconds_late` ago: 'ran' or
    'missed'. `run_job` is what its executors call for every due run; it reads the time from
    `datetime.now`, which is frozen here, so neither the real clock nor a thread decides. The
    scheduler is started paused only so that its defaults (the 1 s grace) fill in the job."""
    scheduler.start(paused=True)
    try:
        job = the_job(scheduler)
        now = datetime(2026, 6, 23, 1, 30, tzinfo=UTC)
        with time_machine.travel(now, tick=False):
            [event] = run_job(job, "default", [now - timedelta(seconds=seconds_late)], __name__)
    finally:
        scheduler.shutdown(wait=True)
    return {EVENT_JOB_EXECUTED: "ran", EVENT_JOB_MISSED: "missed"}[event.code]


def test_a_run_starting_minutes_late_still_runs():
    scheduler = build_scheduler(BackgroundScheduler, Settings(), job=lambda: None)
    assert _run_late(scheduler, 200) == "ran"
    scheduler = build_scheduler(BackgroundScheduler, Settings(), job=lambda: None)
    assert _run_late(scheduler, 301) == "missed"  # past the five minutes: the next run sends it


def test_the_trap_apscheduler_default_grace_silently_skips_a_late_run():
    """Why the option is set: with APScheduler's default (1 s) the same late run is dropped."""
    scheduler = BackgroundScheduler(timezone=BANGKOK)
    scheduler.add_job(lambda: None, CronTrigger(second=0, timezone=BANGKOK), id=JOB_ID)
    assert _run_late(scheduler, 200) == "missed"


def test_adding_the_job_twice_replaces_it():
    scheduler = build_scheduler(BackgroundScheduler, Settings(), job=lambda: None)
    scheduler.start(paused=True)
    try:
        add_reminder_job(scheduler, lambda: None)
        assert [job.id for job in scheduler.get_jobs()].count(JOB_ID) == 1
    finally:
        scheduler.shutdown(wait=True)


def test_the_job_dispatches_at_the_current_time(sqlite_url, calendars):
    bind_chat(sqlite_url, "Cgroup1")
    line = FakeGateway()
    job = ReminderJob(
        Settings(database_url=sqlite_url, schedules_dir=SCHEDULES),
        gateway=line,
        clock=lambda: bkk(2026, 6, 23, 8, 30),
    )
    report = job()
    assert report.sent == 1
    assert job().sent == 0  # the next minute: already in the ledger
    assert len(line.calls) == 1
    assert {r.offset_days for r in ledger(sqlite_url)} == {7}


def test_a_failing_dispatch_is_logged_and_the_clock_keeps_going(tmp_path, caplog):
    job = ReminderJob(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'missing-tables.db'}", schedules_dir=SCHEDULES
        ),
        gateway=FakeGateway(),
        clock=lambda: bkk(2026, 6, 23, 8, 30),
    )
    assert job() is None
    assert "reminder dispatch failed" in caplog.text
    db.engine_for(f"sqlite:///{tmp_path / 'missing-tables.db'}").dispose()


def test_calendars_are_reloaded_when_a_file_changes_and_a_broken_one_keeps_the_last(tmp_path):
    schedules = tmp_path / "schedules"
    shutil.copytree(SCHEDULES, schedules)
    job = ReminderJob(Settings(schedules_dir=schedules), gateway=FakeGateway())
    first = job.calendars()
    assert first is job.calendars()  # unchanged files: not re-read
    (schedules / "national-2569.yaml").write_text("calendar: [broken", encoding="utf-8")
    assert job.calendars() is first  # the last good set
    (schedules / "national-2569.yaml").unlink()
    assert job.calendars() is not first
    assert job.calendars().get("national-2569") is None


def test_the_in_process_scheduler_is_off_when_configured_off():
    assert start_background_scheduler(Settings(scheduler=False)) is None


def test_the_in_process_scheduler_runs_the_job_in_a_daemon_thread(sqlite_url):
    scheduler = start_background_scheduler(
        Settings(database_url=sqlite_url, schedules_dir=SCHEDULES)
    )
    try:
        assert scheduler.running
        assert the_job(scheduler).misfire_grace_time == 300
        assert scheduler._thread.daemon
    finally:
        scheduler.shutdown(wait=True)


def _env(url: str) -> dict[str, str]:
    db.engine_for(url).dispose()  # the child process opens the file on its own
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        ITABOT_SCHEDULES_DIR=str(SCHEDULES),
        LINE_CHANNEL_ACCESS_TOKEN="",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_clock_process_stops_cleanly_on_a_signal(sqlite_url, signum):
    proc = subprocess.Popen(
        [sys.executable, "-m", "itabot", "clock"],
        cwd=PROJECT_ROOT,
        env=_env(sqlite_url),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stderr:  # blocks until the clock says it started: no sleeping
            if "clock started" in line:
                break
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "clock stopped" in err
    assert "Traceback" not in err


APP_THREADS = """
import threading
import bot  # what gunicorn imports in every worker
from itabot.app import create_app
create_app()
names = [t.name for t in threading.enumerate()]
print("THREADS", names)
print("APSCHEDULER", any("APScheduler" in n for n in names) or any(
    type(t).__module__.startswith("apscheduler") for t in threading.enumerate()))
"""


def test_importing_bot_or_creating_the_app_starts_no_scheduler(sqlite_url):
    env = _env(sqlite_url)
    env["ITABOT_SCHEDULER"] = "on"  # even when the in-process scheduler is enabled
    result = subprocess.run(
        [sys.executable, "-c", APP_THREADS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "APSCHEDULER False" in result.stdout, result.stdout
