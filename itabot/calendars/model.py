"""The ITA calendar model: calendars of phases (`loading` builds them from `schedules/*.yaml`).

Pure. A phase's *closing* is the
moment it shuts for the people who must act: the ITAS closing time the text states
(`closes_at`), or else the end of its last day (`ends_on`, 23:59 Bangkok). The period as
written is kept beside it, because the source documents disagree with themselves (an IIT
period to 30 September whose text says ITAS closes IIT on 30 June at 17.00).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from itabot.calendars.thai_dates import BANGKOK

SCOPES = ("national", "province", "agency")
TOOLS = (
    "registration",
    "IIT",
    "EIT",
    "OIT",
    "OIT-check",
    "OIT-appeal",
    "screening",
    "processing",
    "results",
)
END_OF_DAY = time(23, 59)
# libyaml's C loader is ~10× faster than the pure-Python one; both are the *safe* loader.


@dataclass(frozen=True)
class Correction:
    field: str
    source_text: str | None
    corrected: str | None
    why: str


@dataclass(frozen=True)
class Phase:
    """One step of a calendar with its period and, where stated, its closing time."""

    calendar: str
    id: str
    title: str
    tool: str | None
    indicators: tuple[int, ...]
    period: str
    starts_on: date | None
    ends_on: date | None
    closes: str | None
    closes_at: datetime | None
    responsible: tuple[str, ...]
    detail: str | None
    notes: str | None
    source: dict[str, Any]
    corrections: tuple[Correction, ...] = ()
    outside_fiscal_year: bool = False
    # Filled in by the Calendar that owns the phase (copied so a phase stands on its own).
    scope: str = "national"
    owner: str | None = None
    province: str | None = None
    fiscal_year: int = 0
    units: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.calendar}/{self.id}"

    @property
    def closing(self) -> datetime | None:
        """When the phase shuts: the stated closing time, else the end of its last day."""
        if self.closes_at is not None:
            return self.closes_at
        if self.ends_on is not None:
            return datetime.combine(self.ends_on, END_OF_DAY, tzinfo=BANGKOK)
        return None

    @property
    def opening(self) -> datetime | None:
        if self.starts_on is None:
            return None
        return datetime.combine(self.starts_on, time(0, 0), tzinfo=BANGKOK)

    @property
    def time_stated(self) -> bool:
        return self.closes_at is not None

    def is_open(self, now: datetime) -> bool:
        closing = self.closing
        opening = self.opening
        if closing is None and opening is None:
            return False
        return (opening is None or opening <= now) and (closing is None or now <= closing)

    def expand_unit(self, unit: str) -> str | None:
        """The full name of a unit written as an abbreviation, from the calendar's glossary."""
        for written, full in self.units:
            if written == unit:
                return full
        return None

    def responsible_expanded(self) -> tuple[str, ...]:
        """Units as written, each followed by its full name when the glossary knows it."""
        out = []
        for unit in self.responsible:
            full = self.expand_unit(unit)
            out.append(f"{unit} ({full})" if full and full != unit else unit)
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "calendar": self.calendar,
            "fiscal_year": self.fiscal_year,
            "scope": self.scope,
            "owner": self.owner,
            "province": self.province,
            "id": self.id,
            "title": self.title,
            "tool": self.tool,
            "indicators": list(self.indicators),
            "period": self.period,
            "starts_on": self.starts_on.isoformat() if self.starts_on else None,
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "closes": self.closes,
            "responsible": list(self.responsible),
            "responsible_expanded": list(self.responsible_expanded()),
            "detail": self.detail,
            "notes": self.notes,
            "corrections": [c.__dict__ for c in self.corrections],
            "outside_fiscal_year": self.outside_fiscal_year,
            "source": self.source,
        }


@dataclass(frozen=True)
class Calendar:
    id: str
    title: str
    fiscal_year: int
    scope: str
    owner: str | None
    province: str | None
    agency_kind: str | None
    source: dict[str, Any]
    units: dict[str, str]
    phases: tuple[Phase, ...]
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def phase(self, phase_id: str) -> Phase | None:
        return next((p for p in self.phases if p.id == phase_id), None)


@dataclass(frozen=True)
class Problem:
    """A validation failure, named so a coordinator can find and fix it."""

    file: str
    phase: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.phase}" if self.phase else self.file
        return f"{where}: {self.message}"


class CalendarError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --- the set of calendars and its queries -------------------------------------------------


@dataclass(frozen=True)
class Calendars:
    """All loaded calendars, with the queries the conversation and the reminders need."""

    calendars: tuple[Calendar, ...]

    @classmethod
    def load(cls, directory: Path) -> Calendars:
        """Every calendar in `directory`, checked; CalendarError lists every problem found."""
        from itabot.calendars.loading import load_dir  # loading builds this module's types

        calendars, problems = load_dir(directory)
        if problems:
            raise CalendarError(problems)
        return cls(tuple(calendars))

    def __iter__(self) -> Iterator[Calendar]:
        return iter(self.calendars)

    def all_phases(self) -> Iterator[Phase]:
        for cal in self.calendars:
            yield from cal.phases

    def get(self, calendar_id: str) -> Calendar | None:
        return next((c for c in self.calendars if c.id == calendar_id), None)

    def applicable(
        self, province: str | None = None, agency: str | None = None, fiscal_year: int | None = None
    ) -> list[Calendar]:
        """National + the province overlay + the agency's own plan (matched by name key)."""
        from itabot.calendars.names import agency_key, province_key

        pkey = province_key(province) if province else None
        akey = agency_key(agency) if agency else None
        out = []
        for cal in self.calendars:
            if fiscal_year is not None and cal.fiscal_year != fiscal_year:
                continue
            if (
                cal.scope == "national"
                or (cal.scope == "province" and pkey and province_key(cal.owner or "") == pkey)
                or (cal.scope == "agency" and akey and agency_key(cal.owner or "") == akey)
            ):
                out.append(cal)
        return out

    def agency_calendars(self) -> list[Calendar]:
        return [c for c in self.calendars if c.scope == "agency"]


def days_until(now: datetime, when: datetime) -> int:
    """Whole calendar days from today to the closing day, in Bangkok (0 = today)."""
    return (when.astimezone(BANGKOK).date() - now.astimezone(BANGKOK).date()).days


def drop_echoes(phases: Iterable[Phase]) -> list[Phase]:
    """Leave out phases that only repeat what another one says, keeping order.

    - an untimed phase when a timed one of the same calendar and tool closes that day (NACC's
      "prepare OIT data" ends on 30 June like "answer OIT", whose text gives ITAS's 17.00);
    - a province or agency row repeating a national closing of the same tool that day (the
      national row carries the ITAS time and is the one staff act on).
    Rows without a tool are never echoes: they are the overlays' own steps.
    """
    phases = list(phases)

    def day(p: Phase) -> date:
        return p.closing.astimezone(BANGKOK).date()

    timed = {(p.calendar, p.tool, day(p)) for p in phases if p.time_stated and p.tool}
    national = {(p.tool, day(p)) for p in phases if p.scope == "national" and p.tool and p.closing}
    return [
        p
        for p in phases
        if p.closing is None
        or not p.tool
        or (
            (p.time_stated or (p.calendar, p.tool, day(p)) not in timed)
            and (p.scope == "national" or (p.tool, day(p)) not in national)
        )
    ]
