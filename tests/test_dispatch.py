"""The dispatcher against a real database (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
and an in-memory LINE: the ledger is the truth, whatever crashes, restarts or runs twice."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from itabot.line.client import PushOutcome
from itabot.reminders import dispatch as rd
from itabot.reminders import ledger as ledger_module
from itabot.reminders import sender
from itabot.reminders.dispatch import dispatch, send_pending
from itabot.reminders.ledger import claim_due, plan_from_db
from itabot.reminders.sender import MEMBER_COUNT_MAX_AGE, MemberCounts, RateLimiter
from itabot.storage import db
from itabot.storage.models import QuotaNotice, Reminder
from tests.conftest import bkk
from tests.test_reminder_support import (
    OIT_CLOSING,
    CrashAfterDelivery,
    FakeGateway,
    bind_chat,
    ledger,
    make_calendars,
    make_phase,
    most_within_one_second,
    pushes,
)

ADMIN = "Uad000000000000000000000000000001"  # conftest's settings.admin_ids
GROUP = "Cgroup000000000000000000000000001"
SEVEN_DAYS_BEFORE = bkk(2026, 6, 23, 8, 30)
IIT_AND_OIT = {"national-2569/iit", "national-2569/oit-answer"}


@pytest.fixture
def url(settings) -> str:
    return settings.database_url


@pytest.fixture
def group(url) -> str:
    return bind_chat(url, GROUP)


def run(settings, calendars, gateway, at, **kw):
    return dispatch(settings.database_url, gateway, calendars, settings, at, "test-worker", **kw)


def phases_with(url, status: str, offset: int | None = None) -> set[str]:
    return {
        r.phase
        for r in ledger(url)
        if r.status == status and (offset is None or r.offset_days == offset)
    }


# --- the ordinary day ------------------------------------------------------------------------


def test_bound_group_gets_one_push_with_all_closings_due_and_the_ledger_records_it(
    settings, calendars, url, group
):
    line = FakeGateway()
    report = run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    assert (report.due, report.claimed, report.pushes_created, report.sent) == (2, 2, 1, 1)
    [(to, key, messages)] = line.calls
    assert to == GROUP
    assert "OIT: ตอบและอนุมัติข้อมูลตามแบบวัด OIT — ปิด 30 มิ.ย. 2569 เวลา 17.00 น. (อีก 7 วัน)" in (
        messages[0].alt_text
    )
    [push] = pushes(url)
    assert (push.status, push.retry_key, push.attempts) == ("sent", key, 1)
    assert phases_with(url, "sent", offset=7) == IIT_AND_OIT
    assert {r.push_id for r in ledger(url)} == {push.id}


def test_a_second_dispatch_the_same_day_sends_nothing(settings, calendars, url, group):
    line = FakeGateway()
    run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    again = run(settings, calendars, line, SEVEN_DAYS_BEFORE + timedelta(hours=2))
    assert (again.already_claimed, again.claimed, again.sent) == (2, 0, 0)
    assert len(line.calls) == 1


def test_muted_removed_and_unbound_chats_get_nothing(settings, calendars, url, group):
    bind_chat(url, "Cmuted", remind_enabled=False)
    bind_chat(url, "Cremoved", active=False)
    bind_chat(url, "Cunbound", agency=None)
    line = FakeGateway()
    run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    assert [to for to, _k, _m in line.calls] == [GROUP]
    assert {r.chat_id for r in ledger(url)} == {GROUP}


def test_nothing_before_half_past_eight(settings, calendars, url, group):
    line = FakeGateway()
    report = run(settings, calendars, line, bkk(2026, 6, 23, 8, 29))
    assert report.due == 0
    assert line.calls == [] and ledger(url) == []


def test_chat_settings_are_read_from_the_database(settings, calendars, url):
    bind_chat(url, GROUP, remind_days="2", remind_time="9.15")
    line = FakeGateway()
    assert run(settings, calendars, line, bkk(2026, 6, 28, 9, 14)).due == 0
    assert run(settings, calendars, line, bkk(2026, 6, 28, 9, 15)).sent == 1
    assert phases_with(url, "sent", offset=2) == IIT_AND_OIT


def test_unreadable_chat_settings_fall_back_to_the_defaults(settings, calendars, url, caplog):
    bind_chat(url, GROUP, remind_days="เจ็ด", remind_time="late")
    assert run(settings, calendars, FakeGateway(), SEVEN_DAYS_BEFORE).sent == 1


# --- crashes -----------------------------------------------------------------------------------


def test_killed_between_the_push_and_recording_it_the_next_dispatch_gets_409_one_delivery(
    settings, calendars, url, group
):
    line = FakeGateway()
    with pytest.raises(SystemExit):
        run(settings, calendars, CrashAfterDelivery(line), SEVEN_DAYS_BEFORE, max_workers=1)
    [push] = pushes(url)
    assert push.status == "pending"  # LINE has it; the ledger does not know yet
    assert line.delivered_to(GROUP) == [push.retry_key]

    report = run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    assert (report.duplicates, report.sent, report.pushes_created) == (1, 0, 0)
    assert [key for _to, key, _m in line.calls] == [push.retry_key] * 2
    assert line.delivered_to(GROUP) == [push.retry_key]  # one delivery
    [push] = pushes(url)
    assert push.status == "sent"
    assert "409" in push.last_error
    assert phases_with(url, "sent") == IIT_AND_OIT


def test_a_push_leased_by_a_killed_process_is_resent_after_its_lease_with_the_same_key(
    settings, calendars, url, group
):
    sessions = db.session_factory(url)
    claim_due(
        sessions,
        plan_from_db(sessions, calendars, settings, SEVEN_DAYS_BEFORE),
        SEVEN_DAYS_BEFORE,
        rd.DispatchReport(SEVEN_DAYS_BEFORE, "dead"),
    )
    [lease] = sender.lease_pushes(sessions, SEVEN_DAYS_BEFORE, "dead:1", 0, 10)  # … and then kill -9

    line = FakeGateway()
    soon = run(settings, calendars, line, SEVEN_DAYS_BEFORE + timedelta(minutes=1))
    assert (soon.sent, line.calls) == (0, [])  # someone holds it: not ours to send
    later = run(settings, calendars, line, SEVEN_DAYS_BEFORE + sender.LEASE + timedelta(minutes=1))
    assert later.sent == 1
    assert [key for _to, key, _m in line.calls] == [lease.retry_key]


def test_a_restart_between_offsets_resends_nothing_and_skips_nothing(
    settings, calendars, url, group
):
    line = FakeGateway()  # LINE outlives our process
    for day in (23, 27, 29, 30):
        db.engine_for(url).dispose()
        db.forget_engines()  # a new process: new engine, new session factory
        at = bkk(2026, 6, day, 8, 30)
        assert run(settings, calendars, line, at).sent == 1
        assert run(settings, calendars, line, at + timedelta(hours=3)).sent == 0
    offsets = sorted(r.offset_days for r in ledger(url) if r.phase == "national-2569/oit-answer")
    assert offsets == [0, 1, 3, 7]
    assert {r.status for r in ledger(url)} == {"sent"}
    assert len(line.calls) == 4


def test_a_ledger_row_taken_by_another_dispatcher_is_not_claimed_again(
    settings, calendars, url, group
):
    with db.session_scope(url) as session:
        session.add(
            Reminder(
                chat_id=GROUP,
                calendar="national-2569",
                phase_id="oit-answer",
                offset_days=7,
                fiscal_year=2569,
                closes_at=OIT_CLOSING,
                due_at=SEVEN_DAYS_BEFORE,
                status="sent",
            )
        )
    line = FakeGateway()
    report = run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    assert (report.claimed, report.already_claimed) == (1, 1)
    assert "ตอบและอนุมัติ" not in line.calls[0][2][0].alt_text


def test_a_conflict_inside_a_batch_is_redone_chat_by_chat(
    settings, calendars, url, group, monkeypatch
):
    """Another dispatcher inserts a ledger row between our check and our insert."""
    bind_chat(url, "Cother")
    with db.session_scope(url) as session:
        session.add(
            Reminder(
                chat_id=GROUP,
                calendar="national-2569",
                phase_id="iit",
                offset_days=7,
                fiscal_year=2569,
                closes_at=OIT_CLOSING,
                due_at=SEVEN_DAYS_BEFORE,
            )
        )
    real, calls = ledger_module.ledger_keys, []

    def blind_first_time(session, due, chat_id=None):
        calls.append(chat_id)
        return set() if len(calls) == 1 else real(session, due, chat_id)

    monkeypatch.setattr(ledger_module, "ledger_keys", blind_first_time)
    report = run(settings, calendars, FakeGateway(), SEVEN_DAYS_BEFORE)
    assert (report.claimed, report.already_claimed, report.pushes_created) == (3, 1, 2)
    assert sorted(r.phase for r in ledger(url) if r.chat_id == GROUP) == sorted(IIT_AND_OIT)


def test_two_dispatchers_at_once_deliver_each_reminder_once(settings, calendars, url):
    chats = [bind_chat(url, f"Cgroup{i:03d}") for i in range(30)]
    line = FakeGateway()
    start = threading.Barrier(2)
    reports = []

    def worker(name: str) -> None:
        start.wait()
        reports.append(
            dispatch(url, line, calendars, settings, SEVEN_DAYS_BEFORE, name, max_workers=4)
        )

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(to for to, _k, _m in line.calls) == sorted(chats)  # no second call at all
    assert all(len(line.delivered_to(c)) == 1 for c in chats)
    assert sum(r.sent for r in reports) == 30
    assert sum(r.claimed for r in reports) == 60
    assert {p.status for p in pushes(url)} == {"sent"}


# --- LINE's answers ------------------------------------------------------------------------


def test_retry_later_keeps_the_push_pending_with_its_key_until_line_takes_it(
    settings, calendars, url, group
):
    line = FakeGateway(script=[PushOutcome.RETRY_LATER, PushOutcome.RETRY_LATER])
    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE).retry_later == 1
    [push] = pushes(url)
    assert (push.status, push.attempts, push.last_error) == ("pending", 1, "500: scripted 500")
    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE).retry_later == 1
    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE).sent == 1
    assert [key for _to, key, _m in line.calls] == [push.retry_key] * 3
    [push] = pushes(url)
    assert (push.status, push.attempts) == ("sent", 3)


def test_after_three_failed_tries_the_next_is_pushed_back_not_looped(
    settings, calendars, url, group
):
    line = FakeGateway(script=[PushOutcome.RETRY_LATER] * 3)
    for _ in range(3):
        run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE).sent == 0  # backing off
    assert len(line.calls) == 3
    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE + timedelta(minutes=2)).sent == 1


def test_a_400_is_failed_logged_and_never_retried(settings, calendars, url, group, caplog):
    line = FakeGateway(script=[PushOutcome.REJECTED])
    with caplog.at_level(logging.ERROR, logger="itabot.reminders.dispatch"):
        assert run(settings, calendars, line, SEVEN_DAYS_BEFORE).failed == 1
    assert any(GROUP in r.getMessage() and "rejected" in r.getMessage() for r in caplog.records)
    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE + timedelta(minutes=5)).sent == 0
    assert len(line.calls) == 1
    [push] = pushes(url)
    assert push.status == "failed"
    assert phases_with(url, "failed") == IIT_AND_OIT


# --- late, stale, expired --------------------------------------------------------------------


def test_clock_down_from_seven_to_ten_the_reminder_goes_at_ten(settings, calendars, url, group):
    line = FakeGateway()
    report = run(settings, calendars, line, bkk(2026, 6, 23, 10, 0))
    assert report.sent == 1
    assert "(อีก 7 วัน)" in line.calls[0][2][0].alt_text


def test_clock_down_for_three_days_sends_no_stale_reminder(settings, calendars, url, group):
    line = FakeGateway()
    for day in (26,):  # down 23–25 June: the 7-day reminder's day is gone
        assert run(settings, calendars, line, bkk(2026, 6, day, 8, 30)).due == 0
    report = run(settings, calendars, line, bkk(2026, 6, 27, 8, 30))
    assert (report.sent, report.skipped) == (1, 2)
    assert "(อีก 3 วัน)" in line.calls[0][2][0].alt_text
    assert "อีก 7 วัน" not in line.calls[0][2][0].alt_text
    assert phases_with(url, "skipped", offset=7) == IIT_AND_OIT
    assert phases_with(url, "sent", offset=3) == IIT_AND_OIT
    assert len(line.calls) == 1


def test_a_push_still_pending_at_midnight_expires_unsent(settings, calendars, url, group):
    line = FakeGateway(script=[PushOutcome.RETRY_LATER])
    run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    report = run(settings, calendars, line, bkk(2026, 6, 24, 0, 0))
    assert report.expired == 1
    assert len(line.calls) == 1
    assert pushes(url)[0].status == "expired"
    assert phases_with(url, "expired") == IIT_AND_OIT


def test_a_push_whose_closing_passed_expires_unsent(settings, url, group):
    closing = bkk(2026, 6, 30, 17, 0)
    cal = make_calendars(make_phase("oit-answer", closes_at=closing))
    sessions = db.session_factory(url)
    report = rd.DispatchReport(closing, "w")
    claim_due(
        sessions,
        plan_from_db(sessions, cal, settings, bkk(2026, 6, 30, 16, 0)),
        bkk(2026, 6, 30, 16, 0),
        report,
    )
    line = FakeGateway()
    send_pending(sessions, line, settings, closing, "w", report)
    assert (report.expired, line.calls) == (1, [])


# --- the quota -------------------------------------------------------------------------------


class SpentElsewhere(FakeGateway):
    """The month plan saw `planned_with` messages left; by the send the OA's messages were
    spent elsewhere (a broadcast from LINE OA Manager): the sender's own budget still holds."""

    planned_with: int | None = 1000

    def quota_remaining(self) -> int | None:
        if self.planned_with is not None:
            planned, self.planned_with = self.planned_with, None
            return planned
        return self.quota


def test_when_the_quota_would_run_out_the_admins_are_told_once_and_reminders_wait(
    settings, calendars, url, group
):
    line = SpentElsewhere(quota=10, members={GROUP: 30})
    first = run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    assert (first.sent, first.over_quota, first.quota_notice) == (0, 1, True)
    [(to, _key, [notice])] = line.calls
    assert to == ADMIN
    assert "โควตาข้อความ LINE" in notice.text and "30" in notice.text
    assert pushes(url)[0].status == "pending"  # waits for quota, same day

    second = run(settings, calendars, line, SEVEN_DAYS_BEFORE + timedelta(hours=1))
    assert (second.over_quota, second.quota_notice) == (1, False)
    assert len(line.calls) == 1  # told once
    with db.session_scope(url) as session:
        months = session.scalars(select(QuotaNotice.month)).all()
        assert [m for m in months if not m.startswith("s")] == ["2026-06"]  # s…: /quota's

    line.quota = 100  # the admin bought more messages
    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE + timedelta(hours=2)).sent == 1


def test_a_small_month_is_kept_for_the_itas_closing_not_spent_on_the_seven_day_reminder(
    settings, calendars, url
):
    bind_chat(url, "Csmall")
    bind_chat(url, "Cbig")
    line = FakeGateway(quota=10, members={"Csmall": 5, "Cbig": 30})  # 7 after the reserve
    report = run(settings, calendars, line, SEVEN_DAYS_BEFORE, max_workers=1)
    assert (report.sent, report.dropped, report.over_quota) == (0, 4, 0)
    assert [to for to, _k, _m in line.calls] == [ADMIN]  # the forecast, once
    assert phases_with(url, "dropped", 7) == IIT_AND_OIT
    line.quota = 9  # the admin's notice spent one
    on_the_day = run(settings, calendars, line, bkk(2026, 6, 30, 8, 31), max_workers=1)
    assert (on_the_day.sent, on_the_day.over_quota) == (1, 0)
    assert [to for to, _k, _m in line.calls] == [ADMIN, "Csmall"]


def test_no_admin_can_be_told_it_is_logged(settings, calendars, url, group, caplog):
    line = SpentElsewhere(quota=0)
    with caplog.at_level(logging.ERROR, logger="itabot.reminders.dispatch"):
        report = run(settings, calendars, line, SEVEN_DAYS_BEFORE)
    assert (report.over_quota, report.quota_notice, line.calls) == (1, True, [])
    assert any("quota" in r.getMessage() for r in caplog.records)


def test_an_unlimited_quota_asks_for_no_member_counts(settings, calendars, url, group):
    class Counting(FakeGateway):
        asked = 0

        def member_count(self, chat_id, chat_type):
            Counting.asked += 1
            return 99

    line = Counting(quota=None)
    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE).sent == 1
    assert Counting.asked == 0


def test_a_lease_takes_no_more_pushes_than_asked_so_other_senders_get_the_rest(settings, calendars):
    """PostgreSQL may re-run a `LIMIT … SKIP LOCKED` subquery per updated row; the lease must
    still take `limit` pushes, not all of them, or a second sending process gets nothing."""
    from itabot.reminders.report import DispatchReport
    from itabot.reminders.sender import lease_pushes

    url = settings.database_url
    for i in range(12):
        bind_chat(url, f"Cgroup{i:03d}")
    sessions = db.session_factory(url)
    now = bkk(2026, 6, 23, 8, 30)
    claim_due(
        sessions, plan_from_db(sessions, calendars, settings, now), now, DispatchReport(now, "t")
    )

    first = lease_pushes(sessions, now, "a", 0, 4)
    second = lease_pushes(sessions, now, "b", 0, 4)

    assert len(first) == len(second) == 4
    assert not {p.id for p in first} & {p.id for p in second}
    assert Counter(p.claimed_by for p in pushes(url)) == Counter({"a": 4, "b": 4, None: 4})


# --- member counts: what a push costs when the quota is limited ------------------------------


class CountingGateway(FakeGateway):
    """Records each member count asked of LINE."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.asked: list[str] = []

    def member_count(self, chat_id, chat_type):
        with self.lock:
            self.asked.append(chat_id)
        return super().member_count(chat_id, chat_type)


def test_each_groups_member_count_is_asked_once_and_kept_for_a_week(settings, calendars, url):
    groups = [bind_chat(url, f"Cgroup{i:03d}") for i in range(3)]
    bind_chat(url, "Uuser0001", chat_type="user")
    line = CountingGateway(quota=10_000, members=dict.fromkeys(groups, 8))
    hours = [0.0]
    counts = MemberCounts(clock=lambda: hours[0] * 3600)

    assert run(settings, calendars, line, SEVEN_DAYS_BEFORE, counts=counts).sent == 4
    assert sorted(line.asked) == groups  # once each, and never for a user chat

    hours[0] = 5  # the 3-day reminders, the same clock process
    assert run(settings, calendars, line, bkk(2026, 6, 27, 8, 30), counts=counts).sent == 4
    assert sorted(line.asked) == groups  # still known: LINE is not asked again

    hours[0] = 5 + MEMBER_COUNT_MAX_AGE / 3600  # gone from memory; on the chat rows still
    assert run(settings, calendars, line, bkk(2026, 6, 29, 8, 30), counts=counts).sent == 4
    assert sorted(line.asked) == groups
    hours[0] += 24 * 15  # 15 days later: the stored counts are too old to trust
    assert run(settings, calendars, line, bkk(2026, 7, 14, 8, 30), counts=counts).sent == 4
    assert sorted(line.asked) == sorted(groups * 2)


def test_two_pushes_to_one_group_in_a_dispatch_ask_its_member_count_once(settings, url, group):
    sessions = db.session_factory(url)
    report = rd.DispatchReport(SEVEN_DAYS_BEFORE, "w")
    for phase in ("iit", "oit-answer"):  # claimed apart: two pushes to the group
        cal = make_calendars(make_phase(phase, closes_at=OIT_CLOSING))
        due = plan_from_db(sessions, cal, settings, SEVEN_DAYS_BEFORE)
        claim_due(sessions, due, SEVEN_DAYS_BEFORE, report)
    line = CountingGateway(quota=10_000, members={GROUP: 8})
    send_pending(sessions, line, settings, SEVEN_DAYS_BEFORE, "w", report)
    assert (report.sent, line.asked) == (2, [GROUP])


def test_member_counts_and_pushes_of_many_groups_are_under_way_at_once(settings, calendars, url):
    """Each call waits until all ten are under way: asked one by one they could not finish."""
    groups = [bind_chat(url, f"Cgroup{i:03d}") for i in range(10)]
    all_counting, all_pushing = threading.Barrier(10, timeout=30), threading.Barrier(10, timeout=30)

    class TogetherGateway(FakeGateway):
        def member_count(self, chat_id, chat_type):
            all_counting.wait()
            return 8

        def push(self, to, messages, *, retry_key):
            if to != ADMIN:
                all_pushing.wait()
            return super().push(to, messages, retry_key=retry_key)

    report = run(settings, calendars, TogetherGateway(quota=10_000), SEVEN_DAYS_BEFORE)
    assert report.sent == 10
    assert not all_counting.broken and not all_pushing.broken
    assert {p.status for p in pushes(url)} == {"sent"}
    assert sorted(p.chat_id for p in pushes(url)) == groups


# --- the rate limiter, on a simulated clock ---------------------------------------------------


class SimulatedTime:
    """A clock that moves only when the limiter sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let the other callers run, as a real sleep would


def test_the_rate_limiter_lets_no_more_than_burst_plus_rate_go_in_any_second():
    time = SimulatedTime()
    limiter = RateLimiter(100, 10, clock=time.clock, sleep=time.sleep)
    gone: list[float] = []

    async def caller() -> None:
        await limiter.acquire()
        gone.append(time.now)

    async def many_callers() -> None:
        await asyncio.gather(*(caller() for _ in range(350)))

    asyncio.run(many_callers())
    assert gone[:10] == [0.0] * 10  # the burst never waits
    assert gone == sorted(gone)  # first come, first gone
    assert most_within_one_second(gone) <= 110  # burst + rate, never more
    assert gone[-1] == pytest.approx(3.4)  # the other 340 at 100 a second


def test_at_lines_rate_the_limiter_lets_callers_go_a_few_per_timer_tick():
    """An event loop's timers fire to the millisecond: a sleep per token would halve 1,950/s."""
    time = SimulatedTime()
    limiter = RateLimiter(1950, 25, clock=time.clock, sleep=time.sleep)
    gone: list[float] = []

    async def caller() -> None:
        await limiter.acquire()
        gone.append(time.now)

    async def many_callers() -> None:
        await asyncio.gather(*(caller() for _ in range(5000)))

    asyncio.run(many_callers())
    assert min(time.sleeps) >= 0.005 and len(time.sleeps) < 5000 / 9
    assert most_within_one_second(gone) <= 1975
    assert gone[-1] == pytest.approx((5000 - 25) / 1950, abs=0.01)


def test_the_rate_limiter_waits_only_for_the_missing_part_of_a_token():
    time = SimulatedTime()
    limiter = RateLimiter(100, 1, clock=time.clock, sleep=time.sleep)
    asyncio.run(limiter.acquire())
    assert time.sleeps == []  # the bucket starts full
    time.now += 0.004  # 0.4 of a token back
    asyncio.run(limiter.acquire())
    assert time.sleeps == [pytest.approx(0.006)]
    time.now += 60  # idle a minute: the bucket holds `burst`, not 6,000
    asyncio.run(limiter.acquire())
    asyncio.run(limiter.acquire())
    assert time.sleeps == [pytest.approx(0.006), pytest.approx(0.01)]
