"""The month plan over FY2569: 200 Surin agencies' groups of 8, on LINE's Basic plan (15,000
messages a month) and on the free plan (300). Pure (no database, no LINE): each day at 08:31
the plan is made, that day's kept pushes are "sent" and their cost leaves the month's quota,
exactly as the dispatcher does. Prints messages per month (demand vs sent), what is heard and
what is dropped, by value, and how long a plan takes.

All 200 groups are bound to local agencies of Surin (the province's rows for `อปท. ทุกแห่ง`
and the national calendar apply; no agency's own plan)."""

from __future__ import annotations

import sys
import time
from datetime import date, datetime, timedelta

from _common import ROOT, save, summary_ms

from itabot.calendars.model import Calendars
from itabot.calendars.thai_dates import BANGKOK
from itabot.reminders.month import plan_month
from itabot.reminders.planner import ChatPlanInput, reminder_phases

AGENCY = "องค์การบริหารส่วนตำบลตาเมียง"
GROUPS = [ChatPlanInput(f"C{i:03d}", province="สุรินทร์", agency_name=AGENCY) for i in range(200)]
COUNTS = {g.chat_id: 8 for g in GROUPS}
YEAR = (date(2025, 10, 1), date(2026, 9, 30))
RESERVE = 3  # admin notices kept back (one admin)


def replay(calendars: Calendars, monthly: int) -> dict:
    demand: dict[str, int] = {}
    spent: dict[str, int] = {}
    heard: dict[tuple, set[int]] = {}
    dropped_by_rank: dict[str, int] = {}
    taken: set = set()
    took: list[float] = []
    day = YEAR[0]
    while day <= YEAR[1]:
        now = datetime.combine(day, datetime.min.time(), BANGKOK).replace(hour=8, minute=31)
        month = day.strftime("%Y-%m")
        started = time.perf_counter()
        plan = plan_month(calendars, GROUPS, COUNTS, monthly - spent.get(month, 0) - RESERVE, now)
        took.append(time.perf_counter() - started)
        if day.day == 1:
            demand[month] = plan.full_cost
        spent[month] = spent.get(month, 0) + plan.by_day.get(day, 0)
        for p in plan.kept:
            if p.day == day:
                heard.setdefault((p.chat_id, p.phase.key), set()).add(p.offset_days)
        for p in plan.dropped:
            if p.day == day:
                rank = f"{p.phase.scope} {'day-before/of' if p.near else 'earlier'}"
                dropped_by_rank[rank] = dropped_by_rank.get(rank, 0) + 1
        taken.update(p.key for p in plan.kept + plan.dropped if p.day == day)
        day += timedelta(days=1)
    phases = [
        p
        for p in reminder_phases(calendars, "สุรินทร์", AGENCY)
        if YEAR[0] <= p.closing.astimezone(BANGKOK).date() <= YEAR[1]
    ]
    itas = [p for p in phases if p.scope == "national"]
    near = {0, 1}
    pairs = [(g.chat_id, p.key) for g in GROUPS for p in phases]
    itas_pairs = [(g.chat_id, p.key) for g in GROUPS for p in itas]
    return {
        "monthly_quota": monthly,
        "demand_by_month": demand,
        "sent_by_month": spent,
        "demand_year": sum(demand.values()),
        "sent_year": sum(spent.values()),
        "max_month_within_quota": max(spent.values()) <= monthly,
        "closings_x_groups": len(pairs),
        "heard_at_all": sum(1 for k in pairs if heard.get(k)),
        "heard_day_before_or_of": sum(1 for k in pairs if heard.get(k, set()) & near),
        "itas_closings_x_groups": len(itas_pairs),
        "itas_heard_both_days": sum(1 for k in itas_pairs if near <= heard.get(k, set())),
        "dropped_by_value": dropped_by_rank,
        "plan_time": summary_ms(took),
    }


def main() -> int:
    calendars = Calendars.load(ROOT / "schedules")
    results = {}
    for name, monthly in (("basic", 15_000), ("free", 300)):
        r = results[name] = replay(calendars, monthly)
        print(f"\n{name}: {monthly:,} a month")
        for month, need in r["demand_by_month"].items():
            print(f"  {month}: demand {need:6,}  sent {r['sent_by_month'][month]:6,}")
        print(f"  year: demand {r['demand_year']:,}, sent {r['sent_year']:,}")
        print(
            f"  closings×groups heard {r['heard_at_all']}/{r['closings_x_groups']}, "
            f"the day before or of {r['heard_day_before_or_of']}; ITAS both days "
            f"{r['itas_heard_both_days']}/{r['itas_closings_x_groups']}"
        )
        print(f"  dropped by value: {r['dropped_by_value']}")
        print(f"  plan for 200 groups: {r['plan_time']}")
    save("quota", results)
    return 0 if results["basic"]["max_month_within_quota"] else 1


if __name__ == "__main__":
    sys.exit(main())
