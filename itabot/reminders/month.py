"""The month plan: every reminder push of the rest of the month, kept or dropped to fit the quota.

Pure, like `planner.plan`: calendars + chats + member counts + the month's budget + now → the
reminders of the rest of the month to send and those to drop. The dispatcher recomputes it at
each dispatch that has something new to send (the budget is LINE's remaining quota, so what
was spent is already out of it) and sends only what it keeps.

A push is paid per member and a chat's reminders due the same day go in one push, so the unit
of cost is the *chat-day*: dropping one reminder saves nothing while another reminder of the
same chat rides the same push. The rules (also in docs/decisions.md, "Reminders within the
plan"): each reminder has a value —

4. the day-before or day-of reminder of an ITAS (national, NACC) closing;
3. the last reminder of a closing still kept for the chat (dropping it, the closing goes
   unheard), national before province before agency;
2. a day-before or day-of reminder whose closing is heard on another kept day too;
1. an earlier offset (7, 3 …) whose closing is heard on another kept day too;

within a rank a national closing outranks a province's, which outranks an agency's own plan,
and a smaller offset outranks a larger one (the day before and the day of are worth the same).
A chat-day is worth its most valuable reminder;
while the month costs more than the budget the least valuable chat-day is dropped (ties: the
one carrying fewer reminders, so closings gather in one push; then the dearer, which saves
the most; then the later day: the day before leaves time to act). Values are
re-read as days are dropped (a closing's last reminder becomes rank 3), so of a province
closing's day-before and day-of the one sharing a push with other closings is the one kept.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from itabot.calendars.model import Calendars, Phase
from itabot.calendars.thai_dates import BANGKOK
from itabot.reminders.planner import ChatPlanInput, ReminderDefaults, phase_index

SCOPE_RANK = {"national": 2, "province": 1, "agency": 0}
NEAR = 1  # offsets 0 and 1: the day of and the day before a closing


@dataclass(frozen=True)
class Planned:
    """One reminder of the month: a phase of a chat at one offset, due on `day` (Bangkok)."""

    chat_id: str
    phase: Phase
    offset_days: int
    day: date
    closes_at: datetime

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        """The ledger's key (as `DueReminder.key`)."""
        p = self.phase
        return (self.chat_id, p.calendar, p.id, self.offset_days, p.fiscal_year)

    @property
    def itas(self) -> bool:
        return self.phase.scope == "national"

    @property
    def near(self) -> bool:
        return self.offset_days <= NEAR


@dataclass
class MonthPlan:
    """What the rest of the month will send. `budget` None: LINE sets no limit (nothing
    dropped). `full_cost`: messages that would send everything; `cost`: what is kept."""

    month: str
    budget: int | None
    kept: list[Planned] = field(default_factory=list)
    dropped: list[Planned] = field(default_factory=list)
    cost: int = 0
    full_cost: int = 0
    by_day: dict[date, int] = field(default_factory=dict)  # messages planned per day

    def __post_init__(self) -> None:
        self._dropped_keys = {p.key for p in self.dropped}

    def keeps(self, key: tuple) -> bool:
        return key not in self._dropped_keys

    def unheard(self) -> list[tuple[str, Phase]]:
        """(chat, phase) whose every reminder left this month is dropped."""
        heard = {(p.chat_id, p.phase.key) for p in self.kept}
        lost = {(p.chat_id, p.phase.key): p.phase for p in self.dropped}
        return sorted(
            ((c, ph) for (c, k), ph in lost.items() if (c, k) not in heard),
            key=lambda x: (x[1].closing, x[0]),
        )


def month_end(day: date) -> date:
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def candidates(
    calendars: Calendars,
    chats: Iterable[ChatPlanInput],
    now: datetime,
    defaults: ReminderDefaults | None = None,
    *,
    taken: frozenset | set = frozenset(),
) -> list[Planned]:
    """Every reminder due from today to the month's end, not yet in the ledger (`taken`)."""
    defaults = defaults or ReminderDefaults()
    now = now.astimezone(BANGKOK)
    today = now.date().toordinal()
    last = month_end(now.date()).toordinal()
    index = phase_index(calendars)
    out: list[Planned] = []
    for chat in chats:
        if not chat.receives_reminders:
            continue
        days = chat.remind_days if chat.remind_days is not None else defaults.days
        for phase, closing, ordinal in index.phases_for(chat):
            if closing <= now or ordinal - max(days, default=0) > last or ordinal < today:
                continue
            for d in days:
                day = ordinal - d
                if today <= day <= last:
                    p = Planned(chat.chat_id, phase, d, date.fromordinal(day), closing)
                    if p.key not in taken:
                        out.append(p)
    return out


def _value(p: Planned, kept_of_closing: int) -> int:
    """The rank, then the scope, then the offset (see the module doc), as one integer: the
    heap compares hundreds of thousands of these for 10,000 chats."""
    if p.itas and p.near:
        rank = 4
    elif kept_of_closing <= 1:
        rank = 3
    else:
        rank = 2 if p.near else 1
    offset = 0 if p.near else min(p.offset_days, 999)
    return rank * 10_000 + SCOPE_RANK.get(p.phase.scope, 0) * 1_000 + 999 - offset


def fit(
    reminders: Iterable[Planned],
    counts: Mapping[str, int],
    budget: int | None,
    month: str = "",
) -> MonthPlan:
    """Keep the most valuable chat-days whose cost fits `budget` (see the module doc)."""
    pushes: dict[tuple[str, date], list[Planned]] = {}
    for p in reminders:
        pushes.setdefault((p.chat_id, p.day), []).append(p)
    cost_of = {k: counts.get(k[0], 1) for k in pushes}
    full = sum(cost_of.values())
    dropped: list[Planned] = []
    if budget is not None and full > budget:
        closing_of: dict[tuple[str, str], int] = {}  # (chat, phase) → a small int
        kept_count: list[int] = []
        members: dict[tuple[str, date], list[tuple[Planned, int]]] = {}
        for k, items in pushes.items():
            row = members[k] = []
            for p in items:
                cid = closing_of.setdefault((p.chat_id, p.phase.key), len(closing_of))
                if cid == len(kept_count):
                    kept_count.append(0)
                kept_count[cid] += 1
                row.append((p, cid))
        order = {k: i for i, k in enumerate(pushes)}

        def worth(k: tuple[str, date]) -> tuple[int, int, int, int, int]:
            row = members[k]
            best = max(_value(p, kept_count[cid]) for p, cid in row)
            return (best, len(row), -cost_of[k], -k[1].toordinal(), order[k])

        heap = [(worth(k), k) for k in pushes]
        heapq.heapify(heap)
        total = full
        while total > budget and heap:
            w, k = heapq.heappop(heap)
            now_worth = worth(k)
            if now_worth != w:  # a sibling was dropped meanwhile: worth more now
                heapq.heappush(heap, (now_worth, k))
                continue
            for p, cid in members[k]:
                kept_count[cid] -= 1
                dropped.append(p)
            del pushes[k]
            total -= cost_of[k]
    by_day: dict[date, int] = {}
    for (chat, day), _items in sorted(pushes.items(), key=lambda kv: kv[0][1]):
        by_day[day] = by_day.get(day, 0) + cost_of[(chat, day)]
    kept = [p for items in pushes.values() for p in items]
    return MonthPlan(
        month=month,
        budget=budget,
        kept=kept,
        dropped=dropped,
        cost=sum(by_day.values()),
        full_cost=full,
        by_day=by_day,
    )


def plan_month(
    calendars: Calendars,
    chats: Iterable[ChatPlanInput],
    counts: Mapping[str, int],
    budget: int | None,
    now: datetime,
    defaults: ReminderDefaults | None = None,
    *,
    taken: frozenset | set = frozenset(),
) -> MonthPlan:
    """The rest of the month at `now`: candidates, then `fit`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    month = now.astimezone(BANGKOK).strftime("%Y-%m")
    return fit(candidates(calendars, chats, now, defaults, taken=taken), counts, budget, month)
