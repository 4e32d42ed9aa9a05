"""The month plan (pure): which reminders of the rest of the month fit LINE's quota, by value.

No database, no LINE: small calendars or the real FY2569 ones, an explicit `now`. The year's
replay at the end simulates the dispatcher (each day sends what the plan keeps for that day and
the quota shrinks by its cost) for the 20 groups of a province."""

from __future__ import annotations

import time as systime
from datetime import date, datetime, timedelta

from itabot.calendars.thai_dates import BANGKOK
from itabot.reminders.month import Planned, fit, month_end, plan_month
from itabot.reminders.planner import ChatPlanInput, reminder_phases
from tests.conftest import bkk
from tests.test_reminder_support import SURIN_LOCAL, make_calendars, make_phase

GROUPS = [ChatPlanInput(f"C{i:02d}", province="สุรินทร์", agency_name=SURIN_LOCAL) for i in range(20)]
EIGHT = {g.chat_id: 8 for g in GROUPS}
CHAT = ChatPlanInput("C1", province="สุรินทร์", agency_name=SURIN_LOCAL)


def closing(day: int) -> datetime:
    return datetime(2026, 6, day, 16, 30, tzinfo=BANGKOK)


def itas(pid: str, day: int):
    return make_phase(pid, closes_at=closing(day))


def agency_item(pid: str, day: int):
    return make_phase(
        pid,
        closes_at=closing(day),
        calendar="agency-x",
        scope="agency",
        owner=SURIN_LOCAL,
        tool=None,
    )


def kept(plan) -> set[tuple[str, int]]:
    return {(p.phase.id, p.offset_days) for p in plan.kept}


def test_a_month_that_fits_drops_nothing_and_an_unlimited_one_too():
    cals = make_calendars(itas("oit", 30))
    now = bkk(2026, 6, 1, 8, 31)
    for budget in (None, 32):
        plan = plan_month(cals, [CHAT], {"C1": 8}, budget, now)
        assert kept(plan) == {("oit", 7), ("oit", 3), ("oit", 1), ("oit", 0)}
        assert (plan.dropped, plan.cost, plan.full_cost) == ([], 32, 32)
    assert plan.by_day == {date(2026, 6, d): 8 for d in (23, 27, 29, 30)}


def test_earlier_offsets_go_first_then_the_itas_day_before_and_day_of_last():
    cals = make_calendars(itas("oit", 30))
    now = bkk(2026, 6, 1, 8, 31)
    assert kept(plan_month(cals, [CHAT], {"C1": 8}, 24, now)) == {
        ("oit", 3),
        ("oit", 1),
        ("oit", 0),
    }
    assert kept(plan_month(cals, [CHAT], {"C1": 8}, 16, now)) == {("oit", 1), ("oit", 0)}
    assert kept(plan_month(cals, [CHAT], {"C1": 8}, 8, now)) == {("oit", 1)}  # time to act
    nothing = plan_month(cals, [CHAT], {"C1": 8}, 7, now)
    assert kept(nothing) == set() and [p.id for _c, p in nothing.unheard()] == ["oit"]


def test_an_itas_closing_outranks_an_agency_plan_item_even_its_last_reminder():
    cals = make_calendars(itas("oit", 30), agency_item("own", 20))
    plan = plan_month(cals, [CHAT], {"C1": 8}, 16, bkk(2026, 6, 1, 8, 31))
    assert kept(plan) == {("oit", 1), ("oit", 0)}
    assert [p.id for _c, p in plan.unheard()] == ["own"]


def test_a_closing_heard_once_keeps_its_last_reminder_before_anothers_extra_days():
    cals = make_calendars(itas("oit", 30), agency_item("own", 20))
    plan = plan_month(cals, [CHAT], {"C1": 8}, 24, bkk(2026, 6, 1, 8, 31))
    assert kept(plan) == {("oit", 1), ("oit", 0), ("own", 1)}  # own: the day before


def test_a_reminder_riding_a_kept_push_costs_nothing_and_stays():
    # oit's 7-day reminder (23 June) shares its day with own's day-of: one push.
    cals = make_calendars(itas("oit", 30), agency_item("own", 23))
    plan = plan_month(cals, [CHAT], {"C1": 8}, 24, bkk(2026, 6, 1, 8, 31))
    assert ("oit", 7) in kept(plan) and ("own", 0) in kept(plan)
    assert plan.cost <= 24


def test_closings_a_day_apart_are_told_in_one_push():
    p1 = make_phase("a", closes_at=closing(15), calendar="province-x", scope="province")
    p2 = make_phase("b", closes_at=closing(16), calendar="province-x", scope="province")
    chats = [ChatPlanInput("C1", remind_days=(1, 0))]
    planned = [
        Planned("C1", p, d, closing(day).date() - timedelta(days=d), closing(day))
        for p, day in ((p1, 15), (p2, 16))
        for d in (1, 0)
    ]
    plan = fit(planned, {"C1": 8}, 8)
    assert kept(plan) == {("a", 0), ("b", 1)} and plan.by_day == {date(2026, 6, 15): 8}
    assert chats  # (the chat's own /remind days chose the offsets)


def test_the_cost_is_per_chat_and_day_and_each_chats_own_count():
    cals = make_calendars(itas("oit", 30))
    small = ChatPlanInput("Csmall", province="สุรินทร์", agency_name=SURIN_LOCAL)
    big = ChatPlanInput("Cbig", province="สุรินทร์", agency_name=SURIN_LOCAL)
    plan = plan_month(cals, [small, big], {"Csmall": 5, "Cbig": 30}, 10, bkk(2026, 6, 30, 8, 31))
    assert {p.chat_id for p in plan.kept} == {"Csmall"} and plan.cost == 5


def test_a_chats_own_remind_days_choose_its_offsets():
    cals = make_calendars(itas("oit", 30))
    chat = ChatPlanInput("C1", province="สุรินทร์", agency_name=SURIN_LOCAL, remind_days=(2,))
    plan = plan_month(cals, [chat], {"C1": 8}, None, bkk(2026, 6, 1, 8, 31))
    assert kept(plan) == {("oit", 2)}


def test_reminders_already_in_the_ledger_and_past_days_are_not_planned():
    cals = make_calendars(itas("oit", 30))
    taken = {("C1", "national-2569", "oit", 1, 2569)}
    plan = plan_month(cals, [CHAT], {"C1": 8}, None, bkk(2026, 6, 28, 8, 31), taken=taken)
    assert kept(plan) == {("oit", 0)}


def test_the_month_ends_the_plan():
    cals = make_calendars(itas("oit", 30), make_phase("next", closes_at=bkk(2026, 7, 3, 17)))
    # next's day before and day of fall in July: July's plan
    plan = plan_month(cals, [CHAT], {"C1": 8}, None, bkk(2026, 6, 25, 8, 31))
    assert kept(plan) == {("oit", 3), ("oit", 1), ("oit", 0), ("next", 7), ("next", 3)}
    assert month_end(date(2026, 12, 5)) == date(2026, 12, 31)


# --- the real calendars: June 2569 and the whole fiscal year ---------------------------------


def replay(calendars, start: date, end: date, monthly: int, reserve: int = 3):
    """The dispatcher at 08:31 each day: plan, send today's kept chat-days, record drops.
    Returns (messages spent per month, {(chat, phase key, closing day): offsets heard})."""
    spent: dict[str, int] = {}
    heard: dict[tuple, set[int]] = {}
    taken: set = set()
    day = start
    while day <= end:
        now = datetime.combine(day, datetime.min.time(), BANGKOK).replace(hour=8, minute=31)
        month = day.strftime("%Y-%m")
        left = monthly - spent.get(month, 0) - reserve
        plan = plan_month(calendars, GROUPS, EIGHT, left, now, taken=taken)
        spent[month] = spent.get(month, 0) + plan.by_day.get(day, 0)
        for p in plan.kept + plan.dropped:
            if p.day == day:
                taken.add(p.key)
        for p in plan.kept:
            if p.day == day:
                heard.setdefault((p.chat_id, p.phase.key, p.closes_at.date()), set()).add(
                    p.offset_days
                )
        day += timedelta(days=1)
    return spent, heard


def applicable(calendars, start: date, end: date):
    phases = reminder_phases(calendars, "สุรินทร์", SURIN_LOCAL)
    return [p for p in phases if start <= p.closing.astimezone(BANGKOK).date() <= end]


def test_june_2569_every_group_hears_every_closing_and_the_itas_closing_twice(calendars):
    june = (date(2026, 6, 1), date(2026, 6, 30))
    spent, heard = replay(calendars, *june, monthly=1500)
    assert spent["2026-06"] <= 1500 - 3
    closings = applicable(calendars, *june)
    assert any(p.scope == "national" for p in closings) and len(closings) >= 4
    for g in GROUPS:
        for p in closings:
            offsets = heard.get((g.chat_id, p.key, p.closing.astimezone(BANGKOK).date()), set())
            assert offsets & {0, 1}, (g.chat_id, p.key)
            if p.scope == "national":
                assert {0, 1} <= offsets, (g.chat_id, p.key)


def test_a_whole_fiscal_year_stays_within_each_months_quota_and_every_itas_closing_is_heard(
    calendars,
):
    year = (date(2025, 10, 1), date(2026, 9, 30))
    spent, heard = replay(calendars, *year, monthly=1500)
    assert max(spent.values()) <= 1500 - 3, spent
    for g in GROUPS:
        for p in applicable(calendars, *year):
            offsets = heard.get((g.chat_id, p.key, p.closing.astimezone(BANGKOK).date()), set())
            assert offsets, (g.chat_id, p.key)  # every closing heard at least once
            if p.scope == "national":
                assert {0, 1} <= offsets, (g.chat_id, p.key)


def test_planning_a_month_for_ten_thousand_chats_is_cheap_enough_to_redo_each_dispatch(
    calendars,
):
    """Not a timing assertion: it prints the figure (README) and checks the plan's size."""
    chats = [
        ChatPlanInput(f"C{i:05d}", province="สุรินทร์", agency_name=SURIN_LOCAL) for i in range(10_000)
    ]
    counts = {c.chat_id: 8 for c in chats}
    started = systime.perf_counter()
    plan = plan_month(calendars, chats, counts, 15_000, bkk(2026, 6, 1, 8, 31))
    took = systime.perf_counter() - started
    print(f"month plan, 10,000 chats: {took * 1000:.0f} ms, {len(plan.kept)} kept")
    assert plan.cost <= 15_000 and plan.full_cost > plan.cost
