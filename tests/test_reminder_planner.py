"""The pure planner: which closings a chat hears of, and exactly when. No database, no LINE."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itabot.calendars.thai_dates import BANGKOK
from itabot.reminders.messages import plain_text, reminder_messages
from itabot.reminders.planner import (
    ChatPlanInput,
    PhaseIndex,
    ReminderDefaults,
    is_local_agency,
    plan,
    reminder_phases,
    unit_audience,
)
from tests.conftest import bkk
from tests.test_reminder_support import (
    SURIN_LOCAL,
    SURIN_OFFICE,
    make_calendars,
    make_phase,
)

SURIN_GROUP = ChatPlanInput("Cgroup-surin", "group", province="สุรินทร์", agency_name=SURIN_LOCAL)
SURIN_HEALTH = ChatPlanInput(
    "Cgroup-health", "group", province="สุรินทร์", agency_name="สำนักงานสาธารณสุขจังหวัดสุรินทร์"
)
SURIN_OFFICE_GROUP = ChatPlanInput(
    "Cgroup-office", "group", province="จ.สุรินทร์", agency_name=SURIN_OFFICE
)


def keys(due) -> list[tuple[str, int]]:
    return [(r.phase.key, r.offset_days) for r in due]


def push_text(due) -> str:
    return plain_text(reminder_messages(due))


# --- the story of issue #6: a Surin group and the national OIT closing ---------------------


def test_surin_group_hears_of_the_oit_closing_seven_days_before_at_half_past_eight(calendars):
    due = plan(calendars, [SURIN_GROUP], bkk(2026, 6, 23, 8, 30))
    assert keys(due) == [
        ("national-2569/iit", 7),
        ("national-2569/oit-answer", 7),
    ]  # NACC's untimed "prepare OIT" row ends that day too: an echo of the 17.00 closing
    text = push_text(due)
    assert "OIT: ตอบและอนุมัติข้อมูลตามแบบวัด OIT — ปิด 30 มิ.ย. 2569 เวลา 17.00 น. (อีก 7 วัน)" in text
    assert "IIT" in text


def test_three_days_before_the_countdown_says_three(calendars):
    due = plan(calendars, [SURIN_GROUP], bkk(2026, 6, 27, 8, 30))
    assert {offset for _key, offset in keys(due)} == {3}
    assert "(อีก 3 วัน)" in push_text(due)


def test_on_the_day_it_says_today_with_the_closing_time(calendars):
    due = plan(calendars, [SURIN_GROUP], bkk(2026, 6, 30, 8, 30))
    assert ("national-2569/oit-answer", 0) in keys(due)
    text = push_text(due)
    assert "OIT: ตอบและอนุมัติข้อมูลตามแบบวัด OIT — วันนี้ ปิดเวลา 17.00 น. (30 มิ.ย. 2569)" in text
    assert "จัดทำและรวบรวมข้อมูล" not in text  # the untimed row would outlive ITAS's 17.00


def test_nothing_before_half_past_eight(calendars):
    assert plan(calendars, [SURIN_GROUP], bkk(2026, 6, 23, 8, 29, 59)) == []


def test_after_five_pm_on_the_day_nothing_is_left_to_remind(calendars):
    assert plan(calendars, [SURIN_GROUP], bkk(2026, 6, 30, 17, 0)) == []


def test_province_overlay_deadlines_due_the_same_day_are_merged_into_the_same_plan(calendars):
    chat = ChatPlanInput(
        "Cgroup-surin",
        "group",
        province="สุรินทร์",
        agency_name=SURIN_LOCAL,
        remind_days=(20, 7, 3, 1, 0),
    )
    due = plan(calendars, [chat], bkk(2026, 6, 10, 8, 30))
    assert keys(due) == [
        ("province-surin-2569/oit-prepare", 0),
        ("province-surin-2569/oit-answer", 0),
        ("national-2569/iit", 20),
        ("national-2569/oit-answer", 20),
    ]
    messages = reminder_messages(due)
    assert len(messages) == 1
    text = plain_text(messages)
    assert "[จ.สุรินทร์] — วันนี้ วันสุดท้าย (10 มิ.ย. 2569)" in text
    assert "ปิด 30 มิ.ย. 2569 เวลา 17.00 น. (อีก 20 วัน)" in text


def test_the_province_link_deadline_reminds_every_surin_agency(calendars):
    for chat in (SURIN_GROUP, SURIN_HEALTH, SURIN_OFFICE_GROUP):
        due = plan(calendars, [chat], bkk(2026, 5, 5, 9, 0))
        assert keys(due) == [("province-surin-2569/oit-links-1", 0)], chat.agency_name


# --- which province rows apply: the responsible units --------------------------------------


def test_province_registration_is_for_local_government_and_the_named_offices(calendars):
    at = bkk(2026, 3, 13, 8, 30)  # 7 days before the province's 20 March
    assert keys(plan(calendars, [SURIN_GROUP], at)) == [("province-surin-2569/registration", 7)]
    assert keys(plan(calendars, [SURIN_OFFICE_GROUP], at)) == [
        ("province-surin-2569/registration", 7)
    ]
    assert plan(calendars, [SURIN_HEALTH], at) == []  # a ministry's office is not named


def test_a_row_for_one_office_reaches_only_that_office(calendars):
    office = {p.key for p in reminder_phases(calendars, "สุรินทร์", SURIN_OFFICE)}
    local = {p.key for p in reminder_phases(calendars, "สุรินทร์", SURIN_LOCAL)}
    assert "province-surin-2569/uplift-project" in office  # สนจ.สร. only
    assert "province-surin-2569/uplift-project" not in local


def test_rows_naming_nobody_and_nacc_internal_work_are_not_reminded(calendars):
    phases = {p.key for p in reminder_phases(calendars, "สุรินทร์", SURIN_LOCAL)}
    assert "province-surin-2569/iit" not in phases  # responsible "-"
    for internal in ("oit-check-1", "oit-check-2", "screening", "processing", "results"):
        assert f"national-2569/{internal}" not in phases
    assert plan(calendars, [SURIN_GROUP], bkk(2026, 7, 24, 8, 30)) == []  # OIT-check closes 31 Jul


def test_an_overlay_row_repeating_the_national_closing_is_left_out(calendars):
    due = plan(calendars, [SURIN_GROUP], bkk(2026, 9, 23, 8, 30))
    assert keys(due) == [("national-2569/eit", 7)]  # not also Surin's eit row of the same day


def test_another_provinces_overlay_does_not_apply(calendars):
    phases = reminder_phases(calendars, "สุรินทร์", SURIN_LOCAL)
    assert {p.calendar for p in phases} <= {"national-2569", "province-surin-2569"}
    assert any(p.scope == "province" for p in phases)


def test_the_agency_plan_applies_to_its_own_chats(calendars):
    phases = reminder_phases(calendars, "เพชรบุรี", "อบต.หนองพลับ")
    assert "agency-nongphlap-2569/oit-1" in {p.key for p in phases}


@pytest.mark.parametrize(
    ("province", "agency"),
    [
        ("สุรินทร์", SURIN_LOCAL),
        ("จ.สุรินทร์", SURIN_OFFICE),
        ("สุรินทร์", "สำนักงานสาธารณสุขจังหวัดสุรินทร์"),
        ("เพชรบุรี", "อบต.หนองพลับ"),
        ("สุราษฎร์ธานี", "องค์การบริหารส่วนตำบลคลองพา"),
        (None, "เทศบาลตำบลคึกคัก"),
        ("สระบุรี", "เทศบาลเมืองสระบุรี"),
    ],
)
def test_the_planners_fast_lookup_equals_calendars_applicable(calendars, province, agency):
    """plan() resolves calendars once per province; it must pick exactly what
    `Calendars.applicable` (via `reminder_phases`) picks, in the same order."""
    index = PhaseIndex(calendars)
    fast = [
        p.key
        for p, _closing, _day in index.phases_for(
            ChatPlanInput("C", province=province, agency_name=agency)
        )
    ]
    assert fast == [p.key for p in reminder_phases(calendars, province, agency)]
    assert fast  # every agency has at least the national phases


@pytest.mark.parametrize(
    ("written", "full", "audience"),
    [
        ("อปท. ทุกแห่ง", None, "local"),
        ("อบท. ทุกแห่ง", None, "local"),  # the source's typo
        ("ทุกส่วนราชการ", None, "government"),
        ("หน่วยงานทุกแห่ง", None, "everyone"),
        ("สนจ.สร.", "สำนักงานจังหวัดสุรินทร์", None),
    ],
)
def test_unit_audiences(written, full, audience):
    assert unit_audience(written, full) == audience


def test_local_government_is_recognised_by_its_name():
    assert is_local_agency("อบต.ตาเมียง")
    assert is_local_agency("เทศบาลเมืองสุรินทร์")
    assert not is_local_agency("สำนักงานสาธารณสุขจังหวัดสุรินทร์")


# --- who gets nothing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "chat",
    [
        ChatPlanInput("Cmuted", province="สุรินทร์", agency_name=SURIN_LOCAL, remind_enabled=False),
        ChatPlanInput("Cgone", province="สุรินทร์", agency_name=SURIN_LOCAL, active=False),
        ChatPlanInput("Cunbound"),
    ],
    ids=["muted", "inactive", "unbound"],
)
def test_muted_inactive_and_unbound_chats_get_nothing(calendars, chat):
    assert plan(calendars, [chat], bkk(2026, 6, 23, 8, 30)) == []


# --- exactly when: small calendars ---------------------------------------------------------

CLOSING = datetime(2026, 6, 30, 17, 0, tzinfo=BANGKOK)
ONE = make_calendars(make_phase("oit", closes_at=CLOSING))
CHAT = ChatPlanInput("Cg", province="สุรินทร์", agency_name=SURIN_LOCAL)


def test_due_exactly_at_the_remind_time_not_a_second_before():
    assert plan(ONE, [CHAT], bkk(2026, 6, 23, 8, 29, 59)) == []
    [due] = plan(ONE, [CHAT], bkk(2026, 6, 23, 8, 30))
    assert due.offset_days == 7
    assert due.due_at == bkk(2026, 6, 23, 8, 30)
    assert due.closes_at == CLOSING


def test_late_is_better_than_never_the_same_day():
    assert keys(plan(ONE, [CHAT], bkk(2026, 6, 23, 10, 0))) == [("national-2569/oit", 7)]
    assert keys(plan(ONE, [CHAT], bkk(2026, 6, 23, 23, 59))) == [("national-2569/oit", 7)]


def test_stale_the_day_after():
    assert plan(ONE, [CHAT], bkk(2026, 6, 24, 8, 30)) == []  # 6 days left: no such offset


def test_after_three_days_down_the_three_day_reminder_goes_and_the_seven_is_skipped():
    [due] = plan(ONE, [CHAT], bkk(2026, 6, 27, 9, 0))
    assert due.offset_days == 3
    assert due.skipped == ((7, bkk(2026, 6, 23, 8, 30)),)


def test_never_after_the_closing():
    assert keys(plan(ONE, [CHAT], bkk(2026, 6, 30, 16, 59))) == [("national-2569/oit", 0)]
    assert plan(ONE, [CHAT], bkk(2026, 6, 30, 17, 0)) == []


def test_a_closing_before_the_remind_time_gets_no_reminder_on_its_day():
    early = make_calendars(make_phase("early", closes_at=bkk(2026, 6, 30, 8, 0)))
    assert plan(early, [CHAT], bkk(2026, 6, 30, 8, 30)) == []
    assert keys(plan(early, [CHAT], bkk(2026, 6, 29, 8, 30))) == [("national-2569/early", 1)]


def test_chat_settings_override_the_defaults():
    chat = ChatPlanInput(
        "Cg", province="สุรินทร์", agency_name=SURIN_LOCAL, remind_days=(2,), remind_time=time(9, 15)
    )
    assert plan(ONE, [chat], bkk(2026, 6, 23, 9, 15)) == []  # 7 is not among its days
    assert plan(ONE, [chat], bkk(2026, 6, 28, 9, 14)) == []
    assert keys(plan(ONE, [chat], bkk(2026, 6, 28, 9, 15))) == [("national-2569/oit", 2)]


def test_deployment_defaults_apply_to_chats_without_settings():
    defaults = ReminderDefaults(days=(5,), time=time(7, 0))
    assert keys(plan(ONE, [CHAT], bkk(2026, 6, 25, 7, 0), defaults)) == [("national-2569/oit", 5)]


def test_now_in_utc_is_read_in_bangkok():
    utc = bkk(2026, 6, 23, 8, 30).astimezone(BANGKOK.__class__("UTC"))
    assert len(plan(ONE, [CHAT], utc)) == 1


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        plan(ONE, [CHAT], datetime(2026, 6, 23, 8, 30))


def test_a_phase_ending_with_its_day_closes_at_23_59():
    cal = make_calendars(make_phase("links", ends_on=date(2026, 6, 5), tool="OIT"))
    [due] = plan(cal, [CHAT], bkk(2026, 6, 5, 8, 30))
    assert due.closes_at == bkk(2026, 6, 5, 23, 59)
    assert due.offset_days == 0


# --- the invariant, over any calendar and any clock ---------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    closing_minute=st.integers(0, 24 * 60 - 1),
    closing_day=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    days=st.sets(st.integers(0, 4), min_size=1, max_size=3),
    remind=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    step=st.sampled_from([13, 29, 60]),
    start_offset=st.integers(0, 600),
)
def test_over_any_clock_each_offset_is_due_only_on_its_day_and_none_is_lost(
    closing_minute, closing_day, days, remind, step, start_offset
):
    """A clock ticking every `step` minutes with a ledger (what was sent is not sent again):
    a reminder is due only on its own day, after its time and before the closing, one offset
    at a time; and, the clock never being down for an hour, every offset whose moment exists
    before its midnight and the closing does go out. Skipped offsets are only larger ones."""
    closing = datetime.combine(closing_day, time(0), tzinfo=BANGKOK) + timedelta(
        minutes=closing_minute
    )
    cal = make_calendars(make_phase("p", closes_at=closing))
    chat = ChatPlanInput(
        "C",
        province="สุรินทร์",
        agency_name=SURIN_LOCAL,
        remind_days=tuple(sorted(days, reverse=True)),
        remind_time=remind,
    )
    start = datetime.combine(closing_day - timedelta(days=max(days) + 1), time(0), tzinfo=BANGKOK)
    start += timedelta(minutes=start_offset)
    ledger: dict[int, datetime] = {}
    t = start
    while t < closing + timedelta(hours=1):
        due = plan(cal, [chat], t)
        assert len(due) <= 1
        for r in due:
            assert r.due_at <= t < closing
            assert t.date() == r.due_at.date() == closing_day - timedelta(days=r.offset_days)
            assert all(d > r.offset_days for d, _ in r.skipped)
            ledger.setdefault(r.offset_days, t)
        t += timedelta(minutes=step)
    for d in days:
        due_at = datetime.combine(closing_day - timedelta(days=d), remind, tzinfo=BANGKOK)
        midnight = datetime.combine(due_at.date() + timedelta(days=1), time(0), tzinfo=BANGKOK)
        if due_at >= start and min(closing, midnight) - due_at > timedelta(minutes=step):
            assert d in ledger, f"offset {d} never sent"
