"""Which phases a question is about: the chat's calendars, the topic, the fiscal year in focus.

Pure: a `Parsed` question + the context's calendars → phases, soonest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from itabot.calendars.model import Calendars, Phase
from itabot.calendars.names import agency_key, resolve_province
from itabot.calendars.thai_dates import (
    BANGKOK,
    fiscal_year_of,
)
from itabot.conversation.answer import Context
from itabot.conversation.dictionary import tokenize
from itabot.conversation.understanding import (
    TITLE_STOP_WORDS,
    TOOL_INDICATORS,
    TOOL_OF_TOPIC,
    Parsed,
    normalise,
)

# --- choosing phases -----------------------------------------------------------------------


def applicable_phases(ctx: Context, calendars: Calendars) -> list[Phase]:
    """National + the chat's province overlay + its agency's own plan."""
    province = resolve_province(ctx.province) if ctx.province else None
    agency = ctx.agency
    if agency and not province:
        owner = next(
            (
                c
                for c in calendars.agency_calendars()
                if agency_key(c.owner or "") == agency_key(agency)
            ),
            None,
        )
        province = owner.province if owner else None
    return [p for cal in calendars.applicable(province or ctx.province, agency) for p in cal.phases]


def scope_rank(phase: Phase) -> int:
    return {"national": 0, "province": 1, "agency": 2}.get(phase.scope, 3)


def matches_topic(phase: Phase, topic: str, round_no: int | None) -> bool:
    if topic == "OIT-links":
        return phase.tool == "OIT" and "link" in phase.id
    tool = TOOL_OF_TOPIC.get(topic, topic)
    if phase.tool == tool:
        return not (round_no and topic == "OIT-check") or phase.id.endswith(f"-{round_no}")
    wanted = TOOL_INDICATORS.get(tool)
    return phase.tool is None and wanted is not None and wanted <= set(phase.indicators)


def is_anchor(phase: Phase) -> bool:
    """An ITAS closing: national, with the time the source states."""
    return phase.scope == "national" and phase.time_stated


def soonest_first(phases: Iterable[Phase]) -> list[Phase]:
    return sorted(
        (p for p in phases if p.closing is not None),
        key=lambda p: (p.closing.date(), scope_rank(p), p.closing),
    )


def phases_ahead(phases: Iterable[Phase], now: datetime) -> list[Phase]:
    return [p for p in soonest_first(phases) if p.closing >= now]


def focus_fiscal_year(phases: list[Phase], now: datetime) -> list[Phase]:
    """One fiscal year's phases: the current one if anything of it is ahead, else the next one
    with something ahead, else the latest. An FY2568 provincial deadline is not "earlier than"
    an FY2569 ITAS closing."""
    if not phases:
        return phases
    current = fiscal_year_of(now.astimezone(BANGKOK).date())
    years_ahead = sorted({p.fiscal_year for p in phases if p.closing and p.closing >= now})
    if current in years_ahead:
        year = current
    elif years_ahead:
        year = years_ahead[0]
    else:
        year = max(p.fiscal_year for p in phases)
    return [p for p in phases if p.fiscal_year == year]


def title_search(parsed: Parsed, phases: list[Phase]) -> list[Phase]:
    """Phases whose title shares a meaningful word with the question ("ประชาสัมพันธ์ …")."""
    words = {
        w
        for w in tokenize(parsed.text)
        if len(w) >= 4 and w not in TITLE_STOP_WORDS
    }
    if not words:
        return []
    return [p for p in phases if any(w in _title_key(p.title) for w in words)]


@lru_cache(maxsize=1024)
def _title_key(title: str) -> str:
    """A phase title in `normalise`d form, computed once per title, not once per question."""
    return normalise(title)
