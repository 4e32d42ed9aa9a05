"""The reminder planner: calendars + chats + a moment → the reminders due at that moment.

Pure: plain values in, plain values out; no database, no LINE, no clock of its own (`now` is
an argument), so every rule below is tested without I/O and `reminders plan` can show what
would go out without writing anything.

The rules (also in docs/decisions.md, "Reminders"):

* Who: an active chat, with reminders on, bound to an agency. Muted, removed and unbound
  chats get nothing.
* What: the phases with a closing (`Phase.closing`) that the agency itself must act on, from
  `Calendars.applicable(province, agency)` — national phases except NACC's own work (tools
  OIT-check, screening, processing, results); province rows that name the agency, or all
  agencies of its kind (`อปท. ทุกแห่ง` for local government, `ทุกส่วนราชการ` for the
  provincial offices of ministries, `หน่วยงานทุกแห่ง` for everyone); every row of the agency's
  own plan. A province or agency row repeating a national closing (same tool, same day) is
  left out: the national row, with the ITAS closing time, already says it.
* When: offset *d* is due on (closing day − *d*) in Bangkok, at the chat's remind time, and
  only that day — late is better than never (a dispatch at 10:00 sends the 08:30 reminder),
  stale is worse (yesterday's reminder is never sent today), and nothing is sent once the
  closing has passed. When a reminder is due, the larger offsets of the same phase whose day
  has gone by unsent are reported as `skipped`, so the ledger can close them for good.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache

from itabot.calendars.model import Calendar, Calendars, Phase, drop_echoes
from itabot.calendars.names import agency_key
from itabot.calendars.names import agency_kind as name_kind
from itabot.calendars.thai_dates import BANGKOK
from itabot.config import DEFAULT_REMIND_DAYS, DEFAULT_REMIND_TIME, Settings

# Work NACC does on its own: nothing for an agency to do before these close.
NACC_INTERNAL_TOOLS = frozenset({"OIT-check", "screening", "processing", "results"})
# Local government (อปท.) kinds, as `itabot.calendars.names.agency_kind` abbreviates them.
LOCAL_KINDS = frozenset({"อบต", "อบจ", "ทต", "ทม", "ทน"})
_LOCAL_WORDS = ("อปท", "อบต", "อบจ", "เทศบาล", "องค์การบริหารส่วน", "องค์กรปกครองส่วนท้องถิ่น", "เมืองพัทยา")
_SCOPE_ORDER = {"national": 0, "province": 1, "agency": 2}
_PAREN_RE = re.compile(r"\s*\([^)]*\)\s*$")

# Who a province row's responsible unit stands for.
EVERYONE = "everyone"
LOCAL = "local"
GOVERNMENT = "government"


@dataclass(frozen=True)
class ReminderDefaults:
    """The deployment's defaults for chats whose own settings are NULL."""

    days: tuple[int, ...] = DEFAULT_REMIND_DAYS
    time: time = DEFAULT_REMIND_TIME

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderDefaults:
        return cls(days=tuple(settings.remind_days), time=settings.remind_time)


@dataclass(frozen=True)
class ChatPlanInput:
    """What the planner needs to know about one chat (a row of `chat` joined to `agency`)."""

    chat_id: str
    chat_type: str = "group"
    province: str | None = None
    agency_name: str | None = None
    agency_kind: str | None = None
    active: bool = True
    remind_enabled: bool = True
    remind_days: tuple[int, ...] | None = None  # None: the deployment default
    remind_time: time | None = None  # None: the deployment default

    @property
    def receives_reminders(self) -> bool:
        return self.active and self.remind_enabled and bool(self.agency_name)


@dataclass(frozen=True)
class DueReminder:
    """One reminder to send now: a phase of a chat's calendars at one offset.

    `skipped` lists the larger offsets of the same phase whose day went by unsent (the clock
    was down, the chat was bound late): they are never sent, and the dispatcher records them.
    """

    chat_id: str
    chat_type: str
    phase: Phase
    offset_days: int
    due_at: datetime
    closes_at: datetime
    skipped: tuple[tuple[int, datetime], ...] = field(default=())

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        """The ledger's unique key: (chat, calendar, phase, offset, fiscal year)."""
        return self.ledger_key(self.offset_days)

    def ledger_key(self, offset_days: int) -> tuple[str, str, str, int, int]:
        p = self.phase
        return (self.chat_id, p.calendar, p.id, offset_days, p.fiscal_year)


# --- which phases a chat's agency must act on ---------------------------------------------


# The name functions are pure but not cheap (NFC, regexes, digits): 10,000 chats ask the same
# few hundred questions, so they are memoised here.
_key = lru_cache(maxsize=65536)(agency_key)
_kind = lru_cache(maxsize=65536)(name_kind)


@lru_cache(maxsize=65536)
def is_local_agency(name: str, kind: str | None = None) -> bool:
    """อบต., เทศบาล…, อบจ. (and เมืองพัทยา) are local government; the rest are ส่วนราชการ."""
    if _kind(name) in LOCAL_KINDS:
        return True
    text = f"{name} {kind or ''}"
    return any(word in text for word in _LOCAL_WORDS)


@lru_cache(maxsize=4096)
def unit_audience(written: str, full: str | None) -> str | None:
    """EVERYONE / LOCAL / GOVERNMENT for a unit meaning "all agencies (of a kind)", else None.

    Works on the written abbreviation and on its glossary expansion (`อปท. ทุกแห่ง`,
    `ทุกส่วนราชการ`, `หน่วยงานทุกแห่ง`; the typo `อบท. ทุกแห่ง` too).
    """
    for text in (written, _PAREN_RE.sub("", full or "")):
        key = _key(text) if text else ""
        if "ทุก" not in key:
            continue
        if any(word in key for word in ("อปท", "อบท", "องค์กรปกครองส่วนท้องถิ่น")):
            return LOCAL
        if "ส่วนราชการ" in key:
            return GOVERNMENT
        if "หน่วยงาน" in key:
            return EVERYONE
    return None


@lru_cache(maxsize=4096)
def _unit_keys(unit: str, full: str | None) -> frozenset[str]:
    return frozenset(_key(c) for c in (unit, _PAREN_RE.sub("", full or "")) if c)


def names_agency(phase: Phase, unit: str, akey: str) -> bool:
    """A unit that is the agency itself, written out or abbreviated (`สนจ.สร.`)."""
    return akey in _unit_keys(unit, phase.expand_unit(unit))


def province_row_applies(phase: Phase, agency_name: str, local: bool) -> bool:
    """A province row applies when a responsible unit is the agency or all of its kind.

    A row naming nobody (NACC's own steps, `-` in the source) is information, not a task.
    """
    akey = _key(agency_name)
    for unit in phase.responsible:
        audience = unit_audience(unit, phase.expand_unit(unit))
        if audience == EVERYONE or (audience == LOCAL and local):
            return True
        if audience == GOVERNMENT and not local:
            return True
        if audience is None and names_agency(phase, unit, akey):
            return True
    return False


def phase_applies(phase: Phase, agency_name: str, local: bool) -> bool:
    """The planner's rule for one phase of an applicable calendar (see the module doc)."""
    if phase.closing is None or phase.tool in NACC_INTERNAL_TOOLS:
        return False
    if phase.scope == "province":
        return province_row_applies(phase, agency_name, local)
    return True


def reminder_phases(
    calendars: Calendars, province: str | None, agency_name: str, agency_kind: str | None = None
) -> list[Phase]:
    """The phases an agency is reminded of, soonest closing first."""
    applicable = calendars.applicable(province=province, agency=agency_name)
    return _select(applicable, agency_name, agency_kind)


def _select(cals: Iterable[Calendar], agency_name: str, agency_kind: str | None) -> list[Phase]:
    local = is_local_agency(agency_name, agency_kind)
    candidates = [p for cal in cals for p in cal.phases if phase_applies(p, agency_name, local)]
    return sorted(drop_echoes(candidates), key=_phase_order)


def _phase_order(p: Phase) -> tuple:
    """Soonest closing first; NACC's before the province's before the agency's; then the
    calendar's own order (the sort is stable), which is the order of the source document."""
    return (p.closing, _SCOPE_ORDER.get(p.scope, 9))


class PhaseIndex:
    """`reminder_phases` for one `plan` call, memoised per agency, with each phase's closing
    day as an ordinal. `Calendars.applicable(province, agency)` is national + the province's
    overlay + the agency's own plan; the first two are looked up once per province here, and
    agency plans by the same name key (a test keeps this equal to `applicable`)."""

    def __init__(self, calendars: Calendars) -> None:
        self._calendars = calendars
        self._by_province: dict[str | None, list[Calendar]] = {}
        self._agency_plans = [(_key(c.owner or ""), c) for c in calendars.agency_calendars()]
        self._cache: dict[tuple, list[tuple[Phase, datetime, int]]] = {}

    def _applicable(self, province: str | None, agency_name: str) -> list[Calendar]:
        shared = self._by_province.get(province)
        if shared is None:
            shared = self._by_province[province] = [
                c for c in self._calendars.applicable(province=province) if c.scope != "agency"
            ]
        akey = _key(agency_name)
        return shared + [c for owner, c in self._agency_plans if owner == akey]

    def phases_for(self, chat: ChatPlanInput) -> list[tuple[Phase, datetime, int]]:
        key = (chat.province, chat.agency_name, chat.agency_kind)
        hit = self._cache.get(key)
        if hit is None:
            name = chat.agency_name or ""
            phases = _select(self._applicable(chat.province, name), name, chat.agency_kind)
            hit = [(p, p.closing, p.closing.astimezone(BANGKOK).date().toordinal()) for p in phases]
            self._cache[key] = hit
        return hit


_INDEX: list = [None, None]  # [calendars, their PhaseIndex]: one set of calendars at a time


def phase_index(calendars: Calendars) -> PhaseIndex:
    """The process's index of these calendars: the dispatcher's plan, its month plan and every
    answer in a bound chat ask the same agencies' phases (2,500 agencies: 0.4 s to rebuild).
    Replaced when the calendars are (the clock reloads them when schedules/ changes)."""
    if _INDEX[0] is not calendars:
        _INDEX[:] = [calendars, PhaseIndex(calendars)]
    return _INDEX[1]


# --- when -----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def due_at(closing_ordinal: int, offset_days: int, remind_time: time) -> datetime:
    """When offset `d` is due: (closing day − d days) at the remind time, Bangkok."""
    day = datetime.fromordinal(closing_ordinal - offset_days).date()
    return datetime.combine(day, remind_time, tzinfo=BANGKOK)


def _reminder_for(
    chat: ChatPlanInput,
    phase: Phase,
    closing: datetime,
    closing_ordinal: int,
    days: tuple[int, ...],
    remind_time: time,
    now: datetime,
    today: int,
) -> DueReminder | None:
    """The reminder of this phase due at `now`, if any (at most one: offsets are distinct
    days, and only today's is ever due)."""
    if now >= closing:
        return None
    days_left = closing_ordinal - today
    if days_left not in days:
        return None
    when = due_at(closing_ordinal, days_left, remind_time)
    if now < when:
        return None
    skipped = tuple(
        (d, due_at(closing_ordinal, d, remind_time)) for d in sorted(days) if d > days_left
    )
    return DueReminder(
        chat_id=chat.chat_id,
        chat_type=chat.chat_type,
        phase=phase,
        offset_days=days_left,
        due_at=when,
        closes_at=closing,
        skipped=skipped,
    )


def plan(
    calendars: Calendars,
    chats: Iterable[ChatPlanInput],
    now: datetime,
    defaults: ReminderDefaults | None = None,
) -> list[DueReminder]:
    """Every reminder due at `now`, grouped by chat (input order), soonest closing first."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    defaults = defaults or ReminderDefaults()
    now = now.astimezone(BANGKOK)
    today = now.date().toordinal()
    index = phase_index(calendars)
    out: list[DueReminder] = []
    for chat in chats:
        if not chat.receives_reminders:
            continue
        days = chat.remind_days if chat.remind_days is not None else defaults.days
        remind_time = chat.remind_time or defaults.time
        horizon = max(days, default=-1)
        for phase, closing, ordinal in index.phases_for(chat):
            if not 0 <= ordinal - today <= horizon:
                continue
            due = _reminder_for(chat, phase, closing, ordinal, days, remind_time, now, today)
            if due is not None:
                out.append(due)
    return out


def by_chat(reminders: Iterable[DueReminder]) -> dict[str, list[DueReminder]]:
    """Reminders grouped per chat, in order: each group becomes one push."""
    groups: dict[str, list[DueReminder]] = {}
    for r in reminders:
        groups.setdefault(r.chat_id, []).append(r)
    return groups


def end_of_day(moment: datetime) -> datetime:
    """Midnight after `moment` in Bangkok: a reminder not delivered by then is stale."""
    local = moment.astimezone(BANGKOK)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=BANGKOK)
