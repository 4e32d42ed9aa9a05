"""Reminders: every bound chat hears of each closing before it, exactly once, whatever crashes.

The public face of three modules:

* `itabot.reminders.planner` — the pure planner (`plan`): calendars + chats + now → due reminders;
* `itabot.reminders.messages` — the merged Flex push (≤ 5 messages, altText ≤ 1,500);
* `itabot.reminders.dispatch` — the dispatcher (`dispatch`): ledger claim, outbox, send, mark.

and the console: `python -m itabot reminders send|plan [--at ISO8601]`.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime

from itabot.config import Settings
from itabot.reminders.dispatch import dispatch
from itabot.reminders.ledger import ledger_keys, plan_from_db
from itabot.reminders.messages import plain_text, reminder_messages
from itabot.reminders.planner import (
    by_chat,
)


def configure_logging(level: str) -> None:
    """Log to stderr unless the process already set logging up (the clock, pytest)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )


def _load_calendars(settings: Settings):
    from itabot.calendars.model import Calendars

    return Calendars.load(settings.schedules_dir)


def cli_send(at: datetime) -> int:
    """`reminders send`: one dispatch at `at` (the real clock unless `--at`). Exit 1 when LINE
    refused a push (it will not be retried: someone should look), else 0."""
    from itabot.line.client import make_line_gateway

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    calendars = _load_calendars(settings)
    report = dispatch(settings.database_url, make_line_gateway(settings), calendars, settings, at)
    print(f"{report.at.isoformat()} {report.summary()}")
    return 1 if report.failed else 0


def cli_plan(at: datetime) -> int:
    """`reminders plan`: what a dispatch at `at` would push, per chat — nothing is sent and
    nothing written (reminders already in the ledger are counted, not shown)."""
    from itabot.storage import db

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    calendars = _load_calendars(settings)
    sessions = db.session_factory(settings.database_url)
    due = plan_from_db(sessions, calendars, settings, at)
    with sessions() as session:
        taken = ledger_keys(session, due)
    fresh = [r for r in due if r.key not in taken]
    print(
        f"{at.isoformat()}: {len(fresh)} reminder(s) due for {len(by_chat(fresh))} chat(s)"
        f" ({len(due) - len(fresh)} already sent or queued)"
    )
    for chat_id, items in by_chat(fresh).items():
        print(f"\n== {chat_id} ({items[0].chat_type})")
        for r in items:
            skipped = f" skipping {[d for d, _ in r.skipped]}" if r.skipped else ""
            print(f"   {r.phase.key} fy{r.phase.fiscal_year} offset {r.offset_days}{skipped}")
        print(plain_text(reminder_messages(items)))
    from itabot.reminders.budget import plan_text, read_snapshot

    with sessions() as session:
        snapshot = read_snapshot(session, at)
    if snapshot is not None:
        print(f"\n== the month plan as of {snapshot['at']} (LINE quota)\n{plan_text(snapshot)}")
    return 0
