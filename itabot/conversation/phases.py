"""Which phases a question is about: the chat's calendars, the topic, the fiscal year in focus.

Pure: a `Parsed` question + the context's calendars → phases, soonest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from itabot.calendars.model import Calendars, Phase
from itabot.calendars.names import agency_key, resolve_province
from itabot.calendars.thai_dates import (
    BANGKOK,
    fiscal_year_of,
)
from itabot.conversation.answer import Context
from itabot.conversation.search import Hit, index_for, question_words
from itabot.conversation.understanding import (
    TOOL_INDICATORS,
    TOOL_OF_TOPIC,
    Parsed,
    residual,
)

STRONG_SCORE = 6.0  # a title word in two phases of ~70 scores 3 × 2.4
MAX_FOUND = 4

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


def context_year(ctx: Context, calendars: Calendars) -> int:
    """The year a chat's questions are about: its agency's plan year, else the current one —
    and the current one once the plan's year is over (a 2564 plan says nothing about 2569)."""
    current = fiscal_year_of(ctx.now.astimezone(BANGKOK).date())
    plan = _plan_year(calendars, ctx.agency) if ctx.agency else None
    return max(plan or current, current)


_PLAN_YEARS: dict[tuple[int, str], tuple[Calendars, int | None]] = {}


def _plan_year(calendars: Calendars, agency: str) -> int | None:
    """The agency's own plan's year, looked up once per calendars and agency (matching names
    costs more than the rest of an answer)."""
    kept = _PLAN_YEARS.get((id(calendars), agency))
    if kept is None or kept[0] is not calendars:
        own = [c.fiscal_year for c in calendars.applicable(None, agency) if c.scope == "agency"]
        kept = (calendars, max(own) if own else None)
        if len(_PLAN_YEARS) > 4096:
            _PLAN_YEARS.clear()
        _PLAN_YEARS[(id(calendars), agency)] = kept
    return kept[1]


def focus_fiscal_year(phases: list[Phase], now: datetime, year: int | None = None) -> list[Phase]:
    """One fiscal year's phases: the context's (`year`, else the current one) if anything of it
    is ahead, else the next one with something ahead, else the latest. An FY2568 provincial
    deadline is not "earlier than" an FY2569 ITAS closing."""
    if not phases:
        return phases
    current = year or fiscal_year_of(now.astimezone(BANGKOK).date())
    years_ahead = sorted({p.fiscal_year for p in phases if p.closing and p.closing >= now})
    if current in years_ahead:
        year = current
    elif years_ahead:
        year = years_ahead[0]
    else:
        year = max(p.fiscal_year for p in phases)
    return [p for p in phases if p.fiscal_year == year]


def calendar_search(parsed: Parsed, phases: list[Phase], calendars: Calendars) -> list[Hit]:
    """Phases the question describes in the calendars' own words, best first."""
    words = question_words(residual(parsed.text))
    return index_for(calendars).search(words, phases) if words else []


def described(hits: list[Hit]) -> tuple[list[Phase], tuple[str, ...]]:
    """The phases a question clearly describes, with the hits close to the best: two of their
    words, or one uncommon word of a title ("ประชาสัมพันธ์"); one common word ("ประชุม") or
    a word of the details alone is too little to go on."""
    if not hits or hits[0].score < STRONG_SCORE:
        return [], ()
    best = hits[0]
    return [h.phase for h in hits if h.score >= best.score * 0.8][:MAX_FOUND], best.words
