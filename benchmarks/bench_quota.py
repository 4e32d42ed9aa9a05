"""FY2569 replayed end to end for a province: 200 Surin local agencies, each bound to a group of
8, through the real dispatcher (`dispatch` at 08:31 Bangkok on every day from 1 Oct 2025 to
30 Sep 2026, a real SQLite database, the ledger, the month plan) against a LINE that enforces
its monthly quota as LINE does (a push that would exceed the month is refused with 429; the
count restarts on the 1st). Four runs:

- `unlimited`: what the province needs — today's demand, every reminder of every chat;
- `basic` (15,000 a month) and `free` (300): what is sent, heard and dropped, by value;
- `basic_half_confirm` / `free_half_confirm`: the same with every other agency pressing
  "✓ ทำแล้ว" on the first reminder of each phase it hears.

Then `/status สุรินทร์` for the 200 agencies, answered 200 times: p50/p99 in ms.

LINE's latency is left out on purpose: it changes how long a dispatch takes (bench_reminders
measures that at 0–150 ms), not what the month can pay for.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from _common import ROOT, save, summary_ms

from itabot.admin.commands import execute
from itabot.calendars.model import Calendars
from itabot.calendars.names import agency_key
from itabot.calendars.thai_dates import BANGKOK
from itabot.config import Settings
from itabot.line.client import PushOutcome, PushResult
from itabot.reminders.dispatch import dispatch
from itabot.reminders.planner import reminder_phases
from itabot.storage import db
from itabot.storage.models import Agency, Chat, Confirmation, Reminder

PROVINCE = "สุรินทร์"
AGENCIES = 200
MEMBERS = 8
YEAR = (date(2025, 10, 1), date(2026, 9, 30))
ADMIN = "U" + "a" * 32
NEAR = {0, 1}


@dataclass
class MeteredLine:
    """LINE with a monthly quota: a push costs one message per member; one that would exceed
    the month is refused (429, RETRY_LATER). `month` is set by the replay (LINE resets on the
    1st)."""

    monthly: int | None
    month: str = ""
    used: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    accepted: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def quota_remaining(self) -> int | None:
        return None if self.monthly is None else self.monthly - self.used.get(self.month, 0)

    def member_count(self, chat_id: str, chat_type: str) -> int:
        return MEMBERS if chat_type in ("group", "room") else 1

    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult:
        cost = MEMBERS if to.startswith(("C", "R")) else 1
        with self.lock:
            if retry_key in self.accepted:
                return PushResult(PushOutcome.ALREADY_ACCEPTED, 409, 1)
            used = self.used.get(self.month, 0)
            if self.monthly is not None and used + cost > self.monthly:
                self.refused += 1
                return PushResult(PushOutcome.RETRY_LATER, 429, 1, "quota exceeded")
            self.used[self.month] = used + cost
            self.accepted.add(retry_key)
        return PushResult(PushOutcome.SENT, 200, 1)


def _province(url: str) -> list[str]:
    """200 local agencies of Surin, each bound to its own group; the first admin."""
    chats = []
    with db.session_scope(url) as session:
        for i in range(AGENCIES):
            name = f"องค์การบริหารส่วนตำบลทดสอบ{i:03d}"
            agency = Agency(province=PROVINCE, name=name, name_key=agency_key(name))
            session.add(agency)
            session.flush()
            chat_id = f"C{i:032x}"
            session.add(Chat(id=chat_id, type="group", agency_id=agency.id))
            chats.append(chat_id)
    return chats


def _confirm_first_heard(url: str, now: datetime, seen: set) -> None:
    """Every other agency confirms each phase on the first reminder of it that it hears."""
    with db.session_scope(url) as session:
        rows = session.execute(
            Reminder.__table__.select().where(Reminder.status == "sent")
        ).mappings()
        for r in rows:
            key = (r["chat_id"], r["calendar"], r["phase_id"], r["fiscal_year"])
            if key in seen or int(r["chat_id"][1:], 16) % 2:
                continue
            seen.add(key)
            chat = session.get(Chat, r["chat_id"])
            session.add(
                Confirmation(
                    agency_id=chat.agency_id,
                    calendar=r["calendar"],
                    phase_id=r["phase_id"],
                    fiscal_year=r["fiscal_year"],
                    confirmed_by=ADMIN,
                    confirmed_at=now,
                )
            )


def replay(calendars: Calendars, monthly: int | None, half_confirm: bool, workdir: str) -> dict:
    url = f"sqlite:///{workdir}/quota-{monthly}-{half_confirm}.db"
    db.upgrade(url, "head")
    settings = replace(Settings.from_env(), database_url=url, admin_ids=frozenset({ADMIN}))
    chats = _province(url)
    line = MeteredLine(monthly)
    took: list[float] = []
    seen: set = set()
    day = YEAR[0]
    while day <= YEAR[1]:
        line.month = day.strftime("%Y-%m")
        now = datetime.combine(day, datetime.min.time(), BANGKOK).replace(hour=8, minute=31)
        started = time.perf_counter()
        dispatch(url, line, calendars, settings, now, "bench")
        took.append(time.perf_counter() - started)
        if half_confirm:
            _confirm_first_heard(url, now, seen)
        day += timedelta(days=1)
    status = _status_times(url, settings, calendars) if half_confirm else None
    return _figures(url, calendars, chats, line, took, status)


def _status_times(url: str, settings: Settings, calendars: Calendars) -> dict:
    """`/status สุรินทร์` for 200 agencies on 10 June 2569 (most closings ahead), 200 times."""
    samples = []
    at = datetime(2026, 6, 10, 9, 0, tzinfo=BANGKOK)
    for _ in range(200):
        started = time.perf_counter()
        with db.session_scope(url) as session:
            execute(
                session,
                settings,
                f"/status {PROVINCE}",
                now=at,
                user_id=ADMIN,
                chat=None,
                calendars=calendars,
            )
        samples.append(time.perf_counter() - started)
    return summary_ms(samples)


def _figures(url, calendars, chats, line: MeteredLine, took, status) -> dict:
    with db.session_scope(url) as session:
        rows = (
            session.execute(
                Reminder.__table__.select().where(Reminder.calendar != "coordinator-digest")
            )
            .mappings()
            .all()
        )
    heard: dict[tuple[str, str], set[int]] = {}
    dropped: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        key = (r["chat_id"], f"{r['calendar']}/{r['phase_id']}")
        if r["status"] == "sent":
            heard.setdefault(key, set()).add(r["offset_days"])
        elif r["status"] == "dropped":
            scope = "national" if r["calendar"].startswith("national") else "province/agency"
            rank = f"{scope} {'day-before/of' if r['offset_days'] in NEAR else 'earlier'}"
            dropped[rank] = dropped.get(rank, 0) + 1
    confirmed = {
        (r["chat_id"], f"{r['calendar']}/{r['phase_id']}")
        for r in rows
        if r["status"] == "suppressed"
    }
    phases = [
        p
        for p in reminder_phases(calendars, PROVINCE, "องค์การบริหารส่วนตำบลทดสอบ000")
        if YEAR[0] <= p.closing.astimezone(BANGKOK).date() <= YEAR[1]
    ]
    pairs = [(c, p) for c in chats for p in phases]
    itas = [(c, p) for c, p in pairs if p.scope == "national"]
    # A closing the agency confirmed before its last days needs no day-before reminder.
    open_pairs = [(c, p) for c, p in pairs if (c, p.key) not in confirmed]
    open_itas = [(c, p) for c, p in open_pairs if p.scope == "national"]
    return {
        "monthly_quota": line.monthly,
        "sent_by_month": dict(sorted(line.used.items())),
        "sent_year": sum(line.used.values()),
        "every_month_within_quota": line.monthly is None
        or max(line.used.values(), default=0) <= line.monthly,
        "refused_by_line": line.refused,
        "ledger": statuses,
        "closings_x_groups": len(pairs),
        "heard_day_before_or_of": sum(1 for c, p in pairs if heard.get((c, p.key), set()) & NEAR),
        "heard_at_all": sum(1 for c, p in pairs if heard.get((c, p.key))),
        "itas_closings_x_groups": len(itas),
        "itas_heard_both_days": sum(1 for c, p in itas if heard.get((c, p.key), set()) >= NEAR),
        "confirmed_closings_x_groups": len(confirmed),
        "unconfirmed_heard_day_before_or_of": sum(
            1 for c, p in open_pairs if heard.get((c, p.key), set()) & NEAR
        ),
        "unconfirmed_closings_x_groups": len(open_pairs),
        "unconfirmed_itas_heard_both_days": sum(
            1 for c, p in open_itas if heard.get((c, p.key), set()) >= NEAR
        ),
        "unconfirmed_itas_x_groups": len(open_itas),
        "dropped_by_value": dropped,
        "dispatch_time": summary_ms(took),
        "status_200_agencies": status,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", default="unlimited,basic,free", help="which LINE plans")
    args = parser.parse_args()
    os.environ.setdefault("ITABOT_SCHEDULER", "off")
    calendars = Calendars.load(ROOT / "schedules")
    plans = {"unlimited": None, "basic": 15_000, "free": 300}
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.plans.split(","):
            for half in (False, True) if plans[name] is not None else (False,):
                label = f"{name}{'_half_confirm' if half else ''}"
                r = results[label] = replay(calendars, plans[name], half, workdir)
                print(f"\n{label}: {plans[name] or 'no limit'} a month")
                print(
                    "  sent by month: "
                    + ", ".join(f"{m[2:]} {n:,}" for m, n in r["sent_by_month"].items())
                )
                print(
                    f"  year: {r['sent_year']:,}; within quota every month: {r['every_month_within_quota']}; refused by LINE: {r['refused_by_line']}"
                )
                print(
                    f"  closings×groups heard the day before or of {r['heard_day_before_or_of']:,}/"
                    f"{r['closings_x_groups']:,} (at all {r['heard_at_all']:,}, confirmed before "
                    f"{r['confirmed_closings_x_groups']:,}); ITAS closings heard both days "
                    f"{r['itas_heard_both_days']:,}/{r['itas_closings_x_groups']:,}"
                )
                print(
                    f"  not confirmed: heard the day before or of "
                    f"{r['unconfirmed_heard_day_before_or_of']:,}/{r['unconfirmed_closings_x_groups']:,}, "
                    f"ITAS both days {r['unconfirmed_itas_heard_both_days']:,}/{r['unconfirmed_itas_x_groups']:,}"
                )
                print(f"  ledger: {r['ledger']}; dropped by value: {r['dropped_by_value']}")
                print(f"  dispatch: {r['dispatch_time']}")
                if r["status_200_agencies"]:
                    print(f"  /status for 200 agencies: {r['status_200_agencies']}")
    save("quota", results)
    basic = results.get("basic")
    status = results.get("basic_half_confirm", {}).get("status_200_agencies") or {}
    ok = (basic is None or basic["every_month_within_quota"]) and status.get("p99_ms", 0) <= 50
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
