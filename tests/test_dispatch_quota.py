"""The month plan end to end: a LINE that enforces its monthly quota (429 when a push would
exceed it), 20 groups of 8 in Surin, a dispatch at 08:31 on every day of June 2569 (real
FY2569 calendars, a real database: SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from itabot.admin.commands import execute
from itabot.calendars.thai_dates import BANGKOK
from itabot.line.client import PushOutcome, PushResult
from itabot.reminders.dispatch import dispatch
from itabot.reminders.planner import reminder_phases
from itabot.storage import db
from itabot.storage.models import Chat
from tests.conftest import bkk
from tests.test_reminder_support import SURIN_LOCAL, FakeGateway, bind_chat, confirm_done, ledger

ADMIN = "Uad000000000000000000000000000001"  # conftest's settings.admin_ids
GROUPS = [f"Cquota{i:027d}" for i in range(20)]


@dataclass
class MeteredLine(FakeGateway):
    """LINE with a monthly quota: a push costs one message per member; one that would exceed
    the month is refused with 429 (RETRY_LATER), as LINE does."""

    monthly: int = 1500
    used: int = 0
    refused: int = 0

    def quota_remaining(self) -> int | None:
        return self.monthly - self.used

    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult:
        cost = self.members.get(to, 1)
        with self.lock:
            if retry_key not in self.accepted and self.used + cost > self.monthly:
                self.refused += 1
                return PushResult(PushOutcome.RETRY_LATER, 429, 1, "quota exceeded")
            if retry_key not in self.accepted:
                self.used += cost
        return super().push(to, messages, retry_key=retry_key)


def test_june_2569_every_group_hears_each_closing_and_the_itas_closing_twice(settings, calendars):
    url = settings.database_url
    for g in GROUPS:
        bind_chat(url, g)
    line = MeteredLine(members=dict.fromkeys(GROUPS, 8))
    day = date(2026, 6, 1)
    while day.month == 6:
        report = dispatch(url, line, calendars, settings, bkk(2026, 6, day.day, 8, 31), "w")
        assert report.over_quota == 0 and report.failed == 0
        day += timedelta(days=1)
    assert line.refused == 0 and line.used <= 1500
    sent: dict[tuple[str, str], set[int]] = {}
    for row in ledger(url):
        if row.status == "sent":
            sent.setdefault((row.chat_id, row.phase), set()).add(row.offset_days)
    june = [
        p
        for p in reminder_phases(calendars, "สุรินทร์", SURIN_LOCAL)
        if p.closing.astimezone(BANGKOK).month == 6 and p.closing.year == 2026
    ]
    assert any(p.scope == "national" for p in june) and len(june) >= 4
    for g in GROUPS:
        for p in june:
            offsets = sent.get((g, p.key), set())
            assert offsets & {0, 1}, (g, p.key, offsets)
            if p.scope == "national":
                assert {0, 1} <= offsets, (g, p.key, offsets)
    dropped = {r for r in ledger(url) if r.status == "dropped"}
    assert dropped and all(r.offset_days >= 1 for r in dropped)
    notices = [to for to, _k, _m in line.calls if to == ADMIN]
    assert 1 <= len(notices) <= 3  # the forecast, once per material change

    with db.session_scope(url) as session:
        answer = execute(
            session, settings, "/quota", now=bkk(2026, 6, 30, 12), user_id=ADMIN, chat=None
        )
    assert "โควตา" in answer.text and "งดส่ง" in answer.text and len(answer.text) <= 5000


def test_a_dropped_reminder_is_never_sent_even_when_quota_comes_later(settings, calendars):
    url = settings.database_url
    bind_chat(url, GROUPS[0])
    line = MeteredLine(monthly=20, members={GROUPS[0]: 8})  # 17 after the reserve: two pushes
    seven_days_before = bkk(2026, 6, 23, 8, 31)
    first = dispatch(url, line, calendars, settings, seven_days_before, "w")
    assert (first.dropped, first.sent) == (2, 0)  # kept for the day before and the day of
    line.monthly = 10_000  # the admin bought more
    again = dispatch(url, line, calendars, settings, seven_days_before + timedelta(hours=1), "w")
    assert (again.pushes_created, again.dropped, again.sent) == (0, 0, 0)
    statuses = {(r.offset_days, r.status) for r in ledger(url)}
    assert statuses == {(7, "dropped")}
    later = dispatch(url, line, calendars, settings, bkk(2026, 6, 27, 8, 31), "w")
    assert later.sent == 1 and later.dropped == 0  # the quota grew: the plan keeps 3 days too


def test_the_admins_hear_the_forecast_once_however_many_dispatches(settings, calendars):
    url = settings.database_url
    for g in GROUPS[:3]:
        bind_chat(url, g)
    line = MeteredLine(monthly=60, members=dict.fromkeys(GROUPS, 8))
    for hour in (8, 9, 10):
        dispatch(url, line, calendars, settings, bkk(2026, 6, 23, hour, 31), "w")
    assert [to for to, _k, _m in line.calls if to == ADMIN] == [ADMIN]
    [(_to, _key, [notice])] = [c for c in line.calls if c[0] == ADMIN]
    assert "ส่งครบทุกการเตือนต้องใช้" in notice.text and "งดส่ง" in notice.text


def test_quota_is_for_admins_and_says_when_there_is_no_plan(settings):
    with db.session_scope(settings.database_url) as session:
        refused = execute(
            session, settings, "/quota", now=bkk(2026, 6, 1, 9), user_id="U" + "9" * 32, chat=None
        )
        empty = execute(
            session, settings, "/โควตา", now=bkk(2026, 6, 1, 9), user_id=ADMIN, chat=None
        )
    assert refused.extra["outcome"] == "refused"
    assert "ยังไม่มีแผน" in empty.text


def test_new_bindings_change_the_plan_and_the_admins_hear_the_new_forecast(settings, calendars):
    url = settings.database_url
    bind_chat(url, GROUPS[0])
    line = MeteredLine(monthly=30, members=dict.fromkeys(GROUPS, 8))  # 27 after the reserve
    dispatch(url, line, calendars, settings, bkk(2026, 6, 23, 8, 31), "w")
    assert [c[0] for c in line.calls if c[0] == ADMIN] == [ADMIN]  # 7-day dropped: told
    for g in GROUPS[1:4]:
        bind_chat(url, g)  # four groups cannot all hear the 30 June closing on 26 messages
    dispatch(url, line, calendars, settings, bkk(2026, 6, 23, 9, 31), "w")
    notices = [ms[0].text for to, _k, ms in line.calls if to == ADMIN]
    assert len(notices) == 2 and "ไม่ได้รับการเตือน" in notices[1]
    dispatch(url, line, calendars, settings, bkk(2026, 6, 23, 10, 31), "w")
    assert len([c for c in line.calls if c[0] == ADMIN]) == 2  # nothing new: not told again
    assert line.refused == 0


def test_a_confirmed_phase_is_not_paid_for_so_other_agencies_hear_it(settings, calendars):
    """Four agencies, a month that pays for three groups of 8 on two days: once one agency
    confirms the 30 June ITAS closings done, the plan no longer reserves its pushes and the three others hear
    it the day before and on the day."""
    url = settings.database_url
    for i, g in enumerate(GROUPS[:4]):
        bind_chat(url, g, agency=f"เทศบาลตำบลทดสอบ{i}")
    line = MeteredLine(monthly=3 + 6 * 8, members=dict.fromkeys(GROUPS, 8))  # 3: the reserve
    itas = [
        p
        for p in reminder_phases(calendars, "สุรินทร์", "เทศบาลตำบลทดสอบ0")
        if p.scope == "national" and p.closing.astimezone(BANGKOK).date() == date(2026, 6, 30)
    ]
    assert {p.id for p in itas} == {"iit", "oit-answer"}  # both close 30 June 17.00
    for p in itas:
        confirm_done(url, GROUPS[0], p.key)
    for day in (29, 30):
        dispatch(url, line, calendars, settings, bkk(2026, 6, day, 8, 31), "w")
    rows = [r for r in ledger(url) if r.phase in {p.key for p in itas}]
    heard = {(r.chat_id, r.phase, r.offset_days) for r in rows if r.status == "sent"}
    assert heard == {(g, p.key, d) for g in GROUPS[1:4] for p in itas for d in (0, 1)}
    assert {r.status for r in rows if r.chat_id == GROUPS[0]} == {"suppressed"}
    assert line.refused == 0


@dataclass
class OrderedLine(MeteredLine):
    """MeteredLine that records the order of count questions and pushes."""

    order: list[str] = field(default_factory=list)

    def member_count(self, chat_id: str, chat_type: str) -> int:
        with self.lock:
            self.order.append("count")
        return super().member_count(chat_id, chat_type)

    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult:
        with self.lock:
            self.order.append("push")
        return super().push(to, messages, retry_key=retry_key)


def member_counts(url: str) -> dict[str, int | None]:
    with db.session_scope(url) as session:
        return dict(session.execute(select(Chat.id, Chat.member_count)).all())


def test_counts_are_kept_on_the_chats_and_the_next_days_plan_does_not_wait_for_them(
    settings, calendars, monkeypatch
):
    """Day one asks each group's count before planning (nothing is known) and stores it on
    the chat; the next reminder day's dispatch — a new process — plans and pushes with those
    counts and asks LINE nothing. Counts older than a week are not trusted: asked before
    planning again."""
    url = settings.database_url
    for g in GROUPS[:3]:
        bind_chat(url, g)
    line = OrderedLine(monthly=10_000, members=dict.fromkeys(GROUPS, 8))
    import itabot.reminders.dispatch as dispatching

    claim = dispatching.claim_batches

    def claim_and_tell(*args, **kwargs):
        line.order.append("claim")  # the plan is made: the pushes are claimed next
        return claim(*args, **kwargs)

    monkeypatch.setattr(dispatching, "claim_batches", claim_and_tell)
    dispatch(url, line, calendars, settings, bkk(2026, 6, 23, 8, 31), "w")
    assert line.order[:4] == ["count"] * 3 + ["claim"] and line.order.count("count") == 3
    assert member_counts(url) == dict.fromkeys(GROUPS[:3], 8)

    line.order.clear()
    dispatch(url, line, calendars, settings, bkk(2026, 6, 27, 8, 31), "w")
    assert line.order[0] == "claim" and line.order.count("count") == 0
    assert line.used == 2 * 3 * 8  # each push paid for at the stored count

    line.order.clear()
    line.members[GROUPS[0]] = 9  # someone joined meanwhile
    dispatch(url, line, calendars, settings, bkk(2026, 7, 14, 8, 31), "w")  # 17 days later
    assert line.order[:4] == ["count"] * 3 + ["claim"]
    assert member_counts(url)[GROUPS[0]] == 9
